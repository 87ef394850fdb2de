// The sink's own threads: named (so that top -H and perf tell them from the application's),
// and on Linux SCHED_BATCH: the same share of the CPU, but when they wake up they do not
// preempt a running thread, which with every core busy is a caller in the middle of log()
// (docs/audit-log-journal.md has the measurements).
#pragma once

#include <pthread.h>

#include <thread>
#include <utility>

namespace worm::audit_log::detail {

template <class Body>
std::thread background_thread(const char* name, Body body) {
    return std::thread([name, body = std::move(body)]() mutable {
        ::pthread_setname_np(::pthread_self(), name);
#if defined(__linux__)
        sched_param param{};
        ::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &param);  // best effort: a hint only
#endif
        body();
    });
}

}  // namespace worm::audit_log::detail
