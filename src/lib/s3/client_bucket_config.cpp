// client_bucket_config.cpp: reads of bucket configurations the compliance checks need
// (bucket policy, lifecycle, replication). Each maps the S3 "none configured" answer to
// nullopt and leaves every other error to the caller.
#include "bucket_documents.hpp"
#include "worm/s3/client.hpp"

namespace worm::s3 {

namespace {

// GET /bucket?subresource; nullopt when the server answers 404 with `none_code`.
std::optional<HttpResponse> get_config(S3Client& client, const std::string& bucket, const char* subresource,
                                       std::string_view none_code) {
    if (bucket.empty()) throw Error(ErrorCode::invalid_argument, "bucket name is empty");
    S3Request r;
    r.method = "GET";
    r.bucket = bucket;
    r.query.emplace_back(subresource, "");
    try {
        return client.send(r);
    } catch (const S3Error& e) {
        if (e.http_status() == 404 && e.s3_code() == none_code) return std::nullopt;
        throw;
    }
}

}  // namespace

std::optional<std::string> S3Client::get_bucket_policy(const std::string& bucket) {
    auto resp = get_config(*this, bucket, "policy", "NoSuchBucketPolicy");
    if (!resp) return std::nullopt;
    // A policy is JSON; an XML answer (a listing) means the server did not implement the read.
    if (resp->body.starts_with("<"))
        throw Error(ErrorCode::parse, "GetBucketPolicy for " + bucket +
                                          " was answered with XML instead of a policy (the server does not support it)");
    return std::move(resp->body);
}

std::optional<std::vector<LifecycleRule>> S3Client::get_bucket_lifecycle_configuration(const std::string& bucket) {
    auto resp = get_config(*this, bucket, "lifecycle", "NoSuchLifecycleConfiguration");
    if (!resp) return std::nullopt;
    return detail::parse_lifecycle_configuration(resp->body);
}

std::optional<ReplicationConfiguration> S3Client::get_bucket_replication(const std::string& bucket) {
    auto resp = get_config(*this, bucket, "replication", "ReplicationConfigurationNotFoundError");
    if (!resp) return std::nullopt;
    return detail::parse_replication_configuration(resp->body);
}

}  // namespace worm::s3
