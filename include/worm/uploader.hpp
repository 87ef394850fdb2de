// uploader.hpp: WormUploader puts signed bundles into WORM storage exactly once, verified.
//
// Every bundle is registered (pending) in the UploadRegistry before anything is sent, so
// a crash between signing and uploading leaves it pending for the next sync. An upload:
//   1. checks the local .json and .sig still hash to what was registered;
//   2. HEADs each key first: an earlier attempt may have reached the store before the
//      process died or the response was lost. Same sha256 -> success without a second
//      put (locked versions can never be deleted, so a duplicate would be permanent);
//      different sha256 -> Error(integrity), loudly;
//   3. puts evidence/{client_id}/{YYYY}/{MM}/{bundle_id}.json and .sig (YYYY/MM from the
//      bundle id) with the configured lock mode until now + retention days, SSE, the
//      sha256, and x-amz-meta-* upload-timestamp, retention-days, original-path, sha256;
//   4. verifies: the content (sha256 echoed by the store, else GET and hash) and the lock
//      (HEAD: same mode, retain-until at least what was asked). A mismatch is
//      Error(integrity), never a silent success.
// Transient failures (network, timeout, storage, retryable S3 errors) are retried with
// the library's retry policy (worm/retry.hpp: full jitter); a bundle that still fails is left `failed` in the
// registry with its error, and sync() tries it again later.
//
// Example:
//   worm::WormConfig config = worm::WormConfig::from_env();
//   worm::WormUploader uploader(config, worm::open_configured_store(config),
//                               std::make_shared<worm::UploadRegistry>("/var/lib/evidence"));
//   worm::SyncResult result = uploader.sync();  // uploads what is pending or failed
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/config.hpp"
#include "worm/export.hpp"
#include "worm/registry.hpp"
#include "worm/retry.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm {

struct UploadResult {
    std::string bundle_id;
    std::string bundle_uri;
    std::string sig_uri;
    std::string bundle_version_id;
    std::string sig_version_id;
    std::string replica_bundle_uri;  // with a replica store: where the duplicate copy is
    std::string replica_sig_uri;
    bool already_present = false;  // found stored (same sha256) by an earlier attempt: nothing sent
    int attempts = 0;              // tries this call made (0: the registry already had it uploaded)
};

struct SyncResult {
    std::size_t uploaded = 0;  // stored and verified by this sync
    std::size_t failed = 0;    // tried by this sync and still failing
    std::size_t pending = 0;   // still to do and not tried (sync stopped early, or in flight elsewhere)
    std::size_t replicated = 0;      // uploaded earlier, copied to the replica by this sync
    std::size_t replica_failed = 0;  // uploaded, but the replica copy still failed
    std::vector<std::string> errors;  // "EB-...: message", the first 20
};

// Reported after each bundle a sync finishes (from a worker thread, one call at a time).
struct SyncProgress {
    std::size_t done = 0;
    std::size_t total = 0;  // backlog when the sync started
    std::size_t uploaded = 0;
    std::size_t failed = 0;
    std::string bundle_id;
    bool ok = false;
};

// The seeds' alerts.
struct UploaderHealth {
    bool backlog_high = false;          // more than 10 bundles not yet uploaded
    bool repeated_failures = false;     // more than 3 consecutive failed bundles
    bool stale_pending = false;         // a bundle waiting for over 24 hours
    bool ok() const { return !backlog_high && !repeated_failures && !stale_pending; }
};

struct WORM_API UploaderStats {
    bool enabled = false;
    WormMode mode = WormMode::proxy;
    std::int64_t total_uploaded = 0;
    std::int64_t pending_count = 0;  // pending and uploading (interrupted or in flight)
    std::int64_t failed_count = 0;
    // The most recent upload error and when it happened. It stays on record after the
    // store recovers; last_error_current says whether it still matters: true while some
    // bundle registered before it (or at the same time) is not uploaded yet, false once
    // everything registered up to then has been uploaded.
    std::string last_error;
    std::optional<TimePoint> last_error_at;
    bool last_error_current = false;
    std::optional<double> oldest_pending_age_s;  // over pending, uploading and failed
    std::int64_t consecutive_failures = 0;
    bool replica_configured = false;
    std::int64_t replica_behind = 0;  // uploaded bundles not yet in the replica store
    // Seed 000's "Metrics to Track", under its names:
    //   upload_success_rate  percent of the bundles tried that are stored: uploaded /
    //                        (uploaded + failed) * 100; nullopt before any was tried
    //   pending_queue_depth  bundles waiting for upload (pending, uploading and failed)
    //   upload_latency       mean seconds from creation (registered right after signing)
    //                        to stored, over the uploaded bundles; upload_latency_max the longest
    //   retry_count          bundles that needed more than one attempt
    std::optional<double> upload_success_rate;
    std::int64_t pending_queue_depth = 0;
    std::optional<double> upload_latency;
    std::optional<double> upload_latency_max;
    std::int64_t retry_count = 0;
    UploaderHealth health;

    // One JSON object with the fields above (health as an object), for `worm status --json`.
    std::string to_json() const;
};

struct WORM_API UploaderOptions {
    const Clock* clock = &system_clock();  // borrowed, never null (see Clock in time.hpp)
    // How to wait between attempts (tests record instead of sleeping) and the jitter's
    // draws (worm/retry.hpp). Empty: the system's.
    Sleeper sleep;
    RandomSource random;
    // The library's retry policy (worm/retry.hpp) with base_delay = backoff_base,
    // max_delay = backoff_max and max_attempts = WormConfig::upload_attempts: attempt n
    // waits a uniform draw in [0, min(backoff_max, backoff_base * 2^(n-1))] (full jitter).
    std::chrono::milliseconds backoff_base{500};
    std::chrono::milliseconds backoff_max{30000};
    // sync() stops starting new bundles after this many bundles in a row failed with a
    // transient error (the store is down: no point in trying the other thousand). 0: never.
    std::size_t sync_stop_after_failures = 20;
    std::size_t sync_page_size = 256;
    std::function<void(const SyncProgress&)> on_progress;
    // Health thresholds (the seeds' alerts).
    std::int64_t backlog_alert_above = 10;
    std::int64_t failures_alert_above = 3;
    std::chrono::seconds stale_after{std::chrono::hours(24)};
    // How long the registry lease taken for one bundle lasts (renewed before every
    // attempt). It must outlast one attempt with its backoff, or a second process could
    // take over a live upload; a crashed process's lease on this host is taken over at
    // once anyway, so only leases of hung processes or other hosts wait this long.
    std::chrono::milliseconds lease_duration{std::chrono::hours(1)};

    // A second store (WORM_REPLICA_STORE: SEC 17a-4's duplicate copy, cross-region
    // replication) that gets every bundle too, under the same keys and lock, verified the
    // same way. A bundle is uploaded only when both hold it; sync() retries whichever
    // copy is missing (HEAD first: nothing is stored twice) and copies bundles uploaded
    // before the replica was reachable (the registry records both URIs).
    std::shared_ptr<ObjectStore> replica;

    // Where the uploader reports, once per distinct message, a configuration problem
    // found when it opens the configured store (the first upload or sync). Default: one
    // line on stderr.
    std::function<void(std::string_view message)> log;

    void validate() const;  // Error(invalid_argument) naming the field
};

class WORM_API WormUploader {
public:
    // Throws Error(config) for an invalid config (retention, attempts, concurrency, SSE).
    // With a store, the uploader uploads to it whatever config.enabled says. With a null
    // store, nothing about the store is needed or checked here: enqueue(), stats() and
    // reconcile() read the registry only, and the store the configuration names
    // (open_configured_store) is opened on the first upload or sync. A configuration
    // problem then (not enabled, no endpoint, no bucket) is that upload's Error(config):
    // logged once (options.log), recorded as the bundle's error (last_error, `worm
    // status`), and the bundle stays in the backlog for a later sync.
    WormUploader(WormConfig config, std::shared_ptr<ObjectStore> store, std::shared_ptr<UploadRegistry> registry,
                 UploaderOptions options = {});
    ~WormUploader();
    WormUploader(const WormUploader&) = delete;
    WormUploader& operator=(const WormUploader&) = delete;

    // Registers the bundle as pending without sending anything; returns its bundle id (from
    // the .json's bundle_id, which must match the file name when that is an id). Idempotent;
    // a different .json or .sig for a registered id throws Error(integrity). Throws
    // Error(invalid_argument) for a malformed id or a client_id that differs from the bundle's.
    std::string enqueue(const std::filesystem::path& bundle_path, const std::filesystem::path& sig_path,
                        const std::string& client_id);
    // Signed bundles in evidence_dir (EB-*.json beside its .sig) that the registry does not
    // know: left by a registry restored from an old copy or rebuilt, or by a process that
    // died between signing and registering. unregistered_bundles lists their .json paths;
    // reconcile registers them as pending (client id from each bundle, as enqueue) and
    // returns their ids, so the next sync uploads them.
    std::vector<std::filesystem::path> unregistered_bundles(const std::filesystem::path& evidence_dir);
    std::vector<std::string> reconcile(const std::filesystem::path& evidence_dir);
    // enqueue + upload with retries. Throws the last error when the bundle could not be
    // stored (it stays `failed` in the registry, with the error, for sync to retry).
    // Throws Error(already_exists) naming the bundle and the holder when another process
    // holds its upload lease (nothing is sent, the registry is unchanged).
    UploadResult upload_bundle(const std::filesystem::path& bundle_path, const std::filesystem::path& sig_path,
                               const std::string& client_id);
    // Uploads a bundle already in the registry (as upload_bundle).
    UploadResult upload_registered(const std::string& bundle_id);

    // Uploads every failed, interrupted (uploading) and pending bundle, each tried once per
    // sync, config.sync_concurrency at a time. Never throws for a single bundle's failure.
    // A bundle whose lease another live process holds is skipped: counted in pending,
    // not in failed.
    SyncResult sync();

    UploaderStats stats();

    // The store uploads go to, opened from the configuration on first use (see the
    // constructor); throws its Error(config) when the configuration names none.
    std::shared_ptr<ObjectStore> store();
    // Seed 001's start-up check of an S3 store's bucket: Error(config) naming the bucket
    // when it does not exist or has no Object Lock enabled; any other failure to read its
    // configuration (unreachable, access denied) is thrown as it is, for the caller to
    // report. Other stores need no check (a local store always locks; a proxy's server
    // holds the bucket).
    void check_object_lock();

    // "{prefix/}evidence/{client_id}/{YYYY}/{MM}/{bundle_id}{extension}".
    static std::string object_key(std::string_view prefix, std::string_view client_id, std::string_view bundle_id,
                                  std::string_view extension);

    const WormConfig& config() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace worm
