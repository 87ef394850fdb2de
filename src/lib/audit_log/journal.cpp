// The audit log's journal: append-only CRC-checked segments (journal.hpp).
#include "journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "worm/error.hpp"
#include "worm/fs.hpp"

namespace worm::audit_log::detail {

namespace fs = std::filesystem;

namespace {

constexpr char record_frame = 1;
constexpr char seal_frame = 2;
constexpr std::uint32_t max_frame_payload = 64u * 1024 * 1024;

std::array<std::uint32_t, 256> make_crc32c_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}

void put_u32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get_u32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}
std::string u64_bytes(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}
std::uint64_t get_u64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

[[noreturn]] void throw_io(const std::string& what, const fs::path& path) {
    throw Error(ErrorCode::io, "audit log journal: " + what + " " + path.string() + ": " + std::strerror(errno));
}

struct Frame {
    char type;
    std::string_view payload;
    std::uint64_t next;  // offset after this frame
};

// The frame at offset, or nullopt when it is torn or fails its CRC.
std::optional<Frame> frame_at(std::string_view data, std::uint64_t offset) {
    if (data.size() - offset < Journal::frame_overhead) return std::nullopt;
    const char* p = data.data() + offset;
    const std::uint32_t length = get_u32(p);
    if (length > max_frame_payload || data.size() - offset - Journal::frame_overhead < length) return std::nullopt;
    const std::string_view typed(p + 8, length + 1);
    if (crc32c(typed) != get_u32(p + 4)) return std::nullopt;
    return Frame{p[8], typed.substr(1), offset + Journal::frame_overhead + length};
}

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
    static const auto table = make_crc32c_table();
    crc = ~crc;
    for (const char ch : data) crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
    return ~crc;
}

struct Journal::Segment {
    int fd = -1;
    ~Segment() {
        if (fd >= 0) ::close(fd);
    }
};

Journal::Journal(fs::path dir, std::uint64_t segment_bytes) : dir_(std::move(dir)), segment_bytes_(segment_bytes) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw Error(ErrorCode::io, "audit log journal: cannot create " + dir_.string() + ": " + ec.message());
    const fs::path lock_path = dir_ / ".lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw_io("cannot open", lock_path);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        throw Error(ErrorCode::config, "audit log journal " + dir_.string() +
                                           " is in use by another sink (one sink per journal directory)");
    }
    try {
        replay();
    } catch (...) {
        ::close(lock_fd_);
        throw;
    }
}

Journal::~Journal() {
    try {
        sync();
    } catch (const Error&) {
        // Nothing to report to at destruction; the records were written, only not fsynced.
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

fs::path Journal::segment_path(std::uint64_t number) const {
    char name[32];
    std::snprintf(name, sizeof name, "seg-%010llu.wal", static_cast<unsigned long long>(number));
    return dir_ / name;
}

void Journal::replay() {
    std::vector<std::uint64_t> numbers;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        const std::string name = entry.path().filename().string();
        if (name.size() == 18 && name.rfind("seg-", 0) == 0 && name.substr(14) == ".wal")
            numbers.push_back(std::stoull(name.substr(4, 10)));
    }
    std::sort(numbers.begin(), numbers.end());
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        const fs::path path = segment_path(numbers[i]);
        const std::string data = read_file(path);
        std::uint64_t offset = 0, begin = 0, records = 0, bytes = 0, last_sequence = 0;
        bool sealed_any = false;
        while (offset < data.size()) {
            const auto frame = frame_at(data, offset);
            if (!frame || (frame->type != record_frame && frame->type != seal_frame) ||
                (frame->type == seal_frame && frame->payload.size() != 8)) {
                repair_note_ += "cut " + std::to_string(data.size() - offset) + " damaged bytes from the end of " +
                                path.filename().string() + "; ";
                if (::truncate(path.c_str(), static_cast<off_t>(offset)) != 0) throw_io("cannot truncate", path);
                break;
            }
            if (frame->type == record_frame) {
                ++records;
                bytes += frame->payload.size();
            } else {
                last_sequence = get_u64(frame->payload.data());
                sealed_any = true;
                recovered_.push_back({last_sequence, numbers[i], begin, frame->next, records});
                records = bytes = 0;
                begin = frame->next;
            }
            offset = frame->next;
        }
        const bool last = i + 1 == numbers.size();
        if (!last) {
            closed_[numbers[i]] = {sealed_any ? last_sequence : 0, offset};
            if (records > 0)  // cannot happen (segments roll after a seal); keep them as the next open batch
                repair_note_ += std::to_string(records) + " unsealed records in " + path.filename().string() +
                                " were not replayed; ";
        } else {
            current_number_ = numbers[i];
            current_size_ = offset;
            open_begin_ = begin;
            open_records_ = records;
            open_bytes_ = bytes;
        }
    }
    open_current(numbers.empty() ? 1 : current_number_);
}

void Journal::open_current(std::uint64_t number) {
    const fs::path path = segment_path(number);
    auto segment = std::make_shared<Segment>();
    segment->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (segment->fd < 0) throw_io("cannot open", path);
    fsync_directory(dir_);
    std::lock_guard lock(segment_mutex_);
    current_ = std::move(segment);
    current_number_ = number;
}

void Journal::write_frame(char type, std::string_view payload) {
    char header[frame_overhead];
    put_u32(header, static_cast<std::uint32_t>(payload.size()));
    header[8] = type;
    std::uint32_t crc = crc32c(std::string_view(&header[8], 1));
    crc = crc32c(payload, crc);
    put_u32(header + 4, crc);
    iovec parts[2] = {{header, frame_overhead}, {const_cast<char*>(payload.data()), payload.size()}};
    const std::size_t total = frame_overhead + payload.size();
    const ssize_t written = ::writev(current_->fd, parts, 2);
    if (written != static_cast<ssize_t>(total)) {
        // A short write leaves a torn frame; cut it so the next frame starts clean.
        const int saved = errno;
        if (::ftruncate(current_->fd, static_cast<off_t>(current_size_)) != 0) {}
        errno = written < 0 ? saved : ENOSPC;
        throw_io("cannot append to", segment_path(current_number_));
    }
    std::lock_guard lock(segment_mutex_);
    current_size_ += total;
    dirty_ = true;
}

void Journal::append_record(std::string_view line) {
    if (line.size() > max_frame_payload)
        throw Error(ErrorCode::invalid_argument, "audit log record is larger than 64 MiB");
    write_frame(record_frame, line);
    ++open_records_;
    open_bytes_ += line.size();
}

BatchRange Journal::seal(std::uint64_t sequence) {
    write_frame(seal_frame, u64_bytes(sequence));
    BatchRange range{sequence, current_number_, open_begin_, current_size_, open_records_};
    open_begin_ = current_size_;
    open_records_ = open_bytes_ = 0;
    if (current_size_ >= segment_bytes_) {
        sync();
        {
            std::lock_guard lock(segment_mutex_);
            closed_[current_number_] = {sequence, current_size_};
        }
        {
            std::lock_guard lock(segment_mutex_);
            current_size_ = 0;
        }
        open_begin_ = 0;
        open_current(current_number_ + 1);
    }
    return range;
}

std::vector<std::string> Journal::read_batch(const BatchRange& range) const {
    const fs::path path = segment_path(range.segment);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io("cannot open", path);
    std::string data(range.end - range.begin, '\0');
    const ssize_t n = ::pread(fd, data.data(), data.size(), static_cast<off_t>(range.begin));
    const int saved = errno;
    ::close(fd);
    errno = saved;
    if (n != static_cast<ssize_t>(data.size())) throw_io("cannot read batch from", path);
    std::vector<std::string> lines;
    std::uint64_t offset = 0;
    while (offset < data.size()) {
        const auto frame = frame_at(data, offset);
        if (!frame) throw Error(ErrorCode::integrity, "audit log journal: damaged frame in " + path.string());
        if (frame->type == record_frame) lines.emplace_back(frame->payload);
        offset = frame->next;
    }
    return lines;
}

void Journal::release_through(std::uint64_t stored_through) {
    std::vector<std::uint64_t> doomed;
    {
        std::lock_guard lock(segment_mutex_);
        for (auto it = closed_.begin(); it != closed_.end() && it->second.first <= stored_through;) {
            doomed.push_back(it->first);
            it = closed_.erase(it);
        }
    }
    for (const auto number : doomed) {
        std::error_code ec;
        fs::remove(segment_path(number), ec);
    }
}

void Journal::sync() {
    std::shared_ptr<Segment> segment;
    {
        std::lock_guard lock(segment_mutex_);
        if (!dirty_ || !current_) return;
        dirty_ = false;
        segment = current_;
    }
    if (::fdatasync(segment->fd) != 0) throw_io("cannot fsync", dir_);
}

std::uint64_t Journal::bytes() const {
    std::lock_guard lock(segment_mutex_);
    std::uint64_t total = current_size_;
    for (const auto& [number, info] : closed_) total += info.second;
    return total;
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
