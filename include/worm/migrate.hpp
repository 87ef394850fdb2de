// migrate.hpp: resumable, verified migration of existing objects into a WORM store.
//
// A migration reads every object under a source (an S3 bucket/prefix on any endpoint, or
// a local directory), and for each one:
//   1. reads it and checks it against what the source says about it (a single-part
//      ETag's MD5, an x-amz-meta-sha256, the agent registry's bundle_sha256): a
//      difference is `source_corrupt` and nothing is copied;
//   2. with verify_signatures, checks an evidence bundle's signature (`.sig` Ed25519,
//      cosign `.json.bundle` v2 base64Signature, or a Sigstore v0.3 bundle) before
//      copying it; a bad one is `invalid_signature` and is not copied unless copy_invalid;
//   3. HEADs the destination when the key is already there (same SHA-256: `already_present`,
//      another: `mismatched`, never a second locked version); a copy there with no lock or a
//      weaker one (shorter, GOVERNANCE where COMPLIANCE is asked, no legal hold asked) gets
//      the lock asked (`lock_applied`) or, when the store refuses, is `not_compliant`;
//   4. puts it with the lock and metadata (source-key, source-version-id, source-etag,
//      sha256, migration-id, migrated-at), then verifies the content (the checksum the
//      store echoed, else a read-back) and the lock (HEAD: mode, retain-until, legal hold).
// Between two buckets of one S3 endpoint under the same credentials, steps 1, 4 and the
// content check are done on the server instead (MigrationOptions::server_side): CopyObject
// with the lock and x-amz-checksum-algorithm: SHA256, verified by the checksums the servers
// state; a source with no server SHA-256 is read once to compute it (docs/migration.md).
// The state is a SQLite file: each object is marked `copying` before its put and with its
// outcome after, so a run killed at any point and started again HEADs what was in flight
// and copies nothing twice (locked versions are permanent: a duplicate is a defect).
// A resumed run trusts the state only as far as the stores confirm it: each object recorded
// as done is HEADed at its recorded destination version (gone: copied again; unlocked:
// locked or reported) and compared with the source's listing (another ETag or size: the
// source changed, and it is checked like a new object, so a different copy is `mismatched`).
// A large object going to an S3 destination is a multipart upload whose id and finished
// parts (number, ETag, SHA-256) are in the state too: a rerun continues that same upload
// from the first unfinished part, so no part is sent twice and one version is created.
//
// Example:
//   std::unique_ptr<worm::MigrationSource> source = worm::open_migration_source("s3://old-bucket/evidence");
//   std::unique_ptr<worm::ObjectStore> destination = worm::open_store("s3://worm-bucket");
//   worm::MigrationOptions options;
//   options.retain_days = 2557;
//   options.state_file = "migration.sqlite3";  // a rerun resumes, copying nothing twice
//   worm::MigrationSummary summary = worm::migrate(*source, *destination, options);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/export.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm {

namespace s3 {
class S3Client;
}

// ---- the source ----------------------------------------------------------------------

struct WORM_API SourceObject {
    std::string key;          // relative to the source root (bucket prefix or directory)
    std::uint64_t size = 0;
    std::string etag;         // as listed ("" for a directory)
    std::string version_id;   // "" when unversioned or a directory
};

// What reading an object gave.
struct WORM_API SourceRead {
    std::string body;           // the bytes, unless they were read into `file`
    std::filesystem::path file; // large objects: a file holding the bytes (streamed, never in memory)
    std::string etag;
    std::string version_id;
    std::optional<Retention> retention;  // the source's own lock, if any
    // SHA-256 the source recorded for the object (x-amz-meta-sha256, the checksum), "" if none.
    std::string recorded_sha256;
    // The source server's own full-object SHA-256 (x-amz-checksum-sha256, which it checked
    // when the object was stored), "" if none.
    std::string checksum_sha256;
    // The SHA-256 of the bytes read, when the source computed it as they arrived and checked
    // them against what its server recorded (checksum, or the ETag when it is the MD5); "" if not.
    std::string sha256;
};

class WORM_API MigrationSource {
public:
    virtual ~MigrationSource() = default;
    // "s3://bucket/prefix" or the directory path, for reports.
    virtual std::string describe() const = 0;
    // The bucket name for S3 Batch Operations reports and manifests ("" for a directory).
    virtual std::string bucket() const = 0;
    // The full key in the bucket (prefix included) for reports and manifests.
    virtual std::string full_key(const std::string& key) const = 0;
    // Every object, sorted by key.
    virtual std::vector<SourceObject> list() = 0;
    // Throws Error(not_found) when the object is gone. With a non-empty scratch_file the
    // bytes go to a file (that one, or the source's own file for a directory) instead of memory.
    virtual SourceRead read(const SourceObject& object, const std::filesystem::path& scratch_file = {}) = 0;
    // The local directory, for a directory source (registry import); empty otherwise.
    virtual std::filesystem::path directory() const { return {}; }
    // The S3 endpoint serving the bucket (scheme://host[:port], never user info); "" for a
    // directory. A state file records it: the same bucket name on another server is another source.
    virtual std::string endpoint() const { return ""; }
    // An S3 source's client (the bucket is bucket(), keys full_key()), so an S3 destination on
    // the same endpoint with the same credentials can copy server-side; nullptr for a directory.
    virtual s3::S3Client* s3_client() { return nullptr; }
    // What the source says about an object without its bytes (S3: one HeadObject): a SourceRead
    // with an empty body and no file. Throws Error(not_found) when it is gone; a directory
    // source reads the file.
    virtual SourceRead stat(const SourceObject& object) { return read(object); }
    // Reads the bytes only to hash them: `sha256` holds their SHA-256, with no body and no
    // file kept (a server-side copy's source, hashed once for the report). Throws
    // Error(not_found) when it is gone. The default reads into memory and hashes that.
    virtual SourceRead digest(const SourceObject& object);
};

// A directory (every regular file below it except dot files, keys with '/') or an
// s3://bucket[/prefix] URL. For s3, `endpoint` and `profile` (empty: from the
// environment, as for any store) configure the source's own client.
WORM_API std::unique_ptr<MigrationSource> open_migration_source(const std::string& from, const std::string& endpoint = "",
                                                       const std::string& profile = "");
// An s3://bucket[/prefix] source read through a client of the caller's (its endpoint,
// credentials, transport); Error(invalid_argument) for anything but an s3:// URL.
WORM_API std::unique_ptr<MigrationSource> open_migration_source(const std::string& from, std::shared_ptr<s3::S3Client> client);

// ---- options and results -----------------------------------------------------------

struct WORM_API MigrationOptions {
    std::string prefix;                  // only source keys starting with this
    std::vector<std::string> include;    // globs (fnmatch) on the key; empty: everything
    std::vector<std::string> exclude;
    int workers = 8;
    // Objects handed to the workers at a time; a batch finishes before the next starts.
    std::size_t batch_size = 1000;
    // Objects at least this big are streamed through a scratch file (and put multipart by
    // S3 destinations) instead of held in memory.
    std::uint64_t large_object_bytes = 64ull << 20;
    // Part size of a large object's multipart upload to an S3 destination (5 MiB .. 5 GiB;
    // 0: the client's). The upload id and every finished part are kept in the state file,
    // so a run killed half way through a large object resumes at the next part.
    std::uint64_t part_size = 0;
    LockMode lock_mode = LockMode::compliance;
    std::optional<int> retain_days;
    std::optional<RetentionDate> retain_until;
    // Keep a source object's own retain-until when it is later than the one asked.
    bool retain_from_source = false;
    bool legal_hold = false;
    bool dry_run = false;
    std::filesystem::path state_file;    // required unless dry_run
    bool verify_signatures = false;
    std::filesystem::path public_key;    // PEM (Ed25519 or ECDSA P-256) for verify_signatures
    bool copy_invalid = false;
    // Directory sources: EB-* files go to the uploader layout
    // evidence/{client_id}/{YYYY}/{MM}/{file} (under dest_prefix); other keys keep their path.
    bool evidence_layout = true;
    // S3 to S3 on the same endpoint with the same credentials: copy server-side (CopyObject
    // with the lock, metadata and x-amz-checksum-algorithm: SHA256), verified by checksums
    // instead of reading the bytes back (see docs/migration.md). false: every byte through
    // the client, as between endpoints. Bundles whose signatures are checked are read anyway.
    bool server_side = true;
    // A server-side copy above this size is UploadPartCopy parts (part_size, else the
    // client's), at most 5 GiB (S3's limit for one CopyObject). A source read to hash it is
    // hashed as it arrives and not kept, except one copied in parts: its bytes wait in a
    // scratch file, and each part's ETag is checked against the MD5 of its range.
    std::uint64_t copy_part_above = 5ull << 30;
    // Server-side mode on a server that ignores lock headers on a copy (Ceph RGW 16, seen on
    // the first copies): a source it states no SHA-256 for is read once to hash it, and when
    // it is at most this size (and held in memory: under large_object_bytes) the bytes read
    // are put with the lock (GET, PUT, HEAD) instead of copied (GET, CopyObject, HEAD,
    // PutObjectRetention), which costs that server less per object (docs/migration.md).
    // 0: always CopyObject.
    std::uint64_t put_back_up_to = 64ull << 10;
    // Server-side mode: a source object whose listing gives a single-part ETag (an MD5) is
    // copied without a HEAD first (one CopyObject, x-amz-copy-source-if-match the listed ETag),
    // on a server that computes the copy's SHA-256. The copy is verified by its ETag (the MD5
    // the server computed) against the listed one, and the report records the server's SHA-256.
    // What the HEAD would add and this gives up: the writer's x-amz-meta-sha256 is not compared
    // with the source (a source whose bytes are not what its writer recorded is copied and
    // locked), and the copy carries no `sha256` or `source-version-id` metadata (the report
    // has the version copied). Not with retain_from_source (that needs each source's lock).
    bool trust_listing = false;
    std::string dest_prefix;
    const Clock* clock = nullptr;        // nullptr: the system clock
    // Called after every object (from a worker thread, one call at a time).
    std::function<void(std::size_t done, std::size_t total, std::uint64_t bytes)> on_progress;
    // Called before each batch starts (from the calling thread): batch counts from 1.
    std::function<void(std::size_t batch, std::size_t batches, std::size_t objects)> on_batch;

    void validate() const;  // Error(invalid_argument) naming the option
};

// One row of the report: the S3 Batch Operations completion report columns plus the hash.
struct WORM_API MigrationRow {
    std::string source_key;
    std::string source_version_id;
    std::string dest_key;
    std::string dest_version_id;
    std::string status;      // copied, already_present, lock_applied (the destination held these
                             // bytes with no or a weaker lock: the lock asked was applied),
                             // not_compliant (such a copy whose lock could not be applied),
                             // mismatched, missing, source_corrupt, invalid_signature, failed
                             // (verify: ok, missing, mismatched, extra)
    std::string error_code;  // "" when fine
    int http_status = 200;
    std::string message;
    std::string sha256;
    std::uint64_t size = 0;
    std::string source_etag;  // as listed when copied: a resumed run tells a changed source by it
};

struct WORM_API MigrationSummary {
    std::string migration_id;
    std::string source;
    std::string destination;
    std::string report_bucket;  // the source bucket named in the CSV rows ("" for a directory)
    bool dry_run = false;
    std::size_t total = 0;
    std::uint64_t total_bytes = 0;
    std::map<std::string, std::size_t> by_status;  // status -> count
    std::uint64_t bytes_copied = 0;
    double seconds = 0;
    std::vector<MigrationRow> rows;  // every object, sorted by source key
    std::size_t imported_registry_rows = 0;
    std::size_t server_side_copies = 0;  // rows copied server-side (the bytes never reached the client)

    // True when every row is copied / already_present (migrate) or ok (verify).
    bool clean() const;
    std::string to_json_line() const;  // the one-line summary (without the rows)
    std::string report_json() const;   // summary + rows
    std::string report_csv() const;    // Bucket,Key,VersionId,TaskStatus,ErrorCode,HTTPStatusCode,ResultMessage
    // Writes report_json() to path and report_csv() beside it (path with .csv), atomically.
    void write_report(const std::filesystem::path& path) const;
};

// Runs (or resumes) a migration. Throws only for a failure of the whole run (a bad option,
// the source or destination unreachable when listing, the state file unusable); a single
// object's failure is a `failed` row.
WORM_API MigrationSummary migrate(MigrationSource& source, ObjectStore& destination, const MigrationOptions& options);

// Compares source and destination without copying: ok, missing (not at the destination),
// mismatched (different SHA-256), extra (at the destination, not at the source).
WORM_API MigrationSummary verify_migration(MigrationSource& source, ObjectStore& destination, const MigrationOptions& options);

// Writes an S3 Batch Operations manifest (CSV Bucket,Key[,VersionId]) of the objects the
// options select, and beside it (FILE.job.json) a CreateJob request for a copy with the
// lock asked (S3PutObjectCopy with ObjectLockMode / RetainUntilDate / LegalHold).
// Returns the number of rows.
WORM_API std::size_t write_batch_manifest(MigrationSource& source, const std::string& dest_bucket, const MigrationOptions& options,
                                 const std::filesystem::path& manifest_path);

// ---- rollback --------------------------------------------------------------------------

// What rollback did with one row of a migration report.
struct WORM_API RollbackRow {
    std::string dest_key;
    std::string dest_version_id;
    // removed, would_remove (dry run), kept_compliance (COMPLIANCE: nobody can remove it
    // before its date), kept_legal_hold, kept_governance (no bypass asked), not_ours (the
    // version does not carry this migration's id), missing (already gone), failed
    std::string status;
    std::string message;
    std::optional<RetentionDate> retain_until;  // the lock that keeps it, when one does
};

struct WORM_API RollbackOptions {
    bool bypass_governance = true;  // remove GOVERNANCE-locked copies (needs s3:BypassGovernanceRetention)
    bool dry_run = false;           // say what would happen; remove nothing
    int workers = 8;
};

// Removes the versions a migration wrote (the report's `copied` rows: their dest_version_id)
// where their lock allows: unlocked, or GOVERNANCE with bypass. A version is removed only when
// its x-amz-meta-migration-id is the report's. COMPLIANCE and legal holds keep theirs, and
// the row says until when. Rows sorted by key. Throws Error(invalid_argument) for a report
// that is not a migration report.
WORM_API std::vector<RollbackRow> rollback_migration(ObjectStore& destination, const std::filesystem::path& report_json,
                                                     const RollbackOptions& options);

// ---- evidence signatures --------------------------------------------------------------

enum class SignatureFormat { ed25519_sig, cosign_bundle, sigstore_bundle };

struct WORM_API EvidenceSignatureCheck {
    bool valid = false;
    SignatureFormat format = SignatureFormat::ed25519_sig;
    std::string reason;  // why it failed
};

// Checks a bundle's bytes against a sidecar: `.sig` (one line of base64 Ed25519), or a
// `.json.bundle` / `.sigstore.json` (cosign v2 {"base64Signature": ...} or a Sigstore v0.3
// bundle with messageSignature), with a PEM public key (Ed25519, or ECDSA P-256 with
// SHA-256 as cosign.pub). sidecar_name picks the format by its suffix.
WORM_API EvidenceSignatureCheck check_evidence_signature(std::string_view bundle_bytes, std::string_view sidecar_name,
                                                std::string_view sidecar_bytes, std::string_view public_key_pem);

}  // namespace worm
