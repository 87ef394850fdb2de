// Evidence commands: keygen, bundle, verify, demo.
#include <cstdlib>
#include <optional>
#include <iostream>

#include "commands.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/pipeline.hpp"
#include "worm/registry.hpp"
#include "worm/signer.hpp"
#include "worm/uploader.hpp"

namespace worm::cli {

namespace fs = std::filesystem;

namespace {

int run_keygen(const ParsedArgs& a) {
    const fs::path dir = a.require("--out");
    const KeyPaths paths = user_file([&] { return generate_key_files(dir, key_password_from_env()); });
    json::Writer w;
    w.begin_object().member("private_key", paths.private_key.string()).member("public_key", paths.public_key.string());
    w.end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

std::string bundle_result_json(const BundleResult& r, const fs::path& cosign_bundle) {
    json::Writer w;
    w.begin_object().member("bundle_id", r.bundle_id).member("bundle_path", r.bundle_path.string());
    w.member("sig_path", r.sig_path.string());
    if (!r.sigstore_path.empty()) w.member("sigstore_path", r.sigstore_path.string());
    if (!cosign_bundle.empty()) w.member("cosign_bundle_path", cosign_bundle.string());
    w.member("evidence_bundle_hash", r.evidence_bundle_hash);
    if (!r.upload_status.empty()) w.member("upload_status", r.upload_status);
    if (!r.upload_error.empty()) w.member("upload_error", r.upload_error);
    if (!r.bundle_uri.empty()) w.member("uri", r.bundle_uri).member("sig_uri", r.sig_uri);
    w.end_object();
    return w.take();
}

int run_bundle(const ParsedArgs& a) {
    const std::initializer_list<std::string_view> inputs_named = {"--incident", "--runbook", "--execution",
                                                                  "--actions", "--artifacts"};
    IncidentFiles files;
    (void)a.require("--incident");
    files.incident = *input_file(a, "--incident", inputs_named);
    files.runbook = input_file(a, "--runbook", inputs_named);
    files.execution = input_file(a, "--execution", inputs_named);
    files.actions = input_file(a, "--actions", inputs_named);
    files.artifacts = input_file(a, "--artifacts", inputs_named);
    IncidentInputs inputs = user_file([&] { return load_incident_inputs(files); });

    PipelineOptions options;
    options.client_id = a.require("--client-id");
    options.evidence_dir = a.require("--evidence-dir");
    options.private_key_path = a.require("--key");
    if (a.has("--sigstore")) options.sigstore_bundle = true;  // else WORM_SIGSTORE_BUNDLE
    // Loaded before anything is written: a wrong COSIGN_PASSWORD leaves no bundle behind.
    std::optional<compliance::CosignPrivateKey> cosign_key;
    if (auto v = a.get("--cosign-key")) cosign_key = user_file([&] { return compliance::CosignPrivateKey::load(*v); });
    EvidencePipeline pipeline(options);
    // Whether and how the bundle is stored is the library's policy (enable_uploads).
    const auto url = a.get("--store");
    pipeline.enable_uploads(WormConfig::from_env(), url ? std::shared_ptr<ObjectStore>(open_store(*url)) : nullptr);
    const BundleResult result = pipeline.process_incident(std::move(inputs));
    const fs::path cosign_bundle = cosign_key ? compliance::write_cosign_bundle(*cosign_key, result.bundle_path) : fs::path();
    std::cout << bundle_result_json(result, cosign_bundle) << "\n";
    // The bundle is signed and kept; the registry holds it for `worm sync`.
    if (result.upload_status == "not_registered")
        std::cerr << "worm bundle: warning: " << result.bundle_id
                  << " is signed and kept but not registered for upload (the next worm sync registers it): "
                  << result.upload_error << "\n";
    else if (!result.upload_error.empty())
        std::cerr << "worm bundle: warning: " << result.bundle_id << " is not stored yet (pending for worm sync): "
                  << result.upload_error << "\n";
    return exit_ok;
}

int run_verify(const ParsedArgs& a) {
    (void)a.require("--key");
    const fs::path key_path = *input_file(a, "--key");  // "-": standard input
    const auto& pos = a.positionals();
    const fs::path bundle = pos[0];
    const fs::path sig = pos.size() > 1 ? fs::path(pos[1]) : fs::path();  // empty: the first found beside it
    // The key is read as the signature needs: Ed25519 for .sig/.sigstore.json, a cosign
    // key (ECDSA P-256 or Ed25519) for a cosign .json.bundle.
    const compliance::EvidenceVerification v =
        user_file([&] { return compliance::verify_evidence_files(bundle, sig, key_path); });
    const VerificationReport& report = v.report;
    if (report.ok()) {
        std::cout << "valid: " << bundle.string() << " (" << report.bundle_id << ", " << report.evidence_bundle_hash
                  << ")\n";
        std::cout << "  signature: " << v.signature_path.string() << " (" << v.signature_format << ")\n";
        for (const auto& note : v.notes) std::cout << "  note: " << note << "\n";
        return exit_ok;
    }
    std::cout << "INVALID: " << bundle.string() << "\n";
    std::cout << "  signature: " << (report.signature_valid ? "ok" : "INVALID") << " (" << v.signature_path.string()
              << ")\n";
    std::cout << "  hash:      " << (report.hash_valid ? "ok" : "MISMATCH") << "\n";
    std::cout << "  schema:    " << (report.schema_valid ? "ok" : "INVALID") << "\n";
    for (const auto& note : v.notes) std::cout << "  note: " << note << "\n";
    std::cerr << "worm verify: " << report.summary() << "\n";
    return exit_verification_failed;
}

// Signs files with a cosign key the user already has (COSIGN_PASSWORD), writing X.bundle
// beside each X (seed 003's X.json.bundle), checkable with cosign or @sigstore/verify.
int run_sign(const ParsedArgs& a) {
    const compliance::CosignPrivateKey key =
        user_file([&] { return compliance::CosignPrivateKey::load(a.require("--cosign-key")); });
    json::Writer w;  // printed whole at the end: a failing file leaves no half-printed list
    w.begin_array();
    for (const auto& file : a.positionals()) {
        const fs::path bundle = user_file([&] { return compliance::write_cosign_bundle(key, file); });
        w.begin_object().member("file", file).member("bundle", bundle.string()).end_object();
    }
    w.end_array();
    std::cout << w.take() << "\n";
    return exit_ok;
}

}  // namespace

std::vector<Command> evidence_commands() {
    std::vector<Command> c;
    c.push_back({{"keygen", "", "create an Ed25519 key pair (private.pem 0400, public.pem 0644)",
                  {{"--out", "DIR", "directory for private.pem and public.pem", true}},
                  0, 0,
                  "With WORM_KEY_PASSWORD set, the private key is encrypted (PKCS#8, scrypt + AES-256-CBC).\n"
                  "Existing keys are never overwritten."},
                 run_keygen});
    c.push_back({{"bundle", "", "build, sign and verify an evidence bundle (and store it with --store)",
                  {{"--client-id", "ID", "client the evidence belongs to", true},
                   {"--incident", "FILE", "incident JSON (or one file with every section)", true},
                   {"--runbook", "FILE", "runbook JSON"},
                   {"--execution", "FILE", "execution JSON (timestamps, SLA target)"},
                   {"--actions", "FILE", "actions taken (JSON array)"},
                   {"--artifacts", "FILE", "artifacts JSON"},
                   {"--evidence-dir", "DIR", "where .json, .sig and the id counter live", true},
                   {"--key", "PRIV", "Ed25519 private key (PEM, mode 0400 or 0600)", true},
                   with_help(not_required(store_option), "also store the bundle write-once: file://, s3://, mcp+https://"),
                   {"--sigstore", "", "also write X.sigstore.json, a Sigstore bundle for cosign (WORM_SIGSTORE_BUNDLE=true)"},
                   {"--cosign-key", "KEY", "also write X.json.bundle signed with this cosign key (COSIGN_PASSWORD), as seed 003"}},
                  0, 0,
                  "Prints one JSON object: bundle_id, bundle_path, sig_path, evidence_bundle_hash (cosign_bundle_path\n"
                  "with --cosign-key; the uploader stores X.json and X.sig, not X.json.bundle); with uploads on,\n"
                  "upload_status (uploaded, pending or not_registered), uri and sig_uri when stored, upload_error when it failed.\n"
                  "Uploads are on with --store, or with WORM_ENABLED=true (the store WORM_MODE names); the bundle is\n"
                  "uploaded right after signing, or with WORM_AUTO_UPLOAD=false only registered for `worm sync`.\n"
                  "Stored objects get WORM_LOCK_MODE (COMPLIANCE) retention for WORM_RETENTION_DAYS (90).\n"
                  "One of the FILE options may be '-' (or /dev/stdin): standard input, read to the same size limit."},
                 run_bundle});
    c.push_back({{"verify", "BUNDLE.json [SIG]", "check a bundle's signature, hash and schema",
                  {{"--key", "PUB", "public key (PEM; '-': standard input): Ed25519, or the cosign public key for a .json.bundle", true}},
                  1, 2,
                  "SIG is a .sig, a .sigstore.json (Sigstore bundle) or a cosign .json.bundle (cosign 3's Sigstore\n"
                  "bundle or cosign 2's base64Signature form; the key is then cosign's ECDSA P-256 or an Ed25519\n"
                  "public key). By default the first of X.sig, X.sigstore.json, X.json.bundle beside X.json.\n"
                  "Offline: a transparency-log entry is reported as present, never checked.\n"
                  "Exit 0 when valid, 1 when not (each failing check is named)."},
                 run_verify});
    c.push_back({{"sign", "FILE...", "sign files with a cosign key: writes FILE.bundle (cosign's --bundle)",
                  {{"--cosign-key", "KEY", "cosign private key (ENCRYPTED SIGSTORE PRIVATE KEY PEM, mode 0400/0600)", true}},
                  1, 1000,
                  "The key's password is COSIGN_PASSWORD, as for cosign. Writes a Sigstore bundle v0.3 without a\n"
                  "transparency-log entry; check it with\n"
                  "  cosign verify-blob --key cosign.pub --bundle FILE.bundle --insecure-ignore-tlog FILE\n"
                  "or `worm verify --key cosign.pub FILE FILE.bundle`. An existing FILE.bundle that already signs\n"
                  "FILE with this key is kept; any other is never replaced. Prints [{file, bundle}, ...]."},
                 run_sign});
    c.push_back(demo_command());
    return c;
}

}  // namespace worm::cli
