// The S3 client's failure classification (src/lib/s3/retry.hpp), tested directly: which
// failures are sent again, how many attempts, and Retry-After. The backoff itself is the
// library's RetryPolicy (test_retry.cpp); the fault-server tests in test_s3_client.cpp show
// the client following both on the wire.
#include <doctest/doctest.h>

#include "s3/retry.hpp"
#include "worm/error.hpp"

using namespace worm;
using namespace worm::s3::detail;
using namespace std::chrono_literals;

TEST_CASE("classification: not applied, maybe applied, clock skew, permanent") {
    CHECK(classify_s3_failure(503, "SlowDown") == FailureKind::not_applied);
    CHECK(classify_s3_failure(503, "") == FailureKind::not_applied);
    CHECK(classify_s3_failure(400, "RequestTimeout") == FailureKind::not_applied);
    CHECK(classify_s3_failure(200, "ServiceUnavailable") == FailureKind::not_applied);
    CHECK(classify_s3_failure(500, "InternalError") == FailureKind::maybe_applied);
    CHECK(classify_s3_failure(200, "InternalError") == FailureKind::maybe_applied);  // a 200 CompleteMultipartUpload
    CHECK(classify_s3_failure(502, "") == FailureKind::maybe_applied);
    CHECK(classify_s3_failure(504, "") == FailureKind::maybe_applied);
    CHECK(classify_s3_failure(403, "RequestTimeTooSkewed") == FailureKind::clock_skew);
    for (const auto& [status, code] : std::vector<std::pair<int, std::string>>{
             {400, "InvalidArgument"}, {403, "AccessDenied"}, {403, "SignatureDoesNotMatch"}, {404, "NoSuchKey"},
             {409, "BucketAlreadyOwnedByYou"}, {412, "PreconditionFailed"}, {400, "BadDigest"}, {501, "NotImplemented"}}) {
        CAPTURE(code);
        CHECK(classify_s3_failure(status, code) == FailureKind::permanent);
    }
    CHECK(classify_transport_failure(ErrorCode::network) == FailureKind::maybe_applied);
    CHECK(classify_transport_failure(ErrorCode::timeout) == FailureKind::maybe_applied);
    CHECK(classify_transport_failure(ErrorCode::io) == FailureKind::permanent);
    CHECK(classify_transport_failure(ErrorCode::config) == FailureKind::permanent);
}

TEST_CASE("S3Error::retryable() is the policy's answer") {
    auto error = [](int status, std::string code) {
        S3ErrorInfo info;
        info.http_status = status;
        info.code = std::move(code);
        return S3Error(info);
    };
    CHECK(error(503, "SlowDown").retryable());
    CHECK(error(500, "InternalError").retryable());  // a caller that can check first may retry
    CHECK(error(403, "RequestTimeTooSkewed").retryable());
    CHECK_FALSE(error(403, "AccessDenied").retryable());
    CHECK_FALSE(error(404, "NoSuchKey").retryable());
}

TEST_CASE("should_retry: attempt limit, and maybe-applied only for requests that may be repeated") {
    s3::RetryPolicy policy;
    policy.max_attempts = 3;
    CHECK(should_retry(policy, FailureKind::not_applied, 1, false));
    CHECK(should_retry(policy, FailureKind::not_applied, 2, false));
    CHECK_FALSE(should_retry(policy, FailureKind::not_applied, 3, false));  // the third was the last
    CHECK(should_retry(policy, FailureKind::maybe_applied, 1, true));
    CHECK_FALSE(should_retry(policy, FailureKind::maybe_applied, 1, false));
    CHECK_FALSE(should_retry(policy, FailureKind::permanent, 1, true));
    CHECK_FALSE(should_retry(policy, FailureKind::clock_skew, 1, true));  // re-signed once by the client, not blindly
    policy.max_attempts = 1;
    CHECK_FALSE(should_retry(policy, FailureKind::not_applied, 1, true));
}

TEST_CASE("Retry-After: seconds or an HTTP date; unreadable or absent is no hint") {
    const TimePoint now = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT");
    CHECK(parse_retry_after({{"retry-after", "3"}}, now) == 3000ms);
    CHECK(parse_retry_after({{"retry-after", "Wed, 21 Oct 2015 07:28:10 GMT"}}, now) == 10000ms);
    CHECK(parse_retry_after({{"retry-after", "Wed, 21 Oct 2015 07:27:00 GMT"}}, now) == 0ms);  // in the past
    CHECK_FALSE(parse_retry_after({{"retry-after", "soon"}}, now));
    CHECK_FALSE(parse_retry_after({{"retry-after", "-5"}}, now));
    CHECK_FALSE(parse_retry_after({}, now));
}
