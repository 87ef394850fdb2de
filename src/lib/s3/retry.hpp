// retry.hpp (private to src/lib/s3): which S3 failures may be sent again, and the server's
// Retry-After. How many attempts and how long to wait are the library's one RetryPolicy
// (worm/retry.hpp). S3Client::send (every operation, including CompleteMultipartUpload's
// 200-with-<Error>), the AWS query services and S3Error::retryable() all ask this
// classification, so the answer cannot differ between paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "worm/error.hpp"
#include "worm/http.hpp"
#include "worm/s3/client.hpp"
#include "worm/time.hpp"

namespace worm::s3::detail {

// How a failed attempt relates to sending it again.
enum class FailureKind {
    permanent,      // the request is wrong or refused: the same request gets the same answer
    not_applied,    // the server says it did not act (503, SlowDown, RequestTimeout, ...)
    maybe_applied,  // the server may have acted before failing (500/502/504, InternalError,
                    // a transport error or timeout once the request may have gone out)
    clock_skew,     // RequestTimeTooSkewed: worth one re-signing with the server's clock
};

// An S3 error answer (status and <Code>).
FailureKind classify_s3_failure(int http_status, std::string_view s3_code);
// A transport failure (no answer): network and timeout errors may have reached the server.
FailureKind classify_transport_failure(ErrorCode code);

// Whether attempt `attempt` (1-based) that failed as `kind` is sent again. A clock skew is
// never retried blindly (the caller re-signs once when the server's Date allows it);
// maybe-applied failures only when the request may be repeated (S3Request::resend_if_maybe_applied).
bool should_retry(const RetryPolicy& policy, FailureKind kind, int attempt, bool resend_if_maybe_applied);

// Retry-After as seconds or an HTTP date, relative to `now`; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(const HttpHeaders& headers, TimePoint now);

}  // namespace worm::s3::detail
