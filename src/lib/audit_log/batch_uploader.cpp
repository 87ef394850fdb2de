// The threads that PUT batches (batch_uploader.hpp).
#include "batch_uploader.hpp"

#include "background_thread.hpp"

namespace worm::audit_log::detail {

BatchUploader::BatchUploader(ObjectWriter& writer, Backoff backoff, Events events)
    : writer_(writer), backoff_(std::move(backoff)), events_(std::move(events)) {}

void BatchUploader::start(std::size_t threads, const std::shared_ptr<const void>& owner) {
    for (std::size_t i = 0; i < threads; ++i)
        threads_.push_back(background_thread("worm-log-put", [this, owner] { run(); }));
}

void BatchUploader::submit(std::shared_ptr<Flight> flight) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(flight));
    }
    cv_.notify_one();
}

void BatchUploader::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) break;
        std::shared_ptr<Flight> flight = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        for (int failures = 0;;) {
            try {
                writer_.put_create_only(flight->key, flight->body, flight->put);
                flight->done = true;
                events_.stored(*flight);
                break;
            } catch (const std::exception& e) {
                events_.failed(*flight, ++failures, e);
                std::unique_lock wait(mutex_);  // a wait that stop() cuts short
                if (cv_.wait_for(wait, backoff_.next_delay(failures), [&] { return stopping_; })) break;
            }
        }
        lock.lock();
        if (stopping_) break;
    }
    ++exited_;
    lock.unlock();
    cv_.notify_all();  // stop() waits for every thread
}

void BatchUploader::stop(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
    // A thread inside a PUT that blocks on the network is let go, as the uploader is.
    const bool all = cv_.wait_until(lock, std::max(deadline, std::chrono::steady_clock::now()),
                                    [&] { return exited_ == threads_.size(); });
    lock.unlock();
    for (auto& t : threads_) all ? t.join() : t.detach();
    threads_.clear();
}

}  // namespace worm::audit_log::detail
