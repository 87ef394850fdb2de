// The evidence audit (see compliance/audit.hpp): list, download, verify, check locks.
#include "worm/compliance/audit.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <iterator>
#include <mutex>
#include <optional>
#include <set>

#include "audit_source.hpp"
#include "audit_trace.hpp"
#include "evidence_db_check.hpp"
#include "worm/bundle.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/compliance/sigstore.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/pipeline.hpp"
#include "worm/registry.hpp"
#include "worm/s3/store.hpp"
#include "worm/signer.hpp"

#include "../util/text.hpp"
#include "../util/worker_pool.hpp"

#ifndef WORM_VERSION
#define WORM_VERSION "0.0.0"
#endif

namespace worm::compliance {

namespace fs = std::filesystem;
using namespace std::chrono;

std::string tool_version() { return WORM_VERSION; }

std::string manifest_sha256(const std::vector<ManifestEntry>& manifest) {
    Sha256Stream hash;
    std::string line;
    for (const auto& m : manifest) {
        line.assign(m.key).append("\t").append(m.version_id).append("\t").append(m.sha256_hex).append("\n");
        hash.update(line);
    }
    return to_hex(hash.finish());
}

void AuditOptions::validate() const {
    const int sources = (!store_url.empty() ? 1 : 0) + (store ? 1 : 0) + (!directory.empty() ? 1 : 0);
    if (sources == 0) throw Error(ErrorCode::invalid_argument, "audit needs a store (URL or object) or a directory");
    if (sources > 1) throw Error(ErrorCode::invalid_argument, "audit takes one source: a store or a directory, not both");
    if (!public_key) throw Error(ErrorCode::invalid_argument, "audit needs the public key the evidence was signed with");
    if (workers < 1 || workers > 64)
        throw Error(ErrorCode::invalid_argument, "audit workers must be from 1 to 64, got " + std::to_string(workers));
    if (from && to && *from > *to) throw Error(ErrorCode::invalid_argument, "audit range: from is after to");
    if (!database_url.empty() && !directory.empty())
        throw Error(ErrorCode::invalid_argument, "audit: the evidence database is compared with a store, not a directory");
    if (policy.min_retention_days < 0)
        throw Error(ErrorCode::invalid_argument, "audit policy: min_retention_days must not be negative");
    if (shard && (shard->count < 1 || shard->index < 0 || shard->index >= shard->count))
        throw Error(ErrorCode::invalid_argument, "audit shard " + std::to_string(shard->index) + "/" +
                                                     std::to_string(shard->count) + ": the index must be from 0 to count - 1");
}

TimePoint parse_audit_date(std::string_view text, bool end_of_day) {
    const bool bare_date = text.size() == 10 && text[4] == '-' && text[7] == '-';
    if (!bare_date) return parse_rfc3339(text);
    const TimePoint day = parse_rfc3339(std::string(text) + "T00:00:00Z");
    return end_of_day ? day + days(1) - seconds(1) : day;
}

namespace {

// What a key is, by its name: a bundle (.json), or a signature (.sig, .sigstore.json,
// cosign's .json.bundle) of the bundle `base + ".json"`.
enum class KeyKind { bundle, sig_line, sigstore, cosign, other };

KeyKind kind_of(const std::string& key) {
    if (is_sigstore_bundle_name(key)) return KeyKind::sigstore;
    if (is_cosign_bundle_name(key)) return KeyKind::cosign;
    if (key.ends_with(".json")) return KeyKind::bundle;
    if (key.ends_with(".sig")) return KeyKind::sig_line;
    return KeyKind::other;
}

// "a/EB-1.sig" / "a/EB-1.sigstore.json" / "a/EB-1.json.bundle" -> "a/EB-1.json".
std::string bundle_key_of_signature(const std::string& key) {
    if (kind_of(key) == KeyKind::cosign) return key.substr(0, key.size() - kCosignBundleSuffix.size());
    const std::size_t cut = kind_of(key) == KeyKind::sigstore ? kSigstoreSuffix.size() : std::string_view(".sig").size();
    return key.substr(0, key.size() - cut) + ".json";
}

std::string stem_of(const std::string& bundle_key) {
    const std::string name = fs::path(bundle_key).filename().string();
    return name.substr(0, name.size() - std::string_view(".json").size());
}

// The date a bundle is filed under when its name is a bundle id: the id's YYYYMMDD (else
// the date it was stored is the caller's to find).
std::optional<TimePoint> date_in_bundle_id(const std::string& bundle_key) {
    const std::string stem = stem_of(bundle_key);
    if (is_valid_bundle_id(stem)) {
        const std::string d = stem.substr(3, 8);
        try {
            return parse_rfc3339(d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2) + "T00:00:00Z");
        } catch (const Error&) {
        }
    }
    return std::nullopt;
}

bool in_range(const AuditOptions& o, TimePoint date) {
    // A bundle id names a day: it is in range when any second of that day is.
    const TimePoint day_start = floor<days>(date);
    if (o.to && day_start > *o.to) return false;
    if (o.from && day_start + days(1) - seconds(1) < *o.from) return false;
    return true;
}


// The problems of verify_bundle_bytes, sorted into the report's checks.
std::string check_of_problem(const std::string& problem) {
    if (problem.starts_with("signature")) return "signature";
    if (problem.starts_with("hash")) return "hash";
    return "schema";  // "schema invalid: ..." and "not valid JSON: ..."
}

// What checking one bundle (or one orphan signature) found. Each one is written only by
// the worker that took that bundle, so workers share no lock and no growing vector; the
// report gathers them in bundle order at the end.
struct Findings {
    std::vector<AuditFailure> failures;
    std::vector<ManifestEntry> manifest;

    void add(std::string key, std::string check, std::string reason) {
        failures.push_back({std::move(key), std::move(check), std::move(reason)});
    }
    void add_manifest(const std::string& key, const FetchedObject& f) {
        manifest.push_back({key, f.lock.version_id, sha256_hex(f.bytes)});
    }
};

class Auditor {
public:
    Auditor(const AuditOptions& options, AuditSource& source, const Clock& clock)
        : o_(options), source_(source), clock_(clock), key_(*options.public_key) {}

    AuditReport run() {
        AuditReport report;
        report.tool_version = tool_version();
        report.started_at = clock_.now();
        report.prefix = o_.prefix;
        report.from = o_.from;
        report.to = o_.to;
        report.policy = o_.policy;
        report.public_key_fingerprint = public_key_fingerprint(key_);
        source_.describe(report);

        detail::PhaseTrace trace;
        if (!o_.registry_dir.empty()) open_registry();
        std::vector<SourceEntry> listing = source_.list(o_.prefix);
        trace.mark("list");
        plan(std::move(listing));
        trace.mark("plan");
        report.bundles.resize(bundles_.size());
        findings_.resize(bundles_.size() + orphans_.size() + versions_.size());
        run_workers(report);
        trace.mark("check");
        if (registry_) check_registry_for_missing();
        finish(report);
        trace.mark("summarize");
        return report;
    }

private:
    struct Planned {
        std::string key;
        std::string signature_key;  // "" when there is none
        std::string second_signature_key;  // the .sigstore.json when there is a .sig as well
    };

    // A version of a bundle or signature other than its current one: audited on its own
    // (hash, stored checksums, lock), and its key reported once (`multiple_versions`, or
    // `deleted` when the newest version is a delete marker).
    struct OlderVersion {
        std::string key;
        std::string version_id;
        std::string key_finding;  // the key's own finding, on its first older version only
        std::string check;
    };

    // The older versions of the keys the audit covers (bundles, signatures) in range.
    void plan_older_versions(const std::vector<SourceEntry>& entries) {
        for (const SourceEntry& e : entries) {
            if (e.older_versions.empty() && !e.deleted) continue;
            const KeyKind kind = kind_of(e.key);
            if (kind == KeyKind::other) continue;
            const std::string bundle_key = kind == KeyKind::bundle ? e.key : bundle_key_of_signature(e.key);
            if (!in_shard(bundle_key)) continue;
            if (o_.from || o_.to) {
                const std::optional<TimePoint> date = date_in_bundle_id(bundle_key);
                const std::optional<TimePoint> stored = e.deleted ? std::nullopt : std::optional(source_.last_modified(e));
                if ((date || stored) && !in_range(o_, date ? *date : *stored)) continue;
            }
            const std::size_t n = e.older_versions.size() + (e.deleted ? 0 : 1);
            const std::string finding =
                e.deleted ? "the newest version is a delete marker: the key has no current object; its " +
                                std::to_string(e.older_versions.size()) + " older version(s) were audited"
                          : "the key has " + std::to_string(n) + " versions (rewritten under the same key); every one was audited";
            for (std::size_t i = 0; i < e.older_versions.size(); ++i)
                versions_.push_back({e.key, e.older_versions[i], i == 0 ? finding : "", e.deleted ? "deleted" : "multiple_versions"});
        }
    }

    void audit_older_version(const OlderVersion& v, Findings& findings) {
        if (!v.key_finding.empty()) findings.add(v.key, v.check, v.key_finding);
        try {
            const FetchedObject f = source_.fetch(v.key, v.version_id);
            findings.add_manifest(v.key, f);
            check_stored_checksums(findings, v.key, f, sha256_hex(f.bytes));
            check_lock(findings, v.key, f.lock);
        } catch (const Error& e) {
            findings.add(v.key, "unreadable", "version " + v.version_id + ": " + e.what());
        }
    }

    void open_registry() {
        const fs::path db = o_.registry_dir / UploadRegistry::file_name;
        if (!fs::exists(db))
            throw Error(ErrorCode::config, "no upload registry in " + o_.registry_dir.string() + " (" +
                                               std::string(UploadRegistry::file_name) + " is missing)");
        registry_ = UploadRegistry::open_file(db);
    }

    // Whether the bundle (or a signature or version of the bundle) `bundle_key` is this shard's.
    bool in_shard(const std::string& bundle_key) const { return !o_.shard || o_.shard->holds(bundle_key); }

    // Whether the bundle (or the signature of the bundle) `bundle_key` is dated in range.
    bool in_range_of(const std::string& bundle_key, const SourceEntry& entry) {
        if (!o_.from && !o_.to) return true;
        const std::optional<TimePoint> date = date_in_bundle_id(bundle_key);
        return in_range(o_, date ? *date : source_.last_modified(entry));
    }

    // Pairs every .json with its signature, and finds signatures without a .json.
    void plan(std::vector<SourceEntry> entries) {
        plan_older_versions(entries);
        // A key whose newest version is a delete marker has no current object to pair.
        std::erase_if(entries, [](const SourceEntry& e) { return e.deleted; });
        std::sort(entries.begin(), entries.end(), [](const SourceEntry& a, const SourceEntry& b) { return a.key < b.key; });
        entries.erase(std::unique(entries.begin(), entries.end(),
                                  [](const SourceEntry& a, const SourceEntry& b) { return a.key == b.key; }),
                      entries.end());
        const auto listed = [&entries](const std::string& key) {
            return std::binary_search(entries.begin(), entries.end(), key,
                                      [](const auto& a, const auto& b) { return key_of(a) < key_of(b); });
        };
        // Only the registry comparison asks which keys exist (check_registry_for_missing).
        if (registry_ && !source_.uri_base().empty())
            for (const auto& e : entries) all_keys_.insert(e.key);
        for (const SourceEntry& entry : entries) {
            const std::string& key = entry.key;
            const KeyKind kind = kind_of(key);
            if (kind == KeyKind::bundle) {
                if (!in_shard(key) || !in_range_of(key, entry)) continue;
                const std::string base = key.substr(0, key.size() - std::string_view(".json").size());
                Planned p{key, "", ""};
                // The first signature found is the bundle's; the next one is checked as well.
                for (const std::string& sig : {base + ".sig", base + std::string(kSigstoreSuffix),
                                               key + std::string(kCosignBundleSuffix)}) {
                    if (!listed(sig)) continue;
                    if (p.signature_key.empty()) p.signature_key = sig;
                    else if (p.second_signature_key.empty()) p.second_signature_key = sig;
                }
                bundles_.push_back(std::move(p));
            } else if (kind == KeyKind::sig_line || kind == KeyKind::sigstore || kind == KeyKind::cosign) {
                const std::string bundle_key = bundle_key_of_signature(key);
                if (listed(bundle_key)) continue;
                if (!in_shard(bundle_key) || !in_range_of(bundle_key, entry)) continue;
                orphans_.push_back(key);
            }
        }
    }

    static const std::string& key_of(const SourceEntry& e) { return e.key; }
    static const std::string& key_of(const std::string& key) { return key; }

    // Bundles are handed out from a shared counter, a few at a time on large audits (their
    // costs differ with size and with what fails, and a worker taking consecutive bundles
    // writes report slots no other worker writes next to); everything else a worker
    // touches is its own: its key object (OpenSSL keeps a reference count and caches in
    // it) and the findings and report slots of its bundles. Progress is told every
    // progress_batch bundles.
    void run_workers(AuditReport& report) {
        const std::size_t total = bundles_.size() + orphans_.size() + versions_.size();
        const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(o_.workers), std::max<std::size_t>(total, 1));
        const std::size_t claim = std::clamp<std::size_t>(total / (threads * 64), 1, 16);
        std::atomic<std::size_t> next{0};
        auto work = [&](std::size_t worker) {
            const double cpu_at_start = detail::thread_cpu_seconds();
            const Ed25519PublicKey key = Ed25519PublicKey::from_raw(key_.raw());
            std::size_t items = 0, untold = 0;
            for (std::size_t first = next.fetch_add(claim); first < total; first = next.fetch_add(claim)) {
                for (std::size_t i = first; i < std::min(first + claim, total); ++i, ++items) {
                    if (i < bundles_.size()) report.bundles[i] = audit_bundle(bundles_[i], key, findings_[i]);
                    else if (i < bundles_.size() + orphans_.size()) audit_orphan(orphans_[i - bundles_.size()], findings_[i]);
                    else audit_older_version(versions_[i - bundles_.size() - orphans_.size()], findings_[i]);
                    if (++untold == progress_batch) {
                        tell_progress(untold, total);
                        untold = 0;
                    }
                }
            }
            tell_progress(untold, total);
            detail::trace_worker(worker, items, detail::thread_cpu_seconds() - cpu_at_start);
        };
        worm::detail::run_workers(threads, work);
    }

    static constexpr std::size_t progress_batch = 64;

    void tell_progress(std::size_t more_done, std::size_t total) {
        if (!o_.on_progress || more_done == 0) return;
        std::lock_guard lock(progress_mutex_);
        progress_done_ += more_done;
        o_.on_progress({.done = progress_done_, .total = total});
    }

    // Compares the downloaded bytes with what the store and the writer recorded.
    void check_stored_checksums(Findings& findings, const std::string& key, const FetchedObject& f,
                                const std::string& sha) {
        if (!f.store_sha256_hex.empty() && worm::detail::to_lower(f.store_sha256_hex) != sha)
            findings.add(key, "sha256_metadata",
                          "the store's checksum is " + worm::detail::to_lower(f.store_sha256_hex) + ", the downloaded bytes hash to " + sha);
        if (!f.metadata_sha256_hex.empty() && worm::detail::to_lower(f.metadata_sha256_hex) != sha)
            findings.add(key, "sha256_metadata",
                          "x-amz-meta-sha256 says " + worm::detail::to_lower(f.metadata_sha256_hex) + ", the downloaded bytes hash to " + sha);
    }

    void check_lock(Findings& findings, const std::string& key, const ObjectLockState& lock) {
        if (!source_.has_locks()) return;
        if (!lock.retention) {
            findings.add(key, "lock_missing", "no retention: the object can be overwritten or deleted");
            return;
        }
        const AuditPolicy& p = o_.policy;
        if (p.mode && lock.retention->mode != *p.mode)
            findings.add(key, "lock_mode", "locked in " + std::string(to_string(lock.retention->mode)) +
                                                " mode, policy requires " + std::string(to_string(*p.mode)));
        if (lock.last_modified) {
            // An hour of slack for the writer's clock against the server's.
            const TimePoint required = *lock.last_modified + days(p.min_retention_days);
            if (lock.retention->retain_until < RetentionDate(required - hours(1)))
                findings.add(key, "retention_short",
                              "retained until " + format_rfc3339(lock.retention->retain_until) + ", policy requires " +
                                  std::to_string(p.min_retention_days) + " days from upload (" +
                                  format_rfc3339(*lock.last_modified) + "), i.e. until " + format_rfc3339(required));
        }
    }

    // Takes the keys out of `planned` (they live on in the report).
    BundleAudit audit_bundle(Planned& planned, const Ed25519PublicKey& key, Findings& findings) {
        BundleAudit out;
        findings.manifest.reserve(planned.second_signature_key.empty() ? 2 : 3);  // the .json and its signatures
        out.key = std::move(planned.key);
        out.signature_key = std::move(planned.signature_key);
        FetchedObject json;
        try {
            json = source_.fetch(out.key, "");
        } catch (const Error& e) {
            findings.add(out.key, "unreadable", e.what());
            return out;
        }
        out.size = json.bytes.size();
        out.lock = json.lock;
        out.sha256_hex = sha256_hex(json.bytes);
        findings.add_manifest(out.key, json);
        check_stored_checksums(findings, out.key, json, out.sha256_hex);
        check_lock(findings, out.key, json.lock);

        SignatureCheck signature{.valid = false, .reason = "no signature"};
        std::string sig_sha;
        if (out.signature_key.empty()) {
            findings.add(out.key, "missing_signature",
                          "no " + stem_of(out.key) + ".sig, " + stem_of(out.key) + ".sigstore.json or " + stem_of(out.key) +
                              ".json.bundle beside it");
        } else {
            try {
                const FetchedObject sig = source_.fetch(out.signature_key, "");
                findings.add_manifest(out.signature_key, sig);
                sig_sha = sha256_hex(sig.bytes);
                check_stored_checksums(findings, out.signature_key, sig, sig_sha);
                check_lock(findings, out.signature_key, sig.lock);
                signature = check_signature(key, json.bytes, out.signature_key, sig.bytes);
            } catch (const Error& e) {
                findings.add(out.signature_key, "unreadable", e.what());
            }
        }
        if (!planned.second_signature_key.empty()) check_second_signature(planned.second_signature_key, json.bytes, key, findings);
        const VerificationReport v = verify_bundle_bytes(json.bytes, signature, out.key);
        out.bundle_id = v.bundle_id;
        out.evidence_bundle_hash = v.evidence_bundle_hash;
        for (const auto& problem : v.problems) {
            const std::string check = check_of_problem(problem);
            if (check == "signature" && out.signature_key.empty()) continue;  // reported as missing_signature
            findings.add(out.key, check, problem);
        }
        if (registry_) check_registry(out, sig_sha, findings);
        return out;
    }

    // A cosign .json.bundle is checked with the cosign key, the others with libworm's key.
    SignatureCheck check_signature(const Ed25519PublicKey& key, std::string_view bytes, const std::string& name,
                                   std::string_view text) const {
        if (kind_of(name) != KeyKind::cosign) return check_detached_signature(key, bytes, name, text);
        if (!o_.cosign_public_key)
            return {.valid = false, .reason = "a cosign bundle: give the cosign public key (--cosign-key) to check it"};
        const CosignCheck c = check_cosign_bundle(*o_.cosign_public_key, bytes, text);
        return {.valid = c.valid, .reason = c.reason};
    }

    // A second signature beside the first must verify too: an auditor may check either.
    void check_second_signature(const std::string& sig_key, const std::string& bundle_bytes, const Ed25519PublicKey& key,
                                Findings& findings) {
        try {
            const FetchedObject sig = source_.fetch(sig_key, "");
            findings.add_manifest(sig_key, sig);
            check_stored_checksums(findings, sig_key, sig, sha256_hex(sig.bytes));
            check_lock(findings, sig_key, sig.lock);
            const SignatureCheck check = check_signature(key, bundle_bytes, sig_key, sig.bytes);
            if (!check.valid) findings.add(sig_key, "signature", "signature invalid: " + check.reason);
        } catch (const Error& e) {
            findings.add(sig_key, "unreadable", e.what());
        }
    }

    void audit_orphan(const std::string& key, Findings& findings) {
        findings.add(key, "orphan_signature", "a signature without its bundle " + bundle_key_of_signature(key));
        try {
            const FetchedObject sig = source_.fetch(key, "");
            findings.add_manifest(key, sig);
            check_lock(findings, key, sig.lock);
        } catch (const Error& e) {
            findings.add(key, "unreadable", e.what());
        }
    }

    void check_registry(const BundleAudit& b, const std::string& sig_sha, Findings& findings) {
        const std::string id = b.bundle_id.empty() ? stem_of(b.key) : b.bundle_id;
        std::optional<RegistryRecord> record;
        {
            std::lock_guard lock(registry_mutex_);
            record = registry_->get(id);
        }
        if (!record) {
            findings.add(b.key, "not_in_registry", "bundle " + id + " is not in the upload registry");
            return;
        }
        if (worm::detail::to_lower(record->bundle_sha256) != b.sha256_hex)
            findings.add(b.key, "sha256_registry",
                          "the registry recorded sha256 " + record->bundle_sha256 + ", the stored bundle hashes to " + b.sha256_hex);
        if (!sig_sha.empty() && kind_of(b.signature_key) == KeyKind::sig_line && !record->sig_sha256.empty() &&
            worm::detail::to_lower(record->sig_sha256) != sig_sha)
            findings.add(b.signature_key, "sha256_registry",
                          "the registry recorded sha256 " + record->sig_sha256 + ", the stored signature hashes to " + sig_sha);
    }

    // Bundles the registry says were uploaded under this source and prefix that are gone.
    void check_registry_for_missing() {
        const std::string base = source_.uri_base();
        if (base.empty()) return;
        std::string after;
        for (;;) {
            const auto page = registry_->list_by_status(UploadStatus::uploaded, 500, after);
            if (page.empty()) break;
            after = page.back().bundle_id;
            for (const auto& r : page) {
                if (!r.bundle_uri.starts_with(base)) continue;
                const std::string key = r.bundle_uri.substr(base.size());
                if (!key.starts_with(o_.prefix) || all_keys_.count(key) || !in_shard(key)) continue;
                const std::optional<TimePoint> date = date_in_bundle_id(key);
                if (!in_range(o_, date ? *date : r.uploaded_at.value_or(r.created_at))) continue;
                missing_.add(key, "missing_object",
                              "the registry says bundle " + r.bundle_id + " was uploaded here, but the store has no such object");
            }
        }
    }

    // Gathers the findings of every bundle in bundle order (the manifest then needs no
    // sort unless keys interleave, as "a.json", "a.r.json", "a.sig" do).
    void finish(AuditReport& report) {
        std::size_t failure_count = missing_.failures.size(), manifest_count = 0;
        for (const Findings& f : findings_) {
            failure_count += f.failures.size();
            manifest_count += f.manifest.size();
        }
        report.failures.reserve(failure_count);
        std::vector<ManifestEntry> manifest;
        manifest.reserve(manifest_count);
        findings_.push_back(std::move(missing_));
        for (Findings& f : findings_) {
            std::move(f.failures.begin(), f.failures.end(), std::back_inserter(report.failures));
            std::move(f.manifest.begin(), f.manifest.end(), std::back_inserter(manifest));
        }
        findings_ = {};
        std::sort(report.failures.begin(), report.failures.end(), [](const AuditFailure& a, const AuditFailure& b) {
            return std::tie(a.key, a.check, a.reason) < std::tie(b.key, b.check, b.reason);
        });
        std::set<std::string> failed_keys;
        for (const auto& f : report.failures) failed_keys.insert(f.key);

        const auto named_by_a_failure = [&failed_keys](const std::string& bundle_key) {
            if (failed_keys.empty()) return false;
            const std::string base = bundle_key.substr(0, bundle_key.size() - std::string_view(".json").size());
            return failed_keys.count(bundle_key) || failed_keys.count(base + ".sig") ||
                   failed_keys.count(base + std::string(kSigstoreSuffix));
        };
        for (auto& b : report.bundles) b.ok = !b.sha256_hex.empty() && !named_by_a_failure(b.key);

        // Key, then version: a key's versions have one order, so the manifest hash has one value.
        const auto by_key = [](const ManifestEntry& a, const ManifestEntry& b) {
            return std::tie(a.key, a.version_id) < std::tie(b.key, b.version_id);
        };
        if (!std::is_sorted(manifest.begin(), manifest.end(), by_key)) std::sort(manifest.begin(), manifest.end(), by_key);
        // One count for an audit and for a merge of its shards (audit_merge.cpp).
        report.inventory = count_inventory(report.bundles, report.failures, manifest);
        if (o_.shard) report.shard = *o_.shard;
        report.manifest_sha256 = manifest_sha256(manifest);
        report.manifest = std::move(manifest);
        report.finished_at = clock_.now();
    }

    const AuditOptions& o_;
    AuditSource& source_;
    const Clock& clock_;
    const Ed25519PublicKey key_;
    std::unique_ptr<UploadRegistry> registry_;
    std::mutex registry_mutex_;
    std::vector<Planned> bundles_;
    std::vector<std::string> orphans_;
    std::vector<OlderVersion> versions_;
    std::set<std::string> all_keys_;
    std::vector<Findings> findings_;  // one per bundle, then one per orphan, then one per older version
    Findings missing_;                // objects the registry names that are not there
    std::mutex progress_mutex_;
    std::size_t progress_done_ = 0;
};

}  // namespace

AuditReport audit(const AuditOptions& options) {
    options.validate();
    const Clock& clock = options.clock ? *options.clock : system_clock();
    std::unique_ptr<AuditSource> source;
    std::shared_ptr<ObjectStore> store = options.store;
    if (!options.directory.empty()) {
        source = make_directory_source(options.directory);
    } else {
        if (!store) store = open_store(options.store_url);
        source = make_store_source(store, options.store_url);
    }
    detail::PhaseTrace trace;
    AuditReport report = Auditor(options, *source, clock).run();
    trace.mark("audit, total");
    if (!options.database_url.empty()) {
        const auto db = open_evidence_database(options.database_url);
        detail::compare_evidence_database(*db, *store, options, report);
        trace.mark("evidence database");
    }
    if (auto* s3_store = dynamic_cast<s3::S3Store*>(store.get()); s3_store && options.verify_bucket) {
        BucketVerifyOptions verify;
        verify.bucket = s3_store->bucket();
        verify.min_retention_days = options.policy.min_retention_days;
        verify.mode = options.policy.mode;
        verify.prefix = s3_store->prefix() + options.prefix;
        const BucketVerification bucket = verify_bucket(s3_store->client(), verify);
        report.bucket_verification_json = to_json(bucket);
        report.bucket_verification_passed = bucket.passed();
    }
    return report;
}

}  // namespace worm::compliance
