// The audit log's journal: a mapped staging ring in front of append-only CRC-checked
// segments (journal.hpp).
#include "journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "../util/crc32c.hpp"
#include "../util/posix.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"

namespace worm::audit_log::detail {

namespace fs = std::filesystem;
using worm::detail::crc32c;

namespace {

constexpr char legacy_record_frame = 1;
constexpr char legacy_seal_frame = 2;
constexpr char record_frame = 3;
constexpr char seal_frame = 4;
constexpr char mark_frame = 5;
constexpr std::uint32_t max_frame_payload = 64u * 1024 * 1024;
constexpr std::uint32_t ring_pad = 0xFFFFFFFFu;  // "the rest of the ring is unused; go to offset 0"
constexpr std::uint64_t ring_header_bytes = 4096;
constexpr char ring_magic[8] = {'W', 'O', 'R', 'M', 'R', 'N', 'G', '1'};

void put_u32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_u64(char* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get_u32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}
std::uint64_t get_u64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

[[noreturn]] void throw_io(const std::string& what, const fs::path& path, int err = errno) {
    throw Error(worm::detail::error_code_for_errno(err), "audit log journal: " + what + " " + path.string() + ": " + std::strerror(err));
}

bool has_lsn(char type) { return type == record_frame || type == seal_frame; }
bool is_record(char type) { return type == record_frame || type == legacy_record_frame; }
bool is_seal(char type) { return type == seal_frame || type == legacy_seal_frame; }

struct Frame {
    char type;
    std::string_view payload;
    std::uint64_t next;  // offset after this frame
    std::uint64_t lsn() const { return has_lsn(type) ? get_u64(payload.data()) : 0; }
    std::string_view line() const { return type == record_frame ? payload.substr(8) : payload; }
    std::uint64_t sequence() const { return get_u64(payload.data() + (type == seal_frame ? 8 : 0)); }
};

// The well-formed frame at offset, or nullopt when it is torn, fails its CRC, or is not a
// frame type this version knows.
// The frame at offset as its header says (length in bounds), without checking its CRC:
// drain() moves frames this process wrote; frame_at checks everything else.
std::optional<Frame> frame_header_at(std::string_view data, std::uint64_t offset) {
    if (data.size() - offset < Journal::frame_overhead) return std::nullopt;
    const char* p = data.data() + offset;
    const std::uint32_t length = get_u32(p);
    if (length > max_frame_payload || data.size() - offset - Journal::frame_overhead < length) return std::nullopt;
    return Frame{p[8], std::string_view(p + Journal::frame_overhead, length), offset + Journal::frame_overhead + length};
}

std::optional<Frame> frame_at(std::string_view data, std::uint64_t offset) {
    const auto header = frame_header_at(data, offset);
    if (!header) return std::nullopt;
    const char* p = data.data() + offset;
    if (crc32c(std::string_view(p + 8, header->payload.size() + 1)) != get_u32(p + 4)) return std::nullopt;
    const Frame& f = *header;
    const std::size_t need = f.type == record_frame ? 8 : f.type == seal_frame ? 16
                             : f.type == legacy_seal_frame || f.type == mark_frame ? 8 : 0;
    const bool known = f.type >= legacy_record_frame && f.type <= mark_frame;
    if (!known || f.payload.size() < need || ((is_seal(f.type) || f.type == mark_frame) && f.payload.size() != need))
        return std::nullopt;
    return f;
}

// Bytes to skip at ring offset `offset` to reach the next frame: the rest of the ring when
// no frame fits there or a pad marks it unused, else 0.
std::uint64_t ring_skip(std::string_view ring, std::uint64_t offset) {
    const std::uint64_t room = ring.size() - offset;
    return room < Journal::frame_overhead || get_u32(ring.data() + offset) == ring_pad ? room : 0;
}

bool all_zero(std::string_view data) {
    return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
}

void write_all(int fd, std::vector<iovec>& parts, const fs::path& path) {
    std::size_t first = 0;
    while (first < parts.size()) {
        const ssize_t n = ::writev(fd, parts.data() + first, static_cast<int>(std::min<std::size_t>(parts.size() - first, IOV_MAX)));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot append to", path);
        }
        if (n == 0) throw_io("cannot append to", path, ENOSPC);
        auto left = static_cast<std::size_t>(n);
        while (first < parts.size() && left >= parts[first].iov_len) left -= parts[first++].iov_len;
        if (left > 0) {
            parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
            parts[first].iov_len -= left;
        }
    }
}

}  // namespace

struct Journal::Segment {
    int fd = -1;
    ~Segment() {
        if (fd >= 0) ::close(fd);
    }
};

// ring.buf: a 4 KiB header (magic, capacity, the drained-through position), then the data.
struct Journal::Ring {
    int fd = -1;
    char* map = nullptr;
    std::size_t map_bytes = 0;
    char* data() const { return map + ring_header_bytes; }
    char* header() const { return map; }
    ~Ring() {
        if (map) ::munmap(map, map_bytes);
        if (fd >= 0) ::close(fd);
    }
};

Journal::Journal(fs::path dir, std::uint64_t segment_bytes, std::uint64_t ring_bytes, std::size_t index_window,
                 std::mutex* producer_mutex)
    : dir_(std::move(dir)),
      segment_bytes_(segment_bytes),
      index_window_(std::max<std::size_t>(1, index_window)),
      producer_mutex_(producer_mutex ? *producer_mutex : own_producer_mutex_) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw Error(worm::detail::error_code_for_errno(ec.value()), "audit log journal: cannot create " + dir_.string() + ": " + ec.message());
    const fs::path lock_path = dir_ / ".lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw_io("cannot open", lock_path);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        throw Error(ErrorCode::config, "audit log journal " + dir_.string() +
                                           " is in use by another sink (one sink per journal directory)");
    }
    try {
        replay_segments(Lock(drain_mutex_));
        open_ring(std::max<std::uint64_t>(64 * 1024, (ring_bytes + 4095) / 4096 * 4096));
    } catch (...) {
        ring_.reset();
        segments_(Lock(drain_mutex_))->current.reset();
        ::close(lock_fd_);
        throw;
    }
    const Lock lock(drain_mutex_);
    const auto segments = segments_(lock);
    recovered_open_records_ = segments->open_records;
    recovered_open_bytes_ = segments->open_bytes;
    producer_(Lock(producer_mutex_))->last_sealed = segments->newest_indexed;
}

Journal::~Journal() {
    try {
        sync();
    } catch (const Error&) {
        // Nothing to report to at destruction; the ring keeps what was not drained.
    }
    ring_.reset();
    segments_(Lock(drain_mutex_))->current.reset();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

fs::path Journal::segment_path(std::uint64_t number) const {
    char name[32];
    std::snprintf(name, sizeof name, "seg-%010llu.wal", static_cast<unsigned long long>(number));
    return dir_ / name;
}

// ---- opening ----------------------------------------------------------------------------

void Journal::replay_segments(const Lock& lock) {
    const auto s = segments_(lock);
    std::vector<std::uint64_t> numbers;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        const std::string name = entry.path().filename().string();
        if (name.size() == 18 && name.rfind("seg-", 0) == 0 && name.substr(14) == ".wal" &&
            std::all_of(name.begin() + 4, name.begin() + 14, [](char c) { return c >= '0' && c <= '9'; }))
            numbers.push_back(std::stoull(name.substr(4, 10)));
    }
    std::sort(numbers.begin(), numbers.end());
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        const fs::path path = segment_path(numbers[i]);
        const std::string data = read_file(path);
        std::uint64_t offset = 0, last_sequence = 0;
        s->open_begin = 0;
        s->open_records = s->open_bytes = 0;
        while (offset < data.size()) {
            const auto frame = frame_at(data, offset);
            if (!frame) {
                const std::string_view rest = std::string_view(data).substr(offset);
                if (!all_zero(rest))
                    repair_note_ += "cut " + std::to_string(rest.size()) + " damaged bytes from the end of " +
                                    path.filename().string() + "; ";
                if (::truncate(path.c_str(), static_cast<off_t>(offset)) != 0) throw_io("cannot truncate", path);
                break;
            }
            if (has_lsn(frame->type)) s->last_lsn = frame->lsn();
            if (frame->type == mark_frame) s->last_lsn = std::max(s->last_lsn, get_u64(frame->payload.data()));
            if (is_record(frame->type)) {
                ++s->open_records;
                s->open_bytes += frame->line().size();
            } else if (is_seal(frame->type)) {
                last_sequence = frame->sequence();
                add_range(lock, {last_sequence, numbers[i], s->open_begin, frame->next, s->open_records});
                s->open_records = s->open_bytes = 0;
                s->open_begin = frame->next;
            }
            offset = frame->next;
        }
        if (i + 1 < numbers.size()) {
            s->closed[numbers[i]] = {last_sequence, offset};
            closed_bytes_ += offset;
            if (s->open_records > 0)  // cannot happen (segments roll after a seal)
                repair_note_ += std::to_string(s->open_records) + " unsealed records in " + path.filename().string() +
                                " were not replayed; ";
        } else {
            current_size_ = offset;
        }
    }
    open_segment(lock, numbers.empty() ? 1 : numbers.back(), numbers.empty());
}

void Journal::open_segment(const Lock& lock, std::uint64_t number, bool fresh) {
    const auto s = segments_(lock);
    const fs::path path = segment_path(number);
    auto segment = std::make_shared<Segment>();
    segment->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (fresh ? O_TRUNC : 0), 0600);
    if (segment->fd < 0) throw_io("cannot open", path);
    s->current = std::move(segment);
    s->current_number = number;
    if (fresh) {
        current_size_ = 0;
        s->open_begin = 0;
        if (number > 1) {
            // The mark keeps the lsn known when every earlier segment has been released.
            char frame[frame_overhead + 8];
            put_u32(frame, 8);
            frame[8] = mark_frame;
            put_u64(frame + 9, s->last_lsn);
            put_u32(frame + 4, crc32c(std::string_view(frame + 8, 9)));
            std::vector<iovec> part{{frame, sizeof frame}};
            write_all(s->current->fd, part, path);
            current_size_ = sizeof frame;
            s->open_begin = sizeof frame;
        }
        fsync_directory(dir_);
    }
}

void Journal::open_ring(std::uint64_t capacity) {
    const fs::path path = dir_ / "ring.buf";
    auto ring = std::make_unique<Ring>();
    ring->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ring->fd < 0) throw_io("cannot open", path);
    struct stat st {};
    if (::fstat(ring->fd, &st) != 0) throw_io("cannot stat", path);
    ring_ = std::move(ring);
    // An existing ring keeps its size until it is replayed; then it takes the asked one.
    const auto existing = static_cast<std::uint64_t>(st.st_size);
    map_ring(existing > ring_header_bytes ? existing - ring_header_bytes : capacity);
    replay_ring();
    if (ring_capacity_ != capacity) map_ring(capacity);
    reset_ring();
}

void Journal::map_ring(std::uint64_t capacity) {
    const fs::path path = dir_ / "ring.buf";
    if (ring_->map) ::munmap(ring_->map, ring_->map_bytes);
    ring_->map = nullptr;
    const std::uint64_t bytes = ring_header_bytes + capacity;
    if (::ftruncate(ring_->fd, static_cast<off_t>(bytes)) != 0) throw_io("cannot size", path);
    // Reserved blocks, so that a store into the mapping can never meet a full disk (SIGBUS).
    if (const int err = ::posix_fallocate(ring_->fd, 0, static_cast<off_t>(bytes)); err != 0)
        throw_io("cannot reserve space for", path, err);
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ring_->fd, 0);
    if (map == MAP_FAILED) throw_io("cannot map", path);
    ring_->map = static_cast<char*>(map);
    ring_->map_bytes = bytes;
    ring_capacity_ = capacity;
}

void Journal::replay_ring() {
    const Lock lock(drain_mutex_);
    const auto segments = segments_(lock);
    const std::uint64_t last_lsn = segments->last_lsn;  // as replay_segments left it
    const char* header = ring_->header();
    const bool valid_header = std::memcmp(header, ring_magic, 8) == 0 && get_u64(header + 8) == ring_capacity_;
    std::uint64_t start = 0, end = 0;
    if (valid_header) {
        // Walk the chain of frames from the drained-through position: each lsn one above the
        // last. Frames the segments already have are skipped; the chain ends at the first gap,
        // bad CRC or stale frame of an earlier lap.
        const std::string_view data(ring_->data(), ring_capacity_);
        std::uint64_t pos = get_u64(header + 16), walked = 0;
        std::optional<std::uint64_t> previous;
        start = end = pos;
        bool replaying = false;
        while (walked < ring_capacity_) {
            const std::uint64_t offset = pos % ring_capacity_;
            if (const std::uint64_t skip = ring_skip(data, offset)) {
                pos += skip, walked += skip;
                continue;
            }
            const auto frame = frame_at(data, offset);
            if (!frame || !has_lsn(frame->type)) break;
            const std::uint64_t lsn = frame->lsn();
            if (previous && lsn != *previous + 1) break;
            previous = lsn;
            const std::uint64_t size = frame->next - offset;
            if (lsn > last_lsn && !replaying) {
                replaying = true;
                start = pos;
            }
            pos += size, walked += size;
            if (replaying) end = pos;
            else start = end = pos;
        }
    }
    tail_ = start;
    head_ = end;
    ring_frame_bytes_ = end - start;  // an upper bound (pads count); reset_ring() zeroes it
    if (end > start) {
        drain(lock);
        if (::fdatasync(segments->current->fd) != 0) throw_io("cannot fsync", segment_path(segments->current_number));
        segments->dirty = false;
    }
    producer_(Lock(producer_mutex_))->next_lsn = segments->last_lsn + 1;
}

// Zeroes the ring through the mapping (which also faults its pages in writable, so log()
// does not) and starts it at position 0.
void Journal::reset_ring() {
    std::memset(ring_->data(), 0, ring_capacity_);
    char* header = ring_->header();
    std::memcpy(header, ring_magic, 8);
    put_u64(header + 8, ring_capacity_);
    put_u64(header + 16, 0);
    head_ = 0;
    tail_ = 0;
    ring_frame_bytes_ = 0;
}

// ---- producing --------------------------------------------------------------------------

void Journal::append_frame(const Lock& producer_lock, char type, std::string_view payload) {
    // Checked before the ring is touched: a caller without the proof writes nothing.
    Producer& producer = *producer_(producer_lock);
    const std::uint64_t total = record_overhead + payload.size();
    const std::uint64_t capacity = ring_capacity_;
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t offset = head % capacity;
        const std::uint64_t skip = capacity - offset < total ? capacity - offset : 0;
        if (capacity - (head - tail_.load(std::memory_order_acquire)) >= skip + total) break;
        drain(Lock(drain_mutex_));  // full: make room ourselves
    }
    std::uint64_t offset = head % capacity;
    char* data = ring_->data();
    if (capacity - offset < total) {
        if (capacity - offset >= 4) put_u32(data + offset, ring_pad);
        head += capacity - offset;
        offset = 0;
    }
    char* frame = data + offset;
    put_u32(frame, static_cast<std::uint32_t>(8 + payload.size()));
    frame[8] = type;
    put_u64(frame + 9, producer.next_lsn++);
    std::memcpy(frame + record_overhead, payload.data(), payload.size());
    put_u32(frame + 4, crc32c(std::string_view(frame + 8, total - 8)));
    ring_frame_bytes_ += total;
    head_.store(head + total, std::memory_order_release);
}

void Journal::append_record(const ProducerLock& producer_lock, std::string_view line) {
    if (line.size() > max_record_bytes())
        throw Error(ErrorCode::invalid_argument, "audit log record of " + std::to_string(line.size()) +
                                                     " bytes is larger than the journal takes (" +
                                                     std::to_string(max_record_bytes()) + " bytes, half its ring)");
    append_frame(producer_lock, record_frame, line);
}

void Journal::seal(const ProducerLock& producer_lock, std::uint64_t sequence) {
    const auto producer = producer_(producer_lock);
    if (producer->last_sealed && sequence <= *producer->last_sealed)
        throw Error(ErrorCode::invalid_argument, "audit log journal " + dir_.string() + ": batch sequence " +
                                                     std::to_string(sequence) + " does not follow the newest sealed one, " +
                                                     std::to_string(*producer->last_sealed));
    char payload[8];
    put_u64(payload, sequence);
    append_frame(producer_lock, seal_frame, std::string_view(payload, 8));
    producer->last_sealed = sequence;
}

bool Journal::drain_due() const {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);  // tail first: it never passes a later head
    return head_.load(std::memory_order_acquire) - tail > ring_capacity_ / 4;
}

// ---- draining ---------------------------------------------------------------------------

void Journal::drain(const Lock& lock) {
    const auto s = segments_(lock);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    std::uint64_t pos = tail_.load(std::memory_order_relaxed);
    if (pos == head) return;
    const std::uint64_t capacity = ring_capacity_;
    const std::string_view data(ring_->data(), capacity);
    std::vector<iovec> parts;
    std::uint64_t pending = 0, pending_records = 0, pending_bytes = 0, pending_lsn = s->last_lsn;
    // Writes what was gathered and only then counts it, so a failed write changes nothing.
    auto flush = [&](std::uint64_t flushed_to) {
        if (pending > 0) {
            try {
                write_all(s->current->fd, parts, segment_path(s->current_number));
            } catch (const Error&) {
                // Cut a torn write, so the next drain appends whole frames after whole frames.
                if (::ftruncate(s->current->fd, static_cast<off_t>(current_size_.load())) != 0) {
                }
                throw;
            }
            move_bytes([&] {
                current_size_ += pending;
                ring_frame_bytes_ -= pending;
            });
            s->open_records += pending_records;
            s->open_bytes += pending_bytes;
            s->last_lsn = pending_lsn;
            s->dirty = true;
        }
        parts.clear();
        pending = pending_records = pending_bytes = 0;
        tail_.store(flushed_to, std::memory_order_release);
        put_u64(ring_->header() + 16, flushed_to);
    };
    while (pos < head) {
        const std::uint64_t offset = pos % capacity;
        if (const std::uint64_t skip = ring_skip(data, offset)) {
            pos += skip;
            continue;
        }
        // This process wrote these frames (or replay_ring checked them): no CRC check here;
        // read_batch checks every frame it reads back from the segment.
        const auto frame = frame_header_at(data, offset);
        if (!frame || frame->payload.size() < 8 || !has_lsn(frame->type))
            throw Error(ErrorCode::integrity, "audit log journal: damaged frame in the ring of " + dir_.string());
        const std::uint64_t size = frame->next - offset;
        char* bytes = ring_->data() + offset;
        if (!parts.empty() && static_cast<char*>(parts.back().iov_base) + parts.back().iov_len == bytes)
            parts.back().iov_len += size;
        else
            parts.push_back({bytes, size});
        pending += size;
        pending_lsn = frame->lsn();
        pos += size;
        if (is_record(frame->type)) {
            ++pending_records;
            pending_bytes += frame->line().size();
            continue;
        }
        flush(pos);
        const std::uint64_t sequence = frame->sequence();
        add_range(lock, {sequence, s->current_number, s->open_begin, current_size_, s->open_records});
        s->open_begin = current_size_;
        s->open_records = s->open_bytes = 0;
        if (current_size_ >= segment_bytes_) roll(lock, sequence);
    }
    flush(pos);
}

void Journal::roll(const Lock& lock, std::uint64_t last_sequence) {
    const auto s = segments_(lock);
    if (::fdatasync(s->current->fd) != 0) throw_io("cannot fsync", segment_path(s->current_number));
    s->closed[s->current_number] = {last_sequence, current_size_};
    move_bytes([&] {
        closed_bytes_ += current_size_;
        current_size_ = 0;
    });
    open_segment(lock, s->current_number + 1, true);
    s->dirty = false;
}

// ---- the index of sealed batches -------------------------------------------------------

void Journal::add_range(const Lock& lock, const BatchRange& range) {
    const auto s = segments_(lock);
    s->newest_indexed = std::max(s->newest_indexed.value_or(0), range.sequence);
    if (!s->unindexed && s->ranges.size() < index_window_) insert_range(lock, range);
    else if (!s->unindexed) s->unindexed = IndexCursor{range.segment, range.begin};
}

// Keeps the ranges sorted by sequence with one entry per sequence. The sink seals sequences in
// increasing order, so this is an append; a damaged or hand-made journal that repeats or
// reorders them gets the later range for a repeated sequence, as a map would.
void Journal::insert_range(const Lock& lock, const BatchRange& range) {
    const auto s = segments_(lock);
    if (s->ranges.empty() || s->ranges.back().sequence < range.sequence) {
        s->ranges.push_back(range);
        return;
    }
    const auto it = first_range_from(lock, range.sequence);
    if (it != s->ranges.end() && it->sequence == range.sequence) *it = range;
    else s->ranges.insert(it, range);
}

// The first listed range whose sequence is `sequence` or later.
std::deque<BatchRange>::iterator Journal::first_range_from(const Lock& lock, std::uint64_t sequence) {
    const auto s = segments_(lock);
    return std::lower_bound(s->ranges.begin(), s->ranges.end(), sequence,
                            [](const BatchRange& r, std::uint64_t wanted) { return r.sequence < wanted; });
}

const BatchRange* Journal::find_range(const Lock& lock, std::uint64_t sequence) {
    const auto s = segments_(lock);
    index_through(lock, sequence);
    const auto it = first_range_from(lock, sequence);
    return it != s->ranges.end() && it->sequence == sequence ? &*it : nullptr;
}

// When batches are unlisted and `through_sequence` is not listed yet: lists the batches after
// the cursor until the window is full and `through_sequence` is in it.
void Journal::index_through(const Lock& lock, std::uint64_t through_sequence) {
    const auto s = segments_(lock);
    if (!s->unindexed || (!s->ranges.empty() && s->ranges.back().sequence >= through_sequence)) return;
    bool more = true;
    const IndexCursor after = scan(lock, *s->unindexed, [&](const BatchRange& range) {
        insert_range(lock, range);
        more = s->ranges.size() < index_window_ || range.sequence < through_sequence;
        return more;
    });
    if (more) s->unindexed.reset();  // the scan reached the last sealed batch
    else s->unindexed = after;
}

// Calls on_batch(range) for each sealed batch from `from` on, in order, until it returns false
// or the last sealed batch; returns the place after the last batch it was given. Reads frame
// headers through a small buffer, so a large backlog costs little memory. CRCs are not checked
// here: read_batch checks every frame of a range before its records are used.
template <class OnBatch>
Journal::IndexCursor Journal::scan(const Lock& lock, IndexCursor from, OnBatch on_batch) {
    const auto s = segments_(lock);
    IndexCursor at = from;
    std::string buffer;
    for (;;) {
        const bool current = at.segment == s->current_number;
        const auto closed = s->closed.find(at.segment);
        if (!current && closed == s->closed.end())
            throw Error(ErrorCode::integrity, "audit log journal: segment " + segment_path(at.segment).string() +
                                                  " is missing");
        const std::uint64_t end = current ? s->open_begin : closed->second.second;
        if (at.offset < end) {
            const fs::path path = segment_path(at.segment);
            const worm::detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd) throw_io("cannot open", path);
            std::uint64_t buffer_at = 0, begin = at.offset, records = 0;
            buffer.clear();
            // The first `want` bytes at `offset`, from the buffer or read anew into it.
            auto bytes_at = [&](std::uint64_t offset, std::size_t want) -> const char* {
                if (offset < buffer_at || offset + want > buffer_at + buffer.size()) {
                    buffer.resize(static_cast<std::size_t>(std::min<std::uint64_t>(256 * 1024, end - offset)));
                    const ssize_t n = ::pread(fd.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
                    if (n < static_cast<ssize_t>(want)) throw_io("cannot read", path, n < 0 ? errno : EIO);
                    buffer.resize(static_cast<std::size_t>(n));
                    buffer_at = offset;
                }
                return buffer.data() + (offset - buffer_at);
            };
            while (at.offset < end) {
                const std::size_t header = static_cast<std::size_t>(std::min<std::uint64_t>(frame_overhead + 16, end - at.offset));
                if (header < frame_overhead) break;
                const char* p = bytes_at(at.offset, header);
                const std::uint32_t length = get_u32(p);
                const char type = p[8];
                const std::uint64_t next = at.offset + frame_overhead + length;
                const std::size_t sequence_at = type == seal_frame ? 8 : 0;
                if (next > end || (is_seal(type) && length < sequence_at + 8))
                    throw Error(ErrorCode::integrity, "audit log journal: damaged frame in " + path.string());
                at.offset = next;
                if (type == mark_frame && records == 0) {
                    begin = next;
                } else if (is_record(type)) {
                    ++records;
                } else if (is_seal(type)) {
                    const BatchRange range{get_u64(p + frame_overhead + sequence_at), at.segment, begin, next, records};
                    begin = next;
                    records = 0;
                    if (!on_batch(range)) return at;
                }
            }
        }
        if (current) return at;
        at = IndexCursor{at.segment + 1, 0};
    }
}

std::vector<BatchRange> Journal::batches_from(std::uint64_t sequence, std::size_t max) {
    const Lock lock(drain_mutex_);
    drain(lock);
    const auto s = segments_(lock);
    const std::uint64_t through = max == 0 ? sequence : sequence + std::min<std::uint64_t>(max - 1, UINT64_MAX - sequence);
    index_through(lock, through);
    std::vector<BatchRange> out;
    for (auto it = first_range_from(lock, sequence); it != s->ranges.end() && out.size() < max; ++it)
        out.push_back(*it);
    return out;
}

Journal::Backlog Journal::backlog_after(std::optional<std::uint64_t> stored_through) {
    const Lock lock(drain_mutex_);
    drain(lock);
    const auto s = segments_(lock);
    Backlog backlog;
    auto count = [&](const BatchRange& range) {
        backlog.last_sequence = std::max(backlog.last_sequence.value_or(0), range.sequence);
        if (stored_through && range.sequence <= *stored_through) return true;
        ++backlog.batches;
        backlog.records += range.records;
        return true;
    };
    for (const auto& range : s->ranges) count(range);
    if (s->unindexed) scan(lock, *s->unindexed, count);
    return backlog;
}

void Journal::visit_batch(std::uint64_t sequence, const std::function<void(std::string_view)>& each) {
    BatchRange range;
    {
        const Lock lock(drain_mutex_);
        if (!find_range(lock, sequence)) drain(lock);
        const BatchRange* found = find_range(lock, sequence);
        if (!found)
            throw Error(ErrorCode::integrity, "audit log journal: batch " + std::to_string(sequence) + " is not in " +
                                                  dir_.string());
        range = *found;
    }
    const fs::path path = segment_path(range.segment);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io("cannot open", path);
    std::string data(range.end - range.begin, '\0');
    const ssize_t n = ::pread(fd, data.data(), data.size(), static_cast<off_t>(range.begin));
    const int saved = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(data.size())) throw_io("cannot read batch from", path, n < 0 ? saved : EIO);
    std::uint64_t offset = 0;
    while (offset < data.size()) {
        const auto frame = frame_at(data, offset);
        if (!frame) throw Error(ErrorCode::integrity, "audit log journal: damaged frame in " + path.string());
        if (is_record(frame->type)) each(frame->line());
        offset = frame->next;
    }
}

std::vector<std::string> Journal::read_batch(std::uint64_t sequence) {
    std::vector<std::string> lines;
    visit_batch(sequence, [&](std::string_view line) { lines.emplace_back(line); });
    return lines;
}

void Journal::release_through(std::uint64_t stored_through) {
    std::vector<std::uint64_t> doomed;
    {
        const Lock lock(drain_mutex_);
        const auto s = segments_(lock);
        for (auto it = s->closed.begin(); it != s->closed.end() && it->second.first <= stored_through;) {
            doomed.push_back(it->first);
            closed_bytes_ -= it->second.second;
            it = s->closed.erase(it);
        }
        while (!s->ranges.empty() && s->ranges.front().sequence <= stored_through) s->ranges.pop_front();
        // Every batch of a deleted segment is stored: the unlisted ones start after it.
        if (s->unindexed && !doomed.empty() && s->unindexed->segment <= doomed.back())
            s->unindexed = IndexCursor{doomed.back() + 1, 0};
    }
    for (const auto number : doomed) {
        std::error_code ec;
        fs::remove(segment_path(number), ec);
    }
}

void Journal::sync() {
    std::shared_ptr<Segment> segment;
    {
        const Lock lock(drain_mutex_);
        drain(lock);
        const auto s = segments_(lock);
        if (!s->dirty || !s->current) return;
        s->dirty = false;
        segment = s->current;
    }
    if (::fdatasync(segment->fd) != 0) throw_io("cannot fsync", dir_);
}

template <class Move>
void Journal::move_bytes(Move move) {
    moves_.fetch_add(1, std::memory_order_relaxed);  // odd: a move runs
    std::atomic_thread_fence(std::memory_order_release);
    move();
    moves_.fetch_add(1, std::memory_order_release);
}

std::uint64_t Journal::bytes() const {
    for (;;) {
        const std::uint64_t before = moves_.load(std::memory_order_acquire);
        if (before % 2 == 0) {
            const std::uint64_t sum = closed_bytes_.load(std::memory_order_relaxed) +
                                      current_size_.load(std::memory_order_relaxed) +
                                      ring_frame_bytes_.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (moves_.load(std::memory_order_relaxed) == before) return sum;
        }
        std::this_thread::yield();  // a move is a few instructions long
    }
}

std::optional<std::string> Journal::read_state() const {
    const fs::path path = dir_ / "state.json";
    if (!fs::exists(path)) return std::nullopt;
    return read_file(path);
}

void Journal::write_state(std::string_view json) const {
    WriteOptions options;
    options.mode = fs::perms::owner_read | fs::perms::owner_write;
    write_file_atomic(dir_ / "state.json", json, options);
}

}  // namespace worm::audit_log::detail
