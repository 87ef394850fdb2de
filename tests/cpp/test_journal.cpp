// The audit log's journal on its own: CRC-32C, the staging ring (wrap-around, a full ring,
// records only in the ring at kill -9, a stale drained-through mark after power loss), and
// segments written before the ring existed.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <cstdio>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "audit_log/journal.hpp"
#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "util/crc32c.hpp"

using namespace worm;
using worm::audit_log::detail::Journal;
namespace t = worm::test;

namespace {

std::string line(int n, std::size_t pad = 40) {
    return R"({"n":)" + std::to_string(n) + R"(,"pad":")" + std::string(pad + static_cast<std::size_t>(n % 13), 'x') + "\"}";
}

// Runs body in a child process that is then killed with SIGKILL, as a crash would.
void crash_after(const std::function<void()>& body) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        try {
            body();
        } catch (...) {
            ::_exit(3);
        }
        ::kill(::getpid(), SIGKILL);
        ::_exit(4);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
}

// Every batch the journal holds, in sequence order, as record numbers.
std::vector<std::vector<int>> batches_of(Journal& journal) {
    std::vector<std::vector<int>> out;
    for (const auto& range : journal.batches_from(0, SIZE_MAX)) {
        std::vector<int> numbers;
        for (const auto& text : journal.read_batch(range.sequence)) numbers.push_back(std::stoi(text.substr(5)));
        out.push_back(numbers);
    }
    return out;
}

}  // namespace

TEST_CASE("crc32c: the instruction and the table agree, and match the check value") {
    CHECK(detail::crc32c("123456789") == 0xE3069283u);
    CHECK(detail::crc32c_table("123456789") == 0xE3069283u);
    std::mt19937 random(7);
    for (std::size_t size = 0; size < 300; ++size) {
        std::string data(size, '\0');
        for (auto& c : data) c = static_cast<char>(random());
        REQUIRE(detail::crc32c(data) == detail::crc32c_table(data));
        const std::size_t half = size / 2;
        REQUIRE(detail::crc32c(data.substr(half), detail::crc32c(data.substr(0, half))) == detail::crc32c(data));
    }
}

TEST_CASE("a full disk under the journal is a storage error (util/posix.hpp's errno mapping), not io") {
    // In a child, so the file-size limit stays there: RLIMIT_FSIZE with SIGXFSZ ignored makes
    // sizing the ring fail with EFBIG, as a full disk fails with ENOSPC.
    t::TempDir dir{"worm-journal-full"};
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{4096, 4096};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        try {
            Journal journal(dir / "j", 1 << 20, 64 * 1024);
        } catch (const Error& e) {
            ::_exit(e.code() == ErrorCode::storage ? 0 : e.code() == ErrorCode::io ? 1 : 2);
        }
        ::_exit(3);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, "0: storage, 1: io, 2: another code, 3: no error");
}

TEST_CASE("records only in the ring when the process is killed are replayed, once") {
    t::TempDir dir{"worm-journal"};
    crash_after([&] {
        Journal journal(dir / "j", 1 << 20, 64 * 1024);
        for (int n = 0; n < 10; ++n) journal.append_record(line(n));
        journal.seal(0);
        for (int n = 10; n < 13; ++n) journal.append_record(line(n));
    });
    {
        Journal journal(dir / "j", 1 << 20, 64 * 1024);
        REQUIRE(batches_of(journal) == std::vector<std::vector<int>>{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}});
        CHECK(journal.open_records() == 3);
        CHECK(journal.repair_note().empty());
        journal.seal(1);
        journal.sync();
    }
    Journal again(dir / "j", 1 << 20, 64 * 1024);
    REQUIRE(batches_of(again) == std::vector<std::vector<int>>{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12}});
    CHECK(again.open_records() == 0);
}

TEST_CASE("bytes() read while the ring drains and segments roll never counts a byte twice") {
    // Nothing is released here, so the journal only grows: a reading that goes down means an
    // earlier one counted bytes in two places at once (ring and segment, or segment and
    // closed), which made the sink refuse records below its cap.
    t::TempDir dir{"worm-journal"};
    Journal journal(dir / "j", 4096, 64 * 1024);
    std::atomic<bool> done{false};
    std::atomic<int> decreases{0};
    std::thread syncer([&] {
        while (!done) journal.sync();
    });
    std::thread reader([&] {
        std::uint64_t last = 0;
        while (!done) {
            const std::uint64_t now = journal.bytes();
            if (now < last) ++decreases;
            last = std::max(last, now);
        }
    });
    for (int n = 0; n < 5000; ++n) {
        journal.append_record(line(n));
        if (n % 4 == 3) journal.seal(static_cast<std::uint64_t>(n / 4));
    }
    done = true;
    syncer.join();
    reader.join();
    CHECK(decreases == 0);
}

TEST_CASE("a ring that wraps many times and fills up loses and doubles nothing") {
    t::TempDir dir{"worm-journal"};
    std::vector<std::vector<int>> expected(1);
    {
        // 64 KiB ring, ~80-byte records: 6,000 of them go round it about nine times, and
        // the producer meets a full ring (no one drains but itself).
        Journal journal(dir / "j", 32 * 1024, 64 * 1024);
        std::uint64_t sequence = 0;
        for (int n = 0; n < 6000; ++n) {
            journal.append_record(line(n));
            expected.back().push_back(n);
            if (n % 7 == 6) {
                journal.seal(sequence++);
                expected.emplace_back();
            }
            if (n % 1000 == 999) journal.sync();
        }
        journal.seal(sequence);
        journal.sync();
    }
    Journal journal(dir / "j", 32 * 1024, 64 * 1024);
    REQUIRE(batches_of(journal) == expected);
    // Closed segments go once their batches are stored; what remains is still readable.
    const auto before = journal.bytes();
    journal.release_through(700);
    CHECK(journal.bytes() < before);
    CHECK(journal.read_batch(701).size() == 7);
    CHECK_THROWS_AS(journal.read_batch(3), Error);
}

TEST_CASE("after a crash with a stale drained-through mark, drained records are not replayed twice") {
    t::TempDir dir{"worm-journal"};
    crash_after([&] {
        Journal journal(dir / "j", 1 << 20, 64 * 1024);
        for (int n = 0; n < 5; ++n) journal.append_record(line(n));
        journal.seal(0);
        journal.sync();  // batch 0 is in the segment, fsynced
        for (int n = 5; n < 8; ++n) journal.append_record(line(n));
        journal.seal(1);  // batch 1 only in the ring
    });
    // Power loss can persist the ring's data pages but not its header: put the mark back to 0.
    {
        const int fd = ::open((dir / "j" / "ring.buf").c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        const char zero[8] = {};
        REQUIRE(::pwrite(fd, zero, 8, 16) == 8);
        ::close(fd);
    }
    Journal journal(dir / "j", 1 << 20, 64 * 1024);
    REQUIRE(batches_of(journal) == std::vector<std::vector<int>>{{0, 1, 2, 3, 4}, {5, 6, 7}});
}

TEST_CASE("the ring's size can change between runs; its frames are replayed first") {
    t::TempDir dir{"worm-journal"};
    crash_after([&] {
        Journal journal(dir / "j", 1 << 20, 64 * 1024);
        for (int n = 0; n < 4; ++n) journal.append_record(line(n));
        journal.seal(0);
    });
    Journal journal(dir / "j", 1 << 20, 256 * 1024);
    REQUIRE(batches_of(journal) == std::vector<std::vector<int>>{{0, 1, 2, 3}});
    CHECK(std::filesystem::file_size(dir / "j" / "ring.buf") == 4096 + 256 * 1024);
}

TEST_CASE("segments written before the ring (frames without lsn) are still read") {
    t::TempDir dir{"worm-journal"};
    std::filesystem::create_directories(dir / "j");
    auto frame = [](char type, const std::string& payload) {
        std::string typed = std::string(1, type) + payload;
        const std::uint32_t crc = detail::crc32c_table(typed);
        std::string out(8, '\0');
        for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>((payload.size() >> (8 * i)) & 0xff);
        for (int i = 0; i < 4; ++i) out[static_cast<size_t>(4 + i)] = static_cast<char>((crc >> (8 * i)) & 0xff);
        return out + typed;
    };
    {
        std::ofstream out(dir / "j" / "seg-0000000001.wal", std::ios::binary);
        out << frame(1, line(0)) << frame(1, line(1)) << frame(2, std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8))
            << frame(1, line(2));
    }
    Journal journal(dir / "j", 1 << 20, 64 * 1024);
    REQUIRE(batches_of(journal) == std::vector<std::vector<int>>{{0, 1}});
    CHECK(journal.open_records() == 1);
    journal.seal(1);
    CHECK(journal.read_batch(1) == std::vector<std::string>{line(2)});
}

TEST_CASE("seal refuses a sequence that does not follow the newest sealed one, also after a restart") {
    // Found by fuzz_journal: a journal whose last seal was 2^64-1 took a seal of 0 (the next
    // sequence wrapped) and listed the new batch before the old one.
    t::TempDir dir{"worm-journal"};
    auto refuses = [](Journal& journal, std::uint64_t sequence) {
        try {
            journal.seal(sequence);
            FAIL("seal(" << sequence << ") was taken");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::invalid_argument);
            CHECK(std::string(e.what()).find("does not follow the newest sealed one") != std::string::npos);
        }
    };
    {
        Journal journal(dir / "j", 1 << 20, 64 * 1024);
        journal.append_record(line(0));
        journal.seal(5);
        journal.append_record(line(1));
        refuses(journal, 5);
        refuses(journal, 4);
        journal.seal(UINT64_MAX);
        journal.sync();
    }
    Journal journal(dir / "j", 1 << 20, 64 * 1024);
    journal.append_record(line(2));
    refuses(journal, 0);
    refuses(journal, UINT64_MAX);
    REQUIRE(batches_of(journal) == std::vector<std::vector<int>>{{0}, {1}});
}

TEST_CASE("a record larger than half the ring is refused and names the limit") {
    t::TempDir dir{"worm-journal"};
    Journal journal(dir / "j", 1 << 20, 64 * 1024);
    const std::string big(40 * 1024, 'x');
    try {
        journal.append_record(big);
        FAIL("a 40 KiB record went into a 64 KiB ring");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::invalid_argument);
        CHECK(std::string(e.what()).find(std::to_string(journal.max_record_bytes())) != std::string::npos);
    }
    journal.append_record(line(1));
    journal.seal(0);
    CHECK(journal.read_batch(0).size() == 1);
}

TEST_CASE("a backlog beyond the index window is listed again from the segments, in order") {
    t::TempDir dir{"worm-journal"};
    constexpr std::size_t window = 8;
    constexpr int batches = 500;
    // Reads the backlog the way the sink does: a window's worth at a time, storing (releasing)
    // each batch before asking for more. Returns the record numbers seen.
    auto consume = [](Journal& journal, std::uint64_t from) {
        std::vector<int> seen;
        for (;;) {
            const auto listed = journal.batches_from(from, window);
            if (listed.empty()) break;
            for (const auto& range : listed) {
                REQUIRE(range.sequence == from);
                const auto lines = journal.read_batch(range.sequence);
                REQUIRE(lines.size() == range.records);
                for (const auto& text : lines) seen.push_back(std::stoi(text.substr(5)));
                journal.release_through(range.sequence);
                ++from;
            }
        }
        return seen;
    };
    {
        // 4 KiB segments: the backlog spans dozens of them, so the scan crosses segment marks.
        Journal journal(dir / "j", 4096, 64 * 1024, window);
        for (int b = 0; b < batches; ++b) {
            for (int r = 0; r < 3; ++r) journal.append_record(line(b * 3 + r));
            journal.seal(static_cast<std::uint64_t>(b));
            if (b % 50 == 49) journal.sync();
        }
        journal.sync();
        const auto all = journal.backlog_after(std::nullopt);
        CHECK(all.batches == batches);
        CHECK(all.records == batches * 3);
        CHECK(all.last_sequence == std::optional<std::uint64_t>(batches - 1));
        // The first 100 are stored in this process.
        const auto first = journal.batches_from(0, 100);
        REQUIRE(first.size() == 100);
        for (const auto& range : first) REQUIRE(journal.read_batch(range.sequence).size() == 3);
        journal.release_through(99);
    }
    // A new process: its index holds a window; the rest is found by reading the segments.
    Journal journal(dir / "j", 4096, 64 * 1024, window);
    const auto after = journal.backlog_after(99);
    CHECK(after.batches == batches - 100);
    CHECK(after.records == (batches - 100) * 3);
    CHECK(after.last_sequence == std::optional<std::uint64_t>(batches - 1));
    // Stored up to 300 elsewhere (the sink's state): segments before it go, the cursor follows.
    journal.release_through(300);
    const auto seen = consume(journal, 301);
    REQUIRE(seen.size() == static_cast<std::size_t>((batches - 301) * 3));
    for (std::size_t i = 0; i < seen.size(); ++i) REQUIRE(seen[i] == 301 * 3 + static_cast<int>(i));
    CHECK(journal.backlog_after(batches - 1).batches == 0);
    CHECK_THROWS_AS(journal.read_batch(batches), Error);
}

TEST_CASE("a journal given its caller's mutex takes that mutex, held, as the producer's proof") {
    t::TempDir dir{"worm-journal"};
    std::mutex callers;
    {
        Journal journal(dir / "j", 1 << 20, 64 * 1024, Journal::default_index_window, &callers);
        {
            const Journal::ProducerLock lock(callers);
            for (int n = 0; n < 3; ++n) journal.append_record(lock, line(n));
            journal.seal(lock, 0);
        }
        journal.append_record(line(3));  // the overload without a lock takes the caller's mutex itself
        journal.seal(1);
        journal.sync();
        CHECK(batches_of(journal) == std::vector<std::vector<int>>{{0, 1, 2}, {3}});

        // Another mutex's lock, or the caller's let go, is no proof: a data race about to
        // happen, so the guard aborts (tried in a child process, stderr silenced).
        auto aborts = [](const std::function<void()>& body) {
            const pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                if (std::freopen("/dev/null", "w", stderr) == nullptr) ::_exit(3);
                body();
                ::_exit(0);
            }
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
        };
        std::mutex other;
        CHECK(aborts([&] { journal.append_record(Journal::ProducerLock(other), line(4)); }));
        CHECK(aborts([&] {
            Journal::ProducerLock lock(callers);
            lock.unlock();
            journal.seal(lock, 2);
        }));
    }
    // The refused attempts wrote nothing, not even into the ring the child shared.
    Journal again(dir / "j", 1 << 20, 64 * 1024);
    CHECK(batches_of(again) == std::vector<std::vector<int>>{{0, 1, 2}, {3}});
    CHECK(again.open_records() == 0);
    CHECK(again.repair_note().empty());
}
