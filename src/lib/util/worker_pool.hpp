// worker_pool.hpp (private): the one bounded worker pool. The audit, the migration and
// multipart uploads each hand out their items from a shared counter; this runs their loop on
// a fixed number of threads, the calling thread being worker 0, and returns when all are done.
#pragma once

#include <cstddef>
#include <functional>

namespace worm::detail {

// Runs work(worker) for worker = 0 .. threads-1 at once (threads < 1 counts as 1): worker 0
// on the calling thread, the others on threads started here and joined before it returns.
// An exception leaving a worker is rethrown here after every worker has finished (the first
// one, if several); a thread that cannot be started leaves its share to the others.
void run_workers(std::size_t threads, const std::function<void(std::size_t worker)>& work);

}  // namespace worm::detail
