// args.hpp: a small, strict command-line parser for the `worm` subcommands.
//
// Each command declares its options up front (name, takes a value or not, help), so
// `--help` is generated from the same table that parses, and an unknown option or a
// missing value is a usage error (exit 2) that names the option.
//
// One thing has one option name across all commands (--lock-mode, --retain-days,
// --version-id, --store, --evidence-dir, --output); an older or shorter spelling is an
// alias of it (--mode, -o), parsed as the name and shown in --help.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/error.hpp"

namespace worm::cli {

// Thrown for usage mistakes; main() prints it and exits 2.
struct UsageError : Error {
    explicit UsageError(const std::string& message) : Error(ErrorCode::invalid_argument, message) {}
};

struct OptionSpec {
    std::string name;          // "--store"
    std::string value_name;    // "URL"; empty for a flag
    std::string help;
    bool required = false;
    std::string alias = {};    // "--mode": accepted as another spelling of name
};

struct CommandSpec {
    std::string name;                    // "put"
    std::string synopsis;                // "KEY FILE"
    std::string summary;                 // one line
    std::vector<OptionSpec> options;
    size_t min_positionals = 0;
    size_t max_positionals = 0;
    std::string details;                 // extra help text
};

class ParsedArgs {
public:
    bool has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
    std::optional<std::string> get(std::string_view name) const {
        auto it = values_.find(std::string(name));
        if (it == values_.end()) return std::nullopt;
        return it->second;
    }
    std::string require(std::string_view name) const {
        auto v = get(name);
        if (!v) throw UsageError("missing required option " + std::string(name));
        return *v;
    }
    std::string value_or(std::string_view name, std::string fallback) const {
        auto v = get(name);
        return v ? *v : fallback;
    }
    const std::vector<std::string>& positionals() const { return positionals_; }
    bool help_requested() const { return help_; }

private:
    friend ParsedArgs parse_args(const CommandSpec&, const std::vector<std::string>&);
    std::map<std::string, std::string> values_;  // flags map to ""
    std::vector<std::string> positionals_;
    bool help_ = false;
};

inline std::string format_help(const CommandSpec& spec, std::string_view program = "worm") {
    std::string out = "usage: " + std::string(program) + " " + spec.name;
    if (!spec.options.empty()) out += " [options]";
    if (!spec.synopsis.empty()) out += " " + spec.synopsis;
    out += "\n\n" + spec.summary + "\n";
    if (!spec.options.empty()) {
        out += "\noptions:\n";
        for (const auto& o : spec.options) {
            std::string left = "  " + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
            if (left.size() < 30) left.resize(30, ' ');
            else left += "\n" + std::string(30, ' ');
            out += left + o.help + (o.required ? " (required)" : "") +
                   (o.alias.empty() ? "" : " (also " + o.alias + ")") + "\n";
        }
        out += "  --help                      show this help\n";
    }
    if (!spec.details.empty()) out += "\n" + spec.details + "\n";
    return out;
}

inline ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args) {
    ParsedArgs parsed;
    std::map<std::string, std::string> given_as;  // option name -> the spelling used (name or alias)
    bool only_positionals = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (!only_positionals && (a == "--help" || a == "-h")) {
            parsed.help_ = true;
            return parsed;
        }
        if (!only_positionals && a == "--") {
            only_positionals = true;
            continue;
        }
        if (!only_positionals && a.size() > 1 && a[0] == '-' && a != "-") {
            std::string name = a, inline_value;
            bool has_inline = false;
            if (auto eq = a.find('='); eq != std::string::npos) {
                name = a.substr(0, eq);
                inline_value = a.substr(eq + 1);
                has_inline = true;
            }
            const OptionSpec* opt = nullptr;
            for (const auto& o : spec.options)
                if (o.name == name || (!o.alias.empty() && o.alias == name)) opt = &o;
            if (!opt) throw UsageError("unknown option " + name + " for '" + spec.name + "' (see --help)");
            if (const auto [it, first] = given_as.emplace(opt->name, name); !first && it->second != name)
                throw UsageError(it->second + " and " + name + " are the same option: give it once");
            // Stored under the option's name, whichever spelling was used.
            std::string& value = parsed.values_[opt->name];
            if (opt->value_name.empty()) {
                if (has_inline) throw UsageError("option " + name + " takes no value");
                value = "";
            } else if (has_inline) {
                value = inline_value;
            } else {
                if (i + 1 >= args.size()) throw UsageError("option " + name + " needs a value " + opt->value_name);
                value = args[++i];
            }
            continue;
        }
        parsed.positionals_.push_back(a);
    }
    for (const auto& o : spec.options)
        if (o.required && !parsed.has(o.name)) throw UsageError("missing required option " + o.name + " " + o.value_name);
    if (parsed.positionals_.size() < spec.min_positionals)
        throw UsageError("'" + spec.name + "' needs " + spec.synopsis + " (see --help)");
    if (parsed.positionals_.size() > spec.max_positionals)
        throw UsageError("too many arguments for '" + spec.name + "' (see --help)");
    return parsed;
}

}  // namespace worm::cli
