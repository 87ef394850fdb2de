// store.cpp: S3Store maps ObjectStore calls onto S3Client operations.
#include "../util/url.hpp"
#include "worm/s3/store.hpp"

#include "client_internal.hpp"
#include "worm/crypto.hpp"
#include "worm/storage/keys.hpp"

namespace worm::s3 {

namespace {

std::string trim_slashes(std::string s) {
    while (!s.empty() && s.front() == '/') s.erase(0, 1);
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

ObjectInfo to_info(const ObjectHead& h, const std::string& key) {
    ObjectInfo info;
    info.key = key;
    info.size = h.size;
    info.etag = h.etag;
    info.sha256_hex = detail::checksum_base64_to_hex(h.checksum_sha256.empty() ? std::nullopt
                                                                              : std::optional(h.checksum_sha256));
    info.content_type = h.content_type;
    info.metadata = h.metadata;
    info.retention = h.retention;
    info.legal_hold = h.legal_hold;
    info.version_id = h.version_id;
    info.last_modified = h.last_modified;
    return info;
}

// A 403 on deleting a version or changing its retention is the lock refusing it (S3 and
// RGW answer AccessDenied); keep the S3 fields, classify it for ObjectStore callers.
[[noreturn]] void rethrow_locked(const S3Error& e) {
    if (e.http_status() == 403 && e.s3_code() == "AccessDenied") throw S3Error(e.info(), ErrorCode::object_locked);
    throw e;
}

}  // namespace

namespace {

const S3Client& checked(const std::shared_ptr<S3Client>& client) {
    if (!client) throw Error(ErrorCode::invalid_argument, "S3Store needs a client");
    return *client;
}

}  // namespace

S3Store::S3Store(std::shared_ptr<S3Client> client, std::string bucket, std::string prefix)
    : ObjectStore(*checked(client).config().clock),
      client_(std::move(client)),
      bucket_(std::move(bucket)),
      prefix_(trim_slashes(std::move(prefix))) {
    if (bucket_.empty()) throw Error(ErrorCode::invalid_argument, "S3Store needs a bucket name");
    if (!prefix_.empty()) prefix_ += "/";
}

std::string S3Store::full_key(const std::string& key) const { return prefix_ + key; }

std::string S3Store::uri(const std::string& key) const {
    validate_object_key(key);
    return "s3://" + bucket_ + "/" + full_key(key);
}

namespace {

PutObjectOptions to_put_options(const std::string& bucket, const std::string& full_key, const PutBody& body,
                                const PutOptions& options) {
    PutObjectOptions o;
    o.bucket = bucket;
    o.key = full_key;
    o.body = body.is_file() ? S3Body::file(std::get<std::filesystem::path>(body.source))
                            : S3Body::bytes(std::get<std::string>(body.source));
    o.content_type = options.content_type;
    o.metadata = options.metadata;
    o.lock = options.lock;
    o.encryption = options.encryption;
    o.sha256_hex = options.sha256_hex;
    o.if_none_match = options.if_none_match;
    o.content_md5 = options.content_md5;
    return o;
}

// sha256_hex is only what the server recorded: callers verify by reading back otherwise.
PutResult to_put_result(const std::string& key, const PutObjectResult& r) {
    return PutResult{.key = key, .version_id = r.version_id, .etag = r.etag, .sha256_hex = r.checksum_sha256_hex};
}

}  // namespace

PutResult S3Store::do_put(const std::string& key, const PutBody& body, const PutOptions& options) {
    return to_put_result(key, client_->put_object(to_put_options(bucket_, full_key(key), body, options)));
}

PutResult S3Store::put_resumable(const std::string& key, const std::filesystem::path& file, const PutOptions& options,
                                 MultipartCheckpoint& checkpoint) {
    validate_object_key(key);
    options.validate(clock().now());
    return to_put_result(
        key, client_->put_object_resumable(to_put_options(bucket_, full_key(key), PutBody::from_file(file), options), checkpoint));
}

std::string S3Store::do_get(const std::string& key, const GetOptions& options) {
    return client_->get_object({.bucket = bucket_, .key = full_key(key), .version_id = options.version_id,
                                .range = options.range, .to_file = std::nullopt})
        .body;
}

ObjectInfo S3Store::do_get_to_file(const std::string& key, const std::filesystem::path& destination,
                                const GetOptions& options) {
    const GetObjectResult got = client_->get_object({.bucket = bucket_, .key = full_key(key),
                                                     .version_id = options.version_id, .range = options.range,
                                                     .to_file = destination});
    return to_info(got.head, key);
}

ObjectInfo S3Store::do_head(const std::string& key, const std::optional<std::string>& version_id) {
    return to_info(client_->head_object({.bucket = bucket_, .key = full_key(key), .version_id = version_id}), key);
}

ListPage S3Store::do_list(const ListOptions& options) {
    ListObjectsOptions o;
    o.bucket = bucket_;
    o.prefix = prefix_ + options.prefix;
    o.delimiter = options.delimiter;
    o.continuation_token = options.continuation_token;
    o.max_keys = options.max_keys;
    ListObjectsPage page = client_->list_objects_v2(o);
    ListPage out;
    for (ListedObject& obj : page.objects)
        out.objects.push_back(ObjectSummary{.key = obj.key.substr(prefix_.size()),
                                            .size = obj.size,
                                            .etag = obj.etag,
                                            .last_modified = obj.last_modified});
    for (std::string& p : page.common_prefixes) out.common_prefixes.push_back(p.substr(prefix_.size()));
    out.next_continuation_token = page.next_continuation_token;
    return out;
}

void S3Store::do_remove(const std::string& key, const DeleteOptions& options) {
    try {
        client_->delete_object({.bucket = bucket_,
                                .key = full_key(key),
                                .version_id = options.version_id,
                                .bypass_governance = options.bypass_governance});
    } catch (const S3Error& e) {
        if (options.version_id) rethrow_locked(e);
        throw;
    }
}

std::optional<Retention> S3Store::do_get_retention(const std::string& key, const std::optional<std::string>& version_id) {
    const ObjectRef ref{.bucket = bucket_, .key = full_key(key), .version_id = version_id};
    try {
        return client_->get_object_retention(ref);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::parse) throw;
        // The server did not answer GetObjectRetention with a document (moto): the same
        // lock is in HeadObject's x-amz-object-lock-* headers, so ask that instead.
        return client_->head_object({.bucket = ref.bucket, .key = ref.key, .version_id = ref.version_id}).retention;
    }
}

void S3Store::do_put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options) {
    try {
        client_->put_object_retention({.bucket = bucket_,
                                       .key = full_key(key),
                                       .version_id = options.version_id,
                                       .retention = retention,
                                       .bypass_governance = options.bypass_governance});
    } catch (const S3Error& e) {
        rethrow_locked(e);
    }
}

bool S3Store::do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) {
    return client_->get_object_legal_hold({.bucket = bucket_, .key = full_key(key), .version_id = version_id});
}

void S3Store::do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) {
    client_->put_object_legal_hold({.bucket = bucket_, .key = full_key(key), .version_id = version_id, .on = on});
}

namespace {

// "s3://bucket[/prefix]" -> (bucket, prefix); throws Error(invalid_argument).
std::pair<std::string, std::string> parse_s3_url(std::string_view url) {
    constexpr std::string_view scheme = "s3://";
    if (!url.starts_with(scheme))
        throw Error(ErrorCode::invalid_argument, "S3 store URL must start with s3://, got '" + worm::detail::mask_url_password(url) + "'");
    const std::string rest(url.substr(scheme.size()));
    const size_t slash = rest.find('/');
    std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (bucket.empty() || bucket.find_first_of("?#@ ") != std::string::npos)
        throw Error(ErrorCode::invalid_argument, "S3 store URL '" + worm::detail::mask_url_password(url) + "' has no valid bucket name");
    return {std::move(bucket), std::move(prefix)};
}

}  // namespace

std::unique_ptr<ObjectStore> open_s3_store(std::string_view url, std::shared_ptr<S3Client> client) {
    auto [bucket, prefix] = parse_s3_url(url);
    return std::make_unique<S3Store>(std::move(client), std::move(bucket), std::move(prefix));
}

std::unique_ptr<ObjectStore> open_s3_store(std::string_view url) {
    // The URL is checked before the environment, so a typo is reported as such.
    auto [bucket, prefix] = parse_s3_url(url);
    return std::make_unique<S3Store>(std::make_shared<S3Client>(ClientConfig::from_env()), std::move(bucket),
                                     std::move(prefix));
}

}  // namespace worm::s3
