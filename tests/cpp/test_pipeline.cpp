// EvidencePipeline without a network: the agents' own evidence (seed 003) through the whole
// pipeline, and the upload-after-sign policy (enable_uploads) that `worm bundle` and
// Python's EvidencePipeline share, against a real LocalWormStore.
#include <doctest/doctest.h>

#include "support/error_code.hpp"
#include "support/test_env.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/config.hpp"
#include "worm/pipeline.hpp"
#include "worm/signer.hpp"
#include "worm/uploader.hpp"
#include "worm/storage/local.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    t::TempDir dir{"worm-pipeline"};
    KeyPaths keys = generate_key_files(dir / "keys");

    PipelineOptions options() const {
        PipelineOptions o;
        o.client_id = "test-client-001";
        o.evidence_dir = dir / "evidence";
        o.private_key_path = keys.private_key;
        o.durable = false;  // scratch data
        return o;
    }
};

IncidentInputs sample_inputs() {
    const fs::path d = t::source_dir() / "examples" / "data" / "backup-success";
    return load_incident_inputs({.incident = d / "incident.json", .runbook = d / "runbook.json",
                                 .execution = d / "execution.json", .actions = d / "actions.json",
                                 .artifacts = d / "artifacts.json"});
}

}  // namespace

TEST_CASE("the agents' example bundle (seed 003): its sections through EvidencePipeline, signed and verified") {
    Fixture f;
    EvidencePipeline pipeline(f.options());
    const fs::path seed = t::testdata_dir() / "seed" / "EB-20251101-0002.json";
    const BundleResult r = pipeline.process_incident(load_incident_inputs({.incident = seed}));
    CHECK(r.upload_status.empty());  // nothing attached
    const VerificationReport report = verify_bundle_files(r.bundle_path, r.sig_path, pipeline.public_key());
    CHECK_MESSAGE(report.ok(), report.summary());
    const auto written = json::parse_strict(read_file(r.bundle_path));
    const auto original = json::parse_strict(read_file(seed));
    CHECK(json::canonicalize(written["actions_taken"]) == json::canonicalize(original["actions_taken"]));
    CHECK(std::string(written["outputs"]["resolution_status"].GetString()) == "success");
}

TEST_CASE("upload-after-sign policy: off, upload now, or register for sync") {
    Fixture f;
    auto store = std::make_shared<LocalWormStore>(f.dir / "store");

    SUBCASE("uploads off: no store given and the configuration not enabled") {
        EvidencePipeline pipeline(f.options());
        WormConfig config;
        config.enabled = false;
        CHECK(pipeline.enable_uploads(config) == nullptr);
        const BundleResult r = pipeline.process_incident(sample_inputs());
        CHECK(r.upload_status.empty());
        CHECK(r.bundle_uri.empty());
        CHECK_FALSE(fs::exists(f.dir / "evidence" / UploadRegistry::file_name));
    }
    SUBCASE("a store given and auto_upload: stored right after signing") {
        EvidencePipeline pipeline(f.options());
        WormConfig config;  // enabled=false: the store given is enough
        const auto uploader = pipeline.enable_uploads(config, store);
        REQUIRE(uploader != nullptr);
        const BundleResult r = pipeline.process_incident(sample_inputs());
        CHECK(r.upload_status == "uploaded");
        CHECK(r.upload_error.empty());
        const std::string key = WormUploader::object_key("", "test-client-001", r.bundle_id, ".json");
        CHECK(r.bundle_uri == store->uri(key));
        CHECK(store->get(key) == read_file(r.bundle_path));
        CHECK(uploader->stats().total_uploaded == 1);
    }
    SUBCASE("auto_upload off: registered pending, stored by the next sync") {
        EvidencePipeline pipeline(f.options());
        WormConfig config;
        config.auto_upload = false;
        const auto uploader = pipeline.enable_uploads(config, store);
        REQUIRE(uploader != nullptr);
        const BundleResult r = pipeline.process_incident(sample_inputs());
        CHECK(r.upload_status == "pending");
        CHECK(r.upload_error.empty());
        CHECK(r.bundle_uri.empty());
        CHECK(store->list_all("").empty());
        CHECK(uploader->stats().pending_count == 1);
        CHECK(uploader->sync().uploaded == 1);
        CHECK(store->get(WormUploader::object_key("", "test-client-001", r.bundle_id, ".sig")) ==
              read_file(r.sig_path));
    }
    SUBCASE("enabled without a store: a configuration problem is each upload's error, logged once, bundles kept") {
        EvidencePipeline pipeline(f.options());
        WormConfig config;
        config.enabled = true;
        config.mode = WormMode::direct;  // no bucket
        std::vector<std::string> logged;
        UploaderOptions options;
        options.log = [&](std::string_view m) { logged.emplace_back(m); };
        const auto uploader = pipeline.enable_uploads(config, nullptr, options);
        REQUIRE(uploader != nullptr);
        for (int i = 0; i < 2; ++i) {
            const BundleResult r = pipeline.process_incident(sample_inputs());
            CHECK(r.upload_status == "pending");
            CHECK(r.upload_error.find("bucket not configured") != std::string::npos);
            CHECK(fs::exists(r.bundle_path));
            CHECK(fs::exists(r.sig_path));
        }
        CHECK(logged.size() == 1);
        const UploaderStats s = uploader->stats();
        CHECK(s.failed_count == 2);
        CHECK(s.last_error.find("bucket not configured") != std::string::npos);
    }
    SUBCASE("an upload that fails leaves the bundle signed, kept and pending") {
        EvidencePipeline pipeline(f.options());
        WormConfig config;
        config.upload_attempts = 1;
        const auto uploader = pipeline.enable_uploads(
            config, std::make_shared<LocalWormStore>(f.dir / "not-a-dir" / "store"));
        fs::remove_all(f.dir / "not-a-dir");
        t::write_file(f.dir / "not-a-dir", "a file where the store's directory was");
        const BundleResult r = pipeline.process_incident(sample_inputs());
        CHECK(r.upload_status == "pending");
        CHECK_FALSE(r.upload_error.empty());
        CHECK(fs::exists(r.bundle_path));
        CHECK(uploader->stats().last_error_current);
    }
}
