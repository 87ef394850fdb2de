#include "evidence_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>
#include <thread>
#include <vector>

#include "worm/error.hpp"

namespace worm::detail {

namespace fs = std::filesystem;

namespace {

// Most files fsynced at once by one call: enough for the kernel to merge them into one
// journal commit, few enough not to matter next to the fsyncs themselves.
constexpr std::size_t kParallelSyncs = 8;

// Up to this many files are fsynced one after the other on the calling thread. Their data is
// already being written (sync_file_range) and the first fsync commits the journal
// transaction holding every one of their inodes, so the rest are short; a helper thread
// per round cost more, and on a busy machine the caller waited for a helper that the
// scheduler had not started yet (tens of milliseconds, measured with strace -f).
constexpr std::size_t kSerialSyncs = 4;

bool write_all(int fd, std::string_view data) {
    std::size_t written = 0;
    while (written < data.size()) {
        const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        written += static_cast<std::size_t>(n);
    }
    return true;
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// O_TMPFILE and linking it by its /proc/self/fd name work in this directory.
bool probe_unnamed_files(int dir_fd) {
    UniqueFd probe(::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!probe) return false;
    return ::access(proc_fd_path(probe.get()).c_str(), F_OK) == 0;
}

}  // namespace

EvidenceDirectory::EvidenceDirectory(const fs::path& dir)
    : path_(dir), fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (!fd_) io_error("cannot open evidence directory", dir, errno);
    unnamed_files_ = probe_unnamed_files(fd_.get());
}

UnnamedFile::UnnamedFile(const EvidenceDirectory& dir, std::string_view data, mode_t mode)
    : dir_(&dir), size_(data.size()) {
    if (dir.unnamed_files()) {
        fd_ = UniqueFd(::openat(dir.fd(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode | S_IWUSR));
    } else {
        static std::atomic<std::uint64_t> counter{0};
        temp_name_ = "." + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp";
        fd_ = UniqueFd(::openat(dir.fd(), temp_name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode | S_IWUSR));
        if (!fd_) temp_name_.clear();
    }
    if (!fd_) io_error("cannot create a file in", dir.path(), errno);
    if (!write_all(fd_.get(), data) || ::fchmod(fd_.get(), mode) != 0) {
        const int err = errno;
        if (!temp_name_.empty()) ::unlinkat(dir.fd(), temp_name_.c_str(), 0);
        temp_name_.clear();
        io_error("cannot write a file in", dir.path(), err);
    }
}

UnnamedFile::UnnamedFile(UnnamedFile&& other) noexcept
    : dir_(other.dir_), fd_(std::move(other.fd_)), temp_name_(std::move(other.temp_name_)), size_(other.size_) {
    other.temp_name_.clear();
}

UnnamedFile::~UnnamedFile() {
    // An unnamed file disappears with its descriptor; a named temporary one is removed.
    if (!temp_name_.empty()) ::unlinkat(dir_->fd(), temp_name_.c_str(), 0);
}

std::string UnnamedFile::read_back() const {
    std::string bytes(size_ + 1, '\0');  // one more: a longer file would show
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::pread(fd_.get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
        if (n < 0) {
            if (errno == EINTR) continue;
            io_error("cannot read back a file written in", dir_->path(), errno);
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    return bytes;
}

bool UnnamedFile::link_as(const std::string& name) {
    const int rc = temp_name_.empty()
                       ? ::linkat(AT_FDCWD, proc_fd_path(fd_.get()).c_str(), dir_->fd(), name.c_str(), AT_SYMLINK_FOLLOW)
                       : ::linkat(dir_->fd(), temp_name_.c_str(), dir_->fd(), name.c_str(), 0);
    if (rc != 0) {
        if (errno == EEXIST) return false;
        io_error("cannot create", dir_->path() / name, errno);
    }
    return true;
}

void fsync_in_parallel(std::span<const int> fds, const fs::path& what) {
    // Start writing every file's data at once: the device sees them together, and each
    // fsync below then mostly waits for writes already in flight. Only a hint (an error
    // here shows again in fsync, which is what decides).
    for (const int fd : fds) (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (fds.size() <= kSerialSyncs) {
        for (const int fd : fds)
            if (::fsync(fd) != 0) io_error("cannot fsync files in", what, errno);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::atomic<int> failure{0};
    auto work = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < fds.size();) {
            if (::fsync(fds[i]) != 0) {
                int expected = 0;
                failure.compare_exchange_strong(expected, errno);
            }
        }
    };
    std::vector<std::jthread> helpers;
    const std::size_t extra = std::min(fds.size(), kParallelSyncs) - (fds.empty() ? 0 : 1);
    for (std::size_t i = 0; i < extra; ++i) {
        try {
            helpers.emplace_back(work);
        } catch (const std::system_error&) {
            break;  // no thread to spare: this one does the rest
        }
    }
    work();
    helpers.clear();  // joins
    if (const int err = failure.load()) io_error("cannot fsync files in", what, err);
}

void GroupSync::sync() {
    std::unique_lock lock(mutex_);
    const std::uint64_t ticket = ++requested_;
    while (synced_ < ticket) {
        if (running_) {
            done_cv_.wait(lock);
            continue;
        }
        // Lead a round: it covers every caller that has arrived so far.
        running_ = true;
        const std::uint64_t covers = requested_;
        lock.unlock();
        const int rc = ::fsync(dir_->fd());
        const int err = errno;
        lock.lock();
        running_ = false;
        synced_ = covers;
        if (rc != 0) {
            failed_upto_ = covers;
            failed_errno_ = err;
        }
        done_cv_.notify_all();
    }
    // A failed round fails every caller it covered (conservatively, also any still waking up).
    if (ticket <= failed_upto_) io_error("cannot fsync directory", dir_->path(), failed_errno_);
}

}  // namespace worm::detail
