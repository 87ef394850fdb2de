// Atomic file writes (worm/fs.hpp): replace, create-only, modes, races, and what is
// left on disk when a write is refused.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/test_env.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"

namespace fs = std::filesystem;
using worm::Error;
using worm::ErrorCode;
using worm::test::TempDir;

namespace {

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Every name in dir, so a test can show that no temp file was left behind.
std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("a replacing write swaps the whole content and leaves no temp file") {
    TempDir tmp;
    const fs::path file = tmp.path() / "a.json";
    for (bool durable : {true, false}) {
        worm::write_file_atomic(file, "first", {.durable = durable});
        worm::write_file_atomic(file, "second, longer", {.durable = durable});
        CHECK(worm::read_file(file) == "second, longer");
    }
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"a.json"});
}

TEST_CASE("a create-only write makes the file with its mode, and refuses an existing one untouched") {
    TempDir tmp;
    for (bool durable : {true, false}) {
        CAPTURE(durable);
        const fs::path file = tmp.path() / (durable ? "durable.sig" : "scratch.sig");
        worm::write_file_atomic(file, "signature\n",
                                {.mode = fs::perms::owner_read | fs::perms::group_read, .durable = durable,
                                 .no_overwrite = true});
        CHECK(worm::read_file(file) == "signature\n");
        CHECK(mode_of(file) == 0440);
        try {
            worm::write_file_atomic(file, "forged", {.durable = durable, .no_overwrite = true});
            FAIL("an existing file was overwritten");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::already_exists);
            CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
        }
        CHECK(worm::read_file(file) == "signature\n");
    }
    CHECK(names_in(tmp.path()) == std::vector<std::string>{"durable.sig", "scratch.sig"});
}

TEST_CASE("threads racing to create the same file: exactly one wins, with its whole content") {
    TempDir tmp;
    const fs::path file = tmp.path() / "EB-20251101-0001.json";
    constexpr int kThreads = 8;
    std::atomic<int> won{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            const std::string body(64 * 1024, static_cast<char>('a' + t));
            try {
                worm::write_file_atomic(file, body, {.durable = false, .no_overwrite = true});
                ++won;
            } catch (const Error& e) {
                if (e.code() == ErrorCode::already_exists) ++refused;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(won == 1);
    CHECK(refused == kThreads - 1);
    const std::string content = worm::read_file(file);
    REQUIRE(content.size() == 64 * 1024);
    CHECK(content.find_first_not_of(content[0]) == std::string::npos);
    CHECK(names_in(tmp.path()) == std::vector<std::string>{file.filename().string()});
}

TEST_CASE("a write into a missing directory names the path and creates nothing") {
    TempDir tmp;
    const fs::path file = tmp.path() / "missing" / "a.json";
    for (bool no_overwrite : {true, false}) {
        try {
            worm::write_file_atomic(file, "x", {.no_overwrite = no_overwrite});
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::io);
            CHECK(std::string(e.what()).find((tmp.path() / "missing").string()) != std::string::npos);
        }
    }
    CHECK(names_in(tmp.path()).empty());
}
