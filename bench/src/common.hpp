// common.hpp: what every worm_bench scenario shares: argument parsing, a timer, the
// `name: value unit` output the harness reads, and the "not built yet" exit.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// --name value pairs and --flag switches, nothing else.
class Args {
public:
    Args(int argc, char** argv, int first);
    std::string get(const std::string& name, const std::string& fallback = "") const;
    long long get_int(const std::string& name, long long fallback) const;
    bool flag(const std::string& name) const;
    std::string require(const std::string& name) const;
    // --dir, created if missing: the scratch directory a scenario writes into.
    std::filesystem::path scratch_dir() const;

private:
    std::map<std::string, std::string> values_;
};

// Seconds since construction, monotonic.
class Timer {
public:
    Timer() : start_(std::chrono::steady_clock::now()) {}
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    std::chrono::steady_clock::time_point start_;
};

// The one line per figure that bench/run.py parses.
inline void print_figure(std::string_view name, double value, std::string_view unit) {
    std::printf("%.*s: %.6g %.*s\n", static_cast<int>(name.size()), name.data(), value,
                static_cast<int>(unit.size()), unit.data());
    std::fflush(stdout);
}

// Exit code 3 + "unavailable: ..." on stderr: the harness shows "n/a (not built yet)".
[[noreturn]] void unavailable(std::string_view what);

// Keeps the optimizer from dropping work whose result is otherwise unused.
template <class T>
inline void keep(const T& value) {
    asm volatile("" : : "g"(&value) : "memory");
}

using Command = std::function<int(const Args&)>;
struct CommandInfo {
    std::string name, usage;
    Command run;
};
// Each scenario file registers its subcommands through one of these.
std::vector<CommandInfo>& commands();
struct Register {
    Register(std::string name, std::string usage, Command run);
};

}  // namespace bench
