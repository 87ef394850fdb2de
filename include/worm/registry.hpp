// registry.hpp: the durable upload registry, one SQLite file per evidence directory.
//
// Every bundle the pipeline signs gets a row here before anything is sent, so a crash
// between signing and uploading leaves it pending, and a sync after an outage knows
// exactly what is still to do. The file is `.worm-registry.sqlite3` in the evidence
// directory, in WAL mode with synchronous=FULL: a mark that returned is on disk, even
// across kill -9 or power loss (NORMAL would only survive kill -9). Several processes
// may share the file: writers take the lock up front (BEGIN IMMEDIATE) and wait up to
// busy_timeout for each other.
//
// Status: pending -> uploading -> uploaded, or -> failed (retried by sync). A row is
// never deleted; every attempt is kept in a second table with its outcome and error.
//
// Upload lease (schema version 2): before a process uploads a bundle it takes a lease on
// the row (acquire_lease: lease_owner "host:pid:process-start-ticks", lease_until), in
// one write transaction, so two processes syncing the same directory never both PUT the
// same key (a server that ignores If-None-Match would keep two locked versions forever).
// A lease is free when nobody holds it, when it is this owner's, when it has expired, or
// when its owner is a process on this host that no longer exists (kill(pid, 0) fails
// with ESRCH, it is a zombie, or the pid was reused: its start time differs), so a sync
// right after a kill -9 takes over at once. mark_uploaded/mark_failed/mark_pending clear
// the lease. Version 1 files are upgraded in place when opened (ALTER TABLE ADD COLUMN).
//
// Example:
//   worm::UploadRegistry registry("/var/lib/evidence");  // /var/lib/evidence/.worm-registry.sqlite3
//   worm::RegistryCounts counts = registry.counts();
//   std::int64_t still_to_upload = counts.backlog();
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/export.hpp"
#include "worm/time.hpp"

namespace worm {

enum class UploadStatus { pending, uploading, uploaded, failed };

// "pending", "uploading", "uploaded", "failed".
WORM_API std::string_view to_string(UploadStatus status) noexcept;
// Throws Error(invalid_argument) naming the text.
WORM_API UploadStatus parse_upload_status(std::string_view text);

// One bundle (its .json and .sig) and where it got to.
struct RegistryRecord {
    std::string bundle_id;      // "EB-20261122-0001"
    std::string client_id;
    std::string bundle_path;    // the .json on local disk
    std::string sig_path;       // the .sig beside it
    std::string bundle_sha256;  // hex SHA-256 of the .json bytes
    std::string sig_sha256;     // hex SHA-256 of the .sig bytes
    UploadStatus status = UploadStatus::pending;
    std::string bundle_uri;
    std::string sig_uri;
    std::string bundle_version_id;
    std::string sig_version_id;
    TimePoint created_at{};     // set by add_pending when left at the epoch
    TimePoint updated_at{};
    std::optional<TimePoint> uploaded_at;
    std::int64_t attempts = 0;
    std::string last_error;
    // Fields an imported agent registry had that libworm does not know, as a JSON object;
    // written back by export_json.
    std::string extra_json = "{}";
    // The duplicate copy (WORM_REPLICA_STORE), "" until it is there; kept in extra_json
    // (exported as replica_bundle_uri / replica_sig_uri) so the schema stays version 2.
    std::string replica_bundle_uri;
    std::string replica_sig_uri;
    // The upload lease (empty / nullopt when nobody holds one); read-only here.
    std::string lease_owner;
    std::optional<TimePoint> lease_until;
};

// The lease owner string for a process: "host:pid:start-ticks" (start time from
// /proc/<pid>/stat). Empty when the process does not exist.
WORM_API std::string process_lease_owner(long pid);
// The same for the calling process.
WORM_API std::string process_lease_owner();
// False only when the owner names a process on this host that is gone (no such pid,
// a zombie, or a different start time: the pid was reused). Owners on other hosts and
// strings not in that format are presumed alive (only their lease expiry frees them).
WORM_API bool lease_owner_alive(const std::string& owner);

// What acquire_lease found.
struct LeaseClaim {
    bool acquired = false;
    std::string holder;               // when not acquired: the live owner that has it
    std::optional<TimePoint> until;   // when not acquired: when that lease expires
};

// Where a bundle was stored (what mark_uploaded records).
struct UploadLocation {
    std::string bundle_uri;
    std::string sig_uri;
    std::string bundle_version_id;
    std::string sig_version_id;
    std::string replica_bundle_uri;  // "" without a replica store
    std::string replica_sig_uri;
};

// One try at uploading a bundle.
struct UploadAttempt {
    std::string bundle_id;
    TimePoint started_at{};
    TimePoint finished_at{};
    std::string outcome;  // "uploaded", "already_present", "error", "integrity_error", ...
    std::string error;    // empty on success
};

struct RegistryCounts {
    std::int64_t pending = 0;
    std::int64_t uploading = 0;
    std::int64_t uploaded = 0;
    std::int64_t failed = 0;
    std::int64_t total() const { return pending + uploading + uploaded + failed; }
    // Not yet in WORM storage: pending, uploading (interrupted or in flight) and failed.
    std::int64_t backlog() const { return pending + uploading + failed; }
};

struct RegistryStats {
    RegistryCounts counts;
    std::optional<TimePoint> oldest_backlog_created_at;  // oldest row not yet uploaded
    std::int64_t consecutive_failures = 0;  // failed bundles since the last upload
    std::string last_error;                 // the most recent mark_failed error
    std::optional<TimePoint> last_error_at;
    std::optional<TimePoint> last_uploaded_at;
    // Seed 000's monitoring figures over the uploaded rows: how long bundles took from
    // being registered (right after signing) to being stored, and how many needed more
    // than one attempt (over all rows).
    std::optional<std::chrono::milliseconds> mean_upload_latency;
    std::optional<std::chrono::milliseconds> max_upload_latency;
    std::int64_t retried_bundles = 0;
};

struct WORM_API RegistryOptions {
    const Clock* clock = &system_clock();  // borrowed, never null (see Clock in time.hpp)
    int busy_timeout_ms = 60000;   // how long a writer waits for another process
    // FULL fsyncs the WAL on every commit: required for "acknowledged means durable"
    // across power loss. Off only for benchmarks and scratch data.
    bool durable = true;
    // Who this handle takes leases as; empty: process_lease_owner() of the calling
    // process (evaluated per call, so a forked child is its own owner). Tests set it.
    std::string lease_owner{};

    void validate() const;  // Error(invalid_argument) for a negative timeout
};

struct ImportResult {
    std::size_t imported = 0;  // new rows
    std::size_t updated = 0;   // existing rows the import marked as uploaded
    std::size_t unchanged = 0; // existing rows left as they were
};

class WORM_API UploadRegistry {
public:
    static constexpr const char* file_name = ".worm-registry.sqlite3";
    static constexpr int schema_version = 2;  // 2: lease_owner, lease_until

    // Opens (creating when missing) evidence_dir/.worm-registry.sqlite3. Throws Error(io)
    // naming the path, Error(config) when the file's schema is newer than this library,
    // Error(integrity) naming the file when it is damaged or empty (0 bytes: truncated; it
    // is never read as an empty registry, which would drop the backlog). Rebuild one with
    // set_aside + WormUploader::reconcile (`worm registry rebuild`).
    explicit UploadRegistry(const std::filesystem::path& evidence_dir, RegistryOptions options = {});
    // Renames a damaged registry (and its -wal/-shm) in evidence_dir to
    // `.worm-registry.sqlite3.damaged-<YYYYMMDDTHHMMSSZ>` and returns that path; the next
    // UploadRegistry(evidence_dir) starts a new one.
    static std::filesystem::path set_aside(const std::filesystem::path& evidence_dir, TimePoint now);
    // Opens a registry file at an explicit path.
    static std::unique_ptr<UploadRegistry> open_file(const std::filesystem::path& db_path,
                                                     RegistryOptions options = {});
    ~UploadRegistry();
    UploadRegistry(const UploadRegistry&) = delete;
    UploadRegistry& operator=(const UploadRegistry&) = delete;

    const std::filesystem::path& path() const noexcept;

    // Registers a bundle as pending. Returns true when a row was added, false when the
    // same bundle (same sha256 of .json and .sig) is already there, whatever its status.
    // A different sha256 for an existing id throws Error(integrity); a record without
    // bundle_id, client_id or bundle_sha256 throws Error(invalid_argument).
    bool add_pending(const RegistryRecord& record);
    // The same for many records in one transaction; returns how many rows were added.
    std::size_t add_pending_batch(const std::vector<RegistryRecord>& records);

    // Each mark is one short transaction. Unknown ids throw Error(not_found).
    // pending | failed | uploading -> uploading. An uploaded bundle throws Error(invalid_argument).
    // Takes no lease (kept for tools and tests); the uploader uses acquire_lease.
    void mark_uploading(const std::string& bundle_id);
    // Takes (or renews) the upload lease for this handle's owner until now + duration and
    // sets the row to uploading, in one write transaction, when the lease is free (see
    // above). Otherwise changes nothing and returns the holder. An uploaded bundle throws
    // Error(invalid_argument), an unknown id Error(not_found), duration <= 0
    // Error(invalid_argument).
    LeaseClaim acquire_lease(const std::string& bundle_id, std::chrono::milliseconds duration);
    // Drops this owner's lease (the status stays as it is); a no-op when another owner
    // holds it or there is none. For exit paths that did not mark the bundle.
    void release_lease(const std::string& bundle_id);
    // The owner string this handle takes leases as.
    std::string lease_owner() const;
    // The marks below also clear the lease, whoever holds it.
    // -> uploaded, resets the consecutive failure count. Marking an uploaded bundle again
    // with the same URIs is a no-op, except that replica URIs it did not have yet are
    // recorded (a replica caught up); with different URIs it throws Error(integrity).
    void mark_uploaded(const std::string& bundle_id, const UploadLocation& location);
    // pending | uploading | failed -> failed, records the error, counts a consecutive failure.
    void mark_failed(const std::string& bundle_id, const std::string& error);
    // Back to pending (e.g. an upload given up before it reached the store).
    void mark_pending(const std::string& bundle_id);
    // Appends to the attempts table and increments the row's attempt count.
    void record_attempt(const UploadAttempt& attempt);

    std::optional<RegistryRecord> get(const std::string& bundle_id);
    std::vector<UploadAttempt> attempts(const std::string& bundle_id);
    // The most recent attempts of every bundle (newest first), for metrics.
    std::vector<UploadAttempt> recent_attempts(std::size_t limit = 10000);
    // Rows with the status ordered by bundle_id, starting after after_id ("" for the first
    // page): page through with the last id of the previous page. Uses an index.
    std::vector<RegistryRecord> list_by_status(UploadStatus status, std::size_t limit = 1000,
                                               const std::string& after_id = "");
    RegistryCounts counts();
    // Uploaded bundles whose replica copy is not recorded yet, by bundle id, after after_id.
    std::vector<RegistryRecord> list_missing_replica(std::size_t limit = 1000, const std::string& after_id = "");
    std::int64_t count_missing_replica();
    std::optional<TimePoint> oldest_pending_created_at();  // over pending, uploading and failed
    std::int64_t consecutive_failures();
    RegistryStats stats();

    // Reads an agent's `.upload_registry.json` (an object: bundle id -> record) and merges
    // it: new ids are added, ids already here are kept (a conflicting sha256 throws
    // Error(integrity)), except that an id the agent uploaded is marked uploaded.
    // Unknown fields are kept and written back by export_json.
    ImportResult import_json(const std::filesystem::path& json_path);
    // Writes every row in that format, atomically (temp file, fsync, rename).
    void export_json(const std::filesystem::path& json_path);

private:
    struct Impl;
    explicit UploadRegistry(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace worm
