// storage/local.hpp: LocalWormStore, the embedded write-once store (no S3 needed).
//
// It keeps S3 Object Lock semantics on a local directory, so evidence written on a
// laptop follows the same rules as evidence in a locked bucket:
//   - every put creates a new version; get/head/list see the latest one;
//   - a version under retention (until retain_until) or legal hold cannot be deleted,
//     and a put to a key whose latest version is locked is refused (object_locked):
//     evidence is never shadowed;
//   - COMPLIANCE retention can only be extended; GOVERNANCE retention can be shortened
//     or cleared, and its versions deleted, only with bypass_governance;
//   - remove() without a version id writes a delete marker (as a versioned bucket does)
//     and is refused while the latest version is locked; remove() with a version id
//     deletes that version (or delete marker) for good;
//   - reads recompute SHA-256 and throw Error(integrity) when the bytes on disk differ
//     from what the sidecar recorded.
//
// On disk (root is created if missing):
//   root/versions/<key segments>/@v/<version>.body  immutable body, mode 0444
//   root/versions/<key segments>/@v/<version>.json  metadata sidecar, mode 0444; the commit point
//   root/objects/<key>                             the latest live body (a hard link), for humans
//   root/tmp/                                      bodies being written before they are committed
//   root/.lock                                     flock() taken around every read-modify-write
//   root/oplog.jsonl                               the operation log (below)
// A body is written and fsynced before its sidecar is renamed into place, and the sidecar
// names the body and its SHA-256, so a crash leaves at worst an unreferenced body or temp
// file, which reads and lists ignore. Key segments starting with '@' are stored as "@@...",
// so no key can collide with the store's own "@v" directories. Symbolic links inside the
// store are never followed: a key that would pass one throws Error(storage).
// objects/ mirrors keys as files, so a key cannot be both an object and a "folder" of
// another object ("a" and "a/b"): the second put throws Error(already_exists).
//
// Tamper evidence: every put, delete marker, retention, legal hold and version removal is
// appended to root/oplog.jsonl, a hash-chained log that records each sidecar's exact text
// and SHA-256. The log decides which versions exist: a version whose sidecar was edited
// (say, to shorten its retention) or deleted throws Error(integrity) naming the key and
// version instead of being used, listings come from the log (a deleted sidecar cannot hide
// an object), and sidecars the log does not know are ignored. verify() (`worm store verify`)
// reports edited, missing and orphaned versions and bodies that changed. A store written
// before the log existed gets one when it is first opened: its versions are adopted as
// they are then. Root can still rewrite the whole store and log consistently; keep the
// log head that verify() reports somewhere else to detect that.
//
// Example:
//   worm::LocalWormStore store("/var/lib/worm");
//   store.put("evidence/a.json", worm::PutBody::from_bytes("{}"),
//             {.lock = {.retention = worm::Retention{worm::LockMode::governance,
//                                                    std::chrono::system_clock::now() + std::chrono::hours(24)}}});
//   std::vector<worm::VersionSummary> versions = store.list_versions("evidence/a.json");
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worm/export.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm {

struct VersionSummary {
    std::string version_id;
    bool delete_marker = false;
    bool is_latest = false;
    std::uint64_t size = 0;
    TimePoint last_modified{};
};

struct LocalStoreOptions {
    // fsync bodies, sidecars and directories so a committed put survives a power cut.
    // Off only for scratch stores, tests and benchmarks.
    bool durable = true;
    // A store without an operation log gets one on open (its versions adopted as they are).
    // Off for verification, which must report a missing log rather than start a new one.
    bool start_log = true;
};

// One problem verify() found. kind: "edited" (the sidecar differs from the log), "missing"
// (the log records the version, its sidecar or body is gone), "orphaned" (files of a
// version the log does not know), "body" (the body's bytes do not match), "log" (the log
// itself is missing or damaged).
struct LocalStoreProblem {
    std::string kind;
    std::string key;
    std::string version_id;
    std::string detail;
};

struct LocalStoreVerification {
    std::uint64_t records = 0;   // records in the operation log
    std::uint64_t versions = 0;  // versions (and delete markers) the log holds
    std::string log_head;        // hex SHA-256 of the last record (keep it elsewhere as a checkpoint)
    std::vector<LocalStoreProblem> problems;
    bool ok() const noexcept { return problems.empty(); }
};

namespace detail {
struct LocalStoreLog;
}

class WORM_API LocalWormStore final : public ObjectStore {
public:
    // The clock decides when retention has passed; it must outlive the store.
    explicit LocalWormStore(std::filesystem::path root, const Clock& clock = system_clock(),
                            LocalStoreOptions options = {});

    // list(): keys in byte-wise lexicographic order; common prefixes count towards
    // max_keys, as in S3. The continuation token is opaque.

    // "file:///root/objects/<key>", percent-encoded.
    std::string uri(const std::string& key) const override;

    // Not in ObjectStore (S3 spells these differently):
    // every version and delete marker of a key, newest first; Error(not_found) if none.
    std::vector<VersionSummary> list_versions(const std::string& key);
    // Removes a GOVERNANCE retention (needs bypass_governance); COMPLIANCE -> object_locked.
    void clear_retention(const std::string& key, const RetentionOptions& options);

    // Re-reads the whole operation log and checks every version against it (sidecars and
    // body hashes), then looks for files of versions the log does not know. Does not throw
    // for what it finds: the report lists it.
    LocalStoreVerification verify();

    const std::filesystem::path& root() const noexcept { return root_; }

private:
    PutResult do_put(const std::string& key, const PutBody& body, const PutOptions& options) override;
    std::string do_get(const std::string& key, const GetOptions& options) override;
    ObjectInfo do_get_to_file(const std::string& key, const std::filesystem::path& destination,
                              const GetOptions& options) override;
    ObjectInfo do_head(const std::string& key, const std::optional<std::string>& version_id) override;
    ListPage do_list(const ListOptions& options) override;
    void do_remove(const std::string& key, const DeleteOptions& options) override;
    std::optional<Retention> do_get_retention(const std::string& key,
                                              const std::optional<std::string>& version_id) override;
    void do_put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options) override;
    bool do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) override;
    void do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) override;

    std::filesystem::path root_;
    LocalStoreOptions options_;
    std::shared_ptr<detail::LocalStoreLog> log_;  // the operation log's index, shared by this store's calls
};

// The directory of a file: store URL (file:///dir, file://localhost/dir, file:/dir, file:dir).
// Throws Error(invalid_argument) naming the URL.
WORM_API std::filesystem::path file_store_path(std::string_view url);

}  // namespace worm
