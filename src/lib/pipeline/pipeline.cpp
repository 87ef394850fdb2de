#include "worm/pipeline.hpp"

#include <unistd.h>

#include "worm/compliance/sigstore.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/config.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/registry.hpp"
#include "worm/signer.hpp"

namespace worm {

namespace fs = std::filesystem;

void PipelineOptions::validate() const {
    try {
        validate_client_id(client_id);
    } catch (const Error& e) {
        throw Error(ErrorCode::config, e.what());
    }
    if (evidence_dir.empty()) throw Error(ErrorCode::config, "evidence directory not configured");
    if (private_key_path.empty()) throw Error(ErrorCode::config, "private key not configured");
    if (!clock) throw Error(ErrorCode::config, "pipeline clock is null");
}

namespace {

// Creates the evidence directory if needed and proves it is writable before any work.
fs::path prepare_evidence_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::config, "cannot create evidence directory " + dir.string() + ": " + ec.message());
    if (!fs::is_directory(dir)) throw Error(ErrorCode::config, "evidence directory " + dir.string() + " is not a directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw Error(ErrorCode::config, "evidence directory " + dir.string() + " is not writable");
    return dir;
}

Ed25519PrivateKey load_key(const PipelineOptions& o) {
    o.validate();
    return load_private_key(o.private_key_path, o.key_passphrase ? o.key_passphrase : key_password_from_env());
}

}  // namespace

namespace {
PipelineOptions with_defaults(PipelineOptions o) {
    if (!o.sigstore_bundle) o.sigstore_bundle = WormConfig::from_env().sigstore_bundle;
    return o;
}
}  // namespace

EvidencePipeline::EvidencePipeline(PipelineOptions options)
    : options_(with_defaults(std::move(options))),
      private_key_(load_key(options_)),
      public_key_(private_key_.public_key()),
      ids_(prepare_evidence_dir(options_.evidence_dir), *options_.clock, options_.durable) {}

BundleResult EvidencePipeline::process_incident(IncidentInputs inputs) {
    BundleResult result;
    result.bundle_id = ids_.next();
    // process_incident validates the schema and fills the hash.
    rapidjson::Document bundle = worm::process_incident(options_.client_id, result.bundle_id, std::move(inputs),
                                                        *options_.clock);
    result.evidence_bundle_hash = json::require_string(bundle, "evidence_bundle_hash", "");
    const std::string text = json::to_pretty(bundle) + "\n";

    result.bundle_path = options_.evidence_dir / (result.bundle_id + ".json");
    result.sig_path = signature_path_for(result.bundle_path);
    WriteOptions write;
    write.durable = options_.durable;
    write.no_overwrite = true;  // an id is never reused, so an existing file is a bug or an attack
    // All or nothing: a .json whose .sig could not be written (a full disk) would sit
    // there unsigned and unregistered, so a failed write removes what this call wrote.
    std::vector<fs::path> written;
    try {
        write_file_atomic(result.bundle_path, text, write);
        written.push_back(result.bundle_path);
        write_file_atomic(result.sig_path, make_signature_line(private_key_, text), write);
        written.push_back(result.sig_path);
        if (options_.sigstore_bundle.value_or(false)) {
            result.sigstore_path = compliance::sigstore_path_for(result.bundle_path);
            write_file_atomic(result.sigstore_path, compliance::make_sigstore_bundle(private_key_, text), write);
        }
    } catch (...) {
        std::error_code ignored;  // the first failure is the one to report
        for (const auto& path : written) fs::remove(path, ignored);
        throw;
    }

    // Check what is on disk, not what is in memory: the same check an auditor runs.
    const VerificationReport report = verify_bundle_files(result.bundle_path, result.sig_path, public_key_);
    if (!report.ok())
        throw Error(ErrorCode::verification,
                    "bundle " + result.bundle_id + " failed verification right after writing: " + report.summary());
    if (!result.sigstore_path.empty()) {
        const VerificationReport sigstore = verify_bundle_files(result.bundle_path, result.sigstore_path, public_key_);
        if (!sigstore.ok())
            throw Error(ErrorCode::verification, "Sigstore bundle of " + result.bundle_id +
                                                     " failed verification right after writing: " + sigstore.summary());
    }

    if (store_hook_) {
        try {
            std::tie(result.bundle_uri, result.sig_uri) = store_hook_(result);
            result.upload_status = result.bundle_uri.empty() ? "pending" : "uploaded";
        } catch (const Error& e) {
            result.upload_error = e.what();
            result.upload_status = "pending";
        }
    }
    return result;
}

void EvidencePipeline::attach_uploader(std::shared_ptr<WormUploader> uploader) {
    if (!uploader) throw Error(ErrorCode::invalid_argument, "attach_uploader needs an uploader");
    const std::string client_id = options_.client_id;
    set_store_hook([uploader, client_id](const BundleResult& r) {
        if (!uploader->config().auto_upload) {  // registered now, uploaded by the next sync()
            uploader->enqueue(r.bundle_path, r.sig_path, client_id);
            return std::make_pair(std::string(), std::string());
        }
        const UploadResult u = uploader->upload_bundle(r.bundle_path, r.sig_path, client_id);
        return std::make_pair(u.bundle_uri, u.sig_uri);
    });
}

std::shared_ptr<WormUploader> EvidencePipeline::enable_uploads(const WormConfig& config,
                                                               std::shared_ptr<ObjectStore> store) {
    if (!store) {
        if (!config.enabled) return nullptr;
        config.validate();
        store = open_configured_store(config);
    }
    auto uploader = std::make_shared<WormUploader>(config, std::move(store),
                                                   std::make_shared<UploadRegistry>(options_.evidence_dir));
    attach_uploader(uploader);
    return uploader;
}

std::string VerificationReport::summary() const {
    if (ok()) return "valid";
    std::string s;
    for (const auto& p : problems) s += (s.empty() ? "" : "; ") + p;
    return s;
}

VerificationReport verify_bundle_files(const fs::path& bundle_path, const fs::path& sig_path,
                                       const Ed25519PublicKey& public_key) {
    const std::string bytes = read_file(bundle_path);
    fs::path sig = sig_path.empty() ? signature_path_for(bundle_path) : sig_path;
    if (sig_path.empty() && !fs::exists(sig) && fs::exists(compliance::sigstore_path_for(bundle_path)))
        sig = compliance::sigstore_path_for(bundle_path);
    SignatureCheck signature;
    if (compliance::is_sigstore_bundle_name(sig.filename().string())) {
        std::string text;
        try {
            text = read_file(sig);
            signature = compliance::check_sigstore_bundle(public_key, bytes, text);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::not_found) throw;
            signature = {.valid = false, .reason = "Sigstore bundle does not exist"};
        }
        if (!signature.valid) signature.reason = sig.string() + ": " + signature.reason;
    } else {
        signature = verify_file_signature(public_key, bytes, bundle_path, sig);
    }
    return verify_bundle_bytes(bytes, signature, bundle_path.string());
}

VerificationReport verify_bundle_bytes(std::string_view bytes, const SignatureCheck& signature, std::string_view what) {
    VerificationReport report;
    report.signature_valid = signature.valid;
    if (!signature.valid) report.problems.push_back("signature invalid: " + signature.reason);

    rapidjson::Document bundle;
    try {
        bundle = json::parse_strict(bytes, what);
    } catch (const Error& e) {
        report.problems.push_back(std::string("not valid JSON: ") + e.what());
        return report;
    }
    if (const auto* id = json::find_member(bundle, "bundle_id"); id && id->IsString())
        report.bundle_id = id->GetString();
    if (const auto* h = json::find_member(bundle, "evidence_bundle_hash"); h && h->IsString())
        report.evidence_bundle_hash = h->GetString();

    try {
        verify_bundle_hash(bundle);
        report.hash_valid = true;
    } catch (const Error& e) {
        report.problems.push_back(std::string("hash mismatch: ") + e.what());
    }
    try {
        validate_bundle_schema(bundle);
        report.schema_valid = true;
    } catch (const Error& e) {
        report.problems.push_back(std::string("schema invalid: ") + e.what());
    }
    return report;
}

}  // namespace worm
