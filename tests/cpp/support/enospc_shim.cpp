/* enospc_shim.cpp: an LD_PRELOAD fault injector for tests. Publishing a file whose name ends
 * in $WORM_FAULT_ENOSPC_SUFFIX (link, linkat, rename, renameat, renameat2: how
 * write_file_atomic gives a written file its name) fails with ENOSPC, as on a full disk
 * where the directory needs a new block. Writing to an open file whose name ends in
 * $WORM_FAULT_ENOSPC_WRITE_SUFFIX (write, pwrite, pwrite64) fails with ENOSPC too, as on a
 * disk that still has inodes but no blocks: the file is created, its bytes are not.
 * Everything else goes to libc unchanged. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace {

int faulty(const char* path) {
    const char* suffix = getenv("WORM_FAULT_ENOSPC_SUFFIX");
    if (!suffix || !*suffix || !path) return 0;
    const size_t n = strlen(path), s = strlen(suffix);
    if (n < s || strcmp(path + n - s, suffix) != 0) return 0;
    errno = ENOSPC;
    return 1;
}

// Whether fd is open on a file whose name ends in $WORM_FAULT_ENOSPC_WRITE_SUFFIX.
int faulty_fd(int fd) {
    const char* suffix = getenv("WORM_FAULT_ENOSPC_WRITE_SUFFIX");
    if (!suffix || !*suffix) return 0;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = '\0';
    const size_t s = strlen(suffix);
    if (static_cast<size_t>(n) < s || strcmp(target + n - s, suffix) != 0) return 0;
    errno = ENOSPC;
    return 1;
}

}  // namespace

#define NEXT(name) (reinterpret_cast<decltype(&::name)>(dlsym(RTLD_NEXT, #name)))

extern "C" {

int link(const char* from, const char* to) { return faulty(to) ? -1 : NEXT(link)(from, to); }
int linkat(int fd1, const char* from, int fd2, const char* to, int flags) {
    return faulty(to) ? -1 : NEXT(linkat)(fd1, from, fd2, to, flags);
}
int rename(const char* from, const char* to) { return faulty(to) ? -1 : NEXT(rename)(from, to); }
int renameat(int fd1, const char* from, int fd2, const char* to) {
    return faulty(to) ? -1 : NEXT(renameat)(fd1, from, fd2, to);
}
int renameat2(int fd1, const char* from, int fd2, const char* to, unsigned flags) {
    return faulty(to) ? -1 : NEXT(renameat2)(fd1, from, fd2, to, flags);
}

ssize_t write(int fd, const void* buf, size_t n) { return faulty_fd(fd) ? -1 : NEXT(write)(fd, buf, n); }
ssize_t pwrite(int fd, const void* buf, size_t n, off_t at) {
    return faulty_fd(fd) ? -1 : NEXT(pwrite)(fd, buf, n, at);
}
ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t at) {
    return faulty_fd(fd) ? -1 : NEXT(pwrite64)(fd, buf, n, at);
}

}  // extern "C"
