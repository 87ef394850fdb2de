#include "posix.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "worm/error.hpp"

namespace worm::detail {

ErrorCode error_code_for_errno(int err) noexcept {
    switch (err) {
        case ENOSPC:
        case EDQUOT:
        case EFBIG:
        case EIO:
        case EROFS:
            return ErrorCode::storage;
        default:
            return ErrorCode::io;
    }
}

void io_error(std::string_view what, const std::filesystem::path& path, int err) {
    throw Error(error_code_for_errno(err), std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

UniqueFd::~UniqueFd() { close(); }

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.release();
    }
    return *this;
}

int UniqueFd::close() noexcept {
    if (fd_ < 0) return 0;
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
}

FileLock::FileLock(const std::filesystem::path& path, Kind kind)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) {
    if (!fd_) io_error("cannot open lock file", path, errno);
    while (::flock(fd_.get(), kind == Kind::exclusive ? LOCK_EX : LOCK_SH) != 0) {
        if (errno != EINTR) io_error("cannot lock", path, errno);
    }
}

}  // namespace worm::detail
