// worm: the command-line face of libworm. Every command prints results on stdout
// (JSON where a script reads it) and one clear line on stderr when it fails.
#include <cstring>
#include <iostream>

#include "commands.hpp"

using namespace worm;
using namespace worm::cli;

namespace {

std::vector<Command> all_commands() {
    std::vector<Command> all;
    for (auto group : {evidence_commands(), storage_commands(), upload_commands(), compliance_commands(),
                       logs_commands(), migrate_commands(), monitor_commands()})
        for (auto& c : group) all.push_back(std::move(c));
    return all;
}

void print_usage(const std::vector<Command>& commands) {
    std::cout << "usage: worm <command> [options]\n\n"
                 "Write-once evidence: bundles, Ed25519 signatures, WORM storage.\n\ncommands:\n";
    for (const auto& c : commands) {
        // At least two spaces between name and summary, so scripts can split on them.
        std::string name = "  " + c.spec.name + "  ";
        if (name.size() < 22) name.resize(22, ' ');
        std::cout << name << c.spec.summary << "\n";
    }
    std::cout << "\n`worm <command> --help` shows a command's options.\n"
                 "exit codes: 0 ok, 1 verification failed, 2 usage or input error, 3 storage error\n";
}

// Error messages are one line: no stack trace, no embedded newlines.
std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const auto commands = all_commands();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_usage(commands);
        return args.empty() ? exit_usage : exit_ok;
    }
    if (args[0] == "--version") {
        std::cout << "worm 0.1.0\n";
        return exit_ok;
    }
    // Two-word commands ("retention get", "registry import") are matched first.
    const Command* chosen = nullptr;
    size_t consumed = 0;
    for (const auto& c : commands) {
        const auto space = c.spec.name.find(' ');
        if (space != std::string::npos) {
            if (args.size() >= 2 && args[0] + " " + args[1] == c.spec.name) {
                chosen = &c;
                consumed = 2;
            }
        } else if (args[0] == c.spec.name && !chosen) {
            chosen = &c;
            consumed = 1;
        }
    }
    if (!chosen) {
        bool is_group = false;
        for (const auto& c : commands)
            if (c.spec.name.rfind(args[0] + " ", 0) == 0) {
                if (!is_group) std::cerr << "worm: '" << args[0] << "' needs a subcommand:\n";
                is_group = true;
                std::cerr << "  worm " << c.spec.name << "  " << c.spec.summary << "\n";
            }
        if (!is_group) std::cerr << "worm: unknown command '" << args[0] << "' (see worm --help)\n";
        return exit_usage;
    }
    try {
        const std::vector<std::string> rest(args.begin() + static_cast<long>(consumed), args.end());
        const ParsedArgs parsed = parse_args(chosen->spec, rest);
        if (parsed.help_requested()) {
            std::cout << format_help(chosen->spec);
            return exit_ok;
        }
        return chosen->run(parsed);
    } catch (const UsageError& e) {
        std::cerr << "worm " << chosen->spec.name << ": " << one_line(e.what()) << "\n";
        return exit_usage;
    } catch (const Error& e) {
        std::cerr << "worm " << chosen->spec.name << ": " << one_line(e.what()) << "\n";
        return exit_code_for(e);
    } catch (const std::exception& e) {
        std::cerr << "worm " << chosen->spec.name << ": unexpected error: " << one_line(e.what()) << "\n";
        return exit_storage;
    }
}
