#include "worker_pool.hpp"

#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace worm::detail {

void run_workers(std::size_t threads, const std::function<void(std::size_t worker)>& work) {
    std::mutex mutex;
    std::exception_ptr first_error;
    const auto guarded = [&](std::size_t worker) {
        try {
            work(worker);
        } catch (...) {
            std::lock_guard lock(mutex);
            if (!first_error) first_error = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t worker = 1; worker < threads; ++worker) {
        try {
            pool.emplace_back(guarded, worker);
        } catch (const std::system_error&) {
            break;  // out of threads: the ones running (and this one) take the items
        }
    }
    guarded(0);
    for (auto& thread : pool) thread.join();
    if (first_error) std::rethrow_exception(first_error);
}

}  // namespace worm::detail
