// common.cpp: what every command shares besides the options (options.cpp): exit codes and
// JSON string escaping.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "commands.hpp"

namespace worm::cli {

int exit_code_for(const Error& e) {
    switch (e.code()) {
        case ErrorCode::verification:
            return exit_verification_failed;
        case ErrorCode::invalid_argument:
        case ErrorCode::config:
        case ErrorCode::parse:
        case ErrorCode::schema:
        case ErrorCode::crypto:
        case ErrorCode::io:
            return exit_usage;
        default:
            return exit_storage;
    }
}

std::string json_string(const std::string& s) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    return buf.GetString();
}

}  // namespace worm::cli
