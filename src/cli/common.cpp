// common.cpp: what every command shares besides the options (options.cpp): exit codes.
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

}  // namespace worm::cli
