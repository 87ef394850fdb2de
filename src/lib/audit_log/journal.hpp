// journal.hpp (private): the audit log's on-disk journal.
//
// A directory of append-only segment files seg-NNNNNNNNNN.wal plus state.json (what is
// already stored, written atomically by the sink) and .lock (flock: one sink per journal).
// A segment is a sequence of frames:
//   u32 payload length (LE) | u32 CRC-32C of type+payload (LE) | u8 type | payload
// type 1 = one record (a JSON line without "\n"); type 2 = seal: the records since the
// previous seal form batch <payload: u64 LE sequence>. Segments roll only right after a seal,
// so a batch never spans segments and a closed segment can be deleted once its last batch
// is stored. On open, a torn or corrupt tail (kill -9 mid-write, power loss) is cut off at
// the last good frame.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace worm::audit_log::detail {

// Where a sealed batch's frames are: [begin, end) of one segment.
struct BatchRange {
    std::uint64_t sequence = 0;
    std::uint64_t segment = 0;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint64_t records = 0;
};

std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0);

class Journal {
public:
    // Locks and replays dir (created if missing). Throws Error(config) when another
    // process or sink holds it, Error(io) on file errors.
    Journal(std::filesystem::path dir, std::uint64_t segment_bytes);
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    // What replay found: sealed batches in order, records after the last seal, problems repaired.
    const std::vector<BatchRange>& recovered_batches() const { return recovered_; }
    std::uint64_t open_records() const { return open_records_; }
    std::uint64_t open_bytes() const { return open_bytes_; }
    const std::string& repair_note() const { return repair_note_; }

    // The caller serializes appends (the sink's mutex). Throws Error(io).
    void append_record(std::string_view line);
    BatchRange seal(std::uint64_t sequence);
    static constexpr std::uint64_t frame_overhead = 9;

    // Thread-safe: the records of a sealed batch, re-checked against their CRCs.
    std::vector<std::string> read_batch(const BatchRange& range) const;
    // Deletes closed segments whose batches all have sequence <= stored_through.
    void release_through(std::uint64_t stored_through);
    // fdatasync the current segment if anything was appended since the last sync.
    // Safe to call from another thread than the appender.
    void sync();

    std::uint64_t bytes() const;  // all segment files
    const std::filesystem::path& dir() const { return dir_; }

    std::optional<std::string> read_state() const;
    void write_state(std::string_view json) const;

private:
    struct Segment;
    std::filesystem::path segment_path(std::uint64_t number) const;
    void replay();
    void open_current(std::uint64_t number);
    void write_frame(char type, std::string_view payload);

    std::filesystem::path dir_;
    std::uint64_t segment_bytes_;
    int lock_fd_ = -1;

    mutable std::mutex segment_mutex_;  // guards current_ swaps and closed_ for sync()/release
    std::shared_ptr<Segment> current_;
    std::uint64_t current_number_ = 0;
    std::uint64_t current_size_ = 0;
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> closed_;  // number -> (last sequence, size)
    bool dirty_ = false;

    std::uint64_t open_begin_ = 0;  // offset of the first unsealed record in the current segment
    std::uint64_t open_records_ = 0;
    std::uint64_t open_bytes_ = 0;
    std::vector<BatchRange> recovered_;
    std::string repair_note_;
};

}  // namespace worm::audit_log::detail
