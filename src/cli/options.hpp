// options.hpp: the `worm` option vocabulary. The options several commands share are
// declared here once (name, value, help, alias), and each kind of value has one parser:
// whole numbers, days, dates, retention dates, lock modes, input files. A bad value is a
// UsageError (exit 2) that names the option and repeats the value.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "args.hpp"
#include "worm/config.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm::cli {

// ---- shared declarations -------------------------------------------------------------

// --store: every command that reads or writes a store names it so; required unless a
// command has another source for it (not_required(store_option)).
inline const OptionSpec store_option{"--store", "URL", "file:///dir, s3://bucket[/prefix] or mcp+https://host", true};
inline const OptionSpec lock_mode_option{"--lock-mode", "MODE", "COMPLIANCE or GOVERNANCE", false, "--mode"};
inline const OptionSpec retain_days_option{"--retain-days", "N", "retain for N days from now"};
inline const OptionSpec retain_until_option{"--retain-until", "RFC3339", "retain until this UTC time"};

// The same option, required, not required, or with the help a command gives it.
OptionSpec required(OptionSpec option);
OptionSpec not_required(OptionSpec option);
OptionSpec with_help(OptionSpec option, std::string help);

// ---- values ----------------------------------------------------------------------------

// `text` as a whole number from min to max, else UsageError "<option> must be a whole
// number [of <unit>] from <min> to <max>, got '<text>'". number_option: the same for an
// option that may be absent.
int whole_number(std::string_view text, const std::string& option, int min, int max, std::string_view unit = "");
int number_option(const ParsedArgs& args, const std::string& option, int fallback, int min, int max,
                  std::string_view unit = "");
// Days (--retain-days, --retention-days, --min-retention-days, ...): at most 100 years,
// S3's own ceiling (WormConfig::maximum_retention_days).
inline int days_value(std::string_view text, const std::string& option, int min = 1) {
    return whole_number(text, option, min, WormConfig::maximum_retention_days, "days");
}
std::optional<int> days_arg(const ParsedArgs& args, const std::string& option, int min = 1);

// A lock mode, COMPLIANCE or GOVERNANCE in any case (parse_lock_mode); nullopt when absent.
std::optional<LockMode> lock_mode_arg(const ParsedArgs& args, const std::string& option = "--lock-mode");
// A retention date in RFC 3339 (parse_retention_date: up to 9999-12-31); nullopt when absent.
std::optional<RetentionDate> retain_until_arg(const ParsedArgs& args, const std::string& option = "--retain-until");
// A day "YYYY-MM-DD" (its start, or with end_of_day its last second) or an RFC 3339 time,
// as `worm audit` and `worm logs` take --from / --to; nullopt when absent.
std::optional<TimePoint> date_arg(const ParsedArgs& args, const std::string& option, bool end_of_day);

// Lock options shared by put and retention set: --lock-mode (alias --mode), --retain-days,
// --retain-until. nullopt when --lock-mode is not given.
std::optional<Retention> retention_from_args(const ParsedArgs& args);

// An input-file option's value as a path; "-" is standard input (/dev/stdin), which
// read_file reads like a file, to the same size limit. `siblings` are the command's other
// input-file options: two of them reading '-' is a UsageError (stdin is read once).
std::optional<std::filesystem::path> input_file(const ParsedArgs& args, std::string_view name,
                                                std::initializer_list<std::string_view> siblings = {});

// Runs f, which reads or writes files the user named: a missing input or an output that
// is already there is an input error (exit 2), not a storage failure (exit 3).
template <typename F>
auto user_file(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found || e.code() == ErrorCode::already_exists) throw UsageError(e.what());
        throw;
    }
}

}  // namespace worm::cli
