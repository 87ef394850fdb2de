// The duplicate copy (UploaderOptions::replica, WORM_REPLICA_STORE): two real
// LocalWormStores, each behind a fault decorator that only takes it "down". With one
// store down the bundles stay behind; once it is back, sync brings both to every bundle
// exactly once (puts counted per key), locked, and the registry records both URIs.
#include <doctest/doctest.h>

#include "support/fault_store.hpp"
#include "support/json_output.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/storage/local.hpp"
#include "worm/uploader.hpp"

using namespace worm;
namespace fs = std::filesystem;
namespace t = worm::test;

namespace {

struct Fixture {
    t::TempDir dir{"worm-replica"};
    fs::path evidence = dir / "evidence";
    std::shared_ptr<t::FaultStore> primary =
        std::make_shared<t::FaultStore>(std::make_shared<LocalWormStore>(dir / "primary"));
    std::shared_ptr<t::FaultStore> replica =
        std::make_shared<t::FaultStore>(std::make_shared<LocalWormStore>(dir / "replica"));
    std::shared_ptr<UploadRegistry> registry;
    WormConfig config;
    UploaderOptions options;

    Fixture() {
        fs::create_directories(evidence);
        RegistryOptions ro;
        ro.durable = false;
        registry = std::make_shared<UploadRegistry>(evidence, ro);
        config.enabled = true;
        config.mode = WormMode::direct;
        config.s3_bucket = "local";
        config.upload_attempts = 1;
        options.sleep = [](std::chrono::milliseconds) {};
        options.replica = replica;
    }

    std::string add_bundle(WormUploader& uploader, int n) {
        char id[32];
        std::snprintf(id, sizeof id, "EB-20261122-%04d", n);
        const fs::path json = evidence / (std::string(id) + ".json"), sig = evidence / (std::string(id) + ".sig");
        t::write_file(json, std::string(R"({"bundle_id":")") + id + R"(","client_id":"clinic-001"})");
        t::write_file(sig, base64_encode(sha256(id)) + "\n");
        return uploader.enqueue(json, sig, "clinic-001");
    }

    // Every key of every bundle was put exactly once into this store.
    static void check_each_once(const t::FaultStore& store, std::size_t bundles) {
        const auto puts = store.puts_per_key();
        CHECK(puts.size() == bundles * 2);
        for (const auto& [key, count] : puts) CHECK_MESSAGE(count == 1, key << " put " << count << " times");
    }
};

}  // namespace

TEST_CASE("replica down, then back: sync catches it up; both stores end with every bundle once") {
    Fixture f;
    WormUploader uploader(f.config, f.primary, f.registry, f.options);
    for (int n = 1; n <= 6; ++n) f.add_bundle(uploader, n);

    f.replica->down = true;
    SyncResult r = uploader.sync();
    CHECK(r.uploaded == 0);
    CHECK(r.failed == 6);  // a bundle is uploaded only when both copies are in place
    CHECK(f.primary->puts_per_key().size() == 12);  // the primary has them already
    CHECK(uploader.stats().failed_count == 6);

    f.replica->down = false;
    r = uploader.sync();
    CHECK(r.uploaded == 6);
    CHECK(r.failed == 0);
    Fixture::check_each_once(*f.primary, 6);  // HEAD first: nothing put twice into the primary
    Fixture::check_each_once(*f.replica, 6);
    const auto rec = f.registry->get("EB-20261122-0003");
    REQUIRE(rec);
    CHECK(rec->status == UploadStatus::uploaded);
    CHECK(rec->bundle_uri == f.primary->uri("evidence/clinic-001/2026/11/EB-20261122-0003.json"));
    CHECK(rec->replica_bundle_uri == f.replica->uri("evidence/clinic-001/2026/11/EB-20261122-0003.json"));
    CHECK(rec->replica_sig_uri == f.replica->uri("evidence/clinic-001/2026/11/EB-20261122-0003.sig"));
    const ObjectInfo locked = f.replica->head("evidence/clinic-001/2026/11/EB-20261122-0003.json");
    REQUIRE(locked.retention);
    CHECK(locked.retention->mode == f.config.lock_mode);
    CHECK(uploader.stats().replica_behind == 0);
}

TEST_CASE("primary down, then back; and bundles uploaded before the replica existed are copied by sync") {
    Fixture f;
    // Uploaded with no replica configured yet.
    UploaderOptions without = f.options;
    without.replica = nullptr;
    {
        WormUploader early(f.config, f.primary, f.registry, without);
        for (int n = 1; n <= 3; ++n) early.upload_registered(f.add_bundle(early, n));
    }
    WormUploader uploader(f.config, f.primary, f.registry, f.options);
    CHECK(uploader.stats().replica_behind == 3);
    for (int n = 4; n <= 5; ++n) f.add_bundle(uploader, n);

    f.primary->down = true;
    SyncResult r = uploader.sync();
    CHECK(r.failed == 2);
    CHECK(r.replicated == 3);  // the replica is up: the earlier three are copied there
    CHECK(uploader.stats().replica_behind == 0);

    f.primary->down = false;
    r = uploader.sync();
    CHECK(r.uploaded == 2);
    Fixture::check_each_once(*f.primary, 5);
    Fixture::check_each_once(*f.replica, 5);

    // `worm status --json` shows the replica's state from the registry alone.
    const auto out = t::run_command({t::cli_path(), "status", "--evidence-dir", f.evidence.string(), "--json"},
                                    {"WORM_REPLICA_STORE=file://" + (f.dir / "replica").string()});
    CHECK(t::parse_json(out.out)["replica_behind"].GetInt() == 0);
}
