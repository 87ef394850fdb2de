// compliance/audit.hpp: the evidence audit. For every bundle under a store prefix (or in
// a local evidence directory) in a date range:
//   - download it and compare its SHA-256 with the object's metadata (the store's checksum
//     and x-amz-meta-sha256) and, when a registry is given, with the registry;
//   - verify its signature (the first of .sig, .sigstore.json and cosign's .json.bundle; a
//     second one beside it is checked too), its
//     canonical hash and its schema;
//   - check the lock of the .json and of its signature against policy (mode, retain-until
//     at least upload time + the minimum retention) and note legal holds;
//   - flag a .json without a signature and a signature without its .json, and (with a
//     registry) a bundle the registry says was uploaded that is not in the store.
// Downloads and checks run on `workers` threads. Bad evidence is a finding in the report,
// never an exception; only a store or directory that cannot be read at all throws.
//
// report.json is a stable format (certificates are issued from it); its inventory and
// manifest_sha256 are what a certificate attests.
//
// Example:
//   worm::compliance::AuditReport report = worm::compliance::audit(
//       {.store_url = "s3://evidence", .prefix = "evidence/", .public_key = worm::load_public_key("public.pem")});
//   worm::compliance::write_audit_report(report, "audit-out");  // report.json + report.html
//   if (!report.clean()) std::cout << report.failures.size() << " failures\n";
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/compliance/cosign.hpp"
#include "worm/compliance/evidence_db.hpp"
#include "worm/config.hpp"
#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm::compliance {

// The libworm version the reports and certificates name.
WORM_API std::string tool_version();

struct WORM_API AuditPolicy {
    // Every stored .json and signature must be locked in this mode (none: any mode).
    std::optional<LockMode> mode = LockMode::compliance;
    // ... until at least its upload time (last modified) + this many days.
    int min_retention_days = default_retention_days;
};

struct WORM_API AuditProgress {
    std::size_t done = 0;
    std::size_t total = 0;
};

// One machine's part of a fleet audit: bundle keys are split by the first 8 bytes of the
// SHA-256 of the bundle's key (its .json; a signature goes with its bundle), modulo count.
// The split depends only on the key: every machine computes the same one, and a key stays in
// its shard however the bucket grows. index is 0-based (a Kubernetes indexed Job's
// JOB_COMPLETION_INDEX, AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX).
struct WORM_API AuditShard {
    int index = 0;
    int count = 1;

    // "I/N" with 0 <= I < N <= 100000; Error(invalid_argument) naming the text otherwise.
    static AuditShard parse(std::string_view text);
    // Whether the bundle (or the signature of the bundle) with this .json key is in this shard.
    bool holds(std::string_view bundle_key) const;
};

struct WORM_API AuditOptions {
    // Exactly one source: a store URL (file://, s3://, mcp+https://), a store object, or a
    // local evidence directory (no store: no locks to check).
    std::string store_url{};
    std::shared_ptr<ObjectStore> store{};
    std::filesystem::path directory{};
    std::string prefix{};                 // only keys (or paths below directory) starting with it
    std::optional<Ed25519PublicKey> public_key{};
    // The cosign public key (ECDSA P-256 or Ed25519) that checks X.json.bundle files
    // (seed 003's cosign signatures); none: such a bundle is a `signature` failure.
    std::optional<CosignPublicKey> cosign_public_key{};
    // Bundles dated in [from, to]: the date in the bundle id (EB-YYYYMMDD-...), else the
    // object's last-modified time.
    std::optional<TimePoint> from{};
    std::optional<TimePoint> to{};
    std::filesystem::path registry_dir{};  // evidence directory holding .worm-registry.sqlite3
    // Store audits: the evidence database (compliance/evidence_db.hpp) to compare with the
    // store both ways: postgresql://... or sqlite:///path. Empty: none.
    std::string database_url{};
    int workers = 4;
    AuditPolicy policy{};
    // S3 stores: also verify the bucket (compliance/bucket.hpp) and put it in the report.
    bool verify_bucket = true;
    std::function<void(const AuditProgress&)> on_progress{};
    const Clock* clock = nullptr;  // nullptr: the system clock
    // Audit only this shard's bundles (merge the shards' reports with merge_audit_reports).
    std::optional<AuditShard> shard{};

    // Throws Error(invalid_argument) naming what is wrong (no source or two, no key,
    // workers out of 1..64, from after to, a negative retention).
    void validate() const;
};

// One problem the audit found. `check` is stable for tools:
//   signature, hash, schema, missing_signature, orphan_signature, sha256_metadata,
//   sha256_registry, not_in_registry, missing_object, lock_missing, lock_mode,
//   retention_short, unreadable, multiple_versions (a key with more than one version:
//   each is audited), deleted (a key whose newest version is a delete marker), and with
//   a database: db_missing_object, db_missing_row, db_sha256, db_retention
struct WORM_API AuditFailure {
    std::string key;     // the object key (or path below the directory)
    std::string check;
    std::string reason;  // a sentence for people
};

struct WORM_API ObjectLockState {
    std::optional<Retention> retention;
    bool legal_hold = false;
    std::string version_id;
    std::optional<TimePoint> last_modified;
};

struct WORM_API BundleAudit {
    std::string key;            // the .json
    std::string bundle_id;      // from the file ("" when it could not be read)
    std::string signature_key;  // the .sig or .sigstore.json checked ("" when none)
    std::string sha256_hex;     // of the downloaded .json
    std::string evidence_bundle_hash;
    std::uint64_t size = 0;
    ObjectLockState lock;       // of the .json (store audits)
    bool ok = false;            // no failure names this bundle
};

// One audited object version, as the manifest lists it.
struct WORM_API ManifestEntry {
    std::string key;
    std::string version_id;  // "" when the source does not version
    std::string sha256_hex;
};

// SHA-256 (hex) of the manifest text: one line "key<TAB>version<TAB>sha256\n" per entry,
// in the order given (the report keeps them sorted by key).
WORM_API std::string manifest_sha256(const std::vector<ManifestEntry>& manifest);

struct WORM_API AuditInventory {
    std::int64_t bundles = 0;          // .json objects audited
    std::int64_t bundles_ok = 0;
    std::int64_t bundles_failed = 0;
    std::int64_t objects = 0;          // .json and signature objects audited
    std::int64_t versions = 0;         // distinct object versions among them (store audits)
    std::int64_t missing_signatures = 0;
    std::int64_t orphan_signatures = 0;
    std::int64_t legal_holds = 0;
    std::int64_t compliance_mode = 0;  // .json objects locked in COMPLIANCE mode
    std::int64_t governance_mode = 0;
    std::int64_t unlocked = 0;
    std::optional<RetentionDate> earliest_retain_until;
    std::optional<RetentionDate> latest_retain_until;
    std::int64_t failures = 0;         // failure entries
};

struct WORM_API AuditReport {
    std::string tool_version;
    TimePoint started_at{};
    TimePoint finished_at{};
    std::string source;    // store URI of the prefix, or the directory
    std::string endpoint;  // S3 endpoint ("" for other sources)
    std::string bucket;
    std::string prefix;
    std::optional<TimePoint> from;
    std::optional<TimePoint> to;
    AuditPolicy policy;
    std::string public_key_fingerprint;
    std::vector<BundleAudit> bundles;  // sorted by key
    std::vector<AuditFailure> failures;  // sorted by key, then check
    AuditInventory inventory;
    // Every audited object (.json and signatures), sorted by key, and its hash.
    std::vector<ManifestEntry> manifest;
    std::string manifest_sha256;
    // The bucket verification as JSON (compliance/bucket.hpp to_json), for S3 stores;
    // empty when none was run.
    std::string bucket_verification_json;
    bool bucket_verification_passed = true;
    // The evidence database comparison, when a database was given.
    std::optional<DatabaseComparison> database;

    // The shards this report covers: {0, 1} for a whole audit; a shard's own report says
    // which one it is; a merged report is whole again.
    AuditShard shard{};

    // No failure, and the bucket verification (when run) passed.
    bool clean() const { return failures.empty() && bucket_verification_passed; }
};

// The inventory of these bundles, failures and manifest, as audit() counts it (a merge
// recounts the union with it, so a merged report counts exactly as one audit would).
WORM_API AuditInventory count_inventory(const std::vector<BundleAudit>& bundles, const std::vector<AuditFailure>& failures,
                                        const std::vector<ManifestEntry>& manifest);

// Reads a report.json written by write_audit_report. Error(parse)/Error(schema) when it is not one.
WORM_API AuditReport read_audit_report(const std::filesystem::path& report_json);

// The report of the whole audit from its shards' reports: every shard 0..N-1 exactly once,
// all of one source, prefix, range, policy and key (else Error(invalid_argument) naming the
// difference or the missing shard). Bundles, failures and manifest are the union, sorted as
// audit() sorts them, the inventory and manifest_sha256 recounted: the same as one machine's
// audit of the same data (the times: the earliest start and the latest finish).
WORM_API AuditReport merge_audit_reports(const std::vector<AuditReport>& shards);

// Runs the audit. Throws Error(invalid_argument) for bad options, Error(not_found) when
// the directory does not exist, Error(config) when registry_dir has no registry, and the
// store's errors when the listing itself fails.
WORM_API AuditReport audit(const AuditOptions& options);

// report.json (2-space JSON, stable field names) and the self-contained HTML page.
WORM_API std::string to_json(const AuditReport& report);
WORM_API std::string to_html(const AuditReport& report);
// Writes dir/report.json and dir/report.html atomically (creating dir). Returns dir/report.json.
WORM_API std::filesystem::path write_audit_report(const AuditReport& report, const std::filesystem::path& dir);

// Parses "2026-11-22" (start of that UTC day) or an RFC 3339 time; with end_of_day a bare
// date means its last second. Throws Error(invalid_argument) naming the text.
WORM_API TimePoint parse_audit_date(std::string_view text, bool end_of_day = false);

}  // namespace worm::compliance
