// retry.cpp: the retry policy, the system sleeper and random source, Backoff (see retry.hpp).
#include "worm/retry.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>

#include "worm/error.hpp"

namespace worm {

void RetryPolicy::validate(std::string_view name) const {
    const std::string prefix(name);
    if (max_attempts < 1) throw Error(ErrorCode::config, prefix + ".max_attempts must be at least 1");
    if (base_delay.count() < 0 || max_delay < base_delay)
        throw Error(ErrorCode::config, prefix + " delays must satisfy 0 <= base_delay <= max_delay");
    if (max_retry_after.count() < 0) throw Error(ErrorCode::config, prefix + ".max_retry_after must not be negative");
}

std::chrono::milliseconds RetryPolicy::ceiling(int attempt) const noexcept {
    // 2^30 times any base worth waiting already passes every max_delay; the clamp keeps
    // the shift defined for any attempt number.
    const int shift = std::clamp(attempt - 1, 0, 30);
    const long long base = std::max<long long>(base_delay.count(), 0);
    const long long cap = std::max<long long>(max_delay.count(), 0);
    const long long grown = base > (cap >> shift) ? cap : base << shift;
    return std::chrono::milliseconds(std::min(grown, cap));
}

std::chrono::milliseconds RetryPolicy::delay(int attempt, double unit,
                                             std::optional<std::chrono::milliseconds> retry_after) const noexcept {
    unit = std::clamp(unit, 0.0, 1.0);
    const auto top = ceiling(attempt);
    std::chrono::milliseconds wait(static_cast<long long>(std::floor(unit * static_cast<double>(top.count()))));
    wait = std::min(wait, top);  // unit just below 1 may round up to the ceiling, not past it
    if (retry_after) {
        const std::chrono::milliseconds zero(0);
        wait = std::max(wait, std::min(std::max(*retry_after, zero), std::max(max_retry_after, zero)));
    }
    return wait;
}

void system_sleep(std::chrono::milliseconds delay) {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
}

double system_random() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

Backoff::Backoff(RetryPolicy policy, Sleeper sleep, RandomSource random)
    : policy_(policy),
      sleep_(sleep ? std::move(sleep) : Sleeper(system_sleep)),
      random_(random ? std::move(random) : RandomSource(system_random)) {}

std::chrono::milliseconds Backoff::next_delay(int attempt, std::optional<std::chrono::milliseconds> retry_after) const {
    return policy_.delay(attempt, random_(), retry_after);
}

std::chrono::milliseconds Backoff::wait(int attempt, std::optional<std::chrono::milliseconds> retry_after) const {
    const auto delay = next_delay(attempt, retry_after);
    sleep_(delay);
    return delay;
}

}  // namespace worm
