// AuditLogSink against a LocalWormStore (and a FaultStore in front of it for outages):
// batching, key layout and metadata, hash chain and checkpoints, exactly-once delivery
// from many threads, outages, the disk cap, close() deadlines, and replay after kill -9.
#include <doctest/doctest.h>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "audit_log/journal.hpp"
#include "support/audit_log_reader.hpp"
#include "support/error_code.hpp"
#include "support/fault_store.hpp"
#include "support/test_env.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/audit_log/verify.hpp"
#include "worm/crypto.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"
#include "worm/storage/local.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;

namespace {

struct Fixture {
    t::TempDir dir{"worm-audit-log"};
    std::shared_ptr<LocalWormStore> local =
        std::make_shared<LocalWormStore>(dir / "store", system_clock(), LocalStoreOptions{.durable = false});
    std::shared_ptr<t::FaultStore> store = std::make_shared<t::FaultStore>(local);

    AuditLogOptions options(JournalMode mode = JournalMode::disk) const {
        AuditLogOptions o;
        o.service_name = "camera_service";
        o.prefix = "audit-logs";
        o.journal_mode = mode;
        o.journal_dir = dir / "journal";
        o.retry_initial = 5ms;
        o.retry_max = 50ms;
        return o;
    }
};

std::string record(int thread, int n, const std::string& request_id = "req-1") {
    return R"({"level":"INFO","request_id":")" + request_id + R"(","message":"m","thread":)" +
           std::to_string(thread) + R"(,"n":)" + std::to_string(n) + "}";
}

// Every (thread, n) appears once, and per thread in increasing n.
void check_exactly_once_in_order(const std::vector<std::string>& lines, int threads, int per_thread) {
    std::map<int, int> next;
    for (const auto& line : lines) {
        const auto d = json::parse_strict(line);
        const int thread = d["thread"].GetInt(), n = d["n"].GetInt();
        REQUIRE_MESSAGE(n == next[thread], "thread " << thread << " record " << n << " after " << next[thread]);
        ++next[thread];
    }
    REQUIRE(next.size() == static_cast<size_t>(threads));
    for (const auto& [thread, count] : next) CHECK(count == per_thread);
}

}  // namespace

TEST_CASE("presets follow the seed") {
    const auto c = AuditLogOptions::compliance("svc");
    CHECK(c.max_records == 5);
    CHECK(c.max_interval == 15s);
    CHECK(c.lock_mode == LockMode::governance);  // the seed: GOVERNANCE everywhere (issue 21)
    const auto h = AuditLogOptions::high_volume("svc");
    CHECK(h.max_records == 50);
    CHECK(h.max_interval == 60s);
    CHECK(h.min_level == LogLevel::warning);
    const AuditLogOptions d;
    CHECK(d.lock_mode == LockMode::governance);
    CHECK(d.retention_days == 2557);
    CHECK(d.max_journal_bytes == 1024ull * 1024 * 1024);
    CHECK(d.fsync_interval == 10ms);
    CHECK(d.prefix == "audit-logs");
}

TEST_CASE("batches are JSON Lines objects with the seed's key, metadata, lock and hash chain") {
    Fixture f;
    auto o = f.options();
    o.max_records = 3;
    AuditLogSink sink(f.store, o);
    for (int i = 0; i < 7; ++i)
        sink.log_json(R"({"timestamp":"2025-06-12T10:30:00.)" + std::to_string(100 + i) +
                      R"(Z","level":")" + (i == 1 ? "ERROR" : "INFO") + R"(","request_id":"req-12345/x","user_id":"user123","message":"m)" +
                      std::to_string(i) + R"(","confidence":0.92})");
    REQUIRE(sink.flush(10s));
    const auto stats = sink.stats();
    CHECK(stats.accepted == 7);
    CHECK(stats.stored == 7);
    CHECK(stats.queued == 0);
    CHECK(stats.batches_stored == 3);
    CHECK(stats.checkpoints_stored == 1);

    const auto batches = t::stored_batches(*f.local, "audit-logs/");
    REQUIRE(batches.size() == 3);
    std::string previous;
    for (std::size_t i = 0; i < batches.size(); ++i) {
        const auto& b = batches[i];
        CHECK(b.key == audit_log::batch_key("audit-logs", "2025-06-12T10:30:00.1Z", "req-12345_x", stats.stream, i));
        CHECK(b.key.rfind("audit-logs/2025/06/12/req-12345_x-" + stats.stream + "-", 0) == 0);
        CHECK(b.lines.size() == (i < 2 ? 3u : 1u));
        const auto info = f.local->head(b.key);
        CHECK(info.metadata.at("service_name") == "camera_service");
        CHECK(info.metadata.at("request_id") == "req-12345/x");
        CHECK(info.metadata.at("log_level") == (i == 0 ? "ERROR" : "INFO"));
        CHECK(info.metadata.at("worm_handler_version") == std::string(audit_log::handler_version));
        CHECK(info.metadata.at("stream") == stats.stream);
        CHECK(info.metadata.at("sequence") == std::to_string(i));
        CHECK(info.metadata.at("record-count") == std::to_string(b.lines.size()));
        CHECK(info.metadata.at("timestamp") == info.metadata.at("first-timestamp"));
        CHECK(info.metadata.at("previous-batch-sha256") == previous);
        REQUIRE(info.retention);
        CHECK(info.retention->mode == LockMode::governance);
        CHECK(info.retention->retain_until > system_clock().now() + std::chrono::hours(24 * 2550));
        const std::string body = f.local->get(b.key);
        previous = sha256_hex(body);
        // Each line is the record as given plus the service name the sink filled in.
        const auto first = json::parse_strict(b.lines[0]);
        CHECK(std::string(first["service_name"].GetString()) == "camera_service");
        CHECK(std::string(first["user_id"].GetString()) == "user123");
        CHECK(first["confidence"].GetDouble() == 0.92);
    }
    // One unsigned checkpoint covers the three batches.
    const auto cp_key = audit_log::checkpoint_key("audit-logs", stats.stream, 0);
    const auto cp = audit_log::parse_checkpoint(f.local->get(cp_key));
    REQUIRE(cp.batches.size() == 3);
    CHECK(cp.batches[2].sha256_hex == previous);
    CHECK(cp.previous_signature.empty());
    CHECK_THROWS(f.local->head(cp_key.substr(0, cp_key.size() - 5) + ".sig"));
}

// What the code under test writes to fd 2 while the capture lives.
class StderrCapture {
public:
    explicit StderrCapture(std::filesystem::path file) : file_(std::move(file)) {
        std::fflush(stderr);
        saved_ = ::dup(2);
        const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    std::string text() {
        restore();
        std::ifstream in(file_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    std::filesystem::path file_;
    int saved_ = -1;
};

TEST_CASE("max_retries: a batch failing that many attempts is counted and said once on stderr, never dropped") {
    Fixture f;
    auto o = f.options();
    o.max_records = 2;
    o.retention_days = 0;
    o.max_retries = 3;
    o.max_in_flight = 1;  // one batch meets the 4 failures in a row
    StderrCapture capture(f.dir / "stderr.txt");
    f.store->fail_puts = 4;  // the first batch fails 4 attempts in a row, then the store is back
    AuditLogSink sink(f.store, o);
    for (int n = 0; n < 4; ++n) sink.log_json(record(0, n));
    REQUIRE(sink.flush(30s));
    const auto stats = sink.stats();
    const std::string err = capture.text();
    CHECK(stats.batches_failed == 1);
    CHECK(stats.batches_retried == 4);
    CHECK(stats.stored == 4);
    CHECK(err.find("worm audit log: batch 0 of stream " + stats.stream + " failed 3 attempts") != std::string::npos);
    CHECK(err.find("stays in the journal") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, 4);
    o.max_retries = 0;
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("max_retries"), Error);
}

TEST_CASE("per-record layout: the seed's {prefix}/YYYY/MM/DD/{request_id}-{uuid4}.json, one record each, chained") {
    Fixture f;
    auto o = f.options();
    o.layout = AuditLogLayout::per_record;
    o.max_records = 5;  // ignored: one record per object
    AuditLogSink sink(f.store, o);
    for (int i = 0; i < 3; ++i)
        sink.log_json(R"({"timestamp":"2025-06-12T10:30:00.12)" + std::to_string(i) +
                      R"(Z","level":"INFO","request_id":"req-12345-abcde","message":"m)" + std::to_string(i) + R"("})");
    REQUIRE(sink.flush(10s));
    const auto stream = sink.stats().stream;
    const std::regex seed_key(R"(^audit-logs/2025/06/12/req-12345-abcde-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.json$)");
    std::string previous;
    for (std::uint64_t i = 0; i < 3; ++i) {
        const std::string key = audit_log::record_key("audit-logs", "2025-06-12T10:30:00.12Z", "req-12345-abcde", stream, i);
        CHECK(std::regex_match(key, seed_key));
        CHECK(audit_log::is_record_key(key));
        const std::string body = f.local->get(key);
        const auto d = json::parse_strict(body);  // one JSON object, no newline
        CHECK(body.back() == '}');
        CHECK(std::string(d["message"].GetString()) == "m" + std::to_string(i));
        const auto info = f.local->head(key);
        CHECK(info.metadata.at("request_id") == "req-12345-abcde");
        CHECK(info.metadata.at("sequence") == std::to_string(i));
        CHECK(info.metadata.at("previous-batch-sha256") == previous);
        previous = sha256_hex(body);
    }
    CHECK(t::stored_batches(*f.local, "audit-logs/").empty());  // no .jsonl batches
    const auto cp = audit_log::parse_checkpoint(f.local->get(audit_log::checkpoint_key("audit-logs", stream, 0)));
    REQUIRE(cp.batches.size() == 3);
    CHECK(cp.batches[2].sha256_hex == previous);
    audit_log::VerifyOptions vo;
    auto report = audit_log::verify_audit_log(*f.local, vo);
    CHECK(report.valid());
    CHECK(report.records_verified == 3);
    // A record object removed from the middle is found missing.
    const std::string middle = audit_log::record_key("audit-logs", "2025-06-12T10:30:00.12Z", "req-12345-abcde", stream, 1);
    f.local->remove(middle, DeleteOptions{.bypass_governance = true});
    report = audit_log::verify_audit_log(*f.local, vo);
    CHECK_FALSE(report.valid());
}

TEST_CASE("records below min_level are filtered; missing fields are filled in") {
    Fixture f;
    auto o = AuditLogOptions::high_volume("svc");
    o.journal_dir = f.dir / "journal";
    o.max_records = 2;
    o.retention_days = 0;
    AuditLogSink sink(f.store, o);
    CHECK_FALSE(sink.log_json(R"({"level":"INFO","message":"routine"})"));
    CHECK(sink.log_json(R"({"level":"WARNING","message":"a"})"));
    CHECK_FALSE(sink.log_json(R"({"message":"no level means INFO"})"));
    CHECK(sink.log_json(R"({"level":"AUDIT","message":"a level the sink does not know is kept"})"));
    CHECK(sink.log_json(R"({"level":"CRITICAL","message":"b"})"));
    REQUIRE(sink.flush(10s));
    CHECK(sink.stats().filtered == 2);
    const auto lines = t::stored_lines(*f.local, "audit-logs/");
    REQUIRE(lines.size() == 3);
    const auto first = json::parse_strict(lines[0]);
    CHECK(std::string(first["service_name"].GetString()) == "svc");
    CHECK(std::string(first["timestamp"].GetString()).size() == 24);  // 2026-11-26T14:00:00.123Z
    CHECK(std::string(first["timestamp"].GetString()).back() == 'Z');
}

TEST_CASE("a record from its level, message and fields; the injected clock stamps it and its checkpoint") {
    Fixture f;
    const FixedClock clock(parse_rfc3339("2026-01-02T03:04:05.678Z"));
    auto o = f.options();
    o.retention_days = 0;
    o.clock = &clock;
    AuditLogSink sink(f.store, o);
    CHECK(sink.log(LogLevel::warning, "door forced", {{"request_id", "req-9"}, {"user_id", "u1"}}));
    CHECK_FALSE(AuditLogSink(f.store, [&] {
                    auto filtered = o;
                    filtered.journal_dir = f.dir / "journal-2";
                    filtered.min_level = LogLevel::error;
                    return filtered;
                }()).log(LogLevel::info, "below min_level"));
    CHECK(t::error_of([&] { sink.log(LogLevel::info, "m", {{"level", "DEBUG"}}); }, ErrorCode::invalid_argument)
              .find("'level'") != std::string::npos);
    CHECK(t::error_of([&] { sink.log(LogLevel::info, "m", {{"a", "1"}, {"a", "2"}}); }, ErrorCode::invalid_argument)
              .find("given twice") != std::string::npos);
    REQUIRE(sink.flush(10s));
    const auto lines = t::stored_lines(*f.local, "audit-logs/");
    REQUIRE(lines.size() == 1);
    const auto d = json::parse_strict(lines[0]);
    CHECK(std::string(d["level"].GetString()) == "WARNING");
    CHECK(std::string(d["message"].GetString()) == "door forced");
    CHECK(std::string(d["request_id"].GetString()) == "req-9");
    CHECK(std::string(d["user_id"].GetString()) == "u1");
    CHECK(std::string(d["timestamp"].GetString()) == "2026-01-02T03:04:05.678Z");
    CHECK(audit_log::parse_checkpoint(f.local->get(audit_log::checkpoint_key("audit-logs", sink.stats().stream, 0)))
              .created_at == "2026-01-02T03:04:05.678Z");
}

TEST_CASE("bad records and options are refused with clear errors") {
    Fixture f;
    CHECK(t::code_of([&] { AuditLogSink(nullptr, f.options()); }) == ErrorCode::invalid_argument);
    auto o = f.options();
    o.max_records = 0;
    CHECK(t::error_of([&] { AuditLogSink(f.store, o); }, ErrorCode::invalid_argument).find("max_records") !=
          std::string::npos);
    AuditLogSink sink(f.store, f.options());
    CHECK(t::code_of([&] { sink.log_json("[1,2]"); }) == ErrorCode::invalid_argument);
    CHECK(t::code_of([&] { sink.log_json("{\"a\":"); }) == ErrorCode::parse);
    CHECK(t::code_of([&] { sink.log_json(R"({"timestamp":"yesterday"})"); }) == ErrorCode::invalid_argument);
    // One sink per journal directory.
    CHECK(t::error_of([&] { AuditLogSink(f.store, f.options()); }, ErrorCode::config).find("in use") !=
          std::string::npos);
    sink.close(5s);
    CHECK(t::code_of([&] { sink.log_json("{}"); }) == ErrorCode::storage);
}

TEST_CASE("100,000 records from 8 threads reach the store exactly once, in order per thread") {
    for (const auto mode : {JournalMode::disk, JournalMode::memory}) {
        CAPTURE(static_cast<int>(mode));
        Fixture f;
        auto o = f.options(mode);
        o.max_records = 1000;
        o.retention_days = 0;
        constexpr int threads = 8, per_thread = 12'500;
        AuditLogSink sink(f.store, o);
        std::vector<std::thread> workers;
        for (int th = 0; th < threads; ++th)
            workers.emplace_back([&, th] {
                for (int n = 0; n < per_thread; ++n) sink.log_json(record(th, n));
            });
        for (auto& w : workers) w.join();
        REQUIRE(sink.close(60s));
        CHECK(sink.stats().stored == threads * per_thread);
        check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), threads, per_thread);
        for (const auto& [key, puts] : f.store->puts_per_key()) CHECK_MESSAGE(puts == 1, key);
    }
}

TEST_CASE("an outage mid-run loses nothing and keeps the order; lost responses store nothing twice") {
    Fixture f;
    auto o = f.options();
    o.max_records = 10;
    o.retention_days = 0;
    AuditLogSink sink(f.store, o);
    for (int n = 0; n < 100; ++n) sink.log_json(record(0, n));
    f.store->down = true;
    for (int n = 100; n < 300; ++n) sink.log_json(record(0, n));
    CHECK_FALSE(sink.flush(100ms));  // the store is away: flush says so instead of hanging
    const auto during = sink.stats();
    CHECK(during.queued > 0);
    CHECK(during.batches_retried > 0);
    CHECK(during.last_error.find("connection refused") != std::string::npos);
    CHECK(during.last_error_time.has_value());
    CHECK(during.journal_bytes > 0);
    f.store->down = false;
    f.store->lose_put_responses = 3;  // stored, but the sink hears a timeout: the retry must not duplicate
    for (int n = 300; n < 400; ++n) sink.log_json(record(0, n));
    REQUIRE(sink.flush(30s));
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, 400);
    for (const auto& [key, puts] : f.store->puts_per_key()) CHECK_MESSAGE(puts == 1, key);
    CHECK(sink.stats().queued == 0);
}

TEST_CASE("at the disk cap the policy is observed and counted") {
    Fixture f;
    auto o = f.options();
    o.max_records = 4;
    o.advanced.journal_segment_bytes = 1024;
    o.max_journal_bytes = 64 * 1024;
    o.retention_days = 0;
    f.store->down = true;

    SUBCASE("refuse: the caller gets an error at once") {
        o.policy = BackpressurePolicy::refuse;
        AuditLogSink sink(f.store, o);
        int accepted = 0;
        std::string message;
        for (int n = 0; n < 10'000 && message.empty(); ++n) {
            try {
                sink.log_json(record(0, n));
                ++accepted;
            } catch (const Error& e) {
                CHECK(e.code() == ErrorCode::storage);
                message = e.what();
            }
        }
        CHECK(message.find("at its cap") != std::string::npos);
        CHECK(sink.stats().refused == 1);
        CHECK(sink.stats().journal_bytes <= o.max_journal_bytes);
        // The store comes back: everything accepted goes out, and there is room again.
        f.store->down = false;
        REQUIRE(sink.flush(30s));
        sink.log_json(record(0, accepted));
        REQUIRE(sink.flush(30s));
        check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, accepted + 1);
    }
    SUBCASE("block: the caller waits up to the timeout, then is refused; room ends the wait") {
        o.policy = BackpressurePolicy::block;
        o.block_timeout = 50ms;
        AuditLogSink sink(f.store, o);
        int accepted = 0;
        for (;; ++accepted) {
            try {
                sink.log_json(record(0, accepted));
            } catch (const Error& e) {
                CHECK(e.code() == ErrorCode::storage);
                break;
            }
        }
        CHECK(sink.stats().refused == 1);
        // A caller blocked at the cap goes on once the store drains the backlog.
        auto blocking = o;
        std::thread restore([&] {
            std::this_thread::sleep_for(20ms);
            f.store->down = false;
        });
        bool later_accepted = false;
        for (int attempt = 0; attempt < 200 && !later_accepted; ++attempt) {
            try {
                sink.log_json(record(0, accepted));
                later_accepted = true;
            } catch (const Error&) {
            }
        }
        restore.join();
        REQUIRE(later_accepted);
        REQUIRE(sink.flush(30s));
        check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, accepted + 1);
    }
}

TEST_CASE("close() returns within its timeout when the store hangs; the journal keeps the rest") {
    Fixture f;
    auto o = f.options();
    o.max_records = 5;
    o.retention_days = 0;
    f.store->hold_puts();
    {
        AuditLogSink sink(f.store, o);
        for (int n = 0; n < 20; ++n) sink.log_json(record(0, n));
        const auto start = std::chrono::steady_clock::now();
        CHECK_FALSE(sink.close(300ms));
        // A deadline, not a speed: generous margin for a loaded machine.
        CHECK(std::chrono::steady_clock::now() - start < 3s);
        CHECK(f.store->held_puts() >= 1);
        f.store->release_puts();
    }
    // The next sink (same journal) stores all 20 exactly once.
    std::this_thread::sleep_for(50ms);  // the detached PUT returns and releases the journal
    std::unique_ptr<AuditLogSink> next;
    for (int i = 0; i < 100 && !next; ++i) {
        try {
            next = std::make_unique<AuditLogSink>(f.store, o);
        } catch (const Error& e) {
            REQUIRE(e.code() == ErrorCode::config);
            std::this_thread::sleep_for(20ms);
        }
    }
    REQUIRE(next);
    REQUIRE(next->flush(30s));
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, 20);
}

TEST_CASE("close() with the store down returns in time; a new sink resumes from the journal") {
    Fixture f;
    auto o = f.options();
    o.max_records = 7;
    o.retention_days = 0;
    {
        AuditLogSink sink(f.store, o);
        for (int n = 0; n < 30; ++n) sink.log_json(record(0, n));
        REQUIRE(sink.flush(10s));
        f.store->down = true;
        for (int n = 30; n < 60; ++n) sink.log_json(record(0, n));
        CHECK_FALSE(sink.close(200ms));
        CHECK(sink.stats().queued == 30);
    }
    f.store->down = false;
    AuditLogSink again(f.store, o);
    {
        // Its uploader starts at once and may have stored some already: count both.
        const auto s = again.stats();
        CHECK(s.queued + s.stored == 30);
    }
    for (int n = 60; n < 70; ++n) again.log_json(record(0, n));
    REQUIRE(again.close(30s));
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, 70);
    // One stream, sequences 0..N without a gap.
    const auto batches = t::stored_batches(*f.local, "audit-logs/");
    for (std::size_t i = 0; i < batches.size(); ++i) {
        CHECK(batches[i].stream == batches[0].stream);
        CHECK(batches[i].sequence == i);
    }
}

TEST_CASE("kill -9 while the store is away: a new process replays the journal, nothing lost or doubled") {
    Fixture f;
    auto o = f.options();
    o.max_records = 6;
    o.retention_days = 0;
    int ready_pipe[2];
    REQUIRE(::pipe(ready_pipe) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child: part of the records reach the store (one response lost), then the store goes away.
        ::close(ready_pipe[0]);
        try {
            AuditLogSink sink(f.store, o);
            for (int n = 0; n < 30; ++n) sink.log_json(record(0, n));
            f.store->lose_put_responses = 1;
            sink.flush(10s);
            f.store->down = true;
            for (int n = 30; n < 100; ++n) sink.log_json(record(0, n));  // accepted: in the journal
            (void)!::write(ready_pipe[1], "k", 1);
            for (;;) ::pause();
        } catch (...) {
            ::_exit(3);
        }
    }
    ::close(ready_pipe[1]);
    char c = 0;
    REQUIRE(::read(ready_pipe[0], &c, 1) == 1);
    ::close(ready_pipe[0]);
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));

    AuditLogSink replay(f.store, o);
    REQUIRE(replay.close(30s));
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, 100);
    for (const auto& [key, puts] : f.store->puts_per_key()) CHECK_MESSAGE(puts == 1, key);
}

TEST_CASE("a torn journal tail is cut off at the last whole record and reported") {
    Fixture f;
    auto o = f.options();
    o.max_records = 100;
    o.retention_days = 0;
    f.store->down = true;
    {
        AuditLogSink sink(f.store, o);
        for (int n = 0; n < 10; ++n) sink.log_json(record(0, n));
        sink.close(100ms);
    }
    // Half a frame at the end, as a crash in the middle of a write leaves it.
    const auto segment = f.dir / "journal" / "seg-0000000001.wal";
    {
        std::ofstream out(segment, std::ios::binary | std::ios::app);
        out << std::string("\x30\x00\x00\x00\x01\x02", 6);
    }
    f.store->down = false;
    AuditLogSink sink(f.store, o);
    CHECK(sink.stats().last_error.find("cut 6 damaged bytes") != std::string::npos);
    REQUIRE(sink.close(30s));
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, 10);
}

TEST_CASE("a journal whose newest batch sequence nothing can follow is refused, not wrapped to 0") {
    Fixture f;
    {
        audit_log::detail::Journal journal(f.dir / "journal", 1 << 20);
        journal.append_record(record(0, 0));
        journal.seal(UINT64_MAX);
    }
    try {
        AuditLogSink sink(f.store, f.options());
        FAIL("the sink opened the journal");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::integrity);
        CHECK(std::string(e.what()).find("18446744073709551615") != std::string::npos);
    }
    // Refusing left the journal as it was and unlocked.
    audit_log::detail::Journal journal(f.dir / "journal", 1 << 20);
    CHECK(journal.read_batch(UINT64_MAX) == std::vector<std::string>{record(0, 0)});
}

TEST_CASE("the sink's own threads run as SCHED_BATCH, so they never preempt a logging caller") {
    Fixture f;
    const int caller_policy = ::sched_getscheduler(0);
    AuditLogSink sink(f.store, f.options());
    // Each thread names itself and sets its policy as it starts: look until both have.
    const std::map<std::string, int> expected{
        {"worm-log-put", SCHED_BATCH}, {"worm-log-sync", SCHED_BATCH}, {"worm-log-upload", SCHED_BATCH}};
    std::map<std::string, int> policy_of;
    for (const auto deadline = std::chrono::steady_clock::now() + 10s;
         policy_of != expected && std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
        policy_of.clear();
        for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream comm(entry.path() / "comm");
            std::string name;
            std::getline(comm, name);
            if (name.rfind("worm-log-", 0) == 0)
                policy_of[name] = ::sched_getscheduler(std::stoi(entry.path().filename().string()));
        }
    }
    CHECK(policy_of == expected);
    CHECK(::sched_getscheduler(0) == caller_policy);  // the caller's own is left alone
}

TEST_CASE("checkpoints are Ed25519-signed and chain to the previous signature") {
    Fixture f;
    auto o = f.options(JournalMode::memory);
    o.max_records = 2;
    o.checkpoint_batches = 2;
    o.retention_days = 0;
    o.signing_key = std::make_shared<const Ed25519PrivateKey>(Ed25519PrivateKey::generate());
    const auto public_key = o.signing_key->public_key();
    AuditLogSink sink(f.store, o);
    for (int n = 0; n < 9; ++n) sink.log_json(record(0, n));
    REQUIRE(sink.close(30s));
    const std::string stream = sink.stats().stream;
    std::string previous_signature, previous_hash;
    std::uint64_t covered = 0;
    for (std::uint64_t seq = 0; seq < 3; ++seq) {
        const auto key = audit_log::checkpoint_key("audit-logs", stream, seq);
        const std::string text = f.local->get(key);
        const std::string sig = f.local->get(key.substr(0, key.size() - 5) + ".sig");
        CHECK(verify_signature_line(public_key, text, sig));
        const auto cp = audit_log::parse_checkpoint(text);
        CHECK(cp.previous_signature == previous_signature);
        CHECK(cp.previous_checkpoint_sha256 == previous_hash);
        for (const auto& b : cp.batches) CHECK(b.sequence == covered++);
        previous_signature = sig.substr(0, sig.size() - 1);
        previous_hash = sha256_hex(text);
    }
    CHECK(covered == 5);
    CHECK(sink.stats().checkpoints_stored == 3);
}

TEST_CASE("a backlog of more batches than the sink lists in memory goes out in order, also after a restart") {
    // The sink lists 1,024 waiting batches in memory; the rest wait only in the journal.
    Fixture f;
    auto o = f.options();
    o.max_records = 1;
    o.max_bytes = 1;  // a batch does not grow during the outage either
    o.retention_days = 0;
    constexpr int first_run = 1100, second_run = 300;  // batches of one record
    {
        AuditLogSink sink(f.store, o);
        f.store->down = true;
        for (int n = 0; n < first_run; ++n) sink.log_json(record(0, n));
        CHECK(sink.stats().queued == first_run);
        CHECK_FALSE(sink.close(100ms));
    }
    f.store->down = false;
    {
        AuditLogSink again(f.store, o);
        f.store->down = true;
        const auto s = again.stats();
        CHECK(s.queued + s.stored == first_run);
        for (int n = first_run; n < first_run + second_run; ++n) again.log_json(record(0, n));
        f.store->down = false;
        REQUIRE(again.close(60s));
    }
    check_exactly_once_in_order(t::stored_lines(*f.local, "audit-logs/"), 1, first_run + second_run);
    const auto batches = t::stored_batches(*f.local, "audit-logs/");
    REQUIRE(batches.size() == first_run + second_run);
    for (std::size_t i = 0; i < batches.size(); ++i) REQUIRE(batches[i].sequence == i);
}

TEST_CASE("close() from several threads at once, and on another thread than the constructor's") {
    // The sink's threads are stopped once: by the close() that gets there first; the others
    // find them stopped. Before the threads' handles were guarded, two close() calls at once
    // could both join the uploader thread.
    for (const auto mode : {JournalMode::disk, JournalMode::memory}) {
        CAPTURE(static_cast<int>(mode));
        Fixture f;
        auto sink = std::make_unique<AuditLogSink>(f.store, f.options(mode));
        for (int n = 0; n < 100; ++n) sink->log_json(record(0, n));
        std::vector<std::thread> closers;
        std::atomic<int> clean{0};
        for (int i = 0; i < 4; ++i)
            closers.emplace_back([&] {
                if (sink->close(10s)) ++clean;
            });
        for (auto& c : closers) c.join();
        CHECK(clean == 4);
        CHECK(sink->stats().stored == 100);
        std::thread([&] { sink.reset(); }).join();  // the destructor on yet another thread
        CHECK(t::stored_lines(*f.local, "audit-logs/").size() == 100);
    }
}
