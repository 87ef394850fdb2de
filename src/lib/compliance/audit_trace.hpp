// audit_trace.hpp (private): with WORM_AUDIT_TRACE=1 an audit prints, on stderr, one line
// per phase (listing, checks, report, ...) with its wall time, the process's CPU time in it
// and the calling thread's CPU time, and one line per worker with its bundles and CPU time:
// where a slow or badly scaling audit spends its time, without a profiler.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "../util/env.hpp"

namespace worm::compliance::detail {

// CPU seconds of the calling thread.
inline double thread_cpu_seconds() {
    ::timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// CPU seconds (user + system) of the whole process so far.
inline double process_cpu_seconds() {
    ::rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto seconds = [](const ::timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

inline bool audit_trace_enabled() {
    static const bool enabled = worm::detail::env_or_empty("WORM_AUDIT_TRACE") == "1";
    return enabled;
}

// Phases are consecutive: each mark() ends the phase begun by the previous mark (or by
// the construction) and prints it when tracing is on.
class PhaseTrace {
public:
    PhaseTrace() { restart(); }

    void mark(std::string_view phase) {
        if (!audit_trace_enabled()) return;
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
        std::fprintf(stderr, "worm audit trace: %-14.*s wall %8.3f s  process cpu %8.3f s  this thread cpu %8.3f s\n",
                     static_cast<int>(phase.size()), phase.data(), wall, process_cpu_seconds() - process_cpu_,
                     thread_cpu_seconds() - thread_cpu_);
        restart();
    }

private:
    void restart() {
        if (!audit_trace_enabled()) return;
        wall_ = std::chrono::steady_clock::now();
        process_cpu_ = process_cpu_seconds();
        thread_cpu_ = thread_cpu_seconds();
    }

    std::chrono::steady_clock::time_point wall_{};
    double process_cpu_ = 0, thread_cpu_ = 0;
};

// One line for a worker thread when it has no more work.
inline void trace_worker(std::size_t worker, std::size_t items, double thread_cpu) {
    if (!audit_trace_enabled()) return;
    std::fprintf(stderr, "worm audit trace: worker %zu: %zu objects, thread cpu %.3f s (%.0f objects per cpu s)\n", worker,
                 items, thread_cpu, thread_cpu > 0 ? static_cast<double>(items) / thread_cpu : 0.0);
}

}  // namespace worm::compliance::detail
