// peers: moto rgw
// AuditLogSink into a real S3 server (moto, Ceph RGW): 100,000 records from 8 threads each
// stored exactly once and in order per thread; every batch carries the SHA-256 checksum and
// the Object Lock retention the server accepted (on RGW a locked batch cannot be deleted);
// the stored stream verifies, signed.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "support/audit_log_reader.hpp"
#include "support/error_code.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/verify.hpp"
#include "worm/json.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

const std::string& lock_bucket() {
    static const std::string name = peer().create_bucket("audit", true);
    return name;
}

std::shared_ptr<s3::S3Store> make_store() {
    return std::make_shared<s3::S3Store>(std::make_shared<s3::S3Client>(peer().client_config()), lock_bucket());
}

}  // namespace

TEST_CASE("100,000 records from 8 threads reach S3 exactly once, in order, locked and checksummed") {
    t::TempDir dir{"worm-it-audit"};
    auto store = make_store();
    AuditLogOptions o;
    o.service_name = "camera_service";
    o.prefix = "audit-" + peer().kind();
    o.journal_dir = dir / "journal";
    o.max_records = 2000;
    o.retention_days = 1;
    o.lock_mode = LockMode::governance;
    o.signing_key = std::make_shared<const Ed25519PrivateKey>(Ed25519PrivateKey::generate());
    const auto public_key = o.signing_key->public_key();
    constexpr int threads = 8, per_thread = 12'500;
    {
        AuditLogSink sink(store, o);
        std::vector<std::thread> workers;
        for (int th = 0; th < threads; ++th)
            workers.emplace_back([&, th] {
                for (int n = 0; n < per_thread; ++n)
                    sink.log_json(R"({"request_id":"req-)" + std::to_string(th) + R"(","thread":)" + std::to_string(th) +
                                  R"(,"n":)" + std::to_string(n) + "}");
            });
        for (auto& w : workers) w.join();
        const bool drained = sink.close(300s);
        REQUIRE_MESSAGE(drained, sink.stats().last_error);
        CHECK(sink.stats().stored == threads * per_thread);
        CHECK(sink.stats().last_error.empty());
    }
    // (no trailing '/': moto refuses the signature of a listing whose prefix ends in '/')
    const auto batches = t::stored_batches(*store, o.prefix);
    std::map<int, int> next;
    for (const auto& b : batches)
        for (const auto& line : b.lines) {
            const auto d = json::parse_strict(line);
            const int th = d["thread"].GetInt(), n = d["n"].GetInt();
            REQUIRE(n == next[th]);
            ++next[th];
        }
    CHECK(next.size() == threads);
    for (const auto& [th, count] : next) CHECK(count == per_thread);

    // The server kept the lock and the checksum the client sent.
    const auto info = store->head(batches.front().key);
    REQUIRE(info.retention);
    CHECK(info.retention->mode == LockMode::governance);
    CHECK(info.retention->retain_until > system_clock().now());
    CHECK(info.metadata.at("sequence") == "0");
    if (peer().strict()) {
        // RGW: a locked batch version cannot be deleted without bypassing governance.
        CHECK(t::code_of([&] { store->remove(batches.front().key, {.version_id = info.version_id}); }) ==
              ErrorCode::object_locked);
    }

    audit_log::VerifyOptions vo;
    vo.prefix = o.prefix;
    vo.public_key = public_key;
    const auto report = audit_log::verify_audit_log(*store, vo);
    CHECK_MESSAGE(report.valid(), audit_log::format_report(report));
    CHECK(report.records_verified == threads * per_thread);
}
