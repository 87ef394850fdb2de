// spin_lock_first.hpp (private): take a mutex that is held only briefly without parking.
//
// std::mutex::lock() on a taken mutex sleeps in the kernel. With more threads than cores the
// woken thread then waits for a core as well: tens of microseconds for a mutex its holder
// gives back within a few hundred nanoseconds. Trying a bounded number of times first (with
// the CPU's spin-wait hint between tries) takes it without sleeping whenever the holder is
// running; a holder that was preempted is waited for in lock(), as before.
#pragma once

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace worm::detail {

inline void spin_wait_hint() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Locks `lock` (which must not own its mutex yet).
template <class Mutex>
void spin_lock_first(std::unique_lock<Mutex>& lock, int tries = 200) {
    for (int i = 0; i < tries; ++i) {
        if (lock.try_lock()) return;
        spin_wait_hint();
    }
    lock.lock();
}

}  // namespace worm::detail
