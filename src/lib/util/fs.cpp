#include "worm/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <random>

#include "posix.hpp"
#include "worm/error.hpp"

namespace worm {

namespace fs = std::filesystem;
using detail::io_error;

namespace {

std::string temp_name(const fs::path& target) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return "." + target.filename().string() + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(rng());
}

}  // namespace

void fsync_directory(const fs::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) io_error("cannot open directory", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) io_error("cannot fsync directory", dir, err);
}

namespace {

void write_all(int fd, std::string_view data) {
    size_t written = 0;
    while (written < data.size()) {
        const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // errno tells the caller why
        }
        written += static_cast<size_t>(n);
    }
    errno = 0;
}

// Create-if-absent through an unnamed file (O_TMPFILE): the data is written and flushed
// before the file gets a name, and linkat() gives it the name only if the name is free.
// Atomic like temp + link + unlink, with one directory operation instead of three.
// Returns false (nothing changed on disk) when the filesystem or /proc cannot do it.
bool write_new_file_via_tmpfile(const fs::path& dir, const fs::path& path, std::string_view data,
                                const WriteOptions& options) {
    const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, static_cast<mode_t>(options.mode) | S_IWUSR);
    if (fd < 0) {
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) return false;
        io_error("cannot create a file in", dir, errno);
    }
    auto fail = [&](const std::string& what, const fs::path& where) {
        const int err = errno;
        ::close(fd);  // the unnamed file disappears with its last descriptor
        io_error(what, where, err);
    };
    write_all(fd, data);
    if (errno != 0) fail("cannot write", path);
    if (options.durable && ::fsync(fd) != 0) fail("cannot fsync", path);
    if (::fchmod(fd, static_cast<mode_t>(options.mode)) != 0) fail("cannot set mode of", path);
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EEXIST) throw Error(ErrorCode::already_exists, path.string() + " already exists");
        if (err == ENOENT && ::access("/proc/self/fd", X_OK) != 0) return false;  // no /proc here
        io_error("cannot create", path, err);
    }
    ::close(fd);  // data already written (and flushed when durable): nothing left to report
    if (options.durable) fsync_directory(dir);
    return true;
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view data, const WriteOptions& options) {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (options.no_overwrite && write_new_file_via_tmpfile(dir, path, data, options)) return;
    const fs::path tmp = dir / temp_name(path);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          static_cast<mode_t>(options.mode) | S_IWUSR);
    if (fd < 0) io_error("cannot create", tmp, errno);
    auto fail = [&](const std::string& what) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        io_error(what, path, err);
    };
    write_all(fd, data);
    if (errno != 0) fail("cannot write");
    if (options.durable && ::fsync(fd) != 0) fail("cannot fsync");
    if (::fchmod(fd, static_cast<mode_t>(options.mode)) != 0) fail("cannot set mode of");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        io_error("cannot close", path, err);
    }
    if (options.no_overwrite) {
        // link() fails with EEXIST instead of replacing: a race-free "create if absent".
        if (::link(tmp.c_str(), path.c_str()) != 0) {
            const int err = errno;
            ::unlink(tmp.c_str());
            if (err == EEXIST) throw Error(ErrorCode::already_exists, path.string() + " already exists");
            io_error("cannot create", path, err);
        }
        ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        io_error("cannot rename into place", path, err);
    }
    if (options.durable) fsync_directory(dir);
}

namespace {

std::string_view file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

std::string read_file(const fs::path& path, std::uint64_t max_bytes) {
    // O_NONBLOCK: opening a FIFO without a writer must not wait; it is refused below.
    detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) {
        if (errno == ENOENT) throw Error(ErrorCode::not_found, "no such file: " + path.string());
        io_error("cannot read", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) io_error("cannot stat", path, errno);
    // A pipe (/dev/stdin, `-`, a FIFO) is read like a file, to the same limit; devices
    // (/dev/zero, a terminal) and directories are refused at once.
    const bool pipe = S_ISFIFO(st.st_mode);
    if (!S_ISREG(st.st_mode) && !pipe)
        throw Error(ErrorCode::invalid_argument,
                    path.string() + " is " + std::string(file_kind(st.st_mode)) + ", not a regular file or a pipe");
    // Blocking reads from here: a writer may be slow. A FIFO nobody has open for writing
    // reads as empty at once, so this never waits for a writer that does not exist.
    if (pipe && ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK) != 0)
        io_error("cannot read", path, errno);
    const auto too_large = [&](std::uint64_t size) {
        return Error(ErrorCode::invalid_argument, path.string() + " is " + std::to_string(size) +
                                                      " bytes, over the limit of " + std::to_string(max_bytes) +
                                                      " bytes for this file");
    };
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) throw too_large(static_cast<std::uint64_t>(st.st_size));
    // Read to the end, not to st_size: a file that grows while read still stops at the limit.
    std::string out(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    for (;;) {
        if (got == out.size()) {
            if (out.size() > max_bytes) throw too_large(out.size());
            out.resize(std::min<std::uint64_t>(max_bytes + 1, out.size() + 4096));
        }
        const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) io_error("cannot read", path, errno);
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    if (pipe && out.empty())
        throw Error(ErrorCode::invalid_argument, path.string() + " is a FIFO or pipe that gave no bytes (nothing wrote to it)");
    return out;
}

}  // namespace worm
