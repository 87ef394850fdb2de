// s3/sigv4.hpp: AWS Signature Version 4 for S3, as pure functions.
//
// Everything here is a function of (request, credentials, scope); the time is passed in
// the scope, so the published AWS vectors run offline and the S3 client can correct
// clock skew by choosing the time it signs with. Nothing here does I/O or logs.
//
// The steps (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
//   canonical request = METHOD \n encoded path \n sorted encoded query \n
//                       canonical headers \n signed header names \n payload hash
//   string to sign    = "AWS4-HMAC-SHA256" \n amz-date \n scope \n hex sha256(canonical request)
//   signing key       = HMAC chain "AWS4"+secret -> day -> region -> service -> "aws4_request"
//   signature         = hex HMAC(signing key, string to sign)
//
// S3 rules (the defaults): the path is URI-encoded once, '/' kept, never normalized;
// x-amz-content-sha256 is always sent and signed. Two SigningScope switches select the
// generic AWS-service behaviour, needed only to run the generic AWS test suite.
//
// Example:
//   worm::s3::SigningRequest request{.method = "GET", .host = "bucket.s3.amazonaws.com",
//                                    .path = "/evidence/a.json",
//                                    .payload_sha256_hex = std::string(worm::s3::unsigned_payload)};
//   worm::s3::SignedRequest out = worm::s3::sign_request(
//       request, {.access_key_id = "AKIDEXAMPLE", .secret_access_key = "secret"},
//       {.region = "us-east-1", .time = worm::parse_rfc3339("2026-11-22T10:00:00Z")});
//   // out.headers: host, x-amz-date, x-amz-content-sha256, authorization
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worm/export.hpp"
#include "worm/http.hpp"
#include "worm/time.hpp"

namespace worm::s3 {

// An access key. Never print secret_access_key or session_token.
struct Credentials {
    std::string access_key_id{}, secret_access_key{}, session_token{};
    std::optional<TimePoint> expiration{};  // set by refreshing providers (container, IMDS, ...)
};

struct SigningRequest {
    std::string method{};  // "PUT"
    // Exactly the Host header value that will be sent ("127.0.0.1:9000", "b.s3.amazonaws.com").
    std::string host{};
    // Raw, NOT encoded ("/bucket/my key+=&~.json"); the signer encodes it once (S3 rule, keeps '/').
    std::string path = "/";
    // Raw names and values; an empty value is allowed ("uploads", ""); names may repeat.
    std::vector<std::pair<std::string, std::string>> query{};
    // Extra headers to sign (content-type, content-md5, x-amz-*). Do not put host,
    // x-amz-date, x-amz-content-sha256, x-amz-security-token or authorization here:
    // the signer adds them and throws Error(invalid_argument) if they are given.
    HttpHeaders headers{};
    // Lower-case hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". Required by sign_request;
    // presign_url uses "UNSIGNED-PAYLOAD" when it is empty.
    std::string payload_sha256_hex{};
};

struct SigningScope {
    std::string region = "us-east-1";
    std::string service = "s3";
    TimePoint time{};
    // Generic AWS-service switches, for the generic AWS test suite only; keep the
    // defaults for S3. normalize_path: remove "." / ".." segments and repeated '/' (S3
    // must not: a key may hold them). add_content_sha256: send and sign x-amz-content-sha256
    // (S3 requires it; when false the caller may pass it in headers itself).
    bool normalize_path = false;
    bool add_content_sha256 = true;
};

struct SignedRequest {
    // ALL headers to send: the given ones, then host, x-amz-date, x-amz-content-sha256,
    // x-amz-security-token (when there is a session token) and authorization.
    HttpHeaders headers{};
    // For tests and debugging only (they hold no secret, but the authorization header does).
    std::string canonical_request{}, string_to_sign{}, signature{};
};

inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
inline constexpr std::chrono::seconds max_presign_expiry{7 * 24 * 3600};

// Signs with the Authorization header. Throws Error(invalid_argument) when the method,
// host, access key or secret is empty, or payload_sha256_hex is neither 64 hex digits nor
// UNSIGNED-PAYLOAD. Uses the process-wide signing key cache.
WORM_API SignedRequest sign_request(const SigningRequest& request, const Credentials& credentials,
                           const SigningScope& scope);

// Presigned URL (query authentication): scheme://host/encoded-path?sorted-query&X-Amz-Signature=...
// expires must be 1 s .. 7 days, else Error(invalid_argument). scheme "https" or "http".
// request.headers are signed too (the user of the URL must send them).
WORM_API std::string presign_url(const SigningRequest& request, const Credentials& credentials,
                        const SigningScope& scope, std::chrono::seconds expires,
                        std::string_view scheme = "https");

// Like presign_url, also returning the canonical request and string to sign (tests).
struct PresignedUrl {
    std::string url{}, canonical_request{}, string_to_sign{}, signature{};
};
WORM_API PresignedUrl presign(const SigningRequest& request, const Credentials& credentials,
                     const SigningScope& scope, std::chrono::seconds expires,
                     std::string_view scheme = "https");

// RFC 3986 percent-encoding: A-Z a-z 0-9 - _ . ~ kept, every other byte (UTF-8 bytes
// included) becomes %XX with upper-case hex; '/' is kept when encode_slash is false.
WORM_API std::string uri_encode(std::string_view raw, bool encode_slash);

// The query as SigV4 wants it and as it goes on the wire: each name and value encoded,
// pairs sorted by encoded name then encoded value, "name=value" joined by '&'
// (an empty value gives "name=").
WORM_API std::string encoded_query_string(const std::vector<std::pair<std::string, std::string>>& query);

// The canonical path of a raw path: encoded once ('/' kept); normalized only on request
// (never for S3).
WORM_API std::string canonical_uri(std::string_view raw_path, bool normalize = false);

// Raw 32-byte signing key: HMAC chain "AWS4"+secret -> day ("20130524") -> region -> service
// -> "aws4_request".
WORM_API std::string derive_signing_key(std::string_view secret, std::string_view day,
                               std::string_view region, std::string_view service);

// Derived keys per (access key, day, region, service), so a busy uploader does one HMAC
// per request instead of five. Thread-safe. An entry also remembers a SHA-256 fingerprint
// of the secret, so a rotated secret under the same access key id is never served a
// stale key. Bounded: the cache is emptied when it reaches `capacity` entries.
class WORM_API SigningKeyCache {
public:
    using Key = std::array<unsigned char, 32>;

    explicit SigningKeyCache(std::size_t capacity = 256);
    ~SigningKeyCache();
    SigningKeyCache(const SigningKeyCache&) = delete;
    SigningKeyCache& operator=(const SigningKeyCache&) = delete;

    // The raw key (what the signer uses: no allocation on a hit).
    Key key(const Credentials& credentials, std::string_view day, std::string_view region,
            std::string_view service);
    // The same key as a 32-byte string, like derive_signing_key.
    std::string get(const Credentials& credentials, std::string_view day,
                    std::string_view region, std::string_view service);
    std::size_t size() const;
    std::size_t derivations() const;  // how many keys were computed (tests)
    void clear();

private:
    struct State;  // the entries and their lock (sigv4.cpp)
    std::unique_ptr<State> state_;
};

// The cache sign_request and presign use.
WORM_API SigningKeyCache& default_signing_key_cache();

}  // namespace worm::s3
