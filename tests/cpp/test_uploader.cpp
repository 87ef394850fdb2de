// WormUploader against the LocalWormStore (the real WORM semantics), with a
// fault-injecting decorator for outages, lost responses and lying HEADs.
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <mutex>

#include "support/error_code.hpp"
#include "support/fault_store.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/ids.hpp"
#include "worm/storage/local.hpp"
#include "worm/uploader.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

using worm::test::code_of;

namespace {

std::string bundle_id(int n, const std::string& day = "20261122") {
    char buf[32];
    std::snprintf(buf, sizeof buf, "EB-%s-%04d", day.c_str(), n);
    return buf;
}

struct Fixture {
    test::TempDir dir{"worm-uploader"};
    FixedClock clock{parse_rfc3339("2026-11-22T18:00:00Z")};
    fs::path evidence = dir / "evidence";
    std::shared_ptr<LocalWormStore> local;
    std::shared_ptr<test::FaultStore> store;
    std::shared_ptr<UploadRegistry> registry;
    std::mutex sleeps_mutex;
    std::vector<std::chrono::milliseconds> sleeps;
    WormConfig config;
    UploaderOptions options;
    std::unique_ptr<WormUploader> uploader;

    explicit Fixture(int concurrency = 4) {
        fs::create_directories(evidence);
        local = std::make_shared<LocalWormStore>(dir / "store", clock);
        store = std::make_shared<test::FaultStore>(local, clock);
        RegistryOptions ro;
        ro.clock = &clock;
        // Durability is test_registry's subject (and the crash test below uses it); here
        // fsync per mark would only slow the 500-bundle outage down.
        ro.durable = false;
        registry = std::make_shared<UploadRegistry>(evidence, ro);
        config.enabled = true;
        config.mode = WormMode::direct;
        config.s3_bucket = "local";
        config.sync_concurrency = concurrency;
        options.clock = &clock;
        options.sleep = [this](std::chrono::milliseconds d) {
            std::lock_guard lock(sleeps_mutex);
            sleeps.push_back(d);
        };
        options.random = [] { return 0.5; };
        rebuild();
    }

    void rebuild() { uploader = std::make_unique<WormUploader>(config, store, registry, options); }

    // A bundle and its .sig on disk (content is what the uploader needs; signing is tested elsewhere).
    std::pair<fs::path, fs::path> make_bundle(int n, const std::string& client = "clinic-001",
                                              const std::string& day = "20261122") {
        const std::string id = bundle_id(n, day);
        const fs::path json = evidence / (id + ".json"), sig = evidence / (id + ".sig");
        test::write_file(json, R"({"bundle_id":")" + id + R"(","client_id":")" + client + R"(","n":)" +
                                   std::to_string(n) + "}");
        test::write_file(sig, base64_encode(sha256("sig of " + id)) + "\n");
        return {json, sig};
    }

    std::string key(int n, const std::string& ext, const std::string& client = "clinic-001") {
        return WormUploader::object_key("", client, bundle_id(n), ext);
    }
};

}  // namespace

TEST_CASE("object keys follow evidence/{client}/{YYYY}/{MM}/{bundle_id}") {
    CHECK(WormUploader::object_key("", "clinic-001", "EB-20261122-0001", ".json") ==
          "evidence/clinic-001/2026/11/EB-20261122-0001.json");
    CHECK(WormUploader::object_key("tenant-a", "clinic-001", "EB-20250301-12345", ".sig") ==
          "tenant-a/evidence/clinic-001/2025/03/EB-20250301-12345.sig");
    CHECK(code_of([] { WormUploader::object_key("", "../other", "EB-20261122-0001", ".json"); }) ==
          ErrorCode::invalid_argument);
    CHECK(code_of([] { WormUploader::object_key("", "c", "EB-20261322-0001", ".json"); }) ==
          ErrorCode::invalid_argument);
    CHECK(code_of([] { WormUploader::object_key("", "c", "EB-2026112-0001", ".json"); }) ==
          ErrorCode::invalid_argument);
    // The schema's rule (is_valid_bundle_id): a real calendar day, so no 99 December.
    CHECK(code_of([] { WormUploader::object_key("", "c", "EB-20261299-0001", ".json"); }) ==
          ErrorCode::invalid_argument);
    CHECK_FALSE(is_valid_bundle_id("EB-20261299-0001"));
}

TEST_CASE("upload_bundle stores, locks, verifies and records a bundle") {
    Fixture f;
    const auto [json, sig] = f.make_bundle(1);
    const auto r = f.uploader->upload_bundle(json, sig, "clinic-001");
    CHECK(r.bundle_id == "EB-20261122-0001");
    CHECK_FALSE(r.already_present);
    CHECK(r.attempts == 1);
    CHECK(r.bundle_uri == f.local->uri(f.key(1, ".json")));
    CHECK(r.sig_uri == f.local->uri(f.key(1, ".sig")));
    CHECK_FALSE(r.bundle_version_id.empty());

    // What is in the store: the exact bytes, COMPLIANCE for 90 days, the metadata.
    CHECK(f.local->get(f.key(1, ".json")) == test::read_file(json));
    CHECK(f.local->get(f.key(1, ".sig")) == test::read_file(sig));
    const auto info = f.local->head(f.key(1, ".json"));
    REQUIRE(info.retention);
    CHECK(info.retention->mode == LockMode::compliance);
    CHECK(info.retention->retain_until == f.clock.now() + std::chrono::days(90));
    CHECK(info.metadata.at("upload-timestamp") == "2026-11-22T18:00:00Z");
    CHECK(info.metadata.at("retention-days") == "90");
    CHECK(info.metadata.at("original-path") == fs::absolute(json).lexically_normal().string());
    CHECK(info.metadata.at("sha256") == to_hex(sha256_file(json)));
    CHECK(info.content_type == "application/json");

    const auto rec = f.registry->get("EB-20261122-0001");
    REQUIRE(rec);
    CHECK(rec->status == UploadStatus::uploaded);
    CHECK(rec->bundle_uri == r.bundle_uri);
    CHECK(rec->sig_uri == r.sig_uri);
    CHECK(rec->bundle_version_id == r.bundle_version_id);
    CHECK(rec->sig_version_id == r.sig_version_id);
    CHECK(rec->attempts == 1);
    CHECK(f.registry->attempts("EB-20261122-0001").at(0).outcome == "uploaded");

    // Again: nothing is sent, the same answer comes back.
    const int puts = f.store->put_calls();
    const auto again = f.uploader->upload_bundle(json, sig, "clinic-001");
    CHECK(again.already_present);
    CHECK(again.bundle_uri == r.bundle_uri);
    CHECK(f.store->put_calls() == puts);
}

TEST_CASE("configured lock mode, retention, prefix; a store that echoes no checksum is verified by GET") {
    Fixture f;
    f.config.lock_mode = LockMode::governance;
    f.config.retention_days = 2555;
    f.config.s3_prefix = "site-7";
    f.rebuild();
    f.store->hide_sha = true;
    const auto [json, sig] = f.make_bundle(2);
    f.uploader->upload_bundle(json, sig, "clinic-001");
    const auto info = f.local->head("site-7/" + f.key(2, ".json"));
    REQUIRE(info.retention);
    CHECK(info.retention->mode == LockMode::governance);
    CHECK(info.retention->retain_until == f.clock.now() + std::chrono::days(2555));
    CHECK(f.store->get_calls() >= 2);  // read back and hashed, .json and .sig

    // ... and a GET that returns other bytes is caught.
    f.store->corrupt_get = true;
    const auto [json3, sig3] = f.make_bundle(3);
    CHECK(code_of([&] { f.uploader->upload_bundle(json3, sig3, "clinic-001"); }) == ErrorCode::integrity);
    CHECK(f.registry->get(bundle_id(3))->status == UploadStatus::failed);
}

TEST_CASE("a lost response is retried with HEAD first: no second version") {
    Fixture f;
    f.store->lose_put_responses = 1;  // the .json reaches the store, the client hears nothing
    const auto [json, sig] = f.make_bundle(1);
    const auto r = f.uploader->upload_bundle(json, sig, "clinic-001");
    CHECK(r.attempts == 2);
    const auto puts = f.store->puts_per_key();
    CHECK(puts.at(f.key(1, ".json")) == 1);
    CHECK(puts.at(f.key(1, ".sig")) == 1);
    CHECK(f.local->list_versions(f.key(1, ".json")).size() == 1);
    const auto attempts = f.registry->attempts(bundle_id(1));
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[0].outcome == "timeout");
    CHECK(attempts[1].outcome == "uploaded");
    REQUIRE(f.sleeps.size() == 1);
    CHECK(f.sleeps[0] == 250ms);  // attempt 1: full jitter, the draw 0.5 of the 500 ms ceiling
}

TEST_CASE("after a crash mid-upload (status uploading, object stored) the next sync does not put again") {
    Fixture f;
    const auto [json, sig] = f.make_bundle(1);
    const std::string id = f.uploader->enqueue(json, sig, "clinic-001");
    // What a process killed right after its PUT leaves behind.
    f.registry->mark_uploading(id);
    PutOptions put;
    put.lock.retention = Retention{LockMode::compliance, f.clock.now() + std::chrono::days(90)};
    put.metadata["upload-timestamp"] = format_rfc3339(f.clock.now());
    f.local->put(f.key(1, ".json"), PutBody::from_file(json), put);
    f.clock.advance(3600s);  // restarted an hour later: a new put would ask for a later date

    const auto result = f.uploader->sync();
    CHECK(result.uploaded == 1);
    CHECK(result.failed == 0);
    const auto puts = f.store->puts_per_key();
    CHECK(puts.count(f.key(1, ".json")) == 0);  // found by HEAD, not sent again
    CHECK(puts.at(f.key(1, ".sig")) == 1);
    CHECK(f.registry->get(id)->status == UploadStatus::uploaded);
}

TEST_CASE("different content already under the key is a loud integrity error") {
    Fixture f;
    const auto [json, sig] = f.make_bundle(1);
    PutOptions put;
    put.lock.retention = Retention{LockMode::compliance, f.clock.now() + std::chrono::days(90)};
    f.local->put(f.key(1, ".json"), PutBody::from_bytes("{\"someone\":\"else\"}"), put);
    try {
        f.uploader->upload_bundle(json, sig, "clinic-001");
        FAIL("expected an integrity error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::integrity);
        CHECK(std::string(e.what()).find("already holds different content") != std::string::npos);
    }
    const auto rec = f.registry->get(bundle_id(1));
    CHECK(rec->status == UploadStatus::failed);
    CHECK(rec->last_error.find("different content") != std::string::npos);
    CHECK(rec->attempts == 1);  // not retried: retrying cannot fix it
    CHECK(f.store->put_calls() == 0);
}

TEST_CASE("verification after the put: sha256, lock mode and retain-until") {
    SUBCASE("HEAD reports another sha256") {
        Fixture f;
        f.store->corrupt_head_sha = true;
        const auto [json, sig] = f.make_bundle(1);
        CHECK(code_of([&] { f.uploader->upload_bundle(json, sig, "clinic-001"); }) == ErrorCode::integrity);
        CHECK(f.registry->get(bundle_id(1))->status == UploadStatus::failed);
    }
    SUBCASE("retain-until shorter than asked") {
        Fixture f;
        f.store->weaken_head_retention = true;
        const auto [json, sig] = f.make_bundle(1);
        try {
            f.uploader->upload_bundle(json, sig, "clinic-001");
            FAIL("expected an integrity error");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::integrity);
            CHECK(std::string(e.what()).find("earlier than") != std::string::npos);
        }
    }
    SUBCASE("another lock mode") {
        Fixture f;
        f.store->wrong_head_mode = true;
        const auto [json, sig] = f.make_bundle(1);
        CHECK(code_of([&] { f.uploader->upload_bundle(json, sig, "clinic-001"); }) == ErrorCode::integrity);
    }
    SUBCASE("a bundle file edited after it was registered") {
        Fixture f;
        const auto [json, sig] = f.make_bundle(1);
        f.uploader->enqueue(json, sig, "clinic-001");
        test::write_file(json, R"({"bundle_id":"EB-20261122-0001","client_id":"clinic-001","n":666})");
        CHECK(code_of([&] { f.uploader->upload_registered(bundle_id(1)); }) == ErrorCode::integrity);
        CHECK(code_of([&] { f.uploader->enqueue(json, sig, "clinic-001"); }) == ErrorCode::integrity);
        CHECK(f.store->put_calls() == 0);
    }
}

TEST_CASE("retries: transient errors back off and retry, others do not") {
    SUBCASE("two network errors, then success") {
        Fixture f;
        f.store->fail_puts = 2;
        const auto [json, sig] = f.make_bundle(1);
        const auto r = f.uploader->upload_bundle(json, sig, "clinic-001");
        CHECK(r.attempts == 3);
        CHECK(f.sleeps == std::vector<std::chrono::milliseconds>{250ms, 500ms});  // 0.5 of 500 ms, 1 s
        CHECK(f.registry->get(bundle_id(1))->status == UploadStatus::uploaded);
        CHECK(f.registry->consecutive_failures() == 0);
    }
    SUBCASE("still failing after the configured attempts: failed, recorded, thrown") {
        Fixture f;
        f.config.upload_attempts = 4;
        f.rebuild();
        f.store->down = true;
        const auto [json, sig] = f.make_bundle(1);
        CHECK(code_of([&] { f.uploader->upload_bundle(json, sig, "clinic-001"); }) == ErrorCode::network);
        const auto rec = f.registry->get(bundle_id(1));
        CHECK(rec->status == UploadStatus::failed);
        CHECK(rec->attempts == 4);
        CHECK(rec->last_error.find("connection refused") != std::string::npos);
        CHECK(f.sleeps.size() == 3);
        CHECK(f.registry->consecutive_failures() == 1);
    }
    SUBCASE("backoff is capped and jittered") {
        Fixture f;
        f.config.upload_attempts = 8;
        f.options.backoff_base = 1000ms;
        f.options.backoff_max = 4000ms;
        f.options.random = [] { return 0.75; };
        f.rebuild();
        f.store->down = true;
        const auto [json, sig] = f.make_bundle(1);
        CHECK_THROWS_AS(f.uploader->upload_bundle(json, sig, "clinic-001"), Error);
        // 0.75 of the ceilings 1 s, 2 s, then 4 s (backoff_max) for every later attempt.
        CHECK(f.sleeps == std::vector<std::chrono::milliseconds>{750ms, 1500ms, 3000ms, 3000ms, 3000ms, 3000ms,
                                                                  3000ms});
    }
    SUBCASE("a refusal is not retried") {
        Fixture f;
        f.store->refuse_puts = 1;
        const auto [json, sig] = f.make_bundle(1);
        CHECK(code_of([&] { f.uploader->upload_bundle(json, sig, "clinic-001"); }) == ErrorCode::object_locked);
        CHECK(f.registry->get(bundle_id(1))->attempts == 1);
        CHECK(f.sleeps.empty());
    }
}

TEST_CASE("enqueue checks the bundle id and the client") {
    Fixture f;
    const auto [json, sig] = f.make_bundle(1);
    CHECK(f.uploader->enqueue(json, sig, "clinic-001") == bundle_id(1));
    CHECK(f.uploader->enqueue(json, sig, "clinic-001") == bundle_id(1));  // idempotent
    CHECK(f.registry->get(bundle_id(1))->status == UploadStatus::pending);
    CHECK(f.store->put_calls() == 0);  // registered only
    CHECK(code_of([&] { f.uploader->enqueue(json, sig, "clinic-002"); }) == ErrorCode::invalid_argument);
    CHECK(code_of([&] { f.uploader->enqueue(json, sig, "../x"); }) == ErrorCode::invalid_argument);
    test::write_file(f.evidence / "EB-20261122-0009.json", R"({"bundle_id":"EB-20261122-0008"})");
    CHECK(code_of([&] { f.uploader->enqueue(f.evidence / "EB-20261122-0009.json", sig, "clinic-001"); }) ==
          ErrorCode::invalid_argument);
    test::write_file(f.evidence / "x.json", R"({"bundle_id":"not-an-id"})");
    CHECK(code_of([&] { f.uploader->enqueue(f.evidence / "x.json", sig, "clinic-001"); }) ==
          ErrorCode::invalid_argument);
    CHECK(code_of([&] { f.uploader->enqueue(f.evidence / "missing.json", sig, "clinic-001"); }) ==
          ErrorCode::not_found);
}

TEST_CASE("outage: 500 bundles stay pending while the store is down, one sync uploads all, none twice") {
    Fixture f(4);
    f.store->down = true;
    for (int i = 1; i <= 500; ++i) {
        const auto [json, sig] = f.make_bundle(i, i % 2 ? "clinic-001" : "clinic-002");
        // The pipeline goes on after a failed upload; the evidence stays registered.
        try {
            f.uploader->upload_bundle(json, sig, i % 2 ? "clinic-001" : "clinic-002");
            FAIL("the store is down");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::network);
        }
    }
    auto stats = f.uploader->stats();
    CHECK(stats.failed_count == 500);
    CHECK(stats.total_uploaded == 0);
    CHECK(stats.consecutive_failures == 500);
    CHECK(stats.health.backlog_high);
    CHECK(stats.health.repeated_failures);

    // A sync while still down stops early instead of hammering the store.
    f.options.sync_stop_after_failures = 8;
    f.rebuild();
    const auto blocked = f.uploader->sync();
    CHECK(blocked.uploaded == 0);
    CHECK(blocked.failed >= 8);
    CHECK(blocked.failed < 40);  // stopped after the streak (plus what was already in flight)
    CHECK(blocked.failed + blocked.pending == 500);

    f.store->down = false;
    std::mutex progress_mutex;
    std::vector<SyncProgress> progress;
    f.options.on_progress = [&](const SyncProgress& p) {
        std::lock_guard lock(progress_mutex);
        progress.push_back(p);
    };
    f.rebuild();
    const auto result = f.uploader->sync();
    CHECK(result.uploaded == 500);
    CHECK(result.failed == 0);
    CHECK(result.pending == 0);
    CHECK(result.errors.empty());
    REQUIRE(progress.size() == 500);
    CHECK(progress.back().done == 500);
    CHECK(progress.back().total == 500);
    CHECK(progress.back().uploaded == 500);

    // Every key reached the store exactly once and holds exactly one version.
    const auto puts = f.store->puts_per_key();
    CHECK(puts.size() == 1000);
    for (const auto& [key, n] : puts) CHECK_MESSAGE(n == 1, key);
    CHECK(f.local->list_all("evidence/clinic-001/").size() == 500);
    CHECK(f.local->list_all("evidence/clinic-002/").size() == 500);
    stats = f.uploader->stats();
    CHECK(stats.total_uploaded == 500);
    CHECK(stats.pending_count == 0);
    CHECK(stats.failed_count == 0);
    CHECK(stats.consecutive_failures == 0);
    CHECK(stats.health.ok());
    CHECK(f.uploader->sync().uploaded == 0);  // nothing left to do
}

TEST_CASE("stats and health flags with a fixed clock") {
    Fixture f;
    for (int i = 1; i <= 11; ++i) {
        const auto [json, sig] = f.make_bundle(i);
        f.uploader->enqueue(json, sig, "clinic-001");
    }
    auto s = f.uploader->stats();
    CHECK(s.enabled);
    CHECK(s.mode == WormMode::direct);
    CHECK(s.pending_count == 11);
    CHECK(s.oldest_pending_age_s == 0.0);
    CHECK(s.health.backlog_high);
    CHECK_FALSE(s.health.stale_pending);
    CHECK_FALSE(s.health.repeated_failures);

    f.clock.advance(std::chrono::hours(24) + 1s);
    s = f.uploader->stats();
    CHECK(s.oldest_pending_age_s == doctest::Approx(86401.0));
    CHECK(s.health.stale_pending);

    f.store->down = true;
    f.config.upload_attempts = 1;
    f.rebuild();
    for (int i = 1; i <= 3; ++i) CHECK_THROWS(f.uploader->upload_registered(bundle_id(i)));
    CHECK_FALSE(f.uploader->stats().health.repeated_failures);  // 3 is not more than 3
    CHECK_THROWS(f.uploader->upload_registered(bundle_id(4)));
    s = f.uploader->stats();
    CHECK(s.consecutive_failures == 4);
    CHECK(s.health.repeated_failures);
    CHECK(s.failed_count == 4);
    CHECK(s.pending_count == 7);
    CHECK(s.last_error.find("connection refused") != std::string::npos);

    rapidjson::Document d;
    const std::string json = s.to_json();
    d.Parse(json.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(d["failed_count"].GetInt() == 4);
    CHECK(std::string(d["mode"].GetString()) == "direct");
    CHECK_FALSE(d["health"]["ok"].GetBool());
    CHECK(d["health"]["stale_pending"].GetBool());

    f.store->down = false;
    f.clock.advance(60s);
    CHECK(f.uploader->sync().uploaded == 11);
    s = f.uploader->stats();
    CHECK(s.health.ok());
    CHECK_FALSE(s.oldest_pending_age_s);
}

TEST_CASE("the last error stays on record, current only until everything registered before it is uploaded") {
    Fixture f;
    f.config.upload_attempts = 1;
    f.rebuild();
    CHECK(f.uploader->stats().last_error.empty());
    CHECK_FALSE(f.uploader->stats().last_error_current);
    for (int i = 1; i <= 2; ++i) {
        const auto [json, sig] = f.make_bundle(i);
        f.uploader->enqueue(json, sig, "clinic-001");
    }
    f.clock.advance(10s);
    f.store->down = true;
    CHECK_THROWS(f.uploader->upload_registered(bundle_id(1)));
    const TimePoint failed_at = f.clock.now();
    auto s = f.uploader->stats();
    CHECK(s.last_error.find("connection refused") != std::string::npos);
    REQUIRE(s.last_error_at);
    CHECK(*s.last_error_at == failed_at);
    CHECK(s.last_error_current);

    // The store is back. A bundle registered after the error does not keep it current...
    f.store->down = false;
    f.clock.advance(60s);
    const auto [json3, sig3] = f.make_bundle(3);
    f.uploader->enqueue(json3, sig3, "clinic-001");
    f.uploader->upload_registered(bundle_id(1));
    CHECK(f.uploader->stats().last_error_current);  // ...but bundle 2, registered before it, still waits
    f.uploader->upload_registered(bundle_id(2));
    s = f.uploader->stats();
    CHECK_FALSE(s.last_error_current);  // everything from before the error is stored
    CHECK(s.last_error.find("connection refused") != std::string::npos);  // and the record stays
    CHECK(*s.last_error_at == failed_at);
    CHECK(s.pending_count == 1);

    rapidjson::Document d;
    d.Parse(s.to_json().c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["last_error_at"].GetString()) == format_rfc3339_millis(failed_at));
    CHECK_FALSE(d["last_error_current"].GetBool());

    // A new failure is current again.
    f.store->down = true;
    f.clock.advance(5s);
    CHECK_THROWS(f.uploader->upload_registered(bundle_id(3)));
    s = f.uploader->stats();
    CHECK(s.last_error_current);
    CHECK(*s.last_error_at == f.clock.now());
}

TEST_CASE("kill -9 in the middle of a sync: the next sync finishes, no key gets a second version") {
    test::TempDir dir("worm-crash");
    const fs::path evidence = dir / "evidence", store_root = dir / "store";
    fs::create_directories(evidence);
    WormConfig config;
    config.sync_concurrency = 4;
    constexpr int n = 120;
    {
        UploadRegistry reg(evidence);
        auto local = std::make_shared<LocalWormStore>(store_root);
        WormUploader up(config, local, std::shared_ptr<UploadRegistry>(&reg, [](UploadRegistry*) {}));
        for (int i = 1; i <= n; ++i) {
            const std::string id = bundle_id(i);
            test::write_file(evidence / (id + ".json"), R"({"bundle_id":")" + id + R"("})");
            test::write_file(evidence / (id + ".sig"), "c2ln" + std::to_string(i) + "\n");
            up.enqueue(evidence / (id + ".json"), evidence / (id + ".sig"), "clinic-001");
        }
    }
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        try {
            auto reg = std::make_shared<UploadRegistry>(evidence);
            UploaderOptions options;
            options.on_progress = [&](const SyncProgress&) {
                if (write(fds[1], "x", 1) != 1) _exit(3);
            };
            WormUploader up(config, std::make_shared<LocalWormStore>(store_root), reg, options);
            up.sync();
        } catch (...) {
            _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    char c;
    for (int i = 0; i < 30; ++i) REQUIRE(read(fds[0], &c, 1) == 1);  // 30 bundles done, more in flight
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CHECK(WIFSIGNALED(status));

    auto reg = std::make_shared<UploadRegistry>(evidence);
    const auto before = reg->counts();
    CHECK(before.uploaded >= 30);
    CHECK(before.uploaded < n);
    auto local = std::make_shared<LocalWormStore>(store_root);
    auto counting = std::make_shared<test::FaultStore>(local);
    WormUploader up(config, counting, reg);
    const auto result = up.sync();
    CHECK(result.failed == 0);
    CHECK(result.uploaded == static_cast<std::size_t>(n - before.uploaded));
    CHECK(reg->counts().uploaded == n);
    for (int i = 1; i <= n; ++i)
        for (const char* ext : {".json", ".sig"}) {
            const std::string key = WormUploader::object_key("", "clinic-001", bundle_id(i), ext);
            CHECK_MESSAGE(local->list_versions(key).size() == 1, key);
        }
}

TEST_CASE("a bundle leased by another live process is skipped by sync and refused by upload_bundle") {
    Fixture f;
    std::vector<std::pair<fs::path, fs::path>> files;
    for (int n = 1; n <= 3; ++n) {
        files.push_back(f.make_bundle(n));
        f.uploader->enqueue(files.back().first, files.back().second, "clinic-001");
    }
    // Another process (on another host: only expiry frees it) is uploading bundle 2.
    RegistryOptions ro;
    ro.clock = &f.clock;
    ro.durable = false;
    ro.lease_owner = "agent-host-2:4242:99";
    UploadRegistry other(f.evidence, ro);
    REQUIRE(other.acquire_lease(bundle_id(2), 10min).acquired);

    const auto result = f.uploader->sync();
    CHECK(result.uploaded == 2);
    CHECK(result.failed == 0);
    CHECK(result.pending == 1);  // still to do, not a failure
    CHECK(result.errors.empty());
    auto puts = f.store->puts_per_key();
    CHECK(puts.count(f.key(2, ".json")) == 0);
    CHECK(puts.count(f.key(2, ".sig")) == 0);
    CHECK(puts.at(f.key(1, ".json")) == 1);
    CHECK(f.registry->get(bundle_id(1))->lease_owner.empty());  // released on success
    const auto held = f.registry->get(bundle_id(2));
    CHECK(held->status == UploadStatus::uploading);
    CHECK(held->lease_owner == "agent-host-2:4242:99");
    CHECK(held->attempts == 0);

    try {
        f.uploader->upload_bundle(files[1].first, files[1].second, "clinic-001");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::already_exists);
        const std::string msg = e.what();
        CHECK(msg.find(bundle_id(2)) != std::string::npos);
        CHECK(msg.find("another process") != std::string::npos);
        CHECK(msg.find("agent-host-2:4242:99") != std::string::npos);
    }
    CHECK(f.store->puts_per_key().count(f.key(2, ".json")) == 0);

    // The other process went quiet: once its lease has expired, the next sync takes over.
    f.clock.advance(601s);
    const auto later = f.uploader->sync();
    CHECK(later.uploaded == 1);
    CHECK(later.pending == 0);
    puts = f.store->puts_per_key();
    CHECK(puts.at(f.key(2, ".json")) == 1);
    CHECK(f.registry->get(bundle_id(2))->status == UploadStatus::uploaded);
    CHECK(f.registry->get(bundle_id(2))->lease_owner.empty());
}

TEST_CASE("a failed upload releases its lease; lease_duration is validated") {
    Fixture f;
    f.config.upload_attempts = 1;
    f.rebuild();
    const auto [json, sig] = f.make_bundle(1);
    const std::string id = f.uploader->enqueue(json, sig, "clinic-001");
    test::write_file(json, "changed after signing");  // local check fails: not transient
    CHECK_THROWS_AS(f.uploader->upload_registered(id), Error);
    const auto r = f.registry->get(id);
    CHECK(r->status == UploadStatus::failed);
    CHECK(r->lease_owner.empty());
    CHECK_FALSE(r->lease_until);

    UploaderOptions bad;
    bad.lease_duration = std::chrono::milliseconds(0);
    CHECK(code_of([&] { WormUploader u(f.config, f.store, f.registry, bad); }) == ErrorCode::invalid_argument);
}

TEST_CASE("seed 000 metrics: success rate, queue depth, latency from creation to stored, retries") {
    Fixture f;
    auto s = f.uploader->stats();
    CHECK_FALSE(s.upload_success_rate);  // nothing tried yet
    CHECK_FALSE(s.upload_latency);
    CHECK(s.pending_queue_depth == 0);
    CHECK(s.retry_count == 0);
    for (int i = 1; i <= 4; ++i) {
        const auto [json, sig] = f.make_bundle(i);
        f.uploader->enqueue(json, sig, "clinic-001");
    }
    CHECK(f.uploader->stats().pending_queue_depth == 4);

    f.clock.advance(30s);
    f.uploader->upload_registered(bundle_id(1));  // 30 s after it was registered
    f.store->fail_puts = 1;                        // one retry
    f.clock.advance(60s);
    f.uploader->upload_registered(bundle_id(2));  // 90 s
    f.config.upload_attempts = 1;
    f.rebuild();
    f.store->down = true;
    CHECK_THROWS(f.uploader->upload_registered(bundle_id(3)));

    s = f.uploader->stats();
    REQUIRE(s.upload_success_rate);
    CHECK(*s.upload_success_rate == doctest::Approx(200.0 / 3));  // 2 of the 3 tried
    CHECK(s.pending_queue_depth == 2);                             // 3 failed, 4 pending
    REQUIRE(s.upload_latency);
    CHECK(*s.upload_latency == doctest::Approx(60.0));  // (30 + 90) / 2
    CHECK(*s.upload_latency_max == doctest::Approx(90.0));
    CHECK(s.retry_count == 1);

    rapidjson::Document d;
    const std::string json = s.to_json();
    d.Parse(json.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(d["upload_success_rate"].GetDouble() == doctest::Approx(200.0 / 3));
    CHECK(d["pending_queue_depth"].GetInt() == 2);
    CHECK(d["upload_latency"].GetDouble() == doctest::Approx(60.0));
    CHECK(d["upload_latency_max"].GetDouble() == doctest::Approx(90.0));
    CHECK(d["retry_count"].GetInt() == 1);
}

TEST_CASE("seed 000: no store needed to construct or count; a configuration problem is the upload's error, logged once") {
    Fixture f;
    std::vector<std::string> logged;
    f.options.log = [&](std::string_view m) { logged.emplace_back(m); };
    WormConfig proxy;  // the troubleshooting snippet: WormConfig(enabled=True), proxy, no MCP_URL
    proxy.enabled = true;
    WormUploader uploader(proxy, nullptr, f.registry, f.options);
    for (int i = 1; i <= 3; ++i) {
        const auto [json, sig] = f.make_bundle(i);
        uploader.enqueue(json, sig, "clinic-001");
    }
    CHECK(uploader.stats().pending_count == 3);
    CHECK(logged.empty());  // counting opened nothing

    const auto [json, sig] = f.make_bundle(1);
    CHECK(test::error_of([&] { uploader.upload_bundle(json, sig, "clinic-001"); }, ErrorCode::config)
              .find("endpoint not configured") != std::string::npos);
    CHECK(code_of([&] { uploader.upload_registered(bundle_id(2)); }) == ErrorCode::config);
    CHECK(logged.size() == 1);  // the same problem twice: logged once
    CHECK(logged[0].find("endpoint not configured") != std::string::npos);
    auto s = uploader.stats();
    CHECK(s.failed_count == 2);
    CHECK(s.pending_count == 1);
    CHECK(s.last_error.find("endpoint not configured") != std::string::npos);
    CHECK(s.last_error_current);
    CHECK(f.registry->get(bundle_id(1))->attempts == 0);  // nothing was sent

    // sync stops at the first bundle: every other one would fail the same way.
    const SyncResult r = uploader.sync();
    CHECK(r.uploaded == 0);
    CHECK(r.failed >= 1);
    REQUIRE_FALSE(r.errors.empty());
    CHECK(r.errors[0].find("endpoint not configured") != std::string::npos);
    CHECK(r.failed + r.pending == 3);
    CHECK(logged.size() == 1);

    // Not enabled and no store given: said so, at the upload.
    WormConfig off;
    WormUploader idle(off, nullptr, f.registry, f.options);
    CHECK(idle.stats().pending_count + idle.stats().failed_count == 3);
    CHECK(test::error_of([&] { idle.store(); }, ErrorCode::config).find("not enabled") != std::string::npos);

    // A store given is used as it is; the problem was only the configuration.
    WormUploader given(proxy, f.store, f.registry, f.options);
    CHECK(given.sync().uploaded == 3);
    CHECK(given.store() == f.store);
    CHECK_NOTHROW(given.check_object_lock());  // not an S3 store: nothing to check
}
