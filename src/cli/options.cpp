// options.cpp: the parsers of the `worm` option vocabulary (see options.hpp).
#include "options.hpp"

#include <charconv>

#include "worm/compliance/audit.hpp"

namespace worm::cli {

OptionSpec required(OptionSpec option) {
    option.required = true;
    return option;
}

OptionSpec not_required(OptionSpec option) {
    option.required = false;
    return option;
}

OptionSpec with_help(OptionSpec option, std::string help) {
    option.help = std::move(help);
    return option;
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

std::optional<int> days_arg(const ParsedArgs& args, const std::string& option, int min) {
    const auto v = args.get(option);
    if (!v) return std::nullopt;
    return days_value(*v, option, min);
}

namespace {

// Runs a library parser on an option's value; its Error becomes a UsageError naming the option.
template <typename Parse>
auto parse_value(const std::string& option, Parse&& parse) -> decltype(parse()) {
    try {
        return parse();
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw UsageError(option + ": " + e.what());
    }
}

}  // namespace

std::optional<LockMode> lock_mode_arg(const ParsedArgs& args, const std::string& option) {
    const auto v = args.get(option);
    if (!v) return std::nullopt;
    return parse_value(option, [&] { return parse_lock_mode(*v); });
}

std::optional<RetentionDate> retain_until_arg(const ParsedArgs& args, const std::string& option) {
    const auto v = args.get(option);
    if (!v) return std::nullopt;
    return parse_value(option, [&] { return parse_retention_date(*v); });
}

std::optional<TimePoint> date_arg(const ParsedArgs& args, const std::string& option, bool end_of_day) {
    const auto v = args.get(option);
    if (!v) return std::nullopt;
    try {
        return compliance::parse_audit_date(*v, end_of_day);
    } catch (const Error&) {
        throw UsageError(option + " must be a date (YYYY-MM-DD) or an RFC 3339 time, got '" + *v + "'");
    }
}

std::optional<Retention> retention_from_args(const ParsedArgs& args) {
    const std::string mode_option = "--lock-mode";
    const auto mode = lock_mode_arg(args, mode_option);
    const auto days = days_arg(args, "--retain-days");
    const auto until = retain_until_arg(args, "--retain-until");
    if (!mode) {
        if (days || until) throw UsageError("--retain-days/--retain-until need " + mode_option);
        return std::nullopt;
    }
    if (days && until) throw UsageError("give either --retain-days or --retain-until, not both");
    if (!days && !until) throw UsageError(mode_option + " needs --retain-days N or --retain-until RFC3339");
    Retention r;
    r.mode = *mode;
    if (days) r.retain_until = std::chrono::floor<std::chrono::seconds>(system_clock().now()) + std::chrono::days(*days);
    else r.retain_until = *until;
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

}  // namespace worm::cli
