// retry.hpp: the library's one retry policy (how many attempts, how long to wait between
// them), and how the library waits and draws randomness, so tests can replace both.
//
// Every retry loop (the S3 client, the AWS query services, the uploader, the audit-log
// sink) waits with full jitter: after failed attempt n, a uniform draw in
// [0, min(max_delay, base_delay * 2^(n-1))]. Full jitter spreads clients that failed
// together (a store outage) over the whole window instead of bunching them at its floor;
// a server's Retry-After raises the wait to what it asked, up to max_retry_after. Which
// failures are worth another attempt is not decided here: that is each caller's
// knowledge (S3 classifies by status and code in src/lib/s3/retry.hpp).
//
// A sleeper and a random source are plain functions: empty means the system's
// (std::this_thread::sleep_for; a per-thread Mersenne twister seeded from
// std::random_device). A test passes a function that records the wait instead of
// sleeping and returns fixed draws, so it can check the exact delays. Both may be called
// from several threads at once (an S3 client serves parallel parts).
//
// Example:
//   worm::RetryPolicy policy;  // 4 attempts, waits from 100 ms up to 20 s
//   worm::Backoff backoff(policy);
//   for (int attempt = 1;; ++attempt) {
//       try {
//           std::cout << "attempt " << attempt << "\n";  // the operation to retry
//           break;
//       } catch (const worm::Error& e) {
//           if (e.code() != worm::ErrorCode::network || !backoff.allows_another(attempt)) throw;
//           backoff.wait(attempt);  // sleeps a jittered delay
//       }
//   }
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "worm/export.hpp"

namespace worm {

struct WORM_API RetryPolicy {
    int max_attempts = 4;  // total tries per operation, including the first
    std::chrono::milliseconds base_delay{100};
    std::chrono::milliseconds max_delay{20'000};
    // A server's Retry-After is honoured up to this long.
    std::chrono::milliseconds max_retry_after{60'000};

    // Throws Error(config) naming the field as `<name>.max_attempts` etc. when
    // max_attempts < 1, base_delay < 0, max_delay < base_delay or max_retry_after < 0.
    void validate(std::string_view name = "retry") const;

    // Whether failed attempt `attempt` (1-based) may be followed by another.
    bool allows_another(int attempt) const noexcept { return attempt < max_attempts; }
    // The longest wait after failed attempt `attempt`: min(max_delay, base_delay * 2^(attempt-1)).
    std::chrono::milliseconds ceiling(int attempt) const noexcept;
    // The wait after failed attempt `attempt` for a uniform draw `unit` in [0, 1): `unit`
    // times the ceiling (full jitter), raised to `retry_after` capped at max_retry_after.
    std::chrono::milliseconds delay(int attempt, double unit,
                                    std::optional<std::chrono::milliseconds> retry_after = std::nullopt) const noexcept;
};

// Waits for the given time. Empty: std::this_thread::sleep_for.
using Sleeper = std::function<void(std::chrono::milliseconds)>;
// A uniform draw in [0, 1). Empty: a per-thread std::mt19937_64 seeded from std::random_device.
using RandomSource = std::function<double()>;

WORM_API void system_sleep(std::chrono::milliseconds delay);
WORM_API double system_random();

// A policy with the sleeper and the random source it waits with (empty ones replaced by
// the system's). Copyable; const member functions may be called from several threads.
class WORM_API Backoff {
public:
    explicit Backoff(RetryPolicy policy = {}, Sleeper sleep = {}, RandomSource random = {});

    const RetryPolicy& policy() const noexcept { return policy_; }
    bool allows_another(int attempt) const noexcept { return policy_.allows_another(attempt); }

    // The jittered wait after failed attempt `attempt` (one draw), not waited. For a caller
    // that waits otherwise (on a condition variable that a shutdown interrupts).
    std::chrono::milliseconds next_delay(int attempt,
                                         std::optional<std::chrono::milliseconds> retry_after = std::nullopt) const;
    // next_delay(), then sleeps it through the sleeper; returns the wait.
    std::chrono::milliseconds wait(int attempt,
                                   std::optional<std::chrono::milliseconds> retry_after = std::nullopt) const;

private:
    RetryPolicy policy_;
    Sleeper sleep_;
    RandomSource random_;
};

}  // namespace worm
