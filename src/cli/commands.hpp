// commands.hpp: how the `worm` subcommands are declared and what they share.
#pragma once

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/storage.hpp"

namespace worm::cli {

// Exit codes, documented in the README.
constexpr int exit_ok = 0;
constexpr int exit_verification_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_storage = 3;

struct Command {
    CommandSpec spec;
    std::function<int(const ParsedArgs&)> run;
};

std::vector<Command> evidence_commands();  // keygen, bundle, verify, demo
std::vector<Command> storage_commands();   // put, get, head, ls, rm, retention, legal-hold, bucket
std::vector<Command> bucket_commands();   // bucket create, bucket info (S3 only)
std::vector<Command> upload_commands();    // sync, status, config, registry
std::vector<Command> compliance_commands();  // audit, certificate issue, certificate verify
std::vector<Command> logs_commands();      // logs verify, logs cat
std::vector<Command> migrate_commands();   // migrate, migrate verify
std::vector<Command> monitor_commands();   // monitor
Command demo_command();

// Maps an error to the CLI exit code: 1 verification, 2 usage/input, 3 storage.
int exit_code_for(const Error& e);

// The option vocabulary's numbers, one parser for every command: `text` as a whole number
// from min to max, else UsageError "<option> must be a whole number [of <unit>] from <min>
// to <max>, got '<text>'". number_option: the same for an option that may be absent.
int whole_number(std::string_view text, const std::string& option, int min, int max, std::string_view unit = "");
int number_option(const ParsedArgs& args, const std::string& option, int fallback, int min, int max,
                  std::string_view unit = "");
// Days (--retain-days, --retention-days, --min-retention-days, ...): at most 100 years,
// S3's own ceiling (WormConfig::maximum_retention_days).
inline int days_value(std::string_view text, const std::string& option, int min = 1) {
    return whole_number(text, option, min, WormConfig::maximum_retention_days, "days");
}

// Lock options shared by put and retention set: --lock-mode (alias --mode), --retain-days,
// --retain-until. nullopt when --lock-mode is not given.
std::optional<Retention> retention_from_args(const ParsedArgs& args);

// The store uploads go to: --store URL when given, else the WORM_* configuration
// (Error(config) when WORM_ENABLED is not set or the mode's settings are missing).
std::shared_ptr<ObjectStore> open_uploader_store(const ParsedArgs& args, const WormConfig& config);

// The duplicate-copy store named by WORM_REPLICA_STORE, or null when it is not set.
std::shared_ptr<ObjectStore> replica_store_from_env();

// An input-file option's value as a path; "-" is standard input (/dev/stdin), which
// read_file reads like a file, to the same size limit. `siblings` are the command's other
// input-file options: two of them reading '-' is a UsageError (stdin is read once).
std::optional<std::filesystem::path> input_file(const ParsedArgs& args, std::string_view name,
                                                std::initializer_list<std::string_view> siblings = {});

// Escapes a string for JSON output (RapidJSON's writer rules).
std::string json_string(const std::string& s);

}  // namespace worm::cli
