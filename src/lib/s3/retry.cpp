// retry.cpp: S3 failure classification (see retry.hpp), and S3Error::retryable() defined by it.
#include "retry.hpp"

#include <algorithm>
#include <charconv>

namespace worm::s3::detail {

FailureKind classify_s3_failure(int http_status, std::string_view s3_code) {
    if (s3_code == "RequestTimeTooSkewed") return FailureKind::clock_skew;
    // A 500 or a gateway error may come after the write was applied.
    if (http_status == 500 || http_status == 502 || http_status == 504 || s3_code == "InternalError")
        return FailureKind::maybe_applied;
    if (http_status == 503 || s3_code == "SlowDown" || s3_code == "ServiceUnavailable" || s3_code == "RequestTimeout")
        return FailureKind::not_applied;
    return FailureKind::permanent;
}

FailureKind classify_transport_failure(ErrorCode code) {
    // The transport cannot tell whether the request reached the server before it failed.
    if (code == ErrorCode::network || code == ErrorCode::timeout) return FailureKind::maybe_applied;
    return FailureKind::permanent;
}

bool should_retry(const RetryPolicy& policy, FailureKind kind, int attempt, bool resend_if_maybe_applied) {
    if (!policy.allows_another(attempt)) return false;
    switch (kind) {
        case FailureKind::not_applied: return true;
        case FailureKind::maybe_applied: return resend_if_maybe_applied;
        case FailureKind::permanent:
        case FailureKind::clock_skew: return false;
    }
    return false;
}

std::optional<std::chrono::milliseconds> parse_retry_after(const HttpHeaders& headers, TimePoint now) {
    const auto value = find_header(headers, "retry-after");
    if (!value || value->empty()) return std::nullopt;
    long long seconds = 0;
    const auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
    if (ec == std::errc{} && ptr == value->data() + value->size() && seconds >= 0)
        return std::chrono::milliseconds(seconds * 1000);
    try {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(parse_http_date(*value) - now);
        return std::max(wait, std::chrono::milliseconds(0));
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace worm::s3::detail

namespace worm {

// Retryable by a caller that can check first: everything but a permanent refusal.
bool S3Error::retryable() const noexcept {
    return s3::detail::classify_s3_failure(info_.http_status, info_.code) != s3::detail::FailureKind::permanent;
}

}  // namespace worm
