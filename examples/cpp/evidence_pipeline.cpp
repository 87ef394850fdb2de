// evidence_pipeline: one incident from files to a signed bundle in a local WORM store.
//
//   example_evidence_pipeline EVIDENCE_DIR INCIDENT_DIR
//
// INCIDENT_DIR holds incident.json, runbook.json, execution.json, actions.json and
// artifacts.json (see examples/data/backup-success).
#include <worm/config.hpp>
#include <worm/error.hpp>
#include <worm/pipeline.hpp>
#include <worm/registry.hpp>
#include <worm/signer.hpp>
#include <worm/storage/local.hpp>
#include <worm/uploader.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " EVIDENCE_DIR INCIDENT_DIR\n";
        return 2;
    }
    const std::filesystem::path evidence = argv[1], incident = argv[2];
    try {
        std::filesystem::create_directories(evidence);
        if (!std::filesystem::exists(evidence / "keys/private.pem")) worm::generate_key_files(evidence / "keys");

        // Where bundles go: a local WORM store here; worm::open_store("s3://bucket") in production.
        auto store = std::make_shared<worm::LocalWormStore>(evidence / "store");
        auto registry = std::make_shared<worm::UploadRegistry>(evidence);
        worm::WormConfig config = worm::WormConfig::from_env();  // WORM_RETENTION_DAYS, WORM_LOCK_MODE, ...

        worm::PipelineOptions options;
        options.client_id = "clinic-001";
        options.evidence_dir = evidence;
        options.private_key_path = evidence / "keys/private.pem";
        worm::EvidencePipeline pipeline(options);
        pipeline.attach_uploader(std::make_shared<worm::WormUploader>(config, store, registry));

        const worm::BundleResult r = pipeline.process_incident(worm::load_incident_inputs({
            .incident = incident / "incident.json",
            .runbook = incident / "runbook.json",
            .execution = incident / "execution.json",
            .actions = incident / "actions.json",
            .artifacts = incident / "artifacts.json",
        }));
        std::cout << r.bundle_id << " " << r.evidence_bundle_hash << "\n  " << r.bundle_path.string() << "\n  "
                  << (r.upload_error.empty() ? r.bundle_uri : "pending: " + r.upload_error) << "\n";

        // What an auditor runs later, with only the public key.
        const auto report = worm::verify_bundle_files(r.bundle_path, r.sig_path, pipeline.public_key());
        std::cout << "verification: " << report.summary() << "\n";
        return report.ok() ? 0 : 1;
    } catch (const worm::Error& e) {
        std::cerr << "error (" << worm::to_string(e.code()) << "): " << e.what() << "\n";
        return 2;
    }
}
