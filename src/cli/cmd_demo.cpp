// `worm demo`: the whole evidence pipeline on the embedded local WORM store, narrated.
//
// It runs what an agent runs (keys, two incidents: one fixed, one only partly), stores the
// bundles write-once through the uploader, then audits what it stored the way an auditor
// would, and shows that the store refuses to delete locked evidence and that a one-byte
// edit is caught. Exit 0 only when every step behaved as it must.
#include <unistd.h>

#include <iostream>
#include <map>

#include "commands.hpp"
#include "worm/config.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/pipeline.hpp"
#include "worm/registry.hpp"
#include "worm/signer.hpp"
#include "worm/storage/local.hpp"
#include "worm/uploader.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

struct DemoInput {
    const char* scenario;
    const char* part;
    const char* json;
};

// The sample incidents of examples/data, compiled in (see CMakeLists.txt).
const DemoInput demo_inputs[] = {
#include "worm_demo_inputs.inc"
};

IncidentInputs scenario_inputs(const std::string& scenario) {
    IncidentInputs in;
    for (const auto& d : demo_inputs) {
        if (scenario != d.scenario) continue;
        const std::string part = d.part;
        (void)json::parse_strict(d.json, scenario + "/" + part + ".json");  // an error names the sample
        if (part == "incident") in.incident = d.json;
        else if (part == "runbook") in.runbook = d.json;
        else if (part == "execution") in.execution = d.json;
        else if (part == "actions") in.actions = d.json;
        else if (part == "artifacts") in.artifacts = d.json;
    }
    return in;
}

fs::path make_demo_dir(const std::optional<std::string>& given) {
    if (given) {
        fs::create_directories(*given);
        if (!fs::is_empty(*given)) throw UsageError("demo directory " + *given + " is not empty");
        return *given;
    }
    std::string pattern = (fs::temp_directory_path() / "worm-demo-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw Error(ErrorCode::io, "cannot create a temporary directory");
    return pattern;
}

class Narrator {
public:
    void step(const std::string& s) { std::cout << "\n== " << s << "\n"; }
    void ok(const std::string& s) { std::cout << "   ok    " << s << "\n"; }
    void fail(const std::string& s) {
        std::cout << "   FAIL  " << s << "\n";
        ++failures_;
    }
    int failures() const { return failures_; }

private:
    int failures_ = 0;
};

int run_demo(const ParsedArgs& a) {
    Narrator say;
    const fs::path dir = make_demo_dir(a.get("--dir"));
    const std::string client_id = "clinic-001";
    std::cout << "libworm demo in " << dir.string() << "\n";

    say.step("1. keys");
    const KeyPaths keys = generate_key_files(dir / "keys");
    say.ok("Ed25519 key pair: " + keys.private_key.string() + " (0400), " + keys.public_key.string() + " (0644)");

    say.step("2. store and uploader");
    auto store = std::make_shared<LocalWormStore>(dir / "worm-store");
    fs::create_directories(dir / "evidence");
    auto registry = std::make_shared<UploadRegistry>(dir / "evidence");
    WormConfig config = WormConfig::from_env([](std::string_view) { return std::optional<std::string>(); });
    config.enabled = true;
    config.mode = WormMode::direct;  // the uploader writes to the store itself, no proxy
    auto uploader = std::make_shared<WormUploader>(config, store, registry);
    say.ok("local WORM store file://" + (dir / "worm-store").string() + ", " + std::string(to_string(config.lock_mode)) +
           " retention " + std::to_string(config.retention_days) + " days, registry in evidence/");

    say.step("3. evidence pipeline: bundle -> validate -> write -> sign -> verify -> store");
    PipelineOptions options;
    options.client_id = client_id;
    options.evidence_dir = dir / "evidence";
    options.private_key_path = keys.private_key;
    EvidencePipeline pipeline(options);
    pipeline.attach_uploader(uploader);
    std::vector<BundleResult> results;
    for (const std::string scenario : {"backup-success", "backup-failed"}) {
        BundleResult r = pipeline.process_incident(scenario_inputs(scenario));
        const auto bundle = json::parse_strict(read_file(r.bundle_path), r.bundle_path.string());
        const std::string status = bundle["outputs"]["resolution_status"].GetString();
        const bool sla_met = bundle["execution"]["sla_met"].GetBool();
        if (!r.upload_error.empty()) say.fail(r.bundle_id + " not stored: " + r.upload_error);
        else
            say.ok(r.bundle_id + " (" + scenario + "): resolution " + status + ", SLA " + (sla_met ? "met" : "missed") +
                   ", " + r.evidence_bundle_hash.substr(0, 23) + "...\n         stored " + r.bundle_uri);
        results.push_back(std::move(r));
    }

    say.step("4. audit: read back from the store and verify signature, hash, schema, lock");
    const Ed25519PublicKey public_key = load_public_key(keys.public_key);
    const fs::path audit_dir = dir / "audit";
    fs::create_directories(audit_dir);
    for (const auto& object : store->list_all("evidence/")) {
        if (object.key.size() < 5 || object.key.substr(object.key.size() - 5) != ".json") continue;
        const std::string sig_key = object.key.substr(0, object.key.size() - 5) + ".sig";
        const fs::path json_copy = audit_dir / fs::path(object.key).filename();
        const fs::path sig_copy = audit_dir / fs::path(sig_key).filename();
        store->get_to_file(object.key, json_copy);
        store->get_to_file(sig_key, sig_copy);
        const VerificationReport report = verify_bundle_files(json_copy, sig_copy, public_key);
        const ObjectInfo info = store->head(object.key);
        const bool locked = info.retention && info.retention->mode == config.lock_mode;
        if (report.ok() && locked)
            say.ok(object.key + ": " + report.summary() + ", " + std::string(to_string(info.retention->mode)) +
                   " until " + format_rfc3339(info.retention->retain_until));
        else
            say.fail(object.key + ": " + report.summary() + (locked ? "" : ", not locked as configured"));
    }

    say.step("5. write-once: the store refuses to change locked evidence");
    const std::string first_key = WormUploader::object_key(config.s3_prefix, client_id, results[0].bundle_id, ".json");
    try {
        store->remove(first_key, DeleteOptions{std::nullopt, true});
        say.fail("delete of " + first_key + " was allowed");
    } catch (const Error& e) {
        if (e.code() == ErrorCode::object_locked) say.ok("delete refused: " + std::string(e.what()));
        else say.fail(std::string("unexpected error: ") + e.what());
    }
    try {
        store->put(first_key, PutBody::from_bytes("{}"), PutOptions{});
        say.fail("overwrite of " + first_key + " was allowed");
    } catch (const Error& e) {
        if (e.code() == ErrorCode::object_locked) say.ok("overwrite refused: " + std::string(e.what()));
        else say.fail(std::string("unexpected error: ") + e.what());
    }

    say.step("6. tamper detection: change one byte of a bundle copy");
    const fs::path tampered = audit_dir / "tampered.json";
    std::string bytes = read_file(results[0].bundle_path);
    const auto pos = bytes.find("\"success\"");
    bytes.replace(pos, 9, "\"sUccess\"");
    write_file_atomic(tampered, bytes);
    const VerificationReport report = verify_bundle_files(tampered, results[0].sig_path, public_key);
    if (!report.ok() && !report.signature_valid && !report.hash_valid)
        say.ok("caught: " + report.summary());
    else
        say.fail("a one-byte edit was not caught: " + report.summary());

    say.step("7. uploader stats");
    std::cout << "   " << uploader->stats().to_json() << "\n";

    std::cout << "\n"
              << (say.failures() == 0 ? "demo finished: every step behaved as it must"
                                      : std::to_string(say.failures()) + " step(s) FAILED")
              << "\nfiles are in " << dir.string() << "\n";
    return say.failures() == 0 ? exit_ok : exit_verification_failed;
}

}  // namespace

Command demo_command() {
    return {{"demo", "", "run the evidence pipeline on sample incidents into a local WORM store and audit it",
             {{"--dir", "DIR", "work in DIR (must be empty) instead of a new temporary directory"}},
             0, 0,
             "Creates keys, two bundles (a successful and a partly failed backup remediation), stores them\n"
             "write-once with COMPLIANCE retention, then verifies everything it stored."},
            run_demo};
}

}  // namespace worm::cli
