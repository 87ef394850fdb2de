// client_ops.cpp: the S3 operations, each a thin layer over S3Client::send: build the
// request (query, headers, XML body), send it, read the answer.
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <iterator>
#include <type_traits>
#include <utility>

#include "../util/worker_pool.hpp"
#include "client_internal.hpp"
#include "documents.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/client.hpp"
#include "xml.hpp"

namespace worm::s3 {

namespace {

using detail::add_text;

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::invalid_argument, message); }

void check_bucket(const std::string& bucket) {
    if (bucket.empty()) invalid("bucket name is empty");
    if (bucket.size() > 255 || bucket.find('/') != std::string::npos)
        invalid("bucket name '" + bucket + "' is not valid");
}

void check_key(const std::string& key) {
    if (key.empty()) invalid("object key is empty");
    if (key.size() > 1024) invalid("object key is longer than 1024 bytes: '" + key.substr(0, 64) + "...'");
}

void check_object(const std::string& bucket, const std::string& key) {
    check_bucket(bucket);
    check_key(key);
}

void check_version(const std::optional<std::string>& version_id) {
    if (version_id && version_id->empty()) invalid("version id is empty (leave it unset for the latest version)");
}

void check_max_keys(int max_keys) {
    if (max_keys < 1 || max_keys > 1000) invalid("max_keys must be between 1 and 1000, got " + std::to_string(max_keys));
}

// A body with its Content-MD5 (S3 requires one on lock, lifecycle and policy configuration PUTs).
S3Request xml_put(const std::string& bucket, const std::string& key, std::string subresource, std::string body) {
    S3Request r;
    r.method = "PUT";
    r.bucket = bucket;
    r.key = key;
    r.query.emplace_back(std::move(subresource), "");
    r.headers.emplace_back("content-md5", base64_encode(md5(body)));
    r.headers.emplace_back("content-type", "application/xml");
    r.body = S3Body::bytes(std::move(body));
    return r;
}

S3Request get_sub(const std::string& bucket, const std::string& key, std::string subresource) {
    S3Request r;
    r.method = "GET";
    r.bucket = bucket;
    r.key = key;
    r.query.emplace_back(std::move(subresource), "");
    return r;
}

void add_version(S3Request& r, const std::optional<std::string>& version_id) {
    if (version_id) r.query.emplace_back("versionId", *version_id);
}

// A version without retention / legal hold: AWS answers 404 NoSuchObjectLockConfiguration,
// Ceph RGW 404 ObjectLockConfigurationNotFoundError (measured on 16.2.15).
bool no_lock_on_version(const S3Error& e) {
    return e.http_status() == 404 &&
           (e.s3_code() == "NoSuchObjectLockConfiguration" || e.s3_code() == "ObjectLockConfigurationNotFoundError");
}

}  // namespace

// ---- validation ------------------------------------------------------------------------

void CreateBucketOptions::validate() const { check_bucket(bucket); }

void ObjectLockConfiguration::validate() const {
    if (!default_retention) return;
    if (!enabled) invalid("a default retention needs Object Lock enabled");
    const auto& d = *default_retention;
    if (d.days.has_value() == d.years.has_value()) invalid("default retention needs exactly one of days or years");
    if ((d.days && *d.days < 1) || (d.years && *d.years < 1)) invalid("default retention period must be positive");
}

void PutObjectOptions::validate(TimePoint now) const {
    check_object(bucket, key);
    PutOptions common;
    common.metadata = metadata;
    common.lock = lock;
    common.encryption = encryption;
    common.sha256_hex = sha256_hex;
    common.validate(now);
    for (const auto& [name, value] : metadata)
        if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
            invalid("metadata value of '" + name + "' is not ASCII (S3 headers cannot carry it unencoded)");
    if (content_type.find_first_of("\r\n") != std::string::npos) invalid("content type holds a line break");
}

void GetObjectOptions::validate() const {
    check_object(bucket, key);
    check_version(version_id);
    if (range && range->second && *range->second < range->first)
        invalid("range end " + std::to_string(*range->second) + " is before its start " + std::to_string(range->first));
    if (!keep_body && (range || to_file))
        invalid(range ? "a ranged GET keeps its body (keep_body = false reads whole objects only)"
                      : "keep_body = false keeps nothing, so it cannot write to_file");
}

void HeadObjectOptions::validate() const {
    check_object(bucket, key);
    check_version(version_id);
}

void DeleteObjectOptions::validate() const {
    check_object(bucket, key);
    check_version(version_id);
}

void ListObjectsOptions::validate() const {
    check_bucket(bucket);
    check_max_keys(max_keys);
}

void ListVersionsOptions::validate() const {
    check_bucket(bucket);
    check_max_keys(max_keys);
}

void ObjectRef::validate() const {
    check_object(bucket, key);
    check_version(version_id);
}

void PutRetentionOptions::validate(TimePoint now) const {
    check_object(bucket, key);
    check_version(version_id);
    if (retention.retain_until <= now)
        invalid("retain-until date " + format_rfc3339(retention.retain_until) + " is not in the future");
}

void PutLegalHoldOptions::validate() const {
    check_object(bucket, key);
    check_version(version_id);
}

// ---- buckets ---------------------------------------------------------------------------

void S3Client::create_bucket(const CreateBucketOptions& options) {
    options.validate();
    S3Request r;
    r.method = "PUT";
    r.bucket = options.bucket;
    if (options.object_lock) r.headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
    const std::string region = options.region.empty() ? config_.region : options.region;
    if (region != "us-east-1") {
        pugi::xml_document doc;
        add_text(detail::s3_root(doc, "CreateBucketConfiguration"), "LocationConstraint", region);
        r.body = S3Body::bytes(detail::to_string(doc));
        r.headers.emplace_back("content-type", "application/xml");
    }
    send(r);
}

void S3Client::head_bucket(const std::string& bucket) {
    check_bucket(bucket);
    S3Request r;
    r.method = "HEAD";
    r.bucket = bucket;
    send(r);
}

bool S3Client::bucket_exists(const std::string& bucket) {
    try {
        head_bucket(bucket);
        return true;
    } catch (const S3Error& e) {
        if (e.http_status() == 404) return false;
        throw;
    }
}

ObjectLockConfiguration S3Client::get_object_lock_configuration(const std::string& bucket) {
    check_bucket(bucket);
    HttpResponse resp;
    try {
        resp = send(get_sub(bucket, "", "object-lock"));
    } catch (const S3Error& e) {
        if (e.http_status() == 404 && e.s3_code() == "ObjectLockConfigurationNotFoundError") return {};
        throw;
    }
    return detail::parse_object_lock_configuration(resp.body);
}

void S3Client::put_object_lock_configuration(const std::string& bucket, const ObjectLockConfiguration& config) {
    check_bucket(bucket);
    config.validate();
    pugi::xml_document doc;
    pugi::xml_node root = detail::s3_root(doc, "ObjectLockConfiguration");
    if (config.enabled) add_text(root, "ObjectLockEnabled", "Enabled");
    if (config.default_retention) {
        pugi::xml_node d = root.append_child("Rule").append_child("DefaultRetention");
        add_text(d, "Mode", std::string(to_string(config.default_retention->mode)));
        if (config.default_retention->days) add_text(d, "Days", std::to_string(*config.default_retention->days));
        if (config.default_retention->years) add_text(d, "Years", std::to_string(*config.default_retention->years));
    }
    send(xml_put(bucket, "", "object-lock", detail::to_string(doc)));
}

VersioningStatus S3Client::get_bucket_versioning(const std::string& bucket) {
    check_bucket(bucket);
    return detail::parse_bucket_versioning(send(get_sub(bucket, "", "versioning")).body);
}

void S3Client::put_bucket_versioning(const std::string& bucket, bool enabled) {
    check_bucket(bucket);
    pugi::xml_document doc;
    add_text(detail::s3_root(doc, "VersioningConfiguration"), "Status", enabled ? "Enabled" : "Suspended");
    send(xml_put(bucket, "", "versioning", detail::to_string(doc)));
}

std::optional<BucketEncryption> S3Client::get_bucket_encryption(const std::string& bucket) {
    check_bucket(bucket);
    HttpResponse resp;
    try {
        resp = send(get_sub(bucket, "", "encryption"));
    } catch (const S3Error& e) {
        if (e.http_status() == 404 && e.s3_code() == "ServerSideEncryptionConfigurationNotFoundError")
            return std::nullopt;
        throw;
    }
    try {
        return detail::parse_bucket_encryption(resp.body);
    } catch (const Error& e) {
        throw Error(e.code(), std::string(e.what()) + " (bucket " + bucket + ")");
    }
}

void S3Client::put_bucket_encryption(const std::string& bucket, const BucketEncryption& encryption) {
    check_bucket(bucket);
    if (encryption.sse.kind == ServerSideEncryption::Kind::none)
        invalid("bucket encryption must be AES256 or aws:kms");
    if (encryption.sse.kind != ServerSideEncryption::Kind::aws_kms && !encryption.sse.kms_key_id.empty())
        invalid("a KMS key id needs aws:kms encryption");
    pugi::xml_document doc;
    pugi::xml_node rule = detail::s3_root(doc, "ServerSideEncryptionConfiguration").append_child("Rule");
    pugi::xml_node def = rule.append_child("ApplyServerSideEncryptionByDefault");
    const bool kms = encryption.sse.kind == ServerSideEncryption::Kind::aws_kms;
    add_text(def, "SSEAlgorithm", kms ? "aws:kms" : "AES256");
    if (kms && !encryption.sse.kms_key_id.empty()) add_text(def, "KMSMasterKeyID", encryption.sse.kms_key_id);
    if (encryption.bucket_key_enabled) add_text(rule, "BucketKeyEnabled", "true");
    send(xml_put(bucket, "", "encryption", detail::to_string(doc)));
}

std::optional<PublicAccessBlock> S3Client::get_public_access_block(const std::string& bucket) {
    check_bucket(bucket);
    HttpResponse resp;
    try {
        resp = send(get_sub(bucket, "", "publicAccessBlock"));
    } catch (const S3Error& e) {
        if (e.http_status() == 404 && e.s3_code() == "NoSuchPublicAccessBlockConfiguration") return std::nullopt;
        throw;
    }
    return detail::parse_public_access_block(resp.body);
}

void S3Client::put_public_access_block(const std::string& bucket, const PublicAccessBlock& block) {
    check_bucket(bucket);
    pugi::xml_document doc;
    pugi::xml_node root = detail::s3_root(doc, "PublicAccessBlockConfiguration");
    add_text(root, "BlockPublicAcls", block.block_public_acls ? "true" : "false");
    add_text(root, "IgnorePublicAcls", block.ignore_public_acls ? "true" : "false");
    add_text(root, "BlockPublicPolicy", block.block_public_policy ? "true" : "false");
    add_text(root, "RestrictPublicBuckets", block.restrict_public_buckets ? "true" : "false");
    send(xml_put(bucket, "", "publicAccessBlock", detail::to_string(doc)));
}

void S3Client::put_bucket_policy(const std::string& bucket, const std::string& policy_json) {
    check_bucket(bucket);
    if (policy_json.empty()) invalid("bucket policy is empty");
    S3Request r = xml_put(bucket, "", "policy", policy_json);
    for (auto& [name, value] : r.headers)
        if (name == "content-type") value = "application/json";
    send(r);
}

void S3Client::put_bucket_lifecycle_configuration(const std::string& bucket, const std::vector<LifecycleRule>& rules) {
    check_bucket(bucket);
    if (rules.empty()) invalid("a lifecycle configuration needs at least one rule");
    pugi::xml_document doc;
    pugi::xml_node root = detail::s3_root(doc, "LifecycleConfiguration");
    for (const LifecycleRule& rule : rules) {
        if (!rule.expiration_days && !rule.noncurrent_version_expiration_days && !rule.abort_incomplete_multipart_days &&
            rule.transitions.empty())
            invalid("lifecycle rule '" + rule.id + "' has no action");
        for (const LifecycleTransition& t : rule.transitions) {
            if (t.storage_class.empty()) invalid("lifecycle rule '" + rule.id + "' transitions without a storage class");
            if (t.days < 0) invalid("lifecycle rule '" + rule.id + "' transitions after a negative day count");
        }
        pugi::xml_node n = root.append_child("Rule");
        if (!rule.id.empty()) add_text(n, "ID", rule.id);
        add_text(n.append_child("Filter"), "Prefix", rule.prefix);
        add_text(n, "Status", rule.enabled ? "Enabled" : "Disabled");
        for (const LifecycleTransition& transition : rule.transitions) {
            pugi::xml_node t = n.append_child("Transition");
            add_text(t, "Days", std::to_string(transition.days));
            add_text(t, "StorageClass", transition.storage_class);
        }
        if (rule.expiration_days) add_text(n.append_child("Expiration"), "Days", std::to_string(*rule.expiration_days));
        if (rule.noncurrent_version_expiration_days)
            add_text(n.append_child("NoncurrentVersionExpiration"), "NoncurrentDays",
                     std::to_string(*rule.noncurrent_version_expiration_days));
        if (rule.abort_incomplete_multipart_days)
            add_text(n.append_child("AbortIncompleteMultipartUpload"), "DaysAfterInitiation",
                     std::to_string(*rule.abort_incomplete_multipart_days));
    }
    send(xml_put(bucket, "", "lifecycle", detail::to_string(doc)));
}

void S3Client::put_bucket_replication(const std::string& bucket, const ReplicationConfiguration& configuration) {
    check_bucket(bucket);
    if (configuration.role.empty()) invalid("a replication configuration needs the IAM role S3 replicates as");
    if (configuration.rules.empty()) invalid("a replication configuration needs at least one rule");
    pugi::xml_document doc;
    pugi::xml_node root = detail::s3_root(doc, "ReplicationConfiguration");
    add_text(root, "Role", configuration.role);
    int priority = 0;
    for (const ReplicationRule& rule : configuration.rules) {
        if (rule.destination_bucket_arn.empty()) invalid("replication rule '" + rule.id + "' has no destination");
        pugi::xml_node n = root.append_child("Rule");
        if (!rule.id.empty()) add_text(n, "ID", rule.id);
        add_text(n, "Priority", std::to_string(++priority));
        add_text(n.append_child("Filter"), "Prefix", rule.prefix);
        add_text(n, "Status", rule.enabled ? "Enabled" : "Disabled");
        add_text(n.append_child("DeleteMarkerReplication"), "Status", "Disabled");
        pugi::xml_node d = n.append_child("Destination");
        add_text(d, "Bucket", rule.destination_bucket_arn);
        if (!rule.destination_storage_class.empty()) add_text(d, "StorageClass", rule.destination_storage_class);
    }
    send(xml_put(bucket, "", "replication", detail::to_string(doc)));
}

// ---- objects ---------------------------------------------------------------------------

PutObjectResult S3Client::put_object(const PutObjectOptions& options) {
    options.validate(now());
    if (options.body.size() >= config_.multipart_threshold) return put_multipart(options);
    return put_single(options);
}

PutObjectResult S3Client::put_single(const PutObjectOptions& options) {
    // One pass gives both digests; a caller-supplied SHA-256 is trusted only as far as the
    // server checks it (x-amz-content-sha256 and x-amz-checksum-sha256 are both verified by S3),
    // so a body in memory with a known SHA-256 needs only its MD5 (the proxy hashed it already).
    std::string sha_raw, md5_raw;
    const std::string* bytes = std::get_if<std::string>(&options.body.source);
    if (options.sha256_hex && (!options.content_md5 || bytes)) {
        sha_raw = from_hex(*options.sha256_hex);
        if (options.content_md5) md5_raw = md5(*bytes);
    } else {
        worm::detail::Digests d = detail::digest_body(options.body, options.content_md5);
        sha_raw = std::move(d.sha256);
        md5_raw = std::move(d.md5);
        if (options.sha256_hex && to_hex(sha_raw) != *options.sha256_hex)
            throw Error(ErrorCode::integrity, "body of " + options.bucket + "/" + options.key +
                                                  " does not match the SHA-256 given for it");
    }
    S3Request r;
    r.method = "PUT";
    r.bucket = options.bucket;
    r.key = options.key;
    r.body = options.body;
    r.payload_sha256_hex = to_hex(sha_raw);
    detail::add_object_headers(r.headers, options);
    if (!md5_raw.empty()) r.headers.emplace_back("content-md5", base64_encode(md5_raw));
    // Without Content-MD5, S3 takes an Object Lock PUT only when it names its checksum's
    // algorithm, as the AWS SDKs do (otherwise: 400 MissingUploadObjectWithObjectLockHeaders).
    else r.headers.emplace_back("x-amz-sdk-checksum-algorithm", "SHA256");
    r.headers.emplace_back("x-amz-checksum-sha256", base64_encode(sha_raw));
    if (options.if_none_match) r.headers.emplace_back("if-none-match", "*");
    r.resend_if_maybe_applied = !options.if_none_match;
    r.error_in_ok_body = true;  // a PutObject success has no body: a 200 with <Error> failed

    HttpResponse resp;
    try {
        resp = send(r);
    } catch (const S3Error& e) {
        if (options.if_none_match && e.http_status() == 412)
            throw S3Error(e.info(), ErrorCode::already_exists);
        throw;
    }
    PutObjectResult out;
    out.etag = detail::strip_quotes(find_header(resp.headers, "etag").value_or(""));
    out.version_id = find_header(resp.headers, "x-amz-version-id").value_or("");
    if (out.version_id == "null") out.version_id.clear();
    out.checksum_sha256_hex = detail::checksum_base64_to_hex(find_header(resp.headers, "x-amz-checksum-sha256"));
    out.sent_sha256_hex = to_hex(sha_raw);
    // The answer says what the server stored: a checksum it echoes, and the ETag, which for a
    // single PUT without KMS is the stored bytes' MD5 (moto stores a body sent as a form as 0
    // bytes and answers 200 with the empty body's ETag). Either differing is not our body.
    const std::string what =
        options.bucket + "/" + options.key + (out.version_id.empty() ? "" : " (version " + out.version_id + ")");
    if (!out.checksum_sha256_hex.empty() && out.checksum_sha256_hex != out.sent_sha256_hex)
        throw Error(ErrorCode::integrity, "S3 recorded SHA-256 " + out.checksum_sha256_hex + " for " + what +
                                              " but libworm sent " + out.sent_sha256_hex);
    const bool kms = options.encryption.kind == ServerSideEncryption::Kind::aws_kms ||
                     find_header(resp.headers, "x-amz-server-side-encryption").value_or("").starts_with("aws:kms");
    if (!md5_raw.empty() && !kms && detail::is_md5_etag(out.etag) && out.etag != to_hex(md5_raw))
        throw Error(ErrorCode::integrity, "integrity check failed: S3 answered ETag " + out.etag + " for " + what +
                                              ", not the MD5 " + to_hex(md5_raw) +
                                              " of the bytes libworm sent: it stored other bytes");
    if (options.lock.retention)
        check_lock_stored({.bucket = options.bucket, .key = options.key, .version_id = detail::version_of(out)},
                          *options.lock.retention);
    return out;
}

namespace {

// 2^32 seconds after the epoch: 2106-02-07T06:28:16Z. Ceph RGW 16 keeps lock dates as 32-bit
// seconds (ceph::real_time's encoding) and stores anything from here on modulo 2^32 seconds
// (2106-02-08 comes back as 1970-01-01T17:31:44Z, 2200-01-01 as 2063-11-24); past 2262-04-11
// 64-bit nanoseconds wrap as well. Earlier dates are kept exactly by every server measured,
// so only later ones pay the extra round trip of reading the lock back.
constexpr RetentionDate::Millis first_wrapped_lock_date{std::chrono::seconds(1ll << 32)};

}  // namespace

void S3Client::check_lock_stored(const ObjectRef& version, const Retention& asked) {
    if (asked.retain_until.millis() < first_wrapped_lock_date) return;
    const ObjectHead head = head_object({.bucket = version.bucket, .key = version.key, .version_id = version.version_id});
    const std::optional<Retention>& stored = head.retention;
    // The date exactly; the mode as asked, or COMPLIANCE (never weaker).
    if (stored && stored->retain_until == asked.retain_until &&
        (stored->mode == asked.mode || stored->mode == LockMode::compliance))
        return;
    // A compliance tool must never shorten a retention silently. The version exists (it
    // cannot be taken back under a lock), so say exactly which one and what the server keeps.
    const std::string version_id = version.version_id.value_or(head.version_id);
    const std::string object =
        version.bucket + "/" + version.key + (version_id.empty() ? "" : " (version " + version_id + ")");
    const std::string stored_text =
        stored ? format_rfc3339_millis(stored->retain_until) + " (" + std::string(to_string(stored->mode)) + ")"
               : "(none)";
    const bool earlier = !stored || stored->retain_until < asked.retain_until;
    throw Error(ErrorCode::storage,
                "the S3 server stored retain-until " + stored_text + " on " + object + ", " +
                    (earlier ? "earlier than" : "not") + " the " + format_rfc3339_millis(asked.retain_until) +
                    " asked (" + std::string(to_string(asked.mode)) +
                    "): it cannot keep this date (Ceph RGW keeps lock dates modulo 2^32 seconds, so only up "
                    "to 2106-02-07T06:28:15Z); choose an earlier --retain-until, and check the lock of that "
                    "version");
}

namespace {

// What a whole object read is checked against: the server's SHA-256 checksum of it, else its
// ETag when that is the body's MD5 (single PUT, no KMS); neither: nothing.
struct WholeObjectCheck {
    std::string sha256_hex;
    bool md5_etag = false;
};

WholeObjectCheck check_for(const ObjectHead& head) {
    WholeObjectCheck c;
    c.sha256_hex = detail::checksum_base64_to_hex(head.checksum_sha256);
    c.md5_etag = c.sha256_hex.empty() && detail::is_md5_etag(head.etag) && !head.server_side_encryption.starts_with("aws:kms");
    return c;
}

// Hashes a whole object's body as it comes off the socket (SHA-256, and MD5 when the ETag is
// what it is checked against), so a large download is never read back to be checked. The
// head, parsed when the body begins to decide that, is kept for the result.
class WholeObjectDigests final : public ResponseObserver {
public:
    struct Seen {
        ObjectHead head;
        worm::detail::Digests digests;
    };
    explicit WholeObjectDigests(const std::string& key) : key_(key) {}
    void begin(const HttpHeaders& headers) override {
        head_ = detail::parse_object_head(key_, headers);
        digests_.restart(check_for(*head_).md5_etag);
    }
    void piece(std::string_view bytes) override { digests_.update(bytes); }
    // Nothing when the transport never showed the body (one that does not observe).
    std::optional<Seen> finish() {
        if (!head_) return std::nullopt;
        return Seen{std::move(*head_), digests_.finish()};
    }

private:
    const std::string& key_;
    worm::detail::DigestStream digests_;
    std::optional<ObjectHead> head_;  // the latest attempt's, once its body began
};

// A body cut short (a lying Content-Length) or changed on the way is Error(integrity), never
// the object; a download that fails the check is removed.
void check_whole_object(const GetObjectOptions& options, const GetObjectResult& got, const worm::detail::Digests& digests) {
    const WholeObjectCheck check = check_for(got.head);
    if (check.sha256_hex.empty() && !check.md5_etag) return;  // the server recorded nothing to check against
    std::string what, expected, actual;
    if (!check.sha256_hex.empty()) what = "SHA-256", expected = check.sha256_hex, actual = to_hex(digests.sha256);
    else what = "MD5 (ETag)", expected = got.head.etag, actual = to_hex(digests.md5);
    if (actual == expected) return;
    if (options.to_file) std::filesystem::remove(*options.to_file);
    throw Error(ErrorCode::integrity, "S3 recorded " + what + " " + expected + " for " + options.bucket + "/" +
                                          options.key + " but the body received has " + actual);
}

}  // namespace

GetObjectResult S3Client::get_object(const GetObjectOptions& options) {
    options.validate();
    S3Request r;
    r.method = "GET";
    r.bucket = options.bucket;
    r.key = options.key;
    add_version(r, options.version_id);
    WholeObjectDigests digests(options.key);
    if (options.range) {
        std::string range = "bytes=" + std::to_string(options.range->first) + "-";
        if (options.range->second) range += std::to_string(*options.range->second);
        r.headers.emplace_back("range", range);
    } else {
        r.headers.emplace_back("x-amz-checksum-mode", "ENABLED");
        r.response_observer = &digests;
        r.keep_response_body = options.keep_body;
    }
    r.response_file = options.to_file;
    HttpResponse resp = send(r);
    GetObjectResult out;
    out.body = std::move(resp.body);
    std::optional<WholeObjectDigests::Seen> seen = digests.finish();
    out.head = seen ? std::move(seen->head) : detail::parse_object_head(options.key, resp.headers);
    if (options.range) return out;
    // A transport that does not observe: the body is hashed where it was kept.
    const worm::detail::Digests body_digests =
        seen ? std::move(seen->digests)
             : detail::digest_body(options.to_file ? S3Body::file(*options.to_file) : S3Body::bytes(out.body),
                                   check_for(out.head).md5_etag);
    check_whole_object(options, out, body_digests);
    out.body_sha256_hex = to_hex(body_digests.sha256);
    if (!options.keep_body) out.body.clear();
    return out;
}

ObjectHead S3Client::head_object(const HeadObjectOptions& options) {
    options.validate();
    S3Request r;
    r.method = "HEAD";
    r.bucket = options.bucket;
    r.key = options.key;
    add_version(r, options.version_id);
    r.headers.emplace_back("x-amz-checksum-mode", "ENABLED");
    return detail::parse_object_head(options.key, send(r).headers);
}

DeleteObjectResult S3Client::delete_object(const DeleteObjectOptions& options) {
    options.validate();
    S3Request r;
    r.method = "DELETE";
    r.bucket = options.bucket;
    r.key = options.key;
    add_version(r, options.version_id);
    if (options.bypass_governance) r.headers.emplace_back("x-amz-bypass-governance-retention", "true");
    const HttpResponse resp = send(r);
    DeleteObjectResult out;
    out.version_id = find_header(resp.headers, "x-amz-version-id").value_or("");
    out.delete_marker = find_header(resp.headers, "x-amz-delete-marker").value_or("") == "true";
    return out;
}

namespace {

// The one paginator of the listings: fetch a page, keep its items, and while the page is
// truncated let `advance` move the options to the next one (it throws when the server's
// markers did not move, which would loop forever).
template <typename Options, typename Fetch, typename Items, typename Advance>
auto list_every_page(Options options, Fetch fetch, Items items, Advance advance) {
    std::decay_t<decltype(items(std::declval<decltype(fetch(options))&>()))> all;
    while (true) {
        auto page = fetch(options);
        auto& got = items(page);
        std::move(got.begin(), got.end(), std::back_inserter(all));
        if (!page.is_truncated) return all;
        advance(options, page);
    }
}

}  // namespace

ListObjectsPage S3Client::list_objects_v2(const ListObjectsOptions& options) {
    options.validate();
    S3Request r;
    r.method = "GET";
    r.bucket = options.bucket;
    r.query = {{"list-type", "2"}, {"max-keys", std::to_string(options.max_keys)}, {"encoding-type", "url"}};
    if (!options.prefix.empty()) r.query.emplace_back("prefix", options.prefix);
    if (!options.delimiter.empty()) r.query.emplace_back("delimiter", options.delimiter);
    if (!options.continuation_token.empty()) r.query.emplace_back("continuation-token", options.continuation_token);
    if (!options.start_after.empty()) r.query.emplace_back("start-after", options.start_after);
    r.error_in_ok_body = true;  // an <Error> in a 200 is the server's failure, not a malformed listing
    return detail::parse_list_objects_v2(send(r).body);
}

std::vector<ListedObject> S3Client::list_all_objects(ListObjectsOptions options) {
    return list_every_page(
        std::move(options), [&](const ListObjectsOptions& o) { return list_objects_v2(o); },
        [](ListObjectsPage& page) -> auto& { return page.objects; },
        [](ListObjectsOptions& o, const ListObjectsPage& page) {
            if (page.next_continuation_token == o.continuation_token)
                throw Error(ErrorCode::storage, "ListObjectsV2 did not advance (same continuation token twice)");
            o.continuation_token = page.next_continuation_token;
        });
}

ListVersionsPage S3Client::list_object_versions(const ListVersionsOptions& options) {
    options.validate();
    S3Request r;
    r.method = "GET";
    r.bucket = options.bucket;
    r.query = {{"versions", ""}, {"max-keys", std::to_string(options.max_keys)}, {"encoding-type", "url"}};
    if (!options.prefix.empty()) r.query.emplace_back("prefix", options.prefix);
    if (!options.delimiter.empty()) r.query.emplace_back("delimiter", options.delimiter);
    if (!options.key_marker.empty()) r.query.emplace_back("key-marker", options.key_marker);
    if (!options.version_id_marker.empty()) r.query.emplace_back("version-id-marker", options.version_id_marker);
    r.error_in_ok_body = true;  // an <Error> in a 200 is the server's failure, not a malformed listing
    return detail::parse_list_object_versions(send(r).body);
}

std::vector<ListedVersion> S3Client::list_all_object_versions(ListVersionsOptions options) {
    return list_every_page(
        std::move(options), [&](const ListVersionsOptions& o) { return list_object_versions(o); },
        [](ListVersionsPage& page) -> auto& { return page.versions; },
        [](ListVersionsOptions& o, const ListVersionsPage& page) {
            if (page.next_key_marker == o.key_marker && page.next_version_id_marker == o.version_id_marker)
                throw Error(ErrorCode::storage, "ListObjectVersions did not advance (same markers twice)");
            o.key_marker = page.next_key_marker;
            o.version_id_marker = page.next_version_id_marker;
        });
}

// ---- object lock on a version ----------------------------------------------------------

std::optional<Retention> S3Client::get_object_retention(const ObjectRef& object) {
    object.validate();
    S3Request r = get_sub(object.bucket, object.key, "retention");
    add_version(r, object.version_id);
    HttpResponse resp;
    try {
        resp = send(r);
    } catch (const S3Error& e) {
        // No retention on this version (AWS: 404 NoSuchObjectLockConfiguration).
        if (no_lock_on_version(e)) return std::nullopt;
        throw;
    }
    try {
        return detail::parse_object_retention(resp.body);
    } catch (const Error& e) {
        throw Error(e.code(), std::string(e.what()) + " (object " + object.bucket + "/" + object.key + ")");
    }
}

void S3Client::put_object_retention(const PutRetentionOptions& options) {
    options.validate(now());
    pugi::xml_document doc;
    pugi::xml_node root = detail::s3_root(doc, "Retention");
    add_text(root, "Mode", std::string(to_string(options.retention.mode)));
    add_text(root, "RetainUntilDate", format_rfc3339_millis(options.retention.retain_until));
    S3Request r = xml_put(options.bucket, options.key, "retention", detail::to_string(doc));
    add_version(r, options.version_id);
    if (options.bypass_governance) r.headers.emplace_back("x-amz-bypass-governance-retention", "true");
    send(r);
    check_lock_stored({.bucket = options.bucket, .key = options.key, .version_id = options.version_id},
                      options.retention);
}

bool S3Client::get_object_legal_hold(const ObjectRef& object) {
    object.validate();
    S3Request r = get_sub(object.bucket, object.key, "legal-hold");
    add_version(r, object.version_id);
    HttpResponse resp;
    try {
        resp = send(r);
    } catch (const S3Error& e) {
        if (no_lock_on_version(e)) return false;
        throw;
    }
    return detail::parse_object_legal_hold(resp.body);
}

void S3Client::put_object_legal_hold(const PutLegalHoldOptions& options) {
    options.validate();
    pugi::xml_document doc;
    add_text(detail::s3_root(doc, "LegalHold"), "Status", options.on ? "ON" : "OFF");
    S3Request r = xml_put(options.bucket, options.key, "legal-hold", detail::to_string(doc));
    add_version(r, options.version_id);
    send(r);
}

// ---- server-side copy ------------------------------------------------------------------

namespace {

// What a copy writes, as the put of the same object would (its headers and checks are the same).
PutObjectOptions as_put(const CopyObjectOptions& o) {
    PutObjectOptions p;
    p.bucket = o.bucket;
    p.key = o.key;
    p.content_type = o.content_type;
    p.metadata = o.metadata;
    p.lock = o.lock;
    return p;
}

}  // namespace

void CopyObjectOptions::validate(TimePoint now) const {
    check_object(source_bucket, source_key);
    check_version(source_version_id);
    as_put(*this).validate(now);
    if (multipart_above > (5ull << 30)) invalid("a single CopyObject copies at most 5 GiB (multipart_above)");
    if (part_size != 0 && (part_size < (5ull << 20) || part_size > (5ull << 30)))
        invalid("copy part size must be 5 MiB to 5 GiB, got " + std::to_string(part_size));
    if (source_if_match.find_first_of("\r\n") != std::string::npos) invalid("source ETag holds a line break");
}

namespace {

// x-amz-copy-source: "/bucket/key[?versionId=V]", the key percent-encoded as in a URL path
// ('/' kept): S3 decodes it, so a key with '+', '%', spaces or non-ASCII names itself.
std::string copy_source(const CopyObjectOptions& o) {
    std::string v = "/" + o.source_bucket + "/" + uri_encode(o.source_key, false);
    if (o.source_version_id) v += "?versionId=" + uri_encode(*o.source_version_id, true);
    return v;
}

void add_copy_source(S3Request& r, const CopyObjectOptions& o) {
    r.headers.emplace_back("x-amz-copy-source", copy_source(o));
    if (!o.source_if_match.empty())
        r.headers.emplace_back("x-amz-copy-source-if-match", "\"" + detail::strip_quotes(o.source_if_match) + "\"");
}

// <CopyObjectResult> / <CopyPartResult> (moto: ...Response): the ETag and, when the server
// computed one, ChecksumSHA256 (base64; composite "...-N" is not a full-object hash).
std::pair<std::string, std::string> parse_copy_result(std::string_view body, std::string_view operation) {
    pugi::xml_document doc;
    const pugi::xml_node root = detail::root_of(doc, body, operation,
                                                {"CopyObjectResult", "CopyPartResult", "CopyObjectResponse", "CopyPartResponse"});
    return {detail::strip_quotes(detail::text_of(root, "ETag")), detail::text_of(root, "ChecksumSHA256")};
}

// Whether a stated lock is at least the one asked (a later date, COMPLIANCE for GOVERNANCE).
bool holds(const std::optional<Retention>& stated, const Retention& asked) {
    return stated && stated->retain_until >= asked.retain_until &&
           (stated->mode == asked.mode || stated->mode == LockMode::compliance);
}

}  // namespace

CompletedPart S3Client::upload_part_copy(const CopyObjectOptions& options, const std::string& upload_id, int part_number,
                                         std::uint64_t first, std::uint64_t last) {
    if (upload_id.empty()) invalid("upload id is empty");
    if (part_number < 1 || part_number > 10'000) invalid("part number must be 1..10000, got " + std::to_string(part_number));
    if (last < first) invalid("copy range ends before it starts");
    S3Request r;
    r.method = "PUT";
    r.bucket = options.bucket;
    r.key = options.key;
    r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
    add_copy_source(r, options);
    r.headers.emplace_back("x-amz-copy-source-range", "bytes=" + std::to_string(first) + "-" + std::to_string(last));
    r.error_in_ok_body = true;  // a copy can answer 200 and fail in its body
    const auto [etag, checksum] = parse_copy_result(send(r).body, "UploadPartCopy");
    if (etag.empty())
        throw Error(ErrorCode::storage, "UploadPartCopy " + std::to_string(part_number) + " of " + options.bucket + "/" +
                                            options.key + " returned no ETag");
    return CompletedPart{.number = part_number, .etag = etag, .checksum_sha256 = checksum};
}

CopyObjectResult S3Client::copy_object(const CopyObjectOptions& options) {
    options.validate(now());
    CopyObjectResult out;
    const PutObjectOptions target = as_put(options);
    if (options.source_size > options.multipart_above) {
        std::uint64_t part_size = options.part_size ? options.part_size : config_.part_size;
        const std::uint64_t mib = 1ull << 20;
        if ((options.source_size + part_size - 1) / part_size > 10'000)
            part_size = ((options.source_size + 9'999) / 10'000 + mib - 1) / mib * mib;
        const int count = static_cast<int>((options.source_size + part_size - 1) / part_size);
        const std::string upload_id = create_multipart_upload(target);
        std::vector<CompletedPart> parts(static_cast<std::size_t>(count));
        std::atomic<int> next{0};
        std::atomic<bool> failed{false};
        std::exception_ptr first_error;
        std::mutex mutex;
        worm::detail::run_workers(static_cast<std::size_t>(std::max(1, std::min(config_.parallel_parts, count))),
                                  [&](std::size_t) {
                                      for (int i = next++; i < count && !failed; i = next++) {
                                          try {
                                              const std::uint64_t first = static_cast<std::uint64_t>(i) * part_size;
                                              const std::uint64_t last = std::min(options.source_size, first + part_size) - 1;
                                              parts[static_cast<std::size_t>(i)] =
                                                  upload_part_copy(options, upload_id, i + 1, first, last);
                                          } catch (...) {
                                              std::lock_guard lock(mutex);
                                              if (!first_error) first_error = std::current_exception();
                                              failed = true;
                                          }
                                      }
                                  });
        PutObjectResult done;
        try {
            if (first_error) std::rethrow_exception(first_error);
            done = complete_multipart_upload(options.bucket, options.key, upload_id, parts);
        } catch (...) {
            try {
                abort_multipart_upload(options.bucket, options.key, upload_id);
            } catch (const Error&) {
                // Left to the bucket's AbortIncompleteMultipartUpload rule; the copy's error matters.
            }
            throw;
        }
        ensure_multipart_result(target, done);
        const ObjectHead head = head_object({.bucket = options.bucket, .key = options.key, .version_id = detail::version_of(done)});
        out.etag = done.etag;
        out.version_id = done.version_id.empty() ? head.version_id : done.version_id;
        out.retention = head.retention;
        out.legal_hold = head.legal_hold;
        out.multipart = true;
        out.parts = std::move(parts);
        out.part_size = part_size;
        return out;
    }

    S3Request r;
    r.method = "PUT";
    r.bucket = options.bucket;
    r.key = options.key;
    add_copy_source(r, options);
    r.headers.emplace_back("x-amz-metadata-directive", "REPLACE");
    detail::add_object_headers(r.headers, target);
    if (options.checksum_sha256) {
        r.headers.emplace_back("x-amz-checksum-algorithm", "SHA256");
        // What the SDKs send beside it; S3 (and moto) want it with lock headers on a copy.
        r.headers.emplace_back("x-amz-sdk-checksum-algorithm", "SHA256");
    }
    // A second locked version after a lost answer could never be removed: the caller looks first.
    r.resend_if_maybe_applied = !(options.lock.retention || options.lock.legal_hold);
    r.error_in_ok_body = true;  // CopyObject can answer 200 and fail in its body
    const HttpResponse resp = send(r);
    const auto [etag, checksum] = parse_copy_result(resp.body, "CopyObject");
    out.etag = etag;
    out.checksum_sha256_hex = detail::checksum_base64_to_hex(checksum.empty() ? std::nullopt : std::optional(checksum));
    out.version_id = find_header(resp.headers, "x-amz-version-id").value_or("");
    if (out.version_id == "null") out.version_id.clear();
    out.source_version_id = find_header(resp.headers, "x-amz-copy-source-version-id").value_or("");
    if (out.source_version_id == "null") out.source_version_id.clear();
    // The lock as the copy's answer states it (moto echoes the headers; S3 and RGW do not).
    const ObjectHead echoed = detail::parse_object_head(options.key, resp.headers);
    out.retention = echoed.retention;
    out.legal_hold = echoed.legal_hold;
    const Retention* asked = options.lock.retention ? &*options.lock.retention : nullptr;
    const bool lock_stated = (!asked || holds(out.retention, *asked)) && (!options.lock.legal_hold || out.legal_hold);
    if ((asked || options.lock.legal_hold) && (!lock_stated || out.version_id.empty())) {
        // Not stated, or ignored (Ceph RGW 16 applies no lock header on a copy and names no
        // version): read the new version, and set what it lacks, as for a multipart upload.
        const ObjectHead head = head_object({.bucket = options.bucket, .key = options.key,
                                             .version_id = out.version_id.empty() ? std::nullopt : std::optional(out.version_id)});
        if (out.version_id.empty()) out.version_id = head.version_id;
        if (out.etag.empty()) out.etag = head.etag;
        if (out.checksum_sha256_hex.empty())
            out.checksum_sha256_hex = detail::checksum_base64_to_hex(
                head.checksum_sha256.empty() ? std::nullopt : std::optional(head.checksum_sha256));
        const std::optional<std::string> version = out.version_id.empty() ? std::nullopt : std::optional(out.version_id);
        out.retention = head.retention;
        out.legal_hold = head.legal_hold;
        if (asked && !holds(head.retention, *asked)) {
            // put_object_retention reads a far date back itself (check_lock_stored).
            put_object_retention({.bucket = options.bucket, .key = options.key, .version_id = version,
                                  .retention = *asked, .bypass_governance = false});
            out.retention = *asked;
            out.lock_set_after_copy = true;
        } else if (asked) {
            check_lock_stored({.bucket = options.bucket, .key = options.key, .version_id = version}, *asked);
        }
        if (options.lock.legal_hold && !head.legal_hold) {
            put_object_legal_hold({.bucket = options.bucket, .key = options.key, .version_id = version, .on = true});
            out.legal_hold = true;
            out.lock_set_after_copy = true;
        }
    } else if (asked) {
        check_lock_stored({.bucket = options.bucket, .key = options.key, .version_id = out.version_id.empty() ? std::nullopt : std::optional(out.version_id)}, *asked);
    }
    return out;
}

}  // namespace worm::s3
