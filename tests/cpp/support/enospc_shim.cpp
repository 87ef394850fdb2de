/* enospc_shim.cpp: an LD_PRELOAD fault injector for tests. Publishing a file whose name ends
 * in $WORM_FAULT_ENOSPC_SUFFIX (link, linkat, rename, renameat, renameat2: how
 * write_file_atomic gives a written file its name) fails with ENOSPC, as on a full disk
 * where the directory needs a new block. Everything else goes to libc unchanged. */
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

}  // extern "C"
