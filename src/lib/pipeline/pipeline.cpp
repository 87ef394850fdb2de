#include "worm/pipeline.hpp"
#include "not_registered.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>

#include "worm/bundle_json.hpp"
#include "worm/compliance/sigstore.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"
#include "evidence_files.hpp"

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

// Ids are leased from the counter this many at a time (BundleIdAllocator): a busy pipeline
// rewrites the counter once per lease instead of once per bundle.
constexpr std::uint64_t kIdLease = 64;

EvidencePipeline::EvidencePipeline(PipelineOptions options)
    : options_(with_defaults(std::move(options))),
      private_key_(load_key(options_)),
      public_key_(private_key_.public_key()),
      ids_(prepare_evidence_dir(options_.evidence_dir), *options_.clock, options_.durable, kIdLease),
      dir_(std::make_unique<detail::EvidenceDirectory>(options_.evidence_dir)),
      dir_sync_(std::make_unique<detail::GroupSync>(*dir_)) {}

EvidencePipeline::~EvidencePipeline() = default;

// One bundle between building and publishing: its files written, unnamed, and verified.
struct EvidencePipeline::Pending {
    rapidjson::Document bundle;
    BundleResult result;
    std::vector<detail::UnnamedFile> files;  // .json, .sig [, .sigstore.json]
    std::vector<std::string> names;          // their names in the evidence directory
};

EvidencePipeline::Pending EvidencePipeline::prepare(IncidentInputs inputs) {
    Pending item;
    item.result.bundle_id = ids_.next();
    // process_incident validates the schema and fills the hash.
    item.bundle = worm::process_incident(options_.client_id, item.result.bundle_id, parse_incident_documents(inputs),
                                         *options_.clock);
    write_unnamed(item);
    return item;
}

void EvidencePipeline::write_unnamed(Pending& item) {
    BundleResult& r = item.result;
    r.evidence_bundle_hash = json::require_string(item.bundle, "evidence_bundle_hash", "");
    const std::string text = json::to_pretty(item.bundle) + "\n";
    r.bundle_path = options_.evidence_dir / (r.bundle_id + ".json");
    r.sig_path = signature_path_for(r.bundle_path);
    item.files.clear();
    item.names.clear();
    const auto add = [&](const fs::path& path, std::string_view data) {
        item.files.emplace_back(*dir_, data, static_cast<mode_t>(WriteOptions{}.mode));
        item.names.push_back(path.filename().string());
    };
    add(r.bundle_path, text);
    add(r.sig_path, make_signature_line(private_key_, text));
    if (options_.sigstore_bundle.value_or(false)) {
        r.sigstore_path = compliance::sigstore_path_for(r.bundle_path);
        add(r.sigstore_path, compliance::make_sigstore_bundle(private_key_, text));
    }

    // Check what was written, read back through the files, not what is in memory: the
    // checks an auditor runs (signature, hash, schema), before the bundle gets its name.
    const std::string bytes = item.files[0].read_back();
    SignatureCheck signature = check_signature_line(public_key_, bytes, item.files[1].read_back());
    if (!signature.valid) signature.reason = r.sig_path.string() + ": " + signature.reason;
    const VerificationReport report = verify_bundle_bytes(bytes, signature, r.bundle_path.string());
    if (!report.ok())
        throw Error(ErrorCode::verification,
                    "bundle " + r.bundle_id + " failed verification right after writing: " + report.summary());
    if (!r.sigstore_path.empty()) {
        const SignatureCheck sigstore = compliance::check_sigstore_bundle(public_key_, bytes, item.files[2].read_back());
        if (!sigstore.valid)
            throw Error(ErrorCode::verification, "Sigstore bundle of " + r.bundle_id +
                                                     " failed verification right after writing: " + sigstore.reason);
    }
}

// The id's file exists after all (a counter rolled back, or another writer): the same
// bundle under the next free id, rehashed, re-signed and rewritten.
void EvidencePipeline::reissue(Pending& item) {
    item.result.bundle_id = ids_.next();
    auto& a = item.bundle.GetAllocator();
    item.bundle["bundle_id"].SetString(item.result.bundle_id.c_str(),
                                       static_cast<rapidjson::SizeType>(item.result.bundle_id.size()), a);
    const std::string hash = compute_bundle_hash(item.bundle);
    item.bundle["evidence_bundle_hash"].SetString(hash.c_str(), static_cast<rapidjson::SizeType>(hash.size()), a);
    write_unnamed(item);
    if (options_.durable) {
        std::vector<int> fds;
        for (const auto& f : item.files) fds.push_back(f.fd());
        detail::fsync_in_parallel(fds, options_.evidence_dir);
    }
}

// Names the files, the .json last: a .json is never seen without its signatures, even when
// the process is killed between two links (that leaves at most signature files of a bundle
// that never got its name, which an audit reports as orphan signatures). Every link is
// exclusive and together they are the id's reservation: if any name exists, nothing of this
// bundle keeps a name and it moves to the next id. Any other failure (ENOSPC, EIO) also takes
// back the names given so far: never half a bundle.
void EvidencePipeline::publish(Pending& item) {
    // The k-th file to link: the signature files (files[1..]) first, then the .json (files[0]).
    const std::size_t count = item.files.size();
    const auto nth = [count](std::size_t k) { return (k + 1) % count; };
    for (;;) {
        std::size_t linked = 0;
        // Undo the names given so far (this bundle's own files, never returned to anyone).
        const auto unname = [&] {
            for (std::size_t k = 0; k < linked; ++k) ::unlinkat(dir_->fd(), item.names[nth(k)].c_str(), 0);
        };
        try {
            while (linked < count && item.files[nth(linked)].link_as(item.names[nth(linked)])) ++linked;
        } catch (...) {
            unname();
            throw;
        }
        if (linked == count) return;
        unname();
        reissue(item);
    }
}

void EvidencePipeline::run_store_hook(BundleResult& result) {
    if (!store_hook_) return;
    try {
        std::tie(result.bundle_uri, result.sig_uri) = store_hook_(result);
        result.upload_status = result.bundle_uri.empty() ? "pending" : "uploaded";
    } catch (const detail::NotRegistered& e) {
        result.upload_error = e.what();
        result.upload_status = "not_registered";
    } catch (const Error& e) {
        result.upload_error = e.what();
        result.upload_status = "pending";
    }
}

namespace {

// The durability round of a batch: file data first (a name never points at bytes that a
// power loss could take back), then names, then one shared directory fsync.
template <class Items, class Publish>
void commit(Items& items, bool durable, detail::GroupSync& dir_sync, const fs::path& dir, Publish publish) {
    if (durable) {
        std::vector<int> fds;
        for (const auto& item : items)
            for (const auto& f : item.files) fds.push_back(f.fd());
        detail::fsync_in_parallel(fds, dir);
    }
    for (auto& item : items) publish(item);
    if (durable) dir_sync.sync();
}

}  // namespace

BundleResult EvidencePipeline::process_incident(IncidentInputs inputs) {
    std::vector<Pending> items;
    items.push_back(prepare(std::move(inputs)));
    commit(items, options_.durable, *dir_sync_, options_.evidence_dir, [this](Pending& p) { publish(p); });
    BundleResult result = std::move(items.front().result);
    run_store_hook(result);
    return result;
}

std::vector<BundleResult> EvidencePipeline::process_incidents(std::vector<IncidentInputs> batch) {
    std::vector<Pending> items;
    items.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
            items.push_back(prepare(std::move(batch[i])));
        } catch (const Error& e) {
            throw Error(e.code(), "incident #" + std::to_string(i) + ": " + e.what());
        }
    }
    commit(items, options_.durable, *dir_sync_, options_.evidence_dir, [this](Pending& p) { publish(p); });
    std::vector<BundleResult> results;
    results.reserve(items.size());
    for (auto& item : items) {
        results.push_back(std::move(item.result));
        run_store_hook(results.back());
    }
    return results;
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
