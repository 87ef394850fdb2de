// AuditLogSink (audit_log.hpp), the façade over the sink's parts:
//   - the record queue: log() appends to the journal (journal.hpp; memory mode: a buffer)
//     and seals batches by the batch policy (batch_policy.hpp), under the sink's mutex;
//   - the uploader thread (here): builds the sealed batches in order, hands them to the
//     batch uploader, commits what it stored in order, and writes checkpoints when due;
//   - the batch uploader (batch_uploader.hpp): max_in_flight threads that PUT batches;
//   - the checkpointer (checkpointer.hpp): checkpoint objects, signatures and witnesses;
//   - the journal syncer (journal_syncer.hpp): the group commit thread.
// All objects go out through one ObjectWriter (object_writer.hpp); every retry waits as the
// library's Backoff says (worm/retry.hpp: full jitter from retry_initial up to retry_max),
// and never gives up: a record is never dropped.
#include <rapidjson/document.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "background_thread.hpp"
#include "batch.hpp"
#include "batch_policy.hpp"
#include "batch_uploader.hpp"
#include "checkpointer.hpp"
#include "journal.hpp"
#include "journal_syncer.hpp"
#include "log_level.hpp"
#include "log_value.hpp"
#include "object_writer.hpp"
#include "operator_note.hpp"
#include "upload_state.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"
#include "worm/retry.hpp"
#include "worm/s3/store.hpp"

#include "../util/guarded.hpp"
#include "../util/spin_lock_first.hpp"

namespace worm {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
namespace al = audit_log;
using al::detail::BatchFacts;
using al::detail::Flight;
using al::detail::PendingBatch;
using al::detail::RecordFacts;
using al::detail::SteadyTime;
using al::detail::tell_stderr;
using al::detail::try_parse_log_level;

namespace {

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
// and thread, and only the milliseconds per record: formatting the whole time in every
// log() call was a large part of its cost (docs/audit-log-journal.md).
std::string_view now_millis_text(const Clock& clock) {
    thread_local std::chrono::seconds cached_second{-1};
    thread_local std::string text;
    const TimePoint now = clock.now();
    const auto second = std::chrono::floor<std::chrono::seconds>(now);
    if (second.time_since_epoch() != cached_second) {
        text = format_rfc3339_millis(TimePoint(second));
        cached_second = second.time_since_epoch();
    }
    auto millis = static_cast<unsigned>(std::chrono::duration_cast<std::chrono::milliseconds>(now - second).count());
    for (std::size_t i = text.size() - 2; i >= text.size() - 4; --i, millis /= 10) text[i] = static_cast<char>('0' + millis % 10);
    return text;
}

constexpr std::size_t max_memory_record_bytes = 64u * 1024 * 1024;
// Disk mode lists this many waiting batches in memory; the rest of a backlog is only counted
// and listed again from the journal as the front ones are stored, so an outage costs disk.
// The journal indexes the same window of its segments: one window, one number.
constexpr std::size_t listed_batches = al::detail::Journal::default_index_window;
constexpr std::chrono::milliseconds state_write_interval{100};
// Memory mode keeps this many stored batches' buffers for the next batches: with several
// batches waiting, one spare left the others to grow from nothing under the mutex (a
// reallocation, and a page fault every 4 KiB of fresh memory, in log() calls).
constexpr std::size_t max_spare_bodies = 4;

std::string describe_cap(std::uint64_t used, std::uint64_t cap) {
    return "audit log backlog is at its cap (" + std::to_string(used) + " of " + std::to_string(cap) +
           " bytes): record refused";
}

}  // namespace

struct AuditLogSink::Core : std::enable_shared_from_this<AuditLogSink::Core> {
    // Set by the constructor before the threads start, then read-only.
    std::shared_ptr<ObjectStore> store;
    AuditLogOptions options;
    al::detail::BatchPolicy policy{options};
    std::unique_ptr<al::detail::Journal> journal;  // null in memory mode
    std::unique_ptr<al::detail::ObjectWriter> writer;
    std::unique_ptr<al::detail::Checkpointer> checkpointer;
    std::unique_ptr<al::detail::BatchUploader> batch_uploader;
    std::unique_ptr<al::detail::JournalSyncer> syncer;  // disk mode

    // Every field below that threads share carries its guard in its type (util/guarded.hpp).
    mutable std::mutex mutex;
    using Lock = std::unique_lock<std::mutex>;
    std::condition_variable work_cv, space_cv, progress_cv;

    // log() holds `mutex` for a few hundred nanoseconds; the uploader briefly, once a batch.
    // They spin before parking on it (util/spin_lock_first.hpp): with more logging threads
    // than cores, a parked caller waited tens of microseconds for a core after the hand-over.
    Lock lock_spinning() const {
        Lock lock(mutex, std::defer_lock);
        worm::detail::spin_lock_first(lock);
        return lock;
    }

    // The record queue and what the store has confirmed: with the mutex held.
    struct Queue {
        std::deque<PendingBatch> ready;  // sealed, not stored, in order; at most listed_batches in disk mode
        // Disk mode: sealed batches after ready's, not listed (only in the journal).
        struct Unlisted {
            std::uint64_t batches = 0, records = 0;
            std::uint64_t first_sequence = 0;
            SteadyTime since{};  // when the first of them was accepted (the age reported for all)
        } unlisted;
        // Memory mode: the open batch's JSON Lines, and the buffers of stored batches kept for
        // the next ones, so that log() neither reallocates nor touches fresh pages as a batch grows.
        std::string open_body;
        std::vector<std::string> spare_bodies;  // at most max_spare_bodies
        std::uint64_t open_records = 0, open_bytes = 0;
        std::optional<SteadyTime> open_since;
        BatchFacts open_facts;
        bool open_facts_complete = true;  // false when the open batch began in an earlier process
        std::uint64_t next_sequence = 0;
        std::uint64_t memory_bytes = 0;
        bool closed = false, stopping = false, uploader_exited = false, threads_stopped = false;
        bool store_failing = false;  // the store's last answer to a PUT was a failure
        std::thread uploader;        // until the close() that stops the threads takes it
        int flush_waiters = 0;
        std::optional<SteadyTime> uncovered_since;
        AuditLogStats counters;
    };
    detail::Guarded<Queue> queue{mutex};

    // What the store has confirmed, as the state file keeps it. The uploader thread writes it
    // (the constructor, before the threads start) with the mutex held since others read it;
    // so the uploader reads it without the mutex, and serializes it, builds and signs
    // checkpoints, and writes the state file outside it: log() never waits for that.
    detail::OwnerWritten<al::detail::UploadState> state{mutex};

    // The uploader thread's own (the constructor's until that thread starts).
    struct UploaderOwn {
        bool state_dirty = false;  // state has progress the state file does not
        SteadyTime last_state_write{};
        std::deque<std::shared_ptr<Flight>> in_flight;  // ready's first in_flight.size() batches, oldest first
        std::string chain_sha;                          // the previous-batch hash for the next batch built
        int failures = 0;  // failed attempts in a row at the current checkpoint or journal read
    };
    detail::ThreadOwned<UploaderOwn> own;

    // How every retry of the sink waits (the attempts are never limited).
    Backoff retry() const {
        RetryPolicy policy;
        policy.base_delay = options.retry_initial;
        policy.max_delay = options.retry_max;
        return Backoff(policy, {}, options.random);
    }

    // ---- the record queue ----------------------------------------------------------------

    std::uint64_t backlog_bytes(const Lock& lock) const { return journal ? journal->bytes() : queue(lock)->memory_bytes; }

    // Closes the open batch. True when there was one: the caller wakes the uploader
    // (work_cv), after letting go of the mutex when it can, so that the woken uploader does
    // not park on a mutex still held.
    bool seal(const Lock& lock) {
        const auto q = queue(lock);
        if (q->open_records == 0) return false;
        PendingBatch b;
        b.sequence = q->next_sequence++;
        b.records = q->open_records;
        b.bytes = q->open_bytes + q->open_records * al::detail::Journal::frame_overhead;
        b.first_accepted = *q->open_since;
        if (q->open_facts_complete) b.facts = std::move(q->open_facts);
        q->open_facts = {};
        q->open_facts_complete = true;
        if (journal) journal->seal(lock, b.sequence);
        else {
            b.body = std::make_shared<std::string>(std::move(q->open_body));
            if (q->spare_bodies.empty()) {
                q->open_body = {};
            } else {
                q->open_body = std::move(q->spare_bodies.back());
                q->spare_bodies.pop_back();
                q->open_body.clear();
            }
        }
        if (journal && (q->unlisted.batches > 0 || q->ready.size() >= listed_batches)) {
            if (q->unlisted.batches == 0) q->unlisted = {0, 0, b.sequence, b.first_accepted};
            ++q->unlisted.batches;
            q->unlisted.records += b.records;
        } else {
            q->ready.push_back(std::move(b));
        }
        q->open_records = q->open_bytes = 0;
        q->open_since.reset();
        return true;
    }

    void accept(std::string_view line, const RecordFacts& facts) {
        Lock lock = lock_spinning();
        // Checked once here rather than at each of the accesses below: this is log()'s
        // critical section, and the lock is held until its end (the waits take it back).
        Queue& q = *queue(lock);
        if (q.closed) throw Error(ErrorCode::storage, "audit log sink is closed");
        const std::uint64_t need = line.size() + al::detail::Journal::frame_overhead;
        const std::uint64_t cap = options.max_journal_bytes;
        // The journal spends more than the record: its frame, and room for the seal and the
        // next segment's mark frame that may follow, so the cap is never passed.
        const std::uint64_t reserve = journal ? al::detail::Journal::record_overhead - al::detail::Journal::frame_overhead +
                                                    al::detail::Journal::seal_and_mark_bytes
                                              : 0;
        if (backlog_bytes(lock) + need + reserve > cap) {
            if (seal(lock)) work_cv.notify_one();  // so what is open can leave and make room
            const auto room = [&] { return q.closed || backlog_bytes(lock) + need + reserve <= cap; };
            // Block waits while room is coming: while the store took something within the last
            // block_timeout, or a batch is on its way and the store's last answer was not a
            // failure. Refused after a block_timeout without either (the store is away, or
            // nothing waits that could free room).
            bool waited = false;
            while (options.policy == BackpressurePolicy::block) {
                const std::uint64_t progress = q.counters.batches_stored + q.counters.checkpoints_stored;
                if (space_cv.wait_for(lock, options.block_timeout, room)) {
                    waited = !q.closed;
                    break;
                }
                const bool coming = q.counters.batches_stored + q.counters.checkpoints_stored != progress ||
                                    (!q.store_failing && (!q.ready.empty() || state.read(lock)->pending_checkpoint));
                if (q.closed || !coming) break;
            }
            if (!waited) {
                ++q.counters.refused;
                throw Error(ErrorCode::storage, describe_cap(backlog_bytes(lock), cap));
            }
        }
        if (journal) {
            journal->append_record(lock, line);
            if (options.fsync_interval.count() == 0) journal->sync();
            else if (journal->drain_due()) syncer->wake();
        } else {
            if (line.size() > max_memory_record_bytes)
                throw Error(ErrorCode::invalid_argument, "audit log record is larger than 64 MiB");
            q.memory_bytes += need;
            q.open_body.append(line).push_back('\n');
        }
        if (q.open_records == 0) q.open_since = std::chrono::steady_clock::now();
        q.open_facts.add(facts.timestamp, facts.level, facts.known_level, facts.request_id, facts.service_name,
                         q.open_records == 0);
        ++q.open_records;
        q.open_bytes += need - al::detail::Journal::frame_overhead;
        ++q.counters.accepted;
        if (policy.full(q.open_records, q.open_bytes, q.ready.size()) && seal(lock)) {
            lock.unlock();
            work_cv.notify_one();
        }
    }

    // ---- storing (the uploader thread) ----------------------------------------------------

    void record_error(const Lock& lock, const std::string& message) {
        const auto q = queue(lock);
        q->counters.last_error = message;
        q->counters.last_error_time = options.clock->now();
    }
    void record_error(const std::string& message) { record_error(Lock(mutex), message); }

    // A batch's progress is written at most every state_write_interval when puts are
    // create-only: after a crash the batches stored since are put again, find themselves in
    // the store with the same bytes, and count as stored. Checkpoints are written at once.
    std::string state_text() {
        own.get().state_dirty = false;
        own.get().last_state_write = std::chrono::steady_clock::now();
        return al::detail::state_to_json(state.owner_view());
    }
    bool batch_state_due(SteadyTime now) {
        return !options.advanced.create_only || now - own.get().last_state_write >= state_write_interval;
    }
    // Writes the state text, then lets the journal delete what that state says is stored.
    void write_state(const std::optional<std::string>& text, std::optional<std::uint64_t> stored_through) {
        if (!journal || !text) return;
        journal->write_state(*text);
        if (stored_through) journal->release_through(*stored_through);
    }
    // True when it wrote (the mutex was let go meanwhile: the caller looks again at the work).
    bool write_state_if_dirty(Lock& lock) {
        const auto& stored_through = state.owner_view().stored_through;
        if (!journal || !own.get().state_dirty || !stored_through) return false;
        const std::uint64_t through = *stored_through;
        lock.unlock();
        const std::string text = state_text();
        try {
            write_state(text, through);
        } catch (...) {
            lock.lock();
            own.get().state_dirty = true;
            throw;
        }
        lock.lock();
        space_cv.notify_all();  // segments may have been released
        return true;
    }

    // Builds the batch's object (the uploader thread).
    std::shared_ptr<Flight> prepare_batch(const PendingBatch& b, const std::string& previous_sha) {
        const std::string& stream = state.owner_view().stream;
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
        const bool per_record = policy.per_record();
        if (per_record && !body.empty() && body.back() == '\n') body.pop_back();  // the record's JSON alone
        const BatchFacts& f = b.facts ? *b.facts : journaled;
        auto flight = std::make_shared<Flight>();
        flight->batch = b;
        flight->key = per_record ? al::record_key(options.prefix, f.first_timestamp, f.request_id, stream, b.sequence)
                                 : al::batch_key(options.prefix, f.first_timestamp, f.request_id, stream, b.sequence);
        flight->sha = sha256_hex(body);
        flight->records = records;
        flight->first_timestamp = f.first_timestamp;
        flight->last_timestamp = f.last_timestamp;
        flight->put = writer->put_options(per_record ? "application/json" : "application/x-ndjson", flight->sha);
        flight->put.metadata = {{"service_name", f.service_name.empty() ? options.service_name : f.service_name},
                                {"request_id", f.request_id},
                                {"log_level", f.log_level},
                                {"timestamp", f.first_timestamp},
                                {"worm_handler_version", std::string(al::handler_version)},
                                {"stream", stream},
                                {"sequence", std::to_string(b.sequence)},
                                {"record-count", std::to_string(records)},
                                {"first-timestamp", f.first_timestamp},
                                {"last-timestamp", f.last_timestamp},
                                {"previous-batch-sha256", previous_sha}};
        flight->body = PutBody::from_bytes(std::move(body));  // moved, not copied: a batch may be large
        return flight;
    }

    // The store has the batch: the state moves on (batches are committed in sequence order).
    void commit_batch(const Flight& flight) {
        const PendingBatch& b = flight.batch;
        std::optional<std::string> new_state;
        {
            const Lock lock = lock_spinning();
            const auto q = queue(lock);
            const auto s = state.write(lock);
            s->stored_through = b.sequence;
            s->previous_batch_sha256 = flight.sha;
            s->uncovered.push_back(
                {b.sequence, flight.key, flight.sha, flight.records, flight.first_timestamp, flight.last_timestamp});
            if (!q->uncovered_since) q->uncovered_since = std::chrono::steady_clock::now();
            q->ready.pop_front();
            q->counters.stored += b.records;
            ++q->counters.batches_stored;
            if (!journal) q->memory_bytes -= b.bytes;
        }
        own.get().state_dirty = true;
        if (journal && batch_state_due(std::chrono::steady_clock::now())) new_state = state_text();
        // If this fails the store's copy wins at the next start (create-only).
        write_state(new_state, b.sequence);
    }

    // Counts a failed attempt (the uploader's or the batch uploader's) and reports the item
    // failing once it has failed max_retries attempts in a row.
    void count_failure(const Lock& lock, int attempts, const std::string& what, const std::exception& e) {
        const auto q = queue(lock);
        ++q->counters.batches_retried;
        record_error(lock, e.what());
        q->store_failing = true;
        if (attempts == options.max_retries) {
            ++q->counters.batches_failed;
            tell_stderr(what + " of stream " + state.read(lock)->stream + " failed " + std::to_string(attempts) + " attempts (" +
                        e.what() + "); it stays in the journal and is retried");
        }
    }

    // The batch uploader's events.
    void on_batch_stored() {
        queue(Lock(mutex))->store_failing = false;  // the uploader is waiting, or will see it
        work_cv.notify_all();
    }
    void on_batch_failed(const Flight& flight, int failures, const std::exception& e) {
        count_failure(Lock(mutex), failures, "batch " + std::to_string(flight.batch.sequence), e);
    }

    bool checkpoint_due(const Lock& lock, SteadyTime now) const {
        const auto q = queue(lock);
        const auto& s = state.owner_view();
        if (s.pending_checkpoint) return true;
        if (s.uncovered.empty()) return false;
        if (s.uncovered.size() >= options.checkpoint_batches) return true;
        if (q->flush_waiters > 0 && q->ready.empty() && q->unlisted.batches == 0 && q->open_records == 0) return true;
        return q->uncovered_since && now - *q->uncovered_since >= options.checkpoint_interval;
    }

    void store_checkpoint() {
        const auto& current = state.owner_view();  // the uploader's: read without the mutex
        if (!current.pending_checkpoint) {         // built and signed outside the mutex
            auto built = checkpointer->build(current);
            decltype(current.uncovered) covered;  // freed after the mutex is let go
            {
                const Lock lock = lock_spinning();
                const auto s = state.write(lock);
                covered.swap(s->uncovered);
                s->pending_checkpoint = std::move(built);
                queue(lock)->uncovered_since.reset();
            }
            if (journal) write_state(state_text(), current.stored_through);
        }
        // This thread alone resets the pending checkpoint (below, after its last use here).
        const auto& [text, signature] = *current.pending_checkpoint;
        checkpointer->store(current.stream, current.checkpoint_sequence, text, signature);
        std::string previous_signature = signature.empty() ? std::string() : signature.substr(0, signature.size() - 1);
        const std::optional<std::uint64_t> records = checkpointer->write_witness(
            text, signature, current.checkpointed_records, [&](const std::string& where, const std::exception& e) {
                record_error("witness " + where + ": " + e.what());
                tell_stderr("the witness of checkpoint " + std::to_string(current.checkpoint_sequence) + " of stream " +
                            current.stream + " was not written to " + where + " (" + e.what() +
                            "); the next checkpoint's will be");
            });
        const std::string text_sha256 = sha256_hex(text);
        {
            const Lock lock = lock_spinning();
            const auto q = queue(lock);
            const auto s = state.write(lock);
            s->checkpointed_records = records;
            s->previous_checkpoint_sha256 = text_sha256;
            s->previous_signature = std::move(previous_signature);
            ++s->checkpoint_sequence;
            s->pending_checkpoint.reset();
            if (!s->uncovered.empty()) q->uncovered_since = std::chrono::steady_clock::now();
            ++q->counters.checkpoints_stored;
        }
        if (journal) write_state(state_text(), current.stored_through);
    }

    bool clean(const Lock& lock) const {
        const auto q = queue(lock);
        const auto s = state.read(lock);
        return q->ready.empty() && q->unlisted.batches == 0 && q->open_records == 0 && s->uncovered.empty() &&
               !s->pending_checkpoint;
    }

    // Lists unlisted batches again from the journal once half of ready has been stored. The
    // journal is read without holding the mutex, so log() does not wait for it; only this
    // thread removes batches from ready or from unlisted.
    void list_more(Lock& lock) {
        const auto q = queue(lock);
        if (q->unlisted.batches == 0 || q->ready.size() > listed_batches / 2) return;
        const std::uint64_t from = q->unlisted.first_sequence;
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(q->unlisted.batches, listed_batches - q->ready.size()));
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
            if (q->unlisted.batches == 0 || range.sequence != q->unlisted.first_sequence) break;
            q->ready.push_back(PendingBatch::in_journal(range, q->unlisted.since));
            ++q->unlisted.first_sequence;
            --q->unlisted.batches;
            q->unlisted.records -= range.records;
        }
    }

    // store_checkpoint() without the mutex; a success resets the retry state.
    void store_checkpoint_unlocked(Lock& lock) {
        lock.unlock();
        store_checkpoint();
        lock.lock();
        own.get().failures = 0;
        queue(lock)->store_failing = false;
        progress_cv.notify_all();
    }

    // A checkpoint's PUT, or reading a batch back from the journal, failed: counted, then
    // retried after the backoff's wait.
    void retry_later(Lock& lock, const std::string& what, const std::exception& e) {
        const int failures = ++own.get().failures;
        count_failure(lock, failures, what, e);
        work_cv.wait_for(lock, retry().next_delay(failures), [&] { return queue(lock)->stopping; });
    }

    void run_uploader() {
        state.take_ownership();
        own.take_ownership();
        UploaderOwn& mine = own.get();
        const al::detail::UploadState& confirmed = state.owner_view();
        Lock lock(mutex);
        const auto q = queue(lock);
        while (!q->stopping) {
            try {
                list_more(lock);
            } catch (const std::exception& e) {
                retry_later(lock, "reading the journal", e);
                continue;
            }
            const auto now = std::chrono::steady_clock::now();
            // A full batch waits for a free place in flight (growing meanwhile, see accept);
            // none waits past max_interval.
            if (q->open_records > 0 && policy.due(q->open_records, *q->open_since, now, q->ready.size(), q->flush_waiters > 0))
                seal(lock);
            try {
                // A full (or half-stored) checkpoint goes first, so each covers at most
                // checkpoint_batches batches; batches in flight go on meanwhile.
                if (confirmed.pending_checkpoint || confirmed.uncovered.size() >= options.checkpoint_batches) {
                    store_checkpoint_unlocked(lock);
                    continue;
                }
                if (!mine.in_flight.empty() && mine.in_flight.front()->done) {  // stored: commit, in order
                    std::shared_ptr<Flight> flight = std::move(mine.in_flight.front());
                    mine.in_flight.pop_front();
                    lock.unlock();
                    commit_batch(*flight);
                    lock = lock_spinning();
                    auto& body = flight->batch.body;
                    if (body && body.use_count() == 1 && q->spare_bodies.size() < max_spare_bodies)
                        q->spare_bodies.push_back(std::move(*body));
                    progress_cv.notify_all();
                    space_cv.notify_all();
                    continue;
                }
                if (checkpoint_due(lock, now)) {
                    store_checkpoint_unlocked(lock);
                    continue;
                }
                if (mine.in_flight.size() < q->ready.size() && mine.in_flight.size() < options.max_in_flight) {
                    const PendingBatch batch = q->ready[mine.in_flight.size()];
                    if (mine.in_flight.empty()) mine.chain_sha = confirmed.previous_batch_sha256;
                    lock.unlock();
                    std::shared_ptr<Flight> flight = prepare_batch(batch, mine.chain_sha);
                    mine.chain_sha = flight->sha;
                    batch_uploader->submit(flight);
                    lock = lock_spinning();
                    mine.in_flight.push_back(std::move(flight));
                    continue;
                }
            } catch (const std::exception& e) {
                if (!lock.owns_lock()) lock.lock();
                retry_later(lock, "checkpoint " + std::to_string(confirmed.checkpoint_sequence), e);
                continue;
            }
            try {
                if (write_state_if_dirty(lock)) continue;  // idle: bring the state file up to date
            } catch (const std::exception& e) {
                record_error(lock, e.what());
            }
            auto wake = now + std::chrono::seconds(1);
            if (q->open_since) wake = std::min(wake, policy.deadline(*q->open_since));
            if (q->uncovered_since) wake = std::min(wake, *q->uncovered_since + options.checkpoint_interval);
            work_cv.wait_until(lock, wake);
        }
        try {
            write_state_if_dirty(lock);
        } catch (const std::exception& e) {
            record_error(lock, e.what());
        }
        q->uploader_exited = true;
        progress_cv.notify_all();
    }

    void sync_journal() {
        if (syncer) syncer->sync_now();
    }

    // Opens (or creates) the journal and lists what an earlier process left in it.
    void open_journal() {
        std::string uri;
        try {
            uri = store->uri(options.prefix.empty() ? "x" : options.prefix);
        } catch (const Error&) {
        }
        // s3://bucket/prefix names no server: records journaled for one endpoint must never
        // ship to another one with the same bucket name, so the endpoint is part of the key.
        if (auto* s3_store = dynamic_cast<s3::S3Store*>(store.get())) {
            const auto& config = s3_store->client().config();
            uri += "\n" + (config.endpoint.empty() ? "aws:" + config.region : config.endpoint);
        }
        fs::path dir = options.journal_dir.empty() ? default_journal_dir(options.service_name, uri, options.prefix)
                                                   : options.journal_dir;
        // Two handlers for the same service, store and prefix (the seed's compliance and
        // high-volume factories side by side) share a default name: the second takes
        // "<dir>.1", and so on. Any of them may ship what another left: same destination.
        for (int n = 1;; ++n) {
            try {
                // log() and seal() reach the journal with the sink's mutex held: it is the
                // journal's producer mutex too.
                journal = std::make_unique<al::detail::Journal>(dir, options.advanced.journal_segment_bytes,
                                                                options.advanced.journal_ring_bytes,
                                                                al::detail::Journal::default_index_window, &mutex);
                break;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::config || !options.journal_dir.empty() || n > 15) throw;
                dir = default_journal_dir(options.service_name, uri, options.prefix).string() + "." + std::to_string(n);
            }
        }
        // Before the threads start: this thread owns `state` and `own`, and the mutex is free.
        const Lock lock(mutex);
        const auto q = queue(lock);
        const al::detail::UploadState& confirmed = state.owner_view();
        if (auto text = journal->read_state()) {
            *state.write(lock) = al::detail::state_from_json(*text);
        } else {
            state.write(lock)->stream = random_stream_id();
            journal->write_state(state_text());
        }
        const auto now = std::chrono::steady_clock::now();
        const auto backlog = journal->backlog_after(confirmed.stored_through);
        for (const auto& newest : {confirmed.stored_through, backlog.last_sequence})
            if (newest == UINT64_MAX)
                throw Error(ErrorCode::integrity, "audit log journal " + dir.string() +
                                                      " is damaged: it names batch sequence 18446744073709551615, "
                                                      "which no sequence can follow");
        const std::uint64_t first_unstored = confirmed.stored_through ? *confirmed.stored_through + 1 : 0;
        std::uint64_t next = std::max(first_unstored, backlog.last_sequence ? *backlog.last_sequence + 1 : 0);
        std::uint64_t listed_records = 0;
        for (const auto& range : journal->batches_from(first_unstored, listed_batches)) {
            listed_records += range.records;
            q->ready.push_back(PendingBatch::in_journal(range, now));
        }
        if (backlog.batches > q->ready.size())
            q->unlisted = {backlog.batches - q->ready.size(), backlog.records - listed_records,
                          q->ready.empty() ? first_unstored : q->ready.back().sequence + 1, now};
        q->next_sequence = next;
        q->open_records = journal->open_records();
        q->open_bytes = journal->open_bytes();
        if (q->open_records > 0) {
            q->open_since = now;
            q->open_facts_complete = false;
        }
        if (confirmed.stored_through) journal->release_through(*confirmed.stored_through);
        if (!confirmed.uncovered.empty()) q->uncovered_since = now;
        if (!journal->repair_note().empty()) record_error(lock, "journal repaired: " + journal->repair_note());
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
    // batches are kept to a quarter of the cap (with segments larger than the cap, the first
    // segment reaching it would refuse everything).
    const std::uint64_t quarter = c.options.max_journal_bytes / 4;
    c.options.advanced.journal_segment_bytes = std::min(c.options.advanced.journal_segment_bytes, quarter);
    c.options.max_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(c.options.max_bytes, quarter));
    c.policy = al::detail::BatchPolicy(c.options);
    c.writer = std::make_unique<al::detail::ObjectWriter>(c.store, c.options);
    if (c.options.journal_mode == JournalMode::disk) c.open_journal();
    else c.state.write(Core::Lock(c.mutex))->stream = random_stream_id();
    c.checkpointer = std::make_unique<al::detail::Checkpointer>(*c.writer, c.options,
                                                                c.journal ? c.journal->dir() : fs::path());
    c.batch_uploader = std::make_unique<al::detail::BatchUploader>(
        *c.writer, c.retry(),
        al::detail::BatchUploader::Events{
            [&c](const Flight&) { c.on_batch_stored(); },
            [&c](const Flight& flight, int failures, const std::exception& e) { c.on_batch_failed(flight, failures, e); }});
    if (c.journal)
        c.syncer = std::make_unique<al::detail::JournalSyncer>(*c.journal, c.options.fsync_interval,
                                                               [&c](const std::exception& e) { c.record_error(e.what()); });
    c.queue(Core::Lock(c.mutex))->counters.stream = c.state.owner_view().stream;
    // Each thread holds the core alive: one stuck in a PUT at close() is let go, not joined.
    const std::shared_ptr<Core> self = core_;
    c.queue(Core::Lock(c.mutex))->uploader =
        al::detail::background_thread("worm-log-upload", [self] { self->run_uploader(); });
    c.batch_uploader->start(c.options.max_in_flight, self);
    if (c.syncer) c.syncer->start(self);
}

AuditLogSink::~AuditLogSink() {
    try {
        close(core_->options.close_timeout);
    } catch (...) {
        // A destructor must not throw; what was not stored stays in the journal.
    }
}

bool AuditLogSink::log(LogLevel level, std::string_view message, const std::vector<std::pair<std::string, std::string>>& fields) {
    rapidjson::Document record(rapidjson::kObjectType);
    auto& allocator = record.GetAllocator();
    auto text = [&](std::string_view s) { return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), allocator); };
    record.AddMember(text("level"), text(to_string(level)), allocator);
    record.AddMember(text("message"), text(message), allocator);
    for (const auto& [name, value] : fields) {
        if (name == "level" || name == "message")
            throw Error(ErrorCode::invalid_argument, "audit log record: field '" + name + "' is given by its own argument");
        if (json::find_member(record, name))
            throw Error(ErrorCode::invalid_argument, "audit log record: field '" + name.substr(0, 64) + "' given twice");
        record.AddMember(text(name), text(value), allocator);
    }
    return al::detail::log_value(*this, record);
}

bool AuditLogSink::log_json(std::string_view record_json) {
    return al::detail::log_value(*this, json::parse_strict(record_json, "audit log record"));
}

bool al::detail::log_value(AuditLogSink& sink, const rapidjson::Value& record) {
    if (!record.IsObject()) throw Error(ErrorCode::invalid_argument, "audit log record must be a JSON object");
    auto& core = al::detail::SinkAccess::core(sink);
    const auto& options = core.options;
    // A record without a level is INFO; a level name the sink does not know is never filtered.
    const auto* level = json::find_member(record, "level");
    const std::optional<LogLevel> effective =
        !level ? std::optional(LogLevel::info)
               : level->IsString() ? try_parse_log_level(std::string_view(level->GetString(), level->GetStringLength()))
                                   : std::nullopt;
    if (effective && *effective < options.min_level) {
        ++core.queue(std::unique_lock(core.mutex))->counters.filtered;
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
    facts.timestamp = timestamp ? view(timestamp) : now_millis_text(*options.clock);

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
    core.accept(line, facts);
    if (json::find_member(record, al::escaped_member)) {
        ++core.queue(std::unique_lock(core.mutex))->counters.escaped;
        tell_stderr("record with fields JSON cannot hold (lone surrogate, NaN) stored in escaped form, request_id " +
                    al::key_safe_request_id(facts.request_id) + " (see \"worm_escaped\")");
    }
    return true;
}

bool AuditLogSink::flush(milliseconds timeout) {
    Core& c = *core_;
    bool done;
    {
        Core::Lock lock(c.mutex);
        const auto q = c.queue(lock);
        if (q->threads_stopped) return c.clean(lock);
        c.seal(lock);  // woken below
        ++q->flush_waiters;
        c.work_cv.notify_all();
        c.progress_cv.wait_for(lock, timeout, [&] { return c.clean(lock) || q->uploader_exited; });
        --q->flush_waiters;
        done = c.clean(lock);
    }
    c.sync_journal();
    return done;
}

bool AuditLogSink::close(milliseconds timeout) {
    Core& c = *core_;
    {
        const Core::Lock lock(c.mutex);
        if (c.queue(lock)->threads_stopped) return c.clean(lock);
    }
    // Part of the time is kept for the uploader to stop: flushing to a store that is away
    // would otherwise use all of it, and an uploader that is not inside a PUT (waiting to
    // retry) must still be joined, so that it releases the journal before close returns.
    const milliseconds stop_reserve = std::min<milliseconds>(timeout / 2, milliseconds(250));
    const milliseconds slice = std::max<milliseconds>(timeout - stop_reserve, milliseconds(1));
    const auto progress = [&] {
        const Core::Lock lock(c.mutex);
        const auto q = c.queue(lock);
        return q->counters.batches_stored + q->counters.checkpoints_stored;
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
    Core::Lock lock(c.mutex);
    const auto q = c.queue(lock);
    if (q->stopping) {  // a close() on another thread is stopping the threads, or did
        c.progress_cv.wait_until(lock, deadline, [&] { return q->threads_stopped; });
        return c.clean(lock);
    }
    q->closed = true;
    q->stopping = true;
    c.work_cv.notify_all();
    c.space_cv.notify_all();
    // The uploader may be inside a PUT that blocks on the network: wait for it only until
    // the deadline, then let it finish on its own (it holds the core alive).
    const bool exited = c.progress_cv.wait_until(lock, deadline, [&] { return q->uploader_exited; });
    q->threads_stopped = true;
    c.progress_cv.notify_all();
    std::thread uploader = std::move(q->uploader);
    const bool clean = c.clean(lock);
    std::uint64_t unstored = q->open_records + q->unlisted.records;
    for (const auto& b : q->ready) unstored += b.records;
    lock.unlock();
    if (unstored > 0)
        tell_stderr(std::to_string(unstored) + " records not stored at close (" +
                    (c.journal ? "they stay in the journal " + c.journal->dir().string() + "; the next sink for it sends them)"
                               : std::string("memory mode: they are lost)")));
    if (exited) uploader.join();
    else uploader.detach();
    c.batch_uploader->stop(deadline);
    if (c.syncer) c.syncer->stop();
    c.sync_journal();
    return clean;
}

AuditLogStats AuditLogSink::stats() const {
    const Core& c = *core_;
    const Core::Lock lock(c.mutex);
    const auto q = c.queue(lock);
    AuditLogStats s = q->counters;
    s.queued = q->open_records;
    for (const auto& b : q->ready) s.queued += b.records;
    s.queued += q->unlisted.records;
    s.journal_bytes = c.backlog_bytes(lock);
    std::optional<SteadyTime> oldest = !q->ready.empty()          ? std::optional(q->ready.front().first_accepted)
                                       : q->unlisted.batches > 0 ? std::optional(q->unlisted.since)
                                                                  : q->open_since;
    if (oldest)
        s.oldest_unstored_age =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - *oldest);
    return s;
}

}  // namespace worm
