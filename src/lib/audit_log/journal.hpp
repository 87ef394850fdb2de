// journal.hpp (private): the audit log's on-disk journal.
//
// A directory holding:
//   ring.buf   the staging ring. log() copies each record's frame into this file through a
//              shared mapping: no system call, yet the record is in the kernel's page cache
//              when log() returns, so kill -9 cannot lose it.
//   seg-NNNNNNNNNN.wal  append-only segments. drain() (the sink's syncer, every
//              fsync_interval, or sooner when the ring fills) moves the ring's frames into the
//              current segment with one writev, and sync() fdatasyncs it: the group commit.
//   state.json (what is already stored, written by the sink) and .lock (one sink per journal).
// Why not map the segment itself: every fdatasync write-protects the pages it cleans, so
// writing into a mapped segment takes a page fault every dozen records; the ring is never
// fsynced, so its pages stay writable and log() stays a memcpy.
//
// Frame (ring and segments alike): u32 length (LE) | u32 CRC-32C of type+payload | u8 type | payload
//   3 record: u64 lsn | one JSON line without "\n"
//   4 seal:   u64 lsn | u64 batch sequence; the records since the previous seal form that batch
//   5 mark:   u64 lsn of the frame before it; first frame of every segment after the first
//   1, 2:     record and seal without lsn (journals written before the ring), read only
// Every record and seal gets the next lsn. After a crash the ring's frames whose lsn is above
// the segments' last one are replayed into the segments, in order; frames at or below it were
// drained already, so nothing is lost or doubled. Segments roll only right after a seal, so a
// batch never spans segments and a closed segment can be deleted once its last batch is
// stored. A torn or corrupt tail (power loss) is cut off at the last good frame.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../util/guarded.hpp"

namespace worm::audit_log::detail {

// Where a sealed batch's frames are: [begin, end) of one segment.
struct BatchRange {
    std::uint64_t sequence = 0;
    std::uint64_t segment = 0;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint64_t records = 0;
};

class Journal {
public:
    static constexpr std::uint64_t frame_overhead = 9;   // length, CRC, type
    static constexpr std::uint64_t record_overhead = 17;  // frame_overhead + lsn
    static constexpr std::uint64_t default_ring_bytes = 16u << 20;
    static constexpr std::uint64_t seal_and_mark_bytes = record_overhead + 8 + frame_overhead + 8;
    // Sealed batches whose place in the segments is kept in memory. Later ones are found
    // again by reading the segments when their turn comes, so that an outage's backlog
    // costs disk, not memory.
    static constexpr std::size_t default_index_window = 1024;

    // Locks dir (created if missing), replays its segments and ring. Throws Error(config)
    // when another process or sink holds it, Error(io) on file errors. `producer_mutex`: the
    // caller's mutex, under which it calls append_record() and seal() (the sink's own), so
    // the producer side takes no second lock; without one the journal has its own.
    Journal(std::filesystem::path dir, std::uint64_t segment_bytes, std::uint64_t ring_bytes = default_ring_bytes,
            std::size_t index_window = default_index_window, std::mutex* producer_mutex = nullptr);
    ~Journal();  // drains and syncs what it can
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    // What replay found: records after the last seal, and problems it repaired. The sealed
    // batches: backlog_after() and batches_from().
    std::uint64_t open_records() const { return recovered_open_records_; }
    std::uint64_t open_bytes() const { return recovered_open_bytes_; }
    const std::string& repair_note() const { return repair_note_; }

    // The largest record the ring takes (half the ring).
    std::uint64_t max_record_bytes() const { return ring_capacity_ / 2 - record_overhead; }

    // Producer side: one caller at a time, proved by holding the producer mutex (the one
    // given to the constructor, or the journal's own); the overloads without a lock take it.
    // Each copies one frame into the ring; only when the ring is full does it drain the ring
    // itself. Throws Error(io), Error(invalid_argument) for a record above
    // max_record_bytes() or a sequence that is not above every sequence sealed before
    // (batches are listed and stored in sequence order).
    using ProducerLock = std::unique_lock<std::mutex>;
    void append_record(const ProducerLock& producer_lock, std::string_view line);
    void seal(const ProducerLock& producer_lock, std::uint64_t sequence);
    void append_record(std::string_view line) { append_record(ProducerLock(producer_mutex_), line); }
    void seal(std::uint64_t sequence) { seal(ProducerLock(producer_mutex_), sequence); }
    // The ring is a quarter full: the caller should wake whoever calls sync().
    bool drain_due() const;

    // Thread-safe. Calls `each` with every record of a sealed batch in order, each frame
    // re-checked against its CRC (the views live until `each` returns).
    void visit_batch(std::uint64_t sequence, const std::function<void(std::string_view)>& each);
    // The records of a sealed batch as strings (visit_batch).
    std::vector<std::string> read_batch(std::uint64_t sequence);
    // Thread-safe. Up to `max` sealed batches from `sequence` on, in order (reads the
    // segments for batches beyond the index window).
    std::vector<BatchRange> batches_from(std::uint64_t sequence, std::size_t max);
    // Thread-safe. The sealed batches after `stored_through` (all when unset), counted
    // by reading the segments; and the newest sealed sequence, stored or not.
    struct Backlog {
        std::uint64_t batches = 0;
        std::uint64_t records = 0;
        std::optional<std::uint64_t> last_sequence;
    };
    Backlog backlog_after(std::optional<std::uint64_t> stored_through);
    // Deletes closed segments whose batches all have sequence <= stored_through.
    void release_through(std::uint64_t stored_through);
    // Moves the ring's frames into the segment and fdatasyncs it if anything was written.
    void sync();

    std::uint64_t bytes() const;  // segments plus what waits in the ring
    const std::filesystem::path& dir() const { return dir_; }

    std::optional<std::string> read_state() const;
    void write_state(std::string_view json) const;

private:
    struct Segment;
    struct Ring;
    // A place in the segments: segment number and byte offset.
    struct IndexCursor {
        std::uint64_t segment = 0;
        std::uint64_t offset = 0;
    };
    using Lock = std::unique_lock<std::mutex>;
    std::filesystem::path segment_path(std::uint64_t number) const;
    void replay_segments(const Lock& lock);
    void open_ring(std::uint64_t capacity);
    void map_ring(std::uint64_t capacity);
    void replay_ring();
    void reset_ring();
    void open_segment(const Lock& lock, std::uint64_t number, bool fresh);
    void drain(const Lock& lock);
    void add_range(const Lock& lock, const BatchRange& range);
    void insert_range(const Lock& lock, const BatchRange& range);
    std::deque<BatchRange>::iterator first_range_from(const Lock& lock, std::uint64_t sequence);
    const BatchRange* find_range(const Lock& lock, std::uint64_t sequence);
    void index_through(const Lock& lock, std::uint64_t through_sequence);
    template <class OnBatch>
    IndexCursor scan(const Lock& lock, IndexCursor from, OnBatch on_batch);
    void roll(const Lock& lock, std::uint64_t last_sequence);
    void append_frame(const Lock& producer_lock, char type, std::string_view payload);

    std::filesystem::path dir_;
    std::uint64_t segment_bytes_;
    std::size_t index_window_;
    int lock_fd_ = -1;

    // The ring: the producer owns head_ and reads tail_; the drainer the other way round.
    std::unique_ptr<Ring> ring_;
    std::uint64_t ring_capacity_ = 0;
    std::atomic<std::uint64_t> head_{0};  // absolute positions; the offset is position % capacity
    std::atomic<std::uint64_t> tail_{0};
    std::atomic<std::uint64_t> ring_frame_bytes_{0};  // frames in the ring, not counting pads

    // The producer side, with the producer mutex held.
    struct Producer {
        std::uint64_t next_lsn = 1;
        std::optional<std::uint64_t> last_sealed;  // the newest sequence sealed
    };
    std::mutex own_producer_mutex_;
    std::mutex& producer_mutex_;  // the caller's, or own_producer_mutex_
    worm::detail::Guarded<Producer> producer_{producer_mutex_};

    // The segments, with drain_mutex_ held (drain, the index, release_through, sync).
    struct Segments {
        std::shared_ptr<Segment> current;
        std::uint64_t current_number = 0;
        std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> closed;  // number -> (last sequence, size)
        // Sealed batches in the segments, in sequence order: the first index_window_ of them,
        // and where the first one not listed starts when there are more (index_through() reads on).
        std::deque<BatchRange> ranges;
        std::optional<IndexCursor> unindexed;
        std::optional<std::uint64_t> newest_indexed;  // the newest sequence sealed, as replay and drain see seals
        std::uint64_t last_lsn = 0;      // of the last frame in the segments
        std::uint64_t open_begin = 0;    // offset of the first unsealed record in the current segment
        std::uint64_t open_records = 0;  // drained records after the last seal
        std::uint64_t open_bytes = 0;
        bool dirty = false;
    };
    std::mutex drain_mutex_;
    worm::detail::Guarded<Segments> segments_{drain_mutex_};
    // Sizes that bytes() reads without a lock: atomics, changed with drain_mutex_ held.
    std::atomic<std::uint64_t> current_size_{0};
    std::atomic<std::uint64_t> closed_bytes_{0};
    // Bytes move between the three counters above in two steps (ring -> current segment when
    // drained, current -> closed at a roll). moves_ is odd while a move runs, so that bytes()
    // never counts them twice (which refused records below the cap) or not at all (which
    // would let the cap be passed).
    std::atomic<std::uint64_t> moves_{0};
    template <class Move>
    void move_bytes(Move move);

    // What replay found: set by the constructor, then only read.
    std::uint64_t recovered_open_records_ = 0;
    std::uint64_t recovered_open_bytes_ = 0;
    std::string repair_note_;
};

}  // namespace worm::audit_log::detail
