// client_internal.hpp (private to src/lib/s3): helpers shared by the client's .cpp files.
#pragma once

#include <chrono>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include "../crypto/digest.hpp"
#include "worm/http.hpp"
#include "worm/s3/client.hpp"

namespace worm::s3::detail {

// What every SigV4 client needs, checked the same way for S3 and the AWS query services: a
// region, a credentials provider, a clock and a valid retry policy. Throws Error(config)
// naming the field; `who` ("S3", "AWS") says whose setting it is.
void validate_signing_settings(std::string_view who, const std::string& region,
                               const std::shared_ptr<CredentialsProvider>& credentials, const Clock* clock,
                               const RetryPolicy& retry);

// AWS_REGION, else AWS_DEFAULT_REGION, else `fallback`: how the SDKs pick the region.
std::string region_from_env(std::string fallback);

// Raw SHA-256 and (optionally) MD5 of a body in one pass over it.
worm::detail::Digests digest_body(const S3Body& body, bool want_md5);

// [offset, offset+length) of a body, as a body (a file slice stays a file slice).
S3Body sub_body(const S3Body& body, std::uint64_t offset, std::uint64_t length);

// The S3Error for a non-2xx response (or a 200 whose body is an <Error>).
S3Error make_s3_error(const std::string& method, const std::string& bucket, const std::string& key,
                      const HttpResponse& response);

// Headers of HeadObject / GetObject as an ObjectHead.
ObjectHead parse_object_head(const std::string& key, const HttpHeaders& headers);

// The lock, encryption, metadata and content-type headers a PUT or CreateMultipartUpload sends.
void add_object_headers(HttpHeaders& headers, const PutObjectOptions& options);

// "x-amz-checksum-sha256" value (base64) as hex; "" when it is absent or composite ("...-N").
std::string checksum_base64_to_hex(const std::optional<std::string>& value);

std::string strip_quotes(std::string s);

// An ETag (unquoted) that can be the MD5 of the bytes, 32 lower-case hex digits: not a
// multipart "...-N".
bool is_md5_etag(const std::string& etag);

// The version a put created; nullopt on an unversioned bucket.
inline std::optional<std::string> version_of(const PutObjectResult& r) {
    return r.version_id.empty() ? std::nullopt : std::optional<std::string>(r.version_id);
}

}  // namespace worm::s3::detail
