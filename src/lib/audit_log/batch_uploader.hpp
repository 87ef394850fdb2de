// The batch uploader: max_in_flight threads that PUT the batches the uploader hands them,
// each until it is stored (retried with the library's Backoff, never dropped) or the sink
// stops. Its queue has its own mutex, so handing work over never touches log()'s.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "../util/guarded.hpp"
#include "batch.hpp"
#include "object_writer.hpp"
#include "worm/retry.hpp"

namespace worm::audit_log::detail {

class BatchUploader {
public:
    struct Events {
        std::function<void(const Flight&)> stored;  // after flight.done is set
        // A failed attempt, and the failures in a row of this batch so far.
        std::function<void(const Flight&, int failures, const std::exception&)> failed;
    };

    BatchUploader(ObjectWriter& writer, Backoff backoff, Events events);
    BatchUploader(const BatchUploader&) = delete;
    BatchUploader& operator=(const BatchUploader&) = delete;

    // Starts `threads` threads. `owner` is kept alive by each of them: a thread inside a PUT
    // that blocks on the network is let go at stop() and finishes on its own.
    void start(std::size_t threads, const std::shared_ptr<const void>& owner);
    void submit(std::shared_ptr<Flight> flight);
    // Stops the threads: joins them when all have left by the deadline, else lets them go.
    // A second call finds them stopped.
    void stop(std::chrono::steady_clock::time_point deadline);

private:
    void run();

    ObjectWriter& writer_;
    const Backoff backoff_;  // its waits; the attempts are never limited
    Events events_;
    using Lock = std::unique_lock<std::mutex>;
    std::mutex mutex_;
    std::condition_variable cv_;
    struct Queue {
        std::deque<std::shared_ptr<Flight>> flights;
        bool stopping = false;
        std::size_t exited = 0;
        std::vector<std::thread> threads;  // until stop() takes them
    };
    worm::detail::Guarded<Queue> queue_{mutex_};
};

}  // namespace worm::audit_log::detail
