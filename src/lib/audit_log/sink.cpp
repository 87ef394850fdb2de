// AuditLogSink (audit_log.hpp): accepts records into the journal, seals batches, and a
// background thread stores them in order, then writes checkpoints over them.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "journal.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/audit_log/witness.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/s3/store.hpp"
#include "worm/signer.hpp"

#include "../util/env.hpp"
#include "../util/spin_lock_first.hpp"

namespace worm {

namespace fs = std::filesystem;
using SteadyTime = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;
namespace al = audit_log;

// ---- levels, options ------------------------------------------------------------------

std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO";
        case LogLevel::warning: return "WARNING";
        case LogLevel::error: return "ERROR";
        case LogLevel::critical: return "CRITICAL";
    }
    return "INFO";
}

namespace {
std::optional<LogLevel> try_parse_log_level(std::string_view text) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "DEBUG") return LogLevel::debug;
    if (upper == "INFO") return LogLevel::info;
    if (upper == "WARNING" || upper == "WARN") return LogLevel::warning;
    if (upper == "ERROR") return LogLevel::error;
    if (upper == "CRITICAL" || upper == "FATAL") return LogLevel::critical;
    return std::nullopt;
}
}  // namespace

LogLevel parse_log_level(std::string_view text) {
    if (auto level = try_parse_log_level(text)) return *level;
    throw Error(ErrorCode::invalid_argument,
                "unknown log level '" + std::string(text.substr(0, 32)) + "' (DEBUG, INFO, WARNING, ERROR, CRITICAL)");
}

AuditLogOptions AuditLogOptions::compliance(std::string service_name) {
    AuditLogOptions o;
    o.service_name = std::move(service_name);
    o.max_records = 5;
    o.max_interval = milliseconds(15'000);
    return o;
}

AuditLogOptions AuditLogOptions::high_volume(std::string service_name) {
    AuditLogOptions o;
    o.service_name = std::move(service_name);
    o.max_records = 50;
    o.max_interval = milliseconds(60'000);
    o.min_level = LogLevel::warning;
    return o;
}

namespace {
constexpr std::uint64_t min_journal_cap = 64 * 1024;
}  // namespace

void AuditLogOptions::validate() const {
    auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "AuditLogOptions: " + what); };
    if (service_name.empty()) bad("service_name is empty");
    if (max_records == 0) bad("max_records must be at least 1");
    if (max_bytes == 0) bad("max_bytes must be at least 1");
    if (max_interval.count() <= 0) bad("max_interval must be positive");
    if (retention_days < 0) bad("retention_days must not be negative");
    if (fsync_interval.count() < 0) bad("fsync_interval must not be negative");
    if (journal_segment_bytes == 0) bad("journal_segment_bytes must be at least 1");
    if (journal_ring_bytes < 64 * 1024) bad("journal_ring_bytes must be at least 64 KiB");
    if (max_journal_bytes < min_journal_cap)
        bad("max_journal_bytes must be at least 64 KiB (the journal frees disk a segment at a time, and a segment "
            "holds a quarter of the cap)");
    if (checkpoint_batches == 0) bad("checkpoint_batches must be at least 1");
    if (checkpoint_interval.count() <= 0) bad("checkpoint_interval must be positive");
    if (retry_initial.count() <= 0 || retry_max < retry_initial) bad("retry_initial must be positive and <= retry_max");
    if (block_timeout.count() < 0 || close_timeout.count() < 0 || close_max_wait.count() < 0)
        bad("timeouts must not be negative");
    if (max_retries < 1) bad("max_retries must be at least 1");
    if (max_in_flight < 1 || max_in_flight > 64) bad("max_in_flight must be 1 to 64");
    if (prefix.find("//") != std::string::npos || (!prefix.empty() && prefix.front() == '/'))
        bad("prefix must be a relative key prefix without empty segments");
}

fs::path default_journal_dir(std::string_view service_name, std::string_view store_uri, std::string_view prefix) {
    fs::path base;
    if (const std::string dir = detail::env_or_empty("WORM_LOG_JOURNAL_DIR"); !dir.empty()) {
        base = dir;
    } else if (const std::string state = detail::env_or_empty("XDG_STATE_HOME"); !state.empty()) {
        base = fs::path(state) / "worm" / "audit-journal";
    } else {
        const std::string home = detail::env_or_empty("HOME");
        base = fs::path(home.empty() ? "/tmp" : home) / ".local" / "state" / "worm" / "audit-journal";
    }
    const std::string digest = sha256_hex(std::string(store_uri) + "\n" + std::string(prefix)).substr(0, 12);
    return base / (al::key_safe_request_id(service_name) + "-" + digest);
}

std::shared_ptr<ObjectStore> witness_store_from_env() {
    const std::string url = detail::env_or_empty("WORM_LOG_WITNESS_STORE");
    if (url.empty()) return nullptr;
    return open_store(url);
}

std::shared_ptr<const Ed25519PrivateKey> signing_key_from_env() {
    const std::string path = detail::env_or_empty("WORM_LOG_SIGNING_KEY");
    if (path.empty()) return nullptr;
    return std::make_shared<const Ed25519PrivateKey>(load_private_key(path, key_password_from_env()));
}

// ---- the sink's shared state ----------------------------------------------------------

namespace {

// The batch's facts for its key, metadata and checkpoint entry, from its records.
struct BatchFacts {
    std::string first_timestamp, last_timestamp, request_id, service_name, log_level;
    std::optional<LogLevel> highest;  // of the records whose level is a known name

    // Adds the next record's facts (the same rules as facts_of).
    void add(std::string_view timestamp, std::string_view level, std::optional<LogLevel> known,
             std::string_view first_request_id, std::string_view first_service_name, bool first) {
        if (first) {
            first_timestamp = timestamp;
            request_id = first_request_id;
            service_name = first_service_name;
            log_level = level;
        }
        last_timestamp = timestamp;
        if (known && (!highest || *known > *highest)) {
            highest = known;
            log_level = std::string(to_string(*known));
        }
    }
};

struct PendingBatch {
    std::uint64_t sequence = 0;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;             // record bytes plus frame overhead (the cap's unit)
    // Memory mode: the batch's JSON Lines text (disk mode reads the records back from the
    // journal). Shared, so that the uploader's copy of the batch does not copy the text.
    std::shared_ptr<std::string> body;
    std::optional<BatchFacts> facts;     // unset for batches replayed from the journal
    SteadyTime first_accepted{};

    // A batch known only from the journal (after a restart, or unlisted during a backlog):
    // its facts come from its records when it is stored.
    static PendingBatch in_journal(const al::detail::BatchRange& range, SteadyTime first_accepted) {
        PendingBatch b;
        b.sequence = range.sequence;
        b.records = range.records;
        b.first_accepted = first_accepted;
        return b;
    }
};

// What the store has confirmed, persisted in the journal's state.json (disk mode).
struct UploadState {
    std::string stream;
    std::optional<std::uint64_t> stored_through;
    std::string previous_batch_sha256;
    std::uint64_t checkpoint_sequence = 0;
    std::string previous_checkpoint_sha256;
    std::string previous_signature;
    std::vector<al::CheckpointEntry> uncovered;  // stored, not in a checkpoint yet
    // A checkpoint built but not confirmed stored: retried with the same bytes.
    std::optional<std::pair<std::string, std::string>> pending_checkpoint;  // json, .sig line ("" unsigned)
    // Records in the stored checkpoints, for the witness; unknown for a state file written
    // before the sink counted them.
    std::optional<std::uint64_t> checkpointed_records = 0;
};

std::string state_to_json(const UploadState& s) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    auto str = [&](std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
    w.StartObject();
    str("stream"), str(s.stream);
    str("stored_through"), s.stored_through ? (void)w.Uint64(*s.stored_through) : (void)w.Null();
    str("previous_batch_sha256"), str(s.previous_batch_sha256);
    str("checkpoint_sequence"), w.Uint64(s.checkpoint_sequence);
    str("previous_checkpoint_sha256"), str(s.previous_checkpoint_sha256);
    str("previous_signature"), str(s.previous_signature);
    // The uncovered batches travel as a checkpoint document (one serializer for entries).
    al::Checkpoint holder;
    holder.stream = s.stream;
    holder.batches = s.uncovered;
    str("uncovered"), str(al::serialize_checkpoint(holder));
    str("pending_checkpoint");
    if (s.pending_checkpoint) {
        w.StartArray();
        str(s.pending_checkpoint->first), str(s.pending_checkpoint->second);
        w.EndArray();
    } else {
        w.Null();
    }
    str("checkpointed_records"), s.checkpointed_records ? (void)w.Uint64(*s.checkpointed_records) : (void)w.Null();
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
}

UploadState state_from_json(std::string_view text) {
    const auto doc = json::parse_strict(text, "audit log journal state.json");
    constexpr auto code = ErrorCode::parse;
    UploadState s;
    s.stream = json::require_string(doc, "stream", "", code);
    const auto& through = json::require_member(doc, "stored_through", "", code);
    if (through.IsUint64()) s.stored_through = through.GetUint64();
    s.previous_batch_sha256 = json::require_string(doc, "previous_batch_sha256", "", code);
    s.checkpoint_sequence = static_cast<std::uint64_t>(json::require_int64(doc, "checkpoint_sequence", "", code));
    s.previous_checkpoint_sha256 = json::require_string(doc, "previous_checkpoint_sha256", "", code);
    s.previous_signature = json::require_string(doc, "previous_signature", "", code);
    s.uncovered = al::parse_checkpoint(json::require_string(doc, "uncovered", "", code)).batches;
    const auto& pending = json::require_member(doc, "pending_checkpoint", "", code);
    if (pending.IsArray() && pending.Size() == 2 && pending[0].IsString() && pending[1].IsString())
        s.pending_checkpoint = std::pair{std::string(pending[0].GetString(), pending[0].GetStringLength()),
                                         std::string(pending[1].GetString(), pending[1].GetStringLength())};
    const auto* records = json::find_member(doc, "checkpointed_records");
    s.checkpointed_records = records && records->IsUint64() ? std::optional(records->GetUint64()) : std::nullopt;
    return s;
}

std::string random_stream_id() {
    std::random_device rd;
    const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string string_member(const rapidjson::Value& object, const char* name) {
    const auto* v = json::find_member(object, name);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

// "YYYY-MM-DD..." with digits where they belong: enough to place the batch in its day folder.
bool looks_like_date_time(std::string_view t) {
    if (t.size() < 10 || t[4] != '-' || t[7] != '-') return false;
    for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (t[static_cast<size_t>(i)] < '0' || t[static_cast<size_t>(i)] > '9') return false;
    return true;
}

// Adds one record's facts to those of a batch read back from the journal after a restart
// (batches accepted by this process collect them in log() instead, without parsing).
void add_journaled_facts(BatchFacts& f, std::string_view line, bool first) {
    rapidjson::Document d;
    d.Parse(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject()) throw Error(ErrorCode::integrity, "audit log: a journaled record is not JSON");
    const std::string level = string_member(d, "level");
    f.add(string_member(d, "timestamp"), level, try_parse_log_level(level), string_member(d, "request_id"),
          string_member(d, "service_name"), first);
}

// Now as "YYYY-MM-DDTHH:MM:SS.mmmZ". The text up to the second is formatted once per second
// and thread; strftime for every record was a fifth of log()'s own cost.
std::string_view now_millis_text() {
    thread_local std::chrono::seconds cached_second{-1};
    thread_local std::string text;
    const TimePoint now = system_clock().now();
    const auto second = std::chrono::floor<std::chrono::seconds>(now);
    if (second.time_since_epoch() != cached_second) {
        text = format_rfc3339_millis(TimePoint(second));
        cached_second = second.time_since_epoch();
    }
    auto millis = static_cast<unsigned>(std::chrono::duration_cast<std::chrono::milliseconds>(now - second).count());
    for (std::size_t i = text.size() - 2; i >= text.size() - 4; --i, millis /= 10) text[i] = static_cast<char>('0' + millis % 10);
    return text;
}

// The sink's own threads (uploader, syncer) run as SCHED_BATCH on Linux: the same share of
// the CPU, but when they wake up they do not preempt a running thread, which with every core
// busy is a caller in the middle of log(). With one logging thread on two cores, the p99 of
// log() in journal mode went from 3.0-9.8 us to 2.5-3.3 us (docs/audit-log-journal.md).
void run_in_background() {
#if defined(__linux__)
    sched_param param{};
    ::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);  // best effort: a hint only
#endif
}

// What log() knows of a record without parsing it again: its batch's facts come from these.
struct RecordFacts {
    std::string_view timestamp, level, request_id, service_name;
    std::optional<LogLevel> known_level;
};

constexpr std::size_t max_memory_record_bytes = 64u * 1024 * 1024;
// Disk mode lists this many waiting batches in memory; the rest of a backlog is only counted
// and listed again from the journal as the front ones are stored, so an outage costs disk.
constexpr std::size_t listed_batches = 1024;
constexpr std::chrono::milliseconds state_write_interval{100};
// Memory mode keeps this many stored batches' buffers for the next batches: with several
// batches waiting, one spare left the others to grow from nothing under the mutex (a
// reallocation, and a page fault every 4 KiB of fresh memory, in log() calls).
constexpr std::size_t max_spare_bodies = 4;

// One line on stderr for an operator (the sink has no logger of its own: it is the logger).
void tell_stderr(const std::string& line) {
    std::fprintf(stderr, "worm audit log: %s\n", line.c_str());
}

std::string describe_cap(std::uint64_t used, std::uint64_t cap) {
    return "audit log backlog is at its cap (" + std::to_string(used) + " of " + std::to_string(cap) +
           " bytes): record refused";
}

// A batch on its way to the store: built in order by the uploader (its previous-batch
// hash is the one built before it), PUT by a putter thread, committed in order.
struct Flight {
    PendingBatch batch;
    std::string key, sha;
    std::uint64_t records = 0;
    std::string first_timestamp, last_timestamp;
    PutBody body;
    PutOptions put;
    std::atomic<bool> done{false};
    int attempts = 0;  // putter only
};

}  // namespace

struct AuditLogSink::Core : std::enable_shared_from_this<AuditLogSink::Core> {
    std::shared_ptr<ObjectStore> store;
    AuditLogOptions options;
    std::unique_ptr<al::detail::Journal> journal;  // null in memory mode

    mutable std::mutex mutex;
    std::condition_variable work_cv, space_cv, progress_cv;
    // The syncer waits on its own mutex: waking every fsync interval, it would otherwise take
    // the sink's mutex from log() callers (who then pay a futex wake to hand it back).
    std::mutex sync_mutex;
    std::condition_variable sync_cv;
    bool sync_stopping = false;  // guarded by sync_mutex

    // log() holds `mutex` for a few hundred nanoseconds; the uploader briefly, once a batch.
    // They spin before parking on it (util/spin_lock_first.hpp): with more logging threads
    // than cores, a parked caller waited tens of microseconds for a core after the hand-over.
    std::unique_lock<std::mutex> lock_spinning() const {
        std::unique_lock lock(mutex, std::defer_lock);
        worm::detail::spin_lock_first(lock);
        return lock;
    }

    // Guarded by mutex.
    std::deque<PendingBatch> ready;  // sealed, not stored, in order; at most listed_batches in disk mode
    // Disk mode: sealed batches after ready's, not listed (only in the journal).
    struct Unlisted {
        std::uint64_t batches = 0, records = 0;
        std::uint64_t first_sequence = 0;
        SteadyTime since{};  // when the first of them was accepted (the age reported for all)
    } unlisted;
    // Memory mode: the open batch's JSON Lines, and the buffers of stored batches kept for the
    // next ones, so that log() neither reallocates nor touches fresh pages as a batch grows.
    std::string open_body;
    std::vector<std::string> spare_bodies;  // at most max_spare_bodies
    std::uint64_t open_records = 0, open_bytes = 0;
    std::optional<SteadyTime> open_since;
    BatchFacts open_facts;
    bool open_facts_complete = true;  // false when the open batch began in an earlier process
    std::uint64_t next_sequence = 0;
    std::uint64_t memory_bytes = 0;
    bool closed = false, stopping = false, uploader_exited = false, threads_stopped = false;
    bool state_dirty = false;  // state has progress the state file does not
    bool store_failing = false;  // the store's last answer to a PUT was a failure
    SteadyTime last_state_write{};
    int flush_waiters = 0;
    UploadState state;
    std::optional<SteadyTime> uncovered_since;
    AuditLogStats counters;

    // Metadata names spelled with '-' (the endpoint drops '_' names): set by whichever PUT
    // finds out, read by all.
    std::atomic<bool> hyphenated_metadata{false};
    int failed_attempts = 0;  // uploader only: in a row, at the current checkpoint or journal read

    // Batches in flight, oldest first (uploader only): ready's first in_flight.size() batches.
    std::deque<std::shared_ptr<Flight>> in_flight;
    // The putters' queue, on its own mutex so that handing work over never touches log()'s.
    std::mutex put_mutex;
    std::condition_variable put_cv;
    std::deque<std::shared_ptr<Flight>> put_queue;  // guarded by put_mutex
    bool put_stopping = false;                               // guarded by put_mutex
    std::size_t putters_exited = 0;                          // guarded by put_mutex

    std::thread uploader, syncer;
    std::vector<std::thread> putters;

    // ---- accepting -------------------------------------------------------------------

    // The per-record layout never grows a batch: one record is one object.
    bool per_record() const { return options.layout == AuditLogLayout::per_record; }

    std::uint64_t backlog_bytes_locked() const { return journal ? journal->bytes() : memory_bytes; }

    // Closes the open batch. True when there was one: the caller wakes the uploader
    // (work_cv), after letting go of the mutex when it can, so that the woken uploader does
    // not park on a mutex still held.
    bool seal_locked() {
        if (open_records == 0) return false;
        PendingBatch b;
        b.sequence = next_sequence++;
        b.records = open_records;
        b.bytes = open_bytes + open_records * al::detail::Journal::frame_overhead;
        b.first_accepted = *open_since;
        if (open_facts_complete) b.facts = std::move(open_facts);
        open_facts = {};
        open_facts_complete = true;
        if (journal) journal->seal(b.sequence);
        else {
            b.body = std::make_shared<std::string>(std::move(open_body));
            if (spare_bodies.empty()) {
                open_body = {};
            } else {
                open_body = std::move(spare_bodies.back());
                spare_bodies.pop_back();
                open_body.clear();
            }
        }
        if (journal && (unlisted.batches > 0 || ready.size() >= listed_batches)) {
            if (unlisted.batches == 0) unlisted = {0, 0, b.sequence, b.first_accepted};
            ++unlisted.batches;
            unlisted.records += b.records;
        } else {
            ready.push_back(std::move(b));
        }
        open_records = open_bytes = 0;
        open_since.reset();
        return true;
    }

    void accept(std::string_view line, const RecordFacts& facts) {
        std::unique_lock lock = lock_spinning();
        if (closed) throw Error(ErrorCode::storage, "audit log sink is closed");
        const std::uint64_t need = line.size() + al::detail::Journal::frame_overhead;
        const std::uint64_t cap = options.max_journal_bytes;
        // The journal spends more than the record: its frame, and room for the seal and the
        // next segment's mark frame that may follow, so the cap is never passed.
        const std::uint64_t reserve = journal ? al::detail::Journal::record_overhead - al::detail::Journal::frame_overhead +
                                                    al::detail::Journal::seal_and_mark_bytes
                                              : 0;
        if (backlog_bytes_locked() + need + reserve > cap) {
            if (seal_locked()) work_cv.notify_one();  // so what is open can leave and make room
            const auto room = [&] { return closed || backlog_bytes_locked() + need + reserve <= cap; };
            // Block waits while room is coming: while the store took something within the last
            // block_timeout, or a batch is on its way and the store's last answer was not a
            // failure. Refused after a block_timeout without either (the store is away, or
            // nothing waits that could free room).
            bool waited = false;
            while (options.policy == BackpressurePolicy::block) {
                const std::uint64_t progress = counters.batches_stored + counters.checkpoints_stored;
                if (space_cv.wait_for(lock, options.block_timeout, room)) {
                    waited = !closed;
                    break;
                }
                const bool coming = counters.batches_stored + counters.checkpoints_stored != progress ||
                                    (!store_failing && (!ready.empty() || state.pending_checkpoint));
                if (closed || !coming) break;
            }
            if (!waited) {
                ++counters.refused;
                throw Error(ErrorCode::storage, describe_cap(backlog_bytes_locked(), cap));
            }
        }
        if (journal) {
            journal->append_record(line);
            if (options.fsync_interval.count() == 0) journal->sync();
            else if (journal->drain_due()) sync_cv.notify_one();
        } else {
            if (line.size() > max_memory_record_bytes)
                throw Error(ErrorCode::invalid_argument, "audit log record is larger than 64 MiB");
            memory_bytes += need;
            open_body.append(line).push_back('\n');
        }
        if (open_records == 0) open_since = std::chrono::steady_clock::now();
        open_facts.add(facts.timestamp, facts.level, facts.known_level, facts.request_id, facts.service_name,
                       open_records == 0);
        ++open_records;
        open_bytes += need - al::detail::Journal::frame_overhead;
        ++counters.accepted;
        // Under a backlog (every place in flight taken) a full batch keeps growing up to
        // max_bytes: the uploader seals it when a place frees, or at max_interval.
        const bool full = (open_records >= options.max_records && (ready.size() < options.max_in_flight || per_record())) ||
                          open_bytes >= options.max_bytes;
        if (full && seal_locked()) {
            lock.unlock();
            work_cv.notify_one();
        }
    }

    // ---- storing ---------------------------------------------------------------------

    void record_error_locked(const std::string& message) {
        counters.last_error = message;
        counters.last_error_time = system_clock().now();
    }

    // `state` is written by the uploader thread only (and by the constructor, before the
    // threads start), under the mutex since others read it; so the uploader reads it without
    // the mutex, and serializes it, builds and signs checkpoints, and writes the state file
    // outside it: log() never waits for that. A batch's progress is written at most every
    // state_write_interval when puts are create-only: after a crash the batches stored since
    // are put again, find themselves in the store with the same bytes, and count as stored.
    // Checkpoints are written at once.
    std::string state_text() {
        state_dirty = false;
        last_state_write = std::chrono::steady_clock::now();
        return state_to_json(state);
    }
    bool batch_state_due_locked(SteadyTime now) const {
        return !options.create_only || now - last_state_write >= state_write_interval;
    }
    // Writes the state text, then lets the journal delete what that state says is stored.
    void write_state(const std::optional<std::string>& text, std::optional<std::uint64_t> stored_through) {
        if (!journal || !text) return;
        journal->write_state(*text);
        if (stored_through) journal->release_through(*stored_through);
    }
    // True when it wrote (the mutex was let go meanwhile: the caller looks again at the work).
    bool write_state_if_dirty(std::unique_lock<std::mutex>& lock) {
        if (!journal || !state_dirty || !state.stored_through) return false;
        const std::uint64_t through = *state.stored_through;
        lock.unlock();
        const std::string text = state_text();
        try {
            write_state(text, through);
        } catch (...) {
            lock.lock();
            state_dirty = true;
            throw;
        }
        lock.lock();
        space_cv.notify_all();  // segments may have been released
        return true;
    }

    PutOptions put_options(std::string content_type, std::string sha256) const {
        PutOptions o;
        o.content_type = std::move(content_type);
        o.if_none_match = options.create_only;
        o.sha256_hex = std::move(sha256);
        // The SHA-256 goes out as x-amz-checksum-sha256, which S3 checks and accepts for Object
        // Lock; an MD5 pass as well cost the uploader a quarter of its CPU per batch.
        o.content_md5 = false;
        if (options.retention_days > 0)
            o.lock.retention = Retention{options.lock_mode,
                                         system_clock().now() + std::chrono::hours(24) * options.retention_days};
        return o;
    }

    // A put with the seed's metadata names. An endpoint that drops header names holding '_'
    // (werkzeug, nginx's default) breaks the signature: SignatureDoesNotMatch. Then the names
    // are spelled with '-' from here on (readers take either), said once on stderr.
    void put_named(ObjectStore& to, const std::string& key, const PutBody& body, PutOptions& o) {
        const bool seed_names = !hyphenated_metadata;  // another putter may find out meanwhile
        if (!seed_names) hyphenate(o);
        try {
            to.put(key, body, o);
        } catch (const S3Error& e) {
            if (!seed_names || e.s3_code() != "SignatureDoesNotMatch" || !hyphenate(o)) throw;
            to.put(key, body, o);
            if (!hyphenated_metadata.exchange(true))
                tell_stderr("the endpoint refuses metadata names with '_' (SignatureDoesNotMatch); writing service-name, "
                        "request-id, log-level, worm-handler-version instead of the seed's service_name, ...");
        }
    }
    // True when a name changed.
    static bool hyphenate(PutOptions& o) {
        bool changed = false;
        std::map<std::string, std::string> renamed;
        for (auto& [name, value] : o.metadata) {
            std::string n = al::seed_metadata_name(name, true);
            changed = changed || n != name;
            renamed.emplace(std::move(n), std::move(value));
        }
        o.metadata = std::move(renamed);
        return changed;
    }

    // Create-only put; an object already there with the same bytes is ours (a retry after a
    // lost response, or after a restart) and counts as stored.
    void put_create_only(const std::string& key, const PutBody& body, PutOptions o) {
        put_create_only(*store, key, body, std::move(o));
    }
    void put_create_only(ObjectStore& to, const std::string& key, const PutBody& body, PutOptions o) {
        try {
            put_named(to, key, body, o);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::already_exists) throw;
            std::string existing;
            try {
                existing = to.head(key).sha256_hex;
            } catch (const Error&) {
            }
            if (existing.empty()) existing = sha256_hex(to.get(key));
            if (existing != *o.sha256_hex)
                throw Error(ErrorCode::integrity, "audit log: " + key + " already exists with other content");
        }
    }

    // Builds the batch's object. Reads `state.stream` without the mutex (set once).
    std::shared_ptr<Flight> prepare_batch(const PendingBatch& b, const std::string& previous_sha) {
        // Disk mode: the records go from the journal straight into one JSON Lines body.
        std::string journal_body;
        std::uint64_t records = b.records;
        BatchFacts journaled;
        if (journal) {
            journal_body.reserve(b.bytes);
            records = 0;
            journal->visit_batch(b.sequence, [&](std::string_view line) {
                if (!b.facts) add_journaled_facts(journaled, line, records == 0);
                journal_body.append(line).push_back('\n');
                ++records;
            });
        }
        std::string body = journal ? std::move(journal_body) : *b.body;
        if (per_record() && !body.empty() && body.back() == '\n') body.pop_back();  // the record's JSON alone
        const BatchFacts& f = b.facts ? *b.facts : journaled;
        auto flight = std::make_shared<Flight>();
        flight->batch = b;
        flight->key = per_record() ? al::record_key(options.prefix, f.first_timestamp, f.request_id, state.stream, b.sequence)
                                 : al::batch_key(options.prefix, f.first_timestamp, f.request_id, state.stream, b.sequence);
        flight->sha = sha256_hex(body);
        flight->records = records;
        flight->first_timestamp = f.first_timestamp;
        flight->last_timestamp = f.last_timestamp;
        flight->put = put_options(per_record() ? "application/json" : "application/x-ndjson", flight->sha);
        flight->put.metadata = {{"service_name", f.service_name.empty() ? options.service_name : f.service_name},
                                {"request_id", f.request_id},
                                {"log_level", f.log_level},
                                {"timestamp", f.first_timestamp},
                                {"worm_handler_version", std::string(al::handler_version)},
                                {"stream", state.stream},
                                {"sequence", std::to_string(b.sequence)},
                                {"record-count", std::to_string(records)},
                                {"first-timestamp", f.first_timestamp},
                                {"last-timestamp", f.last_timestamp},
                                {"previous-batch-sha256", previous_sha}};
        flight->body = PutBody::from_bytes(std::move(body));  // moved, not copied (a batch is some 330 KB)
        return flight;
    }

    // The store has the batch: the state moves on (batches are committed in sequence order).
    void commit_batch(const Flight& flight) {
        const PendingBatch& b = flight.batch;
        std::optional<std::string> new_state;
        {
            const auto lock = lock_spinning();
            state.stored_through = b.sequence;
            state.previous_batch_sha256 = flight.sha;
            state.uncovered.push_back(
                {b.sequence, flight.key, flight.sha, flight.records, flight.first_timestamp, flight.last_timestamp});
            if (!uncovered_since) uncovered_since = std::chrono::steady_clock::now();
            ready.pop_front();
            counters.stored += b.records;
            ++counters.batches_stored;
            if (!journal) memory_bytes -= b.bytes;
            state_dirty = true;
        }
        if (journal && batch_state_due_locked(std::chrono::steady_clock::now())) new_state = state_text();
        // If this fails the store's copy wins at the next start (create-only).
        write_state(new_state, b.sequence);
    }

    // Counts a failed attempt (the uploader's or a putter's) and reports the item failing
    // once it has failed max_retries attempts in a row.
    void count_failure_locked(int attempts, const std::string& what, const std::exception& e) {
        ++counters.batches_retried;
        record_error_locked(e.what());
        store_failing = true;
        if (attempts == options.max_retries) {
            ++counters.batches_failed;
            tell_stderr(what + " of stream " + state.stream + " failed " + std::to_string(attempts) + " attempts (" +
                        e.what() + "); it stays in the journal and is retried");
        }
    }

    // A putter thread: PUTs the flights handed to it, each until it is stored (or the sink stops).
    void run_putter() {
        std::unique_lock lock(put_mutex);
        for (;;) {
            put_cv.wait(lock, [&] { return put_stopping || !put_queue.empty(); });
            if (put_stopping) break;
            std::shared_ptr<Flight> flight = std::move(put_queue.front());
            put_queue.pop_front();
            lock.unlock();
            milliseconds backoff = options.retry_initial;
            for (;;) {
                try {
                    put_create_only(flight->key, flight->body, flight->put);
                    flight->done = true;
                    {
                        std::lock_guard guard(mutex);  // the uploader is waiting, or will see it
                        store_failing = false;
                    }
                    work_cv.notify_all();
                    break;
                } catch (const std::exception& e) {
                    {
                        std::lock_guard guard(mutex);
                        count_failure_locked(++flight->attempts, "batch " + std::to_string(flight->batch.sequence), e);
                    }
                    std::unique_lock wait(put_mutex);
                    if (put_cv.wait_for(wait, backoff, [&] { return put_stopping; })) break;
                    backoff = std::min(backoff * 2, options.retry_max);
                }
            }
            lock.lock();
            if (put_stopping) break;
        }
        ++putters_exited;
        lock.unlock();
        put_cv.notify_all();  // close() waits for every putter
    }

    bool checkpoint_due_locked(SteadyTime now) const {
        if (state.pending_checkpoint) return true;
        if (state.uncovered.empty()) return false;
        if (state.uncovered.size() >= options.checkpoint_batches) return true;
        if (flush_waiters > 0 && ready.empty() && unlisted.batches == 0 && open_records == 0) return true;
        return uncovered_since && now - *uncovered_since >= options.checkpoint_interval;
    }

    void store_checkpoint() {
        if (!state.pending_checkpoint) {  // built and signed outside the mutex (see state_text)
            al::Checkpoint c;
            c.stream = state.stream;
            c.sequence = state.checkpoint_sequence;
            c.created_at = format_rfc3339_millis(system_clock().now());
            c.previous_checkpoint_sha256 = state.previous_checkpoint_sha256;
            c.previous_signature = state.previous_signature;
            c.batches = state.uncovered;
            std::string text = al::serialize_checkpoint(c);
            std::string signature = options.signing_key ? make_signature_line(*options.signing_key, text) : std::string();
            decltype(state.uncovered) covered;  // freed after the mutex is let go
            {
                const auto lock = lock_spinning();
                covered.swap(state.uncovered);
                state.pending_checkpoint = {std::move(text), std::move(signature)};
                uncovered_since.reset();
            }
            if (journal) write_state(state_text(), state.stored_through);
        }
        // This thread alone resets the pending checkpoint (below, after its last use here).
        const auto& [text, signature] = *state.pending_checkpoint;
        const std::string key = al::checkpoint_key(options.prefix, state.stream, state.checkpoint_sequence);
        const std::string text_sha256 = sha256_hex(text);
        PutOptions o = put_options("application/json", text_sha256);
        o.metadata = {{"stream", state.stream},
                      {"checkpoint-sequence", std::to_string(state.checkpoint_sequence)},
                      {"worm_handler_version", std::string(al::handler_version)}};
        put_create_only(key, PutBody::from_bytes(text), std::move(o));
        if (!signature.empty()) {
            PutOptions so = put_options("text/plain", sha256_hex(signature));
            put_create_only(key.substr(0, key.size() - 5) + ".sig", PutBody::from_bytes(signature), so);
        }
        std::string previous_signature = signature.empty() ? std::string() : signature.substr(0, signature.size() - 1);
        const std::optional<std::uint64_t> records = write_witness(text, signature);
        {
            const auto lock = lock_spinning();
            state.checkpointed_records = records;
            state.previous_checkpoint_sha256 = text_sha256;
            state.previous_signature = std::move(previous_signature);
            ++state.checkpoint_sequence;
            state.pending_checkpoint.reset();
            if (!state.uncovered.empty()) uncovered_since = std::chrono::steady_clock::now();
            ++counters.checkpoints_stored;
        }
        if (journal) write_state(state_text(), state.stored_through);
    }

    // The witness of the checkpoint just stored (audit_log/witness.hpp), written after it so
    // that a witness never names a checkpoint the store may not hold. Returns the records
    // in the checkpoints through this one (for the state). A write that fails is reported
    // and left: the next checkpoint's witness supersedes it, and no record waits for it.
    std::optional<std::uint64_t> write_witness(const std::string& text, const std::string& signature) {
        const al::Witness w = al::make_witness(text, signature, state.checkpointed_records);
        const std::string json_text = al::serialize_witness(w);
        auto failed = [&](const std::string& where, const std::exception& e) {
            {
                std::lock_guard lock(mutex);
                record_error_locked("witness " + where + ": " + e.what());
            }
            tell_stderr("the witness of checkpoint " + std::to_string(w.checkpoint_sequence) + " of stream " + w.stream +
                        " was not written to " + where + " (" + e.what() + "); the next checkpoint's will be");
        };
        if (journal) {
            try {
                WriteOptions o;
                o.mode = fs::perms::owner_read | fs::perms::owner_write;
                write_file_atomic(journal->dir() / al::witness_file_name, json_text, o);
            } catch (const std::exception& e) {
                failed("the journal directory", e);
            }
        }
        if (options.witness_store) {
            try {
                PutOptions o = put_options("application/json", sha256_hex(json_text));
                o.metadata = {{"stream", w.stream},
                              {"checkpoint-sequence", std::to_string(w.checkpoint_sequence)},
                              {"worm_handler_version", std::string(al::handler_version)}};
                put_create_only(*options.witness_store, al::witness_key(options.prefix, w.stream, w.checkpoint_sequence),
                                PutBody::from_bytes(json_text), std::move(o));
            } catch (const std::exception& e) {
                failed("the witness store", e);
            }
        }
        return w.records;
    }

    bool clean_locked() const {
        return ready.empty() && unlisted.batches == 0 && open_records == 0 && state.uncovered.empty() &&
               !state.pending_checkpoint;
    }

    // Lists unlisted batches again from the journal once half of ready has been stored. The
    // journal is read without holding the mutex, so log() does not wait for it; only this
    // thread removes batches from ready or from unlisted.
    void list_more(std::unique_lock<std::mutex>& lock) {
        if (unlisted.batches == 0 || ready.size() > listed_batches / 2) return;
        const std::uint64_t from = unlisted.first_sequence;
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(unlisted.batches, listed_batches - ready.size()));
        lock.unlock();
        std::vector<al::detail::BatchRange> ranges;
        try {
            ranges = journal->batches_from(from, want);
        } catch (...) {
            lock.lock();
            throw;
        }
        lock.lock();
        for (const auto& range : ranges) {
            if (unlisted.batches == 0 || range.sequence != unlisted.first_sequence) break;
            ready.push_back(PendingBatch::in_journal(range, unlisted.since));
            ++unlisted.first_sequence;
            --unlisted.batches;
            unlisted.records -= range.records;
        }
    }

    // store_checkpoint() without the mutex; a success resets the retry state.
    void store_checkpoint_unlocked(std::unique_lock<std::mutex>& lock, milliseconds& backoff) {
        lock.unlock();
        store_checkpoint();
        lock.lock();
        backoff = options.retry_initial;
        failed_attempts = 0;
        store_failing = false;
        progress_cv.notify_all();
    }

    void run_uploader() {
        milliseconds backoff = options.retry_initial;
        std::string chain_sha;  // the previous-batch hash for the next batch built
        std::unique_lock lock(mutex);
        while (!stopping) {
            try {
                list_more(lock);
            } catch (const std::exception& e) {
                count_failure_locked(++failed_attempts, "reading the journal", e);
                work_cv.wait_for(lock, backoff, [&] { return stopping; });
                backoff = std::min(backoff * 2, options.retry_max);
                continue;
            }
            const auto now = std::chrono::steady_clock::now();
            // A full batch waits for a free place in flight (growing meanwhile, see accept);
            // none waits past max_interval.
            if (open_records > 0 && (flush_waiters > 0 || now - *open_since >= options.max_interval ||
                                     (open_records >= options.max_records && ready.size() < options.max_in_flight) ||
                                     per_record()))
                seal_locked();
            try {
                // A full (or half-stored) checkpoint goes first, so each covers at most
                // checkpoint_batches batches; batches in flight go on meanwhile.
                if (state.pending_checkpoint || state.uncovered.size() >= options.checkpoint_batches) {
                    store_checkpoint_unlocked(lock, backoff);
                    continue;
                }
                if (!in_flight.empty() && in_flight.front()->done) {  // stored: commit, in order
                    std::shared_ptr<Flight> flight = std::move(in_flight.front());
                    in_flight.pop_front();
                    lock.unlock();
                    commit_batch(*flight);
                    lock = lock_spinning();
                    auto& body = flight->batch.body;
                    if (body && body.use_count() == 1 && spare_bodies.size() < max_spare_bodies)
                        spare_bodies.push_back(std::move(*body));
                    progress_cv.notify_all();
                    space_cv.notify_all();
                    continue;
                }
                if (checkpoint_due_locked(now)) {
                    store_checkpoint_unlocked(lock, backoff);
                    continue;
                }
                if (in_flight.size() < ready.size() && in_flight.size() < options.max_in_flight) {
                    const PendingBatch batch = ready[in_flight.size()];
                    if (in_flight.empty()) chain_sha = state.previous_batch_sha256;
                    lock.unlock();
                    std::shared_ptr<Flight> flight = prepare_batch(batch, chain_sha);
                    chain_sha = flight->sha;
                    {
                        std::lock_guard put_lock(put_mutex);
                        put_queue.push_back(flight);
                    }
                    put_cv.notify_one();
                    lock = lock_spinning();
                    in_flight.push_back(std::move(flight));
                    continue;
                }
            } catch (const std::exception& e) {
                if (!lock.owns_lock()) lock.lock();
                // A checkpoint's PUT, or reading a batch back from the journal, failed.
                count_failure_locked(++failed_attempts, "checkpoint " + std::to_string(state.checkpoint_sequence), e);
                work_cv.wait_for(lock, backoff, [&] { return stopping; });
                backoff = std::min(backoff * 2, options.retry_max);
                continue;
            }
            try {
                if (write_state_if_dirty(lock)) continue;  // idle: bring the state file up to date
            } catch (const std::exception& e) {
                record_error_locked(e.what());
            }
            auto wake = now + std::chrono::seconds(1);
            if (open_since) wake = std::min(wake, *open_since + options.max_interval);
            if (uncovered_since) wake = std::min(wake, *uncovered_since + options.checkpoint_interval);
            work_cv.wait_until(lock, wake);
        }
        try {
            write_state_if_dirty(lock);
        } catch (const std::exception& e) {
            record_error_locked(e.what());
        }
        uploader_exited = true;
        progress_cv.notify_all();
    }

    void run_syncer() {
        std::unique_lock lock(sync_mutex);
        while (!sync_stopping) {
            sync_cv.wait_for(lock, options.fsync_interval.count() > 0 ? options.fsync_interval : milliseconds(10),
                             [&] { return sync_stopping; });
            lock.unlock();
            try {
                journal->sync();
            } catch (const std::exception& e) {
                std::lock_guard relock(mutex);
                record_error_locked(e.what());
            }
            lock.lock();
        }
    }

    void sync_journal() {
        if (!journal) return;
        try {
            journal->sync();
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex);
            record_error_locked(e.what());
        }
    }
};

// ---- the public face ------------------------------------------------------------------

AuditLogSink::AuditLogSink(std::shared_ptr<ObjectStore> store, AuditLogOptions options)
    : core_(std::make_shared<Core>()) {
    if (!store) throw Error(ErrorCode::invalid_argument, "AuditLogSink: store is null");
    options.validate();
    Core& c = *core_;
    c.store = std::move(store);
    c.options = std::move(options);
    if (c.options.layout == AuditLogLayout::per_record) c.options.max_records = 1;
    // Every cap of at least 64 KiB is usable: the journal frees disk only a closed segment at a
    // time, and the open segment rolls once past its size after a batch, so segments and
    // batches are kept to a quarter of the cap (a 4 MiB cap with 8 MiB segments refused
    // everything once the first segment reached the cap).
    const std::uint64_t quarter = c.options.max_journal_bytes / 4;
    c.options.journal_segment_bytes = std::min(c.options.journal_segment_bytes, quarter);
    c.options.max_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(c.options.max_bytes, quarter));
    if (c.options.journal_mode == JournalMode::disk) {
        std::string uri;
        try {
            uri = c.store->uri(c.options.prefix.empty() ? "x" : c.options.prefix);
        } catch (const Error&) {
        }
        // s3://bucket/prefix names no server: records journaled for one endpoint must never
        // ship to another one with the same bucket name, so the endpoint is part of the key.
        if (auto* s3_store = dynamic_cast<s3::S3Store*>(c.store.get())) {
            const auto& config = s3_store->client().config();
            uri += "\n" + (config.endpoint.empty() ? "aws:" + config.region : config.endpoint);
        }
        fs::path dir = c.options.journal_dir.empty() ? default_journal_dir(c.options.service_name, uri, c.options.prefix)
                                                     : c.options.journal_dir;
        // Two handlers for the same service, store and prefix (the seed's compliance and
        // high-volume factories side by side) share a default name: the second takes
        // "<dir>.1", and so on. Any of them may ship what another left: same destination.
        for (int n = 1;; ++n) {
            try {
                c.journal = std::make_unique<al::detail::Journal>(dir, c.options.journal_segment_bytes,
                                                                  c.options.journal_ring_bytes);
                break;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::config || !c.options.journal_dir.empty() || n > 15) throw;
                dir = default_journal_dir(c.options.service_name, uri, c.options.prefix).string() + "." + std::to_string(n);
            }
        }
        if (auto text = c.journal->read_state()) {
            c.state = state_from_json(*text);
        } else {
            c.state.stream = random_stream_id();
            c.journal->write_state(c.state_text());
        }
        const auto now = std::chrono::steady_clock::now();
        const auto backlog = c.journal->backlog_after(c.state.stored_through);
        for (const auto& newest : {c.state.stored_through, backlog.last_sequence})
            if (newest == UINT64_MAX)
                throw Error(ErrorCode::integrity, "audit log journal " + dir.string() +
                                                      " is damaged: it names batch sequence 18446744073709551615, "
                                                      "which no sequence can follow");
        const std::uint64_t first_unstored = c.state.stored_through ? *c.state.stored_through + 1 : 0;
        std::uint64_t next = std::max(first_unstored, backlog.last_sequence ? *backlog.last_sequence + 1 : 0);
        std::uint64_t listed_records = 0;
        for (const auto& range : c.journal->batches_from(first_unstored, listed_batches)) {
            listed_records += range.records;
            c.ready.push_back(PendingBatch::in_journal(range, now));
        }
        if (backlog.batches > c.ready.size())
            c.unlisted = {backlog.batches - c.ready.size(), backlog.records - listed_records,
                          c.ready.empty() ? first_unstored : c.ready.back().sequence + 1, now};
        c.next_sequence = next;
        c.open_records = c.journal->open_records();
        c.open_bytes = c.journal->open_bytes();
        if (c.open_records > 0) {
            c.open_since = now;
            c.open_facts_complete = false;
        }
        if (c.state.stored_through) c.journal->release_through(*c.state.stored_through);
        if (!c.state.uncovered.empty()) c.uncovered_since = now;
        if (!c.journal->repair_note().empty()) c.record_error_locked("journal repaired: " + c.journal->repair_note());
    } else {
        c.state.stream = random_stream_id();
    }
    c.counters.stream = c.state.stream;
    auto self = core_;
    // Named, so that top -H and perf tell them from the application's threads.
    c.uploader = std::thread([self] {
        ::pthread_setname_np(::pthread_self(), "worm-log-upload");
        run_in_background();
        self->run_uploader();
    });
    for (std::size_t i = 0; i < c.options.max_in_flight; ++i)
        c.putters.emplace_back([self] {
            ::pthread_setname_np(::pthread_self(), "worm-log-put");
            run_in_background();
            self->run_putter();
        });
    if (c.journal)
        c.syncer = std::thread([self] {
            ::pthread_setname_np(::pthread_self(), "worm-log-sync");
            run_in_background();
            self->run_syncer();
        });
}

AuditLogSink::~AuditLogSink() {
    try {
        close(core_->options.close_timeout);
    } catch (...) {
        // A destructor must not throw; what was not stored stays in the journal.
    }
}

bool AuditLogSink::log(const rapidjson::Value& record) {
    if (!record.IsObject()) throw Error(ErrorCode::invalid_argument, "audit log record must be a JSON object");
    const auto& options = core_->options;
    // A record without a level is INFO; a level name the sink does not know is never filtered.
    const auto* level = json::find_member(record, "level");
    const std::optional<LogLevel> effective =
        !level ? std::optional(LogLevel::info)
               : level->IsString() ? try_parse_log_level(std::string_view(level->GetString(), level->GetStringLength()))
                                   : std::nullopt;
    if (effective && *effective < options.min_level) {
        std::lock_guard lock(core_->mutex);
        ++core_->counters.filtered;
        return false;
    }
    const auto* timestamp = json::find_member(record, "timestamp");
    if (timestamp && (!timestamp->IsString() ||
                      !looks_like_date_time(std::string_view(timestamp->GetString(), timestamp->GetStringLength()))))
        throw Error(ErrorCode::invalid_argument, "audit log record: timestamp must be an RFC 3339 string");
    auto view = [](const rapidjson::Value* v) {
        return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view();
    };
    RecordFacts facts;
    facts.known_level = level ? effective : std::optional(LogLevel::info);
    facts.level = level ? view(level) : "INFO";
    facts.request_id = view(json::find_member(record, "request_id"));
    const auto* service = json::find_member(record, "service_name");
    facts.service_name = service ? view(service) : std::string_view(options.service_name);
    facts.timestamp = timestamp ? view(timestamp) : now_millis_text();

    // One line buffer per thread, reused. The fields the record lacks come first, then the
    // record as the project's compact serializer writes it in one call (which also refuses
    // invalid UTF-8, NaN and Infinity, naming the member), without its opening brace.
    thread_local std::string line;
    line.assign(1, '{');
    auto add = [&](std::string_view name, std::string_view value) {
        json::append_compact(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())), line);
        line += ':';
        json::append_compact(rapidjson::Value(rapidjson::StringRef(value.data(), value.size())), line);
        line += ',';
    };
    if (!timestamp) add("timestamp", facts.timestamp);
    if (!level) add("level", "INFO");
    if (!service) add("service_name", options.service_name);
    const std::size_t open = line.size();
    try {
        json::append_compact(record, line);
    } catch (const Error& e) {
        throw Error(ErrorCode::invalid_argument, std::string("audit log record: ") + e.what());
    }
    if (record.ObjectEmpty()) {
        line.resize(open);
        if (line.back() == ',') line.back() = '}';
        else line += '}';
    } else {
        line.erase(open, 1);
    }
    core_->accept(line, facts);
    if (json::find_member(record, al::escaped_member)) {
        {
            std::lock_guard lock(core_->mutex);
            ++core_->counters.escaped;
        }
        tell_stderr("record with fields JSON cannot hold (lone surrogate, NaN) stored in escaped form, request_id " +
                    al::key_safe_request_id(facts.request_id) + " (see \"worm_escaped\")");
    }
    return true;
}

bool AuditLogSink::log_json(std::string_view record_json) {
    return log(json::parse_strict(record_json, "audit log record"));
}

bool AuditLogSink::flush(milliseconds timeout) {
    Core& c = *core_;
    bool done;
    {
        std::unique_lock lock(c.mutex);
        if (c.threads_stopped) return c.clean_locked();
        c.seal_locked();  // woken below
        ++c.flush_waiters;
        c.work_cv.notify_all();
        c.progress_cv.wait_for(lock, timeout, [&] { return c.clean_locked() || c.uploader_exited; });
        --c.flush_waiters;
        done = c.clean_locked();
    }
    c.sync_journal();
    return done;
}

bool AuditLogSink::close(milliseconds timeout) {
    Core& c = *core_;
    {
        std::lock_guard lock(c.mutex);
        if (c.threads_stopped) return c.clean_locked();
    }
    // Part of the time is kept for the uploader to stop: flushing to a store that is away
    // would otherwise use all of it, and an uploader that is not inside a PUT (waiting to
    // retry) must still be joined, so that it releases the journal before close returns.
    const milliseconds stop_reserve = std::min<milliseconds>(timeout / 2, milliseconds(250));
    const milliseconds slice = std::max<milliseconds>(timeout - stop_reserve, milliseconds(1));
    const auto progress = [&] {
        std::lock_guard lock(c.mutex);
        return c.counters.batches_stored + c.counters.checkpoints_stored;
    };
    // While the store is taking batches, close() keeps waiting past its timeout, a slice at a
    // time, up to close_max_wait: a service that exits leaves its records in WORM, not in
    // the journal. A slice without progress (the store is away or hangs) ends the wait.
    const auto hard_deadline = std::chrono::steady_clock::now() + std::max(timeout, c.options.close_max_wait);
    for (std::uint64_t before = progress();;) {
        const auto left = std::chrono::duration_cast<milliseconds>(hard_deadline - std::chrono::steady_clock::now());
        if (flush(std::min(slice, std::max(left - stop_reserve, milliseconds(0))))) break;
        const std::uint64_t after = progress();
        if (after == before || std::chrono::steady_clock::now() + stop_reserve >= hard_deadline) break;
        before = after;
    }
    const auto deadline = std::chrono::steady_clock::now() + stop_reserve;
    std::unique_lock lock(c.mutex);
    c.closed = true;
    c.stopping = true;
    c.work_cv.notify_all();
    c.space_cv.notify_all();
    {
        std::lock_guard sync_lock(c.sync_mutex);
        c.sync_stopping = true;
    }
    c.sync_cv.notify_all();
    // The uploader may be inside a PUT that blocks on the network: wait for it only until
    // the deadline, then let it finish on its own (it holds the core alive).
    const bool exited = c.progress_cv.wait_until(lock, deadline, [&] { return c.uploader_exited; });
    c.threads_stopped = true;
    const bool clean = c.clean_locked();
    std::uint64_t unstored = c.open_records + c.unlisted.records;
    for (const auto& b : c.ready) unstored += b.records;
    lock.unlock();
    if (unstored > 0)
        tell_stderr(std::to_string(unstored) + " records not stored at close (" +
                    (c.journal ? "they stay in the journal " + c.journal->dir().string() + "; the next sink for it sends them)"
                               : std::string("memory mode: they are lost)")));
    if (exited) c.uploader.join();
    else c.uploader.detach();
    {
        // Putters inside a PUT that blocks on the network are let go, as the uploader is.
        std::unique_lock put_lock(c.put_mutex);
        c.put_stopping = true;
        c.put_cv.notify_all();
        const bool all = c.put_cv.wait_until(put_lock, std::max(deadline, std::chrono::steady_clock::now()),
                                             [&] { return c.putters_exited == c.putters.size(); });
        put_lock.unlock();
        for (auto& t : c.putters) all ? t.join() : t.detach();
    }
    if (c.syncer.joinable()) c.syncer.join();
    c.sync_journal();
    return clean;
}

AuditLogStats AuditLogSink::stats() const {
    const Core& c = *core_;
    std::lock_guard lock(c.mutex);
    AuditLogStats s = c.counters;
    s.queued = c.open_records;
    for (const auto& b : c.ready) s.queued += b.records;
    s.queued += c.unlisted.records;
    s.journal_bytes = c.backlog_bytes_locked();
    std::optional<SteadyTime> oldest = !c.ready.empty()          ? std::optional(c.ready.front().first_accepted)
                                       : c.unlisted.batches > 0 ? std::optional(c.unlisted.since)
                                                                : c.open_since;
    if (oldest)
        s.oldest_unstored_age =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - *oldest);
    return s;
}

}  // namespace worm
