// The sink's one retry policy, for every PUT it retries (batches in the batch uploader,
// checkpoints and journal reads in the uploader): the wait doubles from retry_initial up to
// retry_max, and it never gives up, since a record is never dropped; after max_retries
// failures in a row the item is reported failing (once) and still retried.
#pragma once

#include <algorithm>
#include <chrono>

namespace worm::audit_log::detail {

class Backoff {
public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) : initial_(initial), max_(max), next_(initial) {}

    // Counts a failed attempt; returns the failures in a row so far.
    int failed() { return ++failures_; }
    // The time to wait before the next attempt (then twice that, up to the maximum).
    std::chrono::milliseconds next_wait() {
        const auto wait = next_;
        next_ = std::min(next_ * 2, max_);
        return wait;
    }
    // After a success: the next failure starts again from the first wait.
    void succeeded() {
        next_ = initial_;
        failures_ = 0;
    }

private:
    std::chrono::milliseconds initial_, max_, next_;
    int failures_ = 0;
};

}  // namespace worm::audit_log::detail
