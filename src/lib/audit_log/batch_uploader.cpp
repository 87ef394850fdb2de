// The threads that PUT batches (batch_uploader.hpp).
#include "batch_uploader.hpp"

#include "background_thread.hpp"
#include "backoff.hpp"

namespace worm::audit_log::detail {

BatchUploader::BatchUploader(ObjectWriter& writer, std::chrono::milliseconds retry_initial,
                             std::chrono::milliseconds retry_max, Events events)
    : writer_(writer), retry_initial_(retry_initial), retry_max_(retry_max), events_(std::move(events)) {}

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
        Backoff backoff(retry_initial_, retry_max_);
        for (;;) {
            try {
                writer_.put_create_only(flight->key, flight->body, flight->put);
                flight->done = true;
                events_.stored(*flight);
                break;
            } catch (const std::exception& e) {
                events_.failed(*flight, backoff.failed(), e);
                std::unique_lock wait(mutex_);
                if (cv_.wait_for(wait, backoff.next_wait(), [&] { return stopping_; })) break;
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
