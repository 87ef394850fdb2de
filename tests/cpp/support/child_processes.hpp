// child_processes.hpp: run the same work in several forked processes at once and collect
// what each one printed, for tests of what processes sharing one directory do together.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "worm/fs.hpp"

namespace worm::test {

// Forks `count` children that run `work(child_number)` at the same time, then waits for all
// of them. Returns each child's text split into lines, in child order. A child has no doctest:
// it hands its text back through a file in `dir`, and a child that throws fails the test
// through its exit status (its error goes to stderr).
inline std::vector<std::vector<std::string>> lines_from_children(const std::filesystem::path& dir, int count,
                                                                 const std::function<std::string(int)>& work) {
    const auto output = [&](int child) { return dir / ("child-" + std::to_string(child) + ".out"); };
    std::vector<pid_t> pids;
    for (int child = 0; child < count; ++child) {
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int rc = 0;
            try {
                write_file_atomic(output(child), work(child), {.durable = false});
            } catch (const std::exception& e) {
                std::fprintf(stderr, "child %d: %s\n", child, e.what());
                rc = 1;
            } catch (...) {
                rc = 1;
            }
            _exit(rc);
        }
        pids.push_back(pid);
    }
    for (const pid_t pid : pids) {
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    std::vector<std::vector<std::string>> lines(static_cast<std::size_t>(count));
    for (int child = 0; child < count; ++child) {
        std::istringstream in(read_file(output(child)));
        for (std::string line; std::getline(in, line);) lines[static_cast<std::size_t>(child)].push_back(line);
    }
    return lines;
}

}  // namespace worm::test
