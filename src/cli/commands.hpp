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
#include "options.hpp"
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

// The store uploads go to: --store URL when given, else the WORM_* configuration
// (Error(config) when WORM_ENABLED is not set or the mode's settings are missing).
std::shared_ptr<ObjectStore> open_uploader_store(const ParsedArgs& args, const WormConfig& config);

// The duplicate-copy store named by WORM_REPLICA_STORE, or null when it is not set.
std::shared_ptr<ObjectStore> replica_store_from_env();

}  // namespace worm::cli
