#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

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

int whole_number(std::string_view text, const std::string& option, int min, int max, std::string_view unit) {
    int n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size() || n < min || n > max)
        throw UsageError(option + " must be a whole number" + (unit.empty() ? "" : " of " + std::string(unit)) +
                         " from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                         std::string(text) + "'");
    return n;
}

int number_option(const ParsedArgs& args, const std::string& option, int fallback, int min, int max,
                  std::string_view unit) {
    const auto v = args.get(option);
    return v ? whole_number(*v, option, min, max, unit) : fallback;
}

std::optional<Retention> retention_from_args(const ParsedArgs& args) {
    const std::string mode_option = "--lock-mode";
    const auto mode = args.get(mode_option);
    const auto days = args.get("--retain-days");
    const auto until = args.get("--retain-until");
    if (!mode) {
        if (days || until) throw UsageError("--retain-days/--retain-until need " + mode_option);
        return std::nullopt;
    }
    if (days && until) throw UsageError("give either --retain-days or --retain-until, not both");
    if (!days && !until) throw UsageError(mode_option + " needs --retain-days N or --retain-until RFC3339");
    Retention r;
    r.mode = parse_lock_mode(*mode);
    if (days) {
        const int n = days_value(*days, "--retain-days");
        r.retain_until = std::chrono::floor<std::chrono::seconds>(system_clock().now()) + std::chrono::days(n);
    } else {
        r.retain_until = parse_retention_date(*until);
    }
    return r;
}

std::optional<std::filesystem::path> input_file(const ParsedArgs& args, std::string_view name,
                                                std::initializer_list<std::string_view> siblings) {
    const auto value = args.get(name);
    if (!value) return std::nullopt;
    if (*value != "-") return std::filesystem::path(*value);
    for (std::string_view other : siblings)
        if (other != name && args.get(other) == "-")
            throw UsageError(std::string(name) + " and " + std::string(other) +
                             " both read standard input ('-'); it can be read once");
    return std::filesystem::path("/dev/stdin");
}

std::string json_string(const std::string& s) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    return buf.GetString();
}

}  // namespace worm::cli
