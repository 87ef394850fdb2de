// The library's one retry policy (worm/retry.hpp): full jitter under an exponential
// ceiling, Retry-After honoured up to its limit, the attempt limit, and Backoff waiting
// through the injected sleeper with draws from the injected random source.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "worm/error.hpp"
#include "worm/retry.hpp"

using namespace worm;
using namespace std::chrono_literals;

TEST_CASE("ceiling: base_delay doubling per attempt, capped at max_delay") {
    RetryPolicy policy;
    policy.base_delay = 100ms;
    policy.max_delay = 1000ms;
    CHECK(policy.ceiling(1) == 100ms);
    CHECK(policy.ceiling(2) == 200ms);
    CHECK(policy.ceiling(4) == 800ms);
    CHECK(policy.ceiling(5) == 1000ms);
    CHECK(policy.ceiling(200) == 1000ms);  // no overflow however many attempts
    CHECK(policy.ceiling(0) == 100ms);
    policy.base_delay = 5000ms;  // a base above the maximum is held to the maximum
    CHECK(policy.ceiling(1) == 1000ms);
}

TEST_CASE("delay: full jitter under the ceiling, Retry-After honoured up to its limit") {
    RetryPolicy policy;
    policy.base_delay = 100ms;
    policy.max_delay = 1000ms;
    policy.max_retry_after = 5000ms;
    CHECK(policy.delay(1, 0.0) == 0ms);
    CHECK(policy.delay(1, 0.5) == 50ms);
    CHECK(policy.delay(3, 0.25) == 100ms);
    CHECK(policy.delay(9, 0.999999) == 999ms);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int attempt = 1; attempt <= 40; ++attempt) {
        const auto cap = std::min<std::chrono::milliseconds>(1000ms, 100ms * (1LL << std::min(attempt - 1, 20)));
        std::chrono::milliseconds lowest = cap, highest = 0ms;
        for (int i = 0; i < 400; ++i) {
            const auto d = policy.delay(attempt, unit(rng));
            CHECK(d >= 0ms);
            CHECK(d <= cap);
            lowest = std::min(lowest, d);
            highest = std::max(highest, d);
        }
        CAPTURE(attempt);
        // Jitter: the draws spread over the whole range rather than sitting on the cap.
        CHECK(lowest < cap / 4);
        CHECK(highest > cap * 3 / 4);
    }
    // The server's Retry-After is a floor, capped at max_retry_after.
    CHECK(policy.delay(1, 0.5, 2000ms) == 2000ms);  // above the 100 ms ceiling: exactly the server's wait
    CHECK(policy.delay(5, 0.9, 10ms) == 900ms);    // below the draw: the draw
    CHECK(policy.delay(1, 0.5, 3600s) == 5000ms);
    CHECK(policy.delay(1, 0.5, -5s) == 50ms);
    // No delay configured: retry at once.
    policy.base_delay = 0ms;
    CHECK(policy.delay(3, 0.9) == 0ms);
}

TEST_CASE("attempt limit and validation") {
    RetryPolicy policy;
    policy.max_attempts = 3;
    CHECK(policy.allows_another(1));
    CHECK(policy.allows_another(2));
    CHECK_FALSE(policy.allows_another(3));  // the third was the last
    policy.validate();
    auto message = [](const RetryPolicy& p, std::string_view name) {
        try {
            p.validate(name);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::config);
            return std::string(e.what());
        }
        return std::string("(accepted)");
    };
    RetryPolicy bad;
    bad.max_attempts = 0;
    CHECK(message(bad, "retry").find("retry.max_attempts") != std::string::npos);
    bad = {};
    bad.max_delay = 10ms;  // below base_delay
    CHECK(message(bad, "upload").find("upload delays") != std::string::npos);
    bad = {};
    bad.base_delay = -1ms;
    CHECK(message(bad, "retry").find("base_delay") != std::string::npos);
    bad = {};
    bad.max_retry_after = -1ms;
    CHECK(message(bad, "retry").find("retry.max_retry_after") != std::string::npos);
}

TEST_CASE("Backoff waits through the injected sleeper with the injected draws") {
    RetryPolicy policy;
    policy.max_attempts = 5;
    policy.base_delay = 200ms;
    policy.max_delay = 1000ms;
    std::vector<std::chrono::milliseconds> slept;
    std::vector<double> draws{0.5, 0.25, 0.75, 0.1};
    std::size_t next = 0;
    const Backoff backoff(
        policy, [&](std::chrono::milliseconds d) { slept.push_back(d); }, [&] { return draws.at(next++); });
    CHECK(backoff.wait(1) == 100ms);
    CHECK(backoff.wait(2) == 100ms);
    CHECK(backoff.wait(3, 3000ms) == 3000ms);  // Retry-After above the draw (600 ms)
    CHECK(backoff.next_delay(4) == 100ms);      // drawn, not slept
    CHECK(slept == std::vector<std::chrono::milliseconds>{100ms, 100ms, 3000ms});
    CHECK(backoff.allows_another(4));
    CHECK_FALSE(backoff.allows_another(5));

    // Empty functions: the system's sleeper and random source.
    const Backoff system(RetryPolicy{2, 1ms, 2ms, 1ms});
    for (int i = 0; i < 50; ++i) {
        const auto d = system.next_delay(2);
        CHECK(d >= 0ms);
        CHECK(d <= 2ms);
    }
    CHECK(system.wait(1) <= 1ms);
    const double u = system_random();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
}
