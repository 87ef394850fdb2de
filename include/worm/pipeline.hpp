// pipeline.hpp: EvidencePipeline, the path every piece of evidence takes:
//
//   incident inputs -> bundle (ids, MTTR, SLA, hash) -> schema validation -> write .json
//   -> Ed25519 sign -> write .sig -> verify what is on disk -> hand to storage
//
// and verify_bundle_files(), the auditor's check of a stored bundle, which reports the
// three ways evidence can fail separately: signature, hash and schema.
//
// Example:
//   worm::PipelineOptions options;
//   options.client_id = "clinic-001";
//   options.evidence_dir = "evidence";
//   options.private_key_path = "evidence/keys/private.pem";
//   worm::EvidencePipeline pipeline(options);
//   worm::BundleResult result = pipeline.process_incident(
//       worm::load_incident_inputs({.incident = "incident.json", .runbook = "runbook.json"}));
//   worm::VerificationReport report =
//       worm::verify_bundle_files(result.bundle_path, result.sig_path, pipeline.public_key());
//   // Many at once: one durability round for the whole batch.
//   std::vector<worm::IncidentInputs> batch;
//   batch.push_back(worm::load_incident_inputs({.incident = "incident.json"}));
//   std::vector<worm::BundleResult> results = pipeline.process_incidents(std::move(batch));
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worm/bundle.hpp"
#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/signer.hpp"
#include "worm/time.hpp"

namespace worm {

// The upload hook's types (worm/uploader.hpp, worm/config.hpp): declared only, so the
// pipeline (worm::core) does not need the uploader component to compile.
class ObjectStore;
class WormUploader;
struct UploaderOptions;
struct WormConfig;

namespace detail {
class EvidenceDirectory;
class GroupSync;
}  // namespace detail

struct WORM_API PipelineOptions {
    std::string client_id;
    std::filesystem::path evidence_dir;
    std::filesystem::path private_key_path;
    std::optional<std::string> key_passphrase;  // default: WORM_KEY_PASSWORD
    bool durable = true;                        // fsync files and directories (benchmarks may turn it off)
    const Clock* clock = &system_clock();  // borrowed, never null (see Clock in time.hpp)
    // Also write X.sigstore.json (a Sigstore bundle v0.3, for cosign users) beside X.sig.
    // Unset: WORM_SIGSTORE_BUNDLE (WormConfig).
    std::optional<bool> sigstore_bundle;

    // Throws Error(config) naming what is wrong: client id, unwritable dir, missing key.
    void validate() const;
};

struct BundleResult {
    std::string bundle_id;
    std::filesystem::path bundle_path;
    std::filesystem::path sig_path;
    std::filesystem::path sigstore_path;  // set when a Sigstore bundle was written
    std::string evidence_bundle_hash;
    std::string bundle_uri;  // set when the bundle was stored (auto upload)
    std::string sig_uri;
    // Set when the store hook failed: the bundle is signed and kept locally, and the
    // uploader's registry still holds it as pending/failed for a later sync.
    std::string upload_error;
    // "" when nothing is attached, "uploaded" when stored now, "pending" when the registry
    // holds it for a later sync (auto_upload off, or the upload failed: see upload_error),
    // "not_registered" when the registry refused it (a full disk: see upload_error); the
    // signed files stay, and the next sync registers and uploads them (reconcile).
    std::string upload_status;
};

// What happens after a bundle is signed and verified on disk: e.g. the WormUploader
// storing it. The pipeline fills bundle_uri / sig_uri from the returned pair; a
// worm::Error thrown by the hook becomes BundleResult::upload_error (the pipeline goes on).
using StoreHook = std::function<std::pair<std::string, std::string>(const BundleResult&)>;

// Thread-safe: process_incident and process_incidents may be called from several threads
// at once (and several processes may share one evidence directory); concurrent callers
// share their directory fsyncs (group commit). Durability and id rules:
// docs/pipeline-durability.md.
class WORM_API EvidencePipeline {
public:
    explicit EvidencePipeline(PipelineOptions options);
    ~EvidencePipeline();
    EvidencePipeline(const EvidencePipeline&) = delete;
    EvidencePipeline& operator=(const EvidencePipeline&) = delete;

    // Builds, validates, writes, signs and verifies one bundle; then runs the store hook.
    // When it returns (durable), the bundle's files and names are on disk.
    BundleResult process_incident(IncidentInputs inputs);
    // The same for many incidents, in order, with one durability round for all of them
    // (their files fsynced together, one directory fsync): each result and file is what
    // process_incident would have produced. An invalid input throws its Error with the
    // message prefixed "incident #<index>: " and nothing of the batch is written.
    std::vector<BundleResult> process_incidents(std::vector<IncidentInputs> batch);

    void set_store_hook(StoreHook hook) { store_hook_ = std::move(hook); }
    // Every bundle goes to the uploader right after it is signed: with
    // uploader->config().auto_upload through upload_bundle (registry, retries,
    // verification), without it only registered as pending for the next sync().
    void attach_uploader(std::shared_ptr<WormUploader> uploader);
    // The upload-after-sign policy, decided here only (`worm bundle` and Python's
    // EvidencePipeline call it). Uploads are on when `store` is given, or else when
    // config.enabled (then the store the configuration names, opened by the uploader at
    // the first upload: a configuration problem is then each upload's error, the bundle
    // kept and pending, see WormUploader); when on, a WormUploader on the evidence
    // directory's registry is attached as above and returned (for sync and stats); when
    // off, nothing is attached and it returns nullptr.
    // `options` tune the attached uploader (its log, retries); declared in uploader.hpp.
    std::shared_ptr<WormUploader> enable_uploads(const WormConfig& config, std::shared_ptr<ObjectStore> store = nullptr);
    std::shared_ptr<WormUploader> enable_uploads(const WormConfig& config, std::shared_ptr<ObjectStore> store,
                                                 const UploaderOptions& options);
    const Ed25519PublicKey& public_key() const { return public_key_; }
    const PipelineOptions& options() const { return options_; }

private:
    struct Pending;
    Pending prepare(IncidentInputs inputs);
    void write_unnamed(Pending& item);
    void reissue(Pending& item);
    void publish(Pending& item);
    void run_store_hook(BundleResult& result);

    PipelineOptions options_;
    Ed25519PrivateKey private_key_;
    Ed25519PublicKey public_key_;
    BundleIdAllocator ids_;
    std::unique_ptr<detail::EvidenceDirectory> dir_;
    std::unique_ptr<detail::GroupSync> dir_sync_;
    StoreHook store_hook_;
};

// The result of checking a bundle file: each concern on its own line, so an auditor sees
// whether the signature, the hash, or the schema failed (or several).
struct WORM_API VerificationReport {
    bool signature_valid = false;
    bool hash_valid = false;
    bool schema_valid = false;
    std::string bundle_id;
    std::string evidence_bundle_hash;  // the hash recorded in the file
    std::vector<std::string> problems; // one sentence each

    bool ok() const { return signature_valid && hash_valid && schema_valid; }
    std::string summary() const;       // "valid" or the problems joined by "; "
};

// Never throws for bad evidence (that is a report); throws Error(not_found/io) when the
// bundle file cannot be read at all. sig_path empty: the .sig beside the .json, or, when
// there is none, the .sigstore.json beside it. A sig_path ending in ".sigstore.json" is
// read as a Sigstore bundle (compliance/sigstore.hpp), any other as a .sig line.
WORM_API VerificationReport verify_bundle_files(const std::filesystem::path& bundle_path,
                                       const std::filesystem::path& sig_path,
                                       const Ed25519PublicKey& public_key);

// The hash and schema checks over bundle bytes already in memory, with the outcome of
// their signature check (a .sig line or a Sigstore bundle); `what` names the bundle in
// parse errors. verify_bundle_files and the evidence audit both report through it.
VerificationReport verify_bundle_bytes(std::string_view bytes, const SignatureCheck& signature, std::string_view what);

}  // namespace worm
