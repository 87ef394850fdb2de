// audit_log.hpp: AuditLogSink, a batched, lossless, tamper-evident audit log writer.
//
// log() takes one JSON record (the seed-004 shape: timestamp, level, service_name,
// request_id, user_id, message, ... plus any extra fields) and returns without touching
// the network. By default the record is first appended to a local journal (a directory
// of append-only, CRC-checked segment files; fsync is group-committed), so kill -9 loses
// no accepted record. A background thread closes batches (count, bytes or interval,
// whichever comes first) and PUTs each as one JSON Lines object, create-only, with a
// SHA-256 checksum, the Object Lock retention (GOVERNANCE, 2557 days, as the seed) and the
// seed's metadata, at
//   {prefix}/YYYY/MM/DD/{request_id of the first record}-{stream}-{sequence}.jsonl
// or, with AuditLogLayout::per_record, one record per object at the seed's
//   {prefix}/YYYY/MM/DD/{request_id}-{uuid4}.json
// Stream and sequence are fixed when the batch is sealed in the journal, so a retry after
// an ambiguous failure (or after a restart) sends the same key and bytes and never
// creates a second locked object.
//
// Tamper evidence: each batch names the SHA-256 of the previous batch of its stream, and
// every N batches or T seconds a checkpoint object lists the batches it covers and chains
// to the previous checkpoint (Ed25519-signed when a key is given). audit_log/verify.hpp
// checks a stored stream offline. Formats: audit_log/format.hpp.
//
// Example:
//   std::shared_ptr<worm::ObjectStore> store = worm::open_store("s3://audit-bucket");
//   worm::AuditLogSink sink(store, worm::AuditLogOptions::compliance("billing"));
//   sink.log_json(R"({"level": "INFO", "request_id": "req-1", "user_id": "u-7", "message": "invoice paid"})");
//   sink.log(worm::LogLevel::info, "refund issued", {{"request_id", "req-2"}, {"user_id", "u-7"}});
//   sink.flush(std::chrono::seconds(5));  // stored, and covered by a checkpoint
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/storage.hpp"
#include "worm/retry.hpp"
#include "worm/time.hpp"

namespace worm {

// Python's logging levels, in order; records below AuditLogOptions::min_level are ignored.
enum class LogLevel { debug, info, warning, error, critical };
WORM_API std::string_view to_string(LogLevel level) noexcept;  // "DEBUG" ... "CRITICAL"
// Accepts the names above in any case plus "WARN" and "FATAL"; throws Error(invalid_argument).
WORM_API LogLevel parse_log_level(std::string_view text);

enum class JournalMode {
    disk,    // every accepted record is in the journal before log() returns (the default)
    memory,  // records wait in memory only: a crash loses what was not stored yet
};

// How records become objects.
enum class AuditLogLayout {
    batches,     // JSON Lines batches (the default)
    per_record,  // the seed's key, one record per object (every batch holds one record)
};

// What log() does when the journal (or memory backlog) is at its cap.
enum class BackpressurePolicy {
    block,   // wait for room while the store takes batches; refuse after a block_timeout without progress
    refuse,  // refuse at once
};

struct WORM_API AuditLogOptions {
    std::string service_name = "service";  // fills records without service_name; object metadata
    std::string prefix = "audit-logs";     // the seed's AWS_S3_PREFIX default
    LogLevel min_level = LogLevel::debug;

    // Batching: a batch closes at max_records, max_bytes or max_interval, whichever first;
    // while max_in_flight batches are already on their way (a backlog), a batch at
    // max_records keeps taking records until a place frees, up to max_bytes and never past
    // max_interval, so that small batches do not cap the rate at one PUT's round trip.
    std::size_t max_records = 5;
    std::size_t max_bytes = 4 * 1024 * 1024;
    std::chrono::milliseconds max_interval{15'000};
    // Batches PUT at the same time (each by its own thread). The hash chain is fixed when a
    // batch is built, in order; batches are committed (state, checkpoints) in order.
    std::size_t max_in_flight = 8;

    AuditLogLayout layout = AuditLogLayout::batches;  // per_record ignores max_records (1)

    // Object Lock on every batch and checkpoint; retention_days 0 means no retention.
    // GOVERNANCE as the seed ("allows bypass with special permissions"); COMPLIANCE only
    // when asked.
    LockMode lock_mode = LockMode::governance;
    int retention_days = 2557;  // 7 years, as the seed says

    JournalMode journal_mode = JournalMode::disk;
    // Empty: default_journal_dir(service_name, store uri, prefix); a second sink with the same
    // default takes "<dir>.1" (up to .15). One sink per directory at a time: a second one
    // on an explicit journal_dir throws Error(config).
    std::filesystem::path journal_dir;
    std::chrono::milliseconds fsync_interval{10};  // group commit; 0 fsyncs in every log()
    // Disk cap (memory cap in memory mode), at least 64 KiB. Segments and batches are kept to a
    // quarter of it (journal_segment_bytes and max_bytes are lowered to fit), so that closed
    // segments free room while the store takes batches.
    std::uint64_t max_journal_bytes = 1024ull * 1024 * 1024;
    BackpressurePolicy policy = BackpressurePolicy::block;
    std::chrono::milliseconds block_timeout{1'000};

    // Checkpoints: every checkpoint_batches stored batches or checkpoint_interval, and at
    // flush()/close(). Signed when signing_key is set (or WORM_LOG_SIGNING_KEY names a
    // private key file: signing_key_from_env(), which the Python module calls); unsigned otherwise.
    std::size_t checkpoint_batches = 100;
    std::chrono::milliseconds checkpoint_interval{60'000};
    std::shared_ptr<const Ed25519PrivateKey> signing_key;
    // After each stored checkpoint the sink writes its witness (audit_log/witness.hpp: the
    // stream's head, for `worm logs verify --witness`) to witness.json in the journal
    // directory (disk mode) and, when set, as a locked object to this second store (best kept
    // where whoever may delete the logs may not: another account or bucket). Python's handler
    // takes $WORM_LOG_WITNESS_STORE (witness_store_from_env()). A failed witness write is
    // reported (last_error, stderr) and not retried: the next checkpoint's witness supersedes it.
    std::shared_ptr<ObjectStore> witness_store;

    // Retry waits while the store fails (worm/retry.hpp: full jitter, the ceiling doubling
    // from retry_initial up to retry_max; never gives up).
    std::chrono::milliseconds retry_initial{100};
    std::chrono::milliseconds retry_max{5'000};
    // The seed's max_retries: after this many failed attempts in a row a batch (or
    // checkpoint) is reported failing (AuditLogStats::batches_failed, one line on stderr).
    // It stays in the journal and is still retried: records are never dropped.
    int max_retries = 3;

    std::chrono::milliseconds close_timeout{5'000};  // used by the destructor
    // close() keeps waiting past its timeout while the store is taking batches, up to this
    // long in all; then it says on stderr how many records stay in the journal.
    std::chrono::milliseconds close_max_wait{60'000};

    // Timestamps of records that lack one, checkpoint times and retention dates (never null).
    const Clock* clock = &system_clock();
    // The retry waits' jitter draws; empty: the system's (worm/retry.hpp).
    RandomSource random;

    // Knobs nobody needs to turn for a working sink; each has a use named below.
    struct Advanced {
        // PUTs carry If-None-Match: * so a retry never adds a version. Off only for an endpoint
        // that answers conditional PUTs wrongly (304 instead of 412).
        bool create_only = true;
        // The journal's segment files (lowered to a quarter of max_journal_bytes).
        std::uint64_t journal_segment_bytes = 8 * 1024 * 1024;
        // The journal's staging ring (a mapped file log() copies records into; see
        // docs/audit-log-journal.md). A record may be up to half of it.
        std::uint64_t journal_ring_bytes = 16 * 1024 * 1024;
    } advanced;

    // Presets from the seed: compliance (5 records / 15 s) and high_volume (50 records /
    // 60 s, WARNING and above); both GOVERNANCE, 2557 days.
    static AuditLogOptions compliance(std::string service_name);
    static AuditLogOptions high_volume(std::string service_name);

    // Throws Error(invalid_argument) naming the bad field.
    void validate() const;
};

// The journal directory used when AuditLogOptions::journal_dir is empty:
// $WORM_LOG_JOURNAL_DIR, else $XDG_STATE_HOME/worm/audit-journal, else
// ~/.local/state/worm/audit-journal; then "<service>-<12 hex of sha256(store uri, prefix)>"
// (the sink adds an S3 store's endpoint, or "aws:<region>", to the uri: a journal never
// ships records to another server holding a bucket of the same name).
WORM_API std::filesystem::path default_journal_dir(std::string_view service_name, std::string_view store_uri,
                                          std::string_view prefix);

// WORM_LOG_SIGNING_KEY (a private key file, as for bundles; WORM_KEY_PASSWORD decrypts it),
// or null when unset. Throws as load_private_key when set but unusable.
WORM_API std::shared_ptr<const Ed25519PrivateKey> signing_key_from_env();

// The store WORM_LOG_WITNESS_STORE names (a store URL, as open_store takes), or null when
// unset. Throws as open_store for a bad URL.
WORM_API std::shared_ptr<ObjectStore> witness_store_from_env();

struct WORM_API AuditLogStats {
    std::uint64_t accepted = 0;          // records log() took
    std::uint64_t filtered = 0;          // below min_level, ignored
    std::uint64_t refused = 0;           // refused at the cap (log() threw)
    std::uint64_t escaped = 0;           // accepted with fields in escaped form (audit_log/format.hpp)
    std::uint64_t stored = 0;            // records in batches the store confirmed
    std::uint64_t queued = 0;            // accepted, not stored yet
    std::uint64_t batches_stored = 0;
    std::uint64_t batches_retried = 0;   // failed PUT attempts that will be retried
    std::uint64_t batches_failed = 0;    // batches/checkpoints that failed max_retries attempts in a row
    std::uint64_t checkpoints_stored = 0;
    std::uint64_t journal_bytes = 0;     // on disk (disk mode) or held in memory (memory mode)
    std::chrono::milliseconds oldest_unstored_age{0};
    std::string last_error;              // empty when none
    std::optional<TimePoint> last_error_time;
    std::string stream;                  // this journal's stream id
};

namespace audit_log::detail {
struct SinkAccess;
}

class WORM_API AuditLogSink {
public:
    // Opens (or creates) the journal and replays what an earlier process left in it:
    // sealed batches go out first, in order, then unsealed records continue the open batch.
    // Throws Error(invalid_argument) for bad options, Error(config) when another sink holds
    // the journal, Error(io) when it cannot be created.
    AuditLogSink(std::shared_ptr<ObjectStore> store, AuditLogOptions options);
    ~AuditLogSink();  // close(options.close_timeout)
    AuditLogSink(const AuditLogSink&) = delete;
    AuditLogSink& operator=(const AuditLogSink&) = delete;

    // Takes a JSON object as text (parsed strictly). Adds timestamp (now, milliseconds, "Z"),
    // level ("INFO") and service_name when missing. Thread-safe; never does network I/O.
    // Returns false when the record is below min_level (ignored). Throws
    // Error(invalid_argument) for a non-object, Error(storage) when refused at the cap
    // (after block_timeout with the block policy), Error(io) when the journal cannot be
    // written, Error(storage) after close().
    bool log_json(std::string_view record_json);
    // The same for a record made of its level, message and string fields (request_id,
    // user_id, ...): {"level": ..., "message": ..., name: value, ...}. A field named level or
    // message, or given twice, is Error(invalid_argument).
    bool log(LogLevel level, std::string_view message,
             const std::vector<std::pair<std::string, std::string>>& fields = {});

    // Seals the open batch and waits until everything accepted so far is stored and a
    // checkpoint covers it. Returns false when the timeout passed first (nothing is lost:
    // it stays in the journal). The journal is fsynced either way.
    bool flush(std::chrono::milliseconds timeout);
    // flush(timeout), then stops the background threads. Returns within timeout (plus a
    // fsync) when the store takes nothing; while it is taking batches, keeps waiting up to
    // options.close_max_wait. What was not stored stays in the journal for the next sink
    // (one line on stderr says how many records). Later log() calls throw. Idempotent.
    // Returns whether everything was stored.
    bool close(std::chrono::milliseconds timeout);

    AuditLogStats stats() const;

private:
    friend struct audit_log::detail::SinkAccess;
    struct Core;
    std::shared_ptr<Core> core_;
};

}  // namespace worm
