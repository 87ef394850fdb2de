// posix.hpp (private): the POSIX glue several parts share: Error(io) from an errno, a file
// descriptor that closes itself, and a flock() held for a scope.
#pragma once

#include <filesystem>
#include <string_view>

#include "worm/error.hpp"

namespace worm::detail {

// The one mapping of a file-system errno to an ErrorCode: a full, failing or read-only
// disk (ENOSPC, EDQUOT, EFBIG, EIO, EROFS) is a storage failure (CLI exit 3), anything else
// about a local path (permissions, missing directories, ...) is io (exit 2).
ErrorCode error_code_for_errno(int err) noexcept;

// Throws Error(error_code_for_errno(err)) "<what> <path>: <strerror(err)>".
[[noreturn]] void io_error(std::string_view what, const std::filesystem::path& path, int err);

// Owns a descriptor; closes it when destroyed. Errors of that close are not reported:
// call close() where they matter (a written file).
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd();
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    // close(2)'s result (0, or -1 with errno); the descriptor is gone either way.
    int close() noexcept;

private:
    int fd_ = -1;
};

// A flock() on `path` (created 0644 when missing, never through a symlink) for the lifetime of
// the object. Each instance opens its own descriptor, so it also excludes other threads of
// this process and forked children (flock belongs to the open file description).
class FileLock {
public:
    enum class Kind { shared, exclusive };
    FileLock(const std::filesystem::path& path, Kind kind);
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    UniqueFd fd_;  // closing it releases the lock
};

}  // namespace worm::detail
