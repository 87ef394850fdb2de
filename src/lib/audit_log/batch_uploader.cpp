// The threads that PUT batches (batch_uploader.hpp).
#include "batch_uploader.hpp"

#include "background_thread.hpp"

namespace worm::audit_log::detail {

BatchUploader::BatchUploader(ObjectWriter& writer, Backoff backoff, Events events)
    : writer_(writer), backoff_(std::move(backoff)), events_(std::move(events)) {}

void BatchUploader::start(std::size_t threads, const std::shared_ptr<const void>& owner) {
    const Lock lock(mutex_);
    for (std::size_t i = 0; i < threads; ++i)
        queue_(lock)->threads.push_back(background_thread("worm-log-put", [this, owner] { run(); }));
}

void BatchUploader::submit(std::shared_ptr<Flight> flight) {
    queue_(Lock(mutex_))->flights.push_back(std::move(flight));
    cv_.notify_one();
}

void BatchUploader::run() {
    Lock lock(mutex_);
    const auto queue = queue_(lock);
    for (;;) {
        cv_.wait(lock, [&] { return queue->stopping || !queue->flights.empty(); });
        if (queue->stopping) break;
        std::shared_ptr<Flight> flight = std::move(queue->flights.front());
        queue->flights.pop_front();
        lock.unlock();
        for (int failures = 0;;) {
            try {
                writer_.put_create_only(flight->key, flight->body, flight->put);
                flight->done = true;
                events_.stored(*flight);
                break;
            } catch (const std::exception& e) {
                events_.failed(*flight, ++failures, e);
                Lock wait(mutex_);  // a wait that stop() cuts short
                if (cv_.wait_for(wait, backoff_.next_delay(failures), [&] { return queue_(wait)->stopping; })) break;
            }
        }
        lock.lock();
        if (queue->stopping) break;
    }
    ++queue->exited;
    lock.unlock();
    cv_.notify_all();  // stop() waits for every thread
}

void BatchUploader::stop(std::chrono::steady_clock::time_point deadline) {
    Lock lock(mutex_);
    const auto queue = queue_(lock);
    queue->stopping = true;
    cv_.notify_all();
    if (queue->threads.empty()) return;  // stopped before
    // A thread inside a PUT that blocks on the network is let go, as the uploader is.
    const bool all = cv_.wait_until(lock, std::max(deadline, std::chrono::steady_clock::now()),
                                    [&] { return queue->exited == queue->threads.size(); });
    std::vector<std::thread> threads = std::move(queue->threads);
    queue->threads.clear();
    lock.unlock();
    for (auto& t : threads) all ? t.join() : t.detach();
}

}  // namespace worm::audit_log::detail
