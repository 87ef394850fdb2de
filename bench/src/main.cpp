// worm_bench: libworm's side of the benchmarks. `worm_bench <scenario> [--opt value]...`
// prints `name: value unit` lines, like the Python anchors in ../shared/anchors.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "common.hpp"

namespace bench {

Args::Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument: " + a);
        a = a.substr(2);
        if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
            values_[a] = argv[++i];
        } else {
            values_[a] = "";  // a switch
        }
    }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

long long Args::get_int(const std::string& name, long long fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("--" + name + " wants an integer");
    return v;
}

bool Args::flag(const std::string& name) const { return values_.count(name) != 0; }

std::string Args::require(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) throw std::invalid_argument("--" + name + " is required");
    return it->second;
}

std::filesystem::path Args::scratch_dir() const {
    const std::filesystem::path dir = require("dir");
    std::filesystem::create_directories(dir);
    return dir;
}

void unavailable(std::string_view what) {
    std::fprintf(stderr, "unavailable: %.*s\n", static_cast<int>(what.size()), what.data());
    std::exit(3);
}

std::vector<CommandInfo>& commands() {
    static std::vector<CommandInfo> all;
    return all;
}

Register::Register(std::string name, std::string usage, Command run) {
    commands().push_back({std::move(name), std::move(usage), std::move(run)});
}

}  // namespace bench

int main(int argc, char** argv) {
    auto usage = [] {
        std::fprintf(stderr, "usage: worm_bench <scenario> [options]\n");
        for (const auto& c : bench::commands()) std::fprintf(stderr, "  %s %s\n", c.name.c_str(), c.usage.c_str());
        return 2;
    };
    if (argc < 2) return usage();
    const std::string name = argv[1];
    for (const auto& c : bench::commands()) {
        if (c.name != name) continue;
        try {
            return c.run(bench::Args(argc, argv, 2));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "worm_bench %s: %s\n", name.c_str(), e.what());
            return 1;
        }
    }
    return usage();
}
