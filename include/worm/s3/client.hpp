// s3/client.hpp: a small S3 client with Object Lock, on SigV4 and an HttpTransport.
//
// Each operation takes a per-call option struct (bucket, key, what to send) with
// validate(), and returns a plain result struct. Every request is signed, sent, retried
// on throttling/5xx/network errors with full-jitter backoff (honouring Retry-After), and
// re-signed once with a corrected clock on RequestTimeTooSkewed. Server errors become
// worm::S3Error (http status, S3 code, message, request id, resource), classified:
// NoSuchKey/NoSuchBucket/404 -> not_found, BadDigest/XAmzContentSHA256Mismatch -> integrity,
// anything else -> s3.
//
// Example:
//   worm::s3::S3Client client(worm::s3::ClientConfig::from_env());
//   worm::s3::PutObjectOptions put;
//   put.bucket = "evidence";
//   put.key = "clinic-001/a.json";
//   put.body = worm::s3::S3Body::bytes("{}");
//   put.lock.retention = worm::Retention{worm::LockMode::compliance,
//                                        std::chrono::system_clock::now() + std::chrono::days(90)};
//   worm::s3::PutObjectResult result = client.put_object(put);
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "worm/error.hpp"
#include "worm/export.hpp"
#include "worm/http.hpp"
#include "worm/retry.hpp"
#include "worm/s3/credentials.hpp"
#include "worm/s3/sigv4.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm::s3 {

// ---- configuration -------------------------------------------------------------------

enum class AddressingStyle {
    automatic,        // virtual-hosted, except path-style for IP/localhost endpoints and dotted buckets over https
    virtual_hosted,   // https://bucket.endpoint/key
    path,             // https://endpoint/bucket/key
};

// The library's one retry policy (worm/retry.hpp); this name stays for existing code.
using RetryPolicy = worm::RetryPolicy;

struct WORM_API ClientConfig {
    // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000". Empty: AWS for `region`.
    std::string endpoint;
    std::string region = "us-east-1";
    AddressingStyle addressing = AddressingStyle::automatic;
    std::shared_ptr<CredentialsProvider> credentials;  // required
    std::shared_ptr<HttpTransport> transport;          // empty: make_curl_transport()
    RetryPolicy retry;
    std::uint64_t multipart_threshold = 64ull << 20;  // file bodies at least this big go multipart
    std::uint64_t part_size = 16ull << 20;            // 5 MiB .. 5 GiB
    int parallel_parts = 4;
    const Clock* clock = &system_clock();  // borrowed, never null (see Clock in time.hpp)
    // How retries wait and draw their jitter (worm/retry.hpp); empty: the system's. Tests
    // record the waits instead of sleeping.
    Sleeper sleep;
    RandomSource random;

    // The endpoint from s3_endpoint_from_env (WORM_S3_ENDPOINT, AWS_ENDPOINT_URL_S3,
    // AWS_ENDPOINT_URL: the one resolution every command uses), AWS_REGION / AWS_DEFAULT_REGION,
    // WORM_S3_ADDRESSING=path|virtual|auto, the default credentials chain, the curl transport
    // (HttpOptions::from_env). Throws Error(config) naming the variable that is wrong.
    static ClientConfig from_env();

    // Throws Error(config) naming the field (bad endpoint URL, part size out of range, ...).
    void validate() const;
};

// Throws Error(config) when endpoint is not an S3 endpoint the client can use
// ("scheme://host[:port]", http or https, no path, query or credentials). The check
// ClientConfig::validate() runs, also used by `worm config check`.
WORM_API void validate_endpoint(const std::string& endpoint);

// ---- request bodies ----------------------------------------------------------------

// What a PUT sends: bytes in memory or a slice of a file (streamed, never loaded).
struct WORM_API S3Body {
    std::variant<std::string, FileSlice> source;

    static S3Body bytes(std::string data) { return S3Body{std::move(data)}; }
    // The whole file; throws Error(not_found / io) when it cannot be stat'ed.
    static S3Body file(const std::filesystem::path& path);
    static S3Body slice(FileSlice slice) { return S3Body{std::move(slice)}; }
    std::uint64_t size() const;
};

// ---- bucket operations ---------------------------------------------------------------

struct WORM_API CreateBucketOptions {
    std::string bucket;
    bool object_lock = false;  // x-amz-bucket-object-lock-enabled (also turns versioning on)
    std::string region;        // LocationConstraint; empty: the client's region ("us-east-1" sends none)
    void validate() const;
};

// Default retention applied by the bucket to new versions without their own.
struct DefaultRetention {
    LockMode mode = LockMode::compliance;
    std::optional<int> days;
    std::optional<int> years;  // exactly one of days / years
};

struct WORM_API ObjectLockConfiguration {
    bool enabled = false;
    std::optional<DefaultRetention> default_retention;
    void validate() const;
};

enum class VersioningStatus { unversioned, enabled, suspended };

struct BucketEncryption {
    ServerSideEncryption sse;  // aes256 or aws_kms (+ key id)
    bool bucket_key_enabled = false;
};

struct PublicAccessBlock {
    bool block_public_acls = true;
    bool ignore_public_acls = true;
    bool block_public_policy = true;
    bool restrict_public_buckets = true;
};

// Current versions move to `storage_class` (STANDARD_IA, GLACIER, DEEP_ARCHIVE, ...) `days`
// after creation. A rule holds several, in day order (S3 writes one <Transition> each).
struct LifecycleTransition {
    int days = 0;
    std::string storage_class;
    bool operator==(const LifecycleTransition&) const = default;
};

struct LifecycleRule {
    std::string id;
    std::string prefix;  // "" applies to the whole bucket
    bool enabled = true;
    std::optional<int> expiration_days;
    std::optional<TimePoint> expiration_date;  // read only (a rule may expire on a date instead)
    std::optional<int> noncurrent_version_expiration_days;
    std::optional<int> abort_incomplete_multipart_days;
    std::vector<LifecycleTransition> transitions;
};

// One replication rule: where new versions under `prefix` are copied.
struct ReplicationRule {
    std::string id;
    std::string prefix;
    bool enabled = true;
    std::string destination_bucket_arn;  // "arn:aws:s3:::name"
    std::string destination_storage_class;
};

struct ReplicationConfiguration {
    std::string role;  // IAM role ARN S3 replicates as
    std::vector<ReplicationRule> rules;
};

// ---- object operations ---------------------------------------------------------------

struct WORM_API PutObjectOptions {
    std::string bucket;
    std::string key;
    S3Body body;
    std::string content_type = "application/octet-stream";
    std::map<std::string, std::string> metadata;  // sent as x-amz-meta-<name>
    ObjectLock lock;                              // mode + retain-until, legal hold
    ServerSideEncryption encryption;
    std::optional<std::string> sha256_hex;  // of the whole body, when already known
    // If-None-Match: * (refuse to add a version). Such a PUT is also never re-sent after a
    // failure it may have survived (lost response, timeout, 500): not every server honours
    // the header, so the error goes to the caller, who can HEAD the key before trying again.
    bool if_none_match = false;
    // Send Content-MD5 as well as x-amz-checksum-sha256 (costs one MD5 pass over the body).
    // Single PUTs only: multipart parts carry the SHA-256 checksum (also their signed payload
    // hash) and no MD5, which S3 accepts for locked uploads, as boto3 does.
    bool content_md5 = true;
    // Throws Error(invalid_argument): empty bucket/key, retain-until not in the future, bad metadata names.
    void validate(TimePoint now) const;
};

struct PutObjectResult {
    std::string etag;
    std::string version_id;
    std::string checksum_sha256_hex;  // what the server echoed; empty when it echoed none
    std::string sent_sha256_hex;      // what libworm computed and sent (whole body; single PUT or multipart)
    bool multipart = false;
    int parts = 0;
};

struct WORM_API GetObjectOptions {
    std::string bucket;
    std::string key;
    std::optional<std::string> version_id;
    // Inclusive byte range [first, last]; last absent: to the end.
    std::optional<std::pair<std::uint64_t, std::optional<std::uint64_t>>> range;
    // Stream the body into this file (temp file + rename) instead of memory.
    std::optional<std::filesystem::path> to_file;
    // false: the body is read, checked and hashed as it arrives, but not kept (no memory, no
    // file); GetObjectResult::body_sha256_hex says what it was. Whole objects only.
    bool keep_body = true;
    void validate() const;
};

// What HeadObject / GetObject say about a version.
struct ObjectHead {
    std::string key;
    std::uint64_t size = 0;  // Content-Length (of the range, for a ranged GET)
    std::string etag;
    std::string content_type;
    std::map<std::string, std::string> metadata;  // x-amz-meta-* without the prefix
    std::string version_id;
    TimePoint last_modified{};
    std::optional<Retention> retention;  // x-amz-object-lock-mode + retain-until-date
    bool legal_hold = false;
    std::string checksum_sha256;  // x-amz-checksum-sha256 as sent (base64; "...-N" for multipart), may be empty
    std::string server_side_encryption;
    bool delete_marker = false;
};

struct GetObjectResult {
    ObjectHead head;
    std::string body;  // empty when written to to_file or not kept
    // A whole object's SHA-256 (hex) as received, computed as it arrived; "" for a range.
    std::string body_sha256_hex;
};

struct WORM_API HeadObjectOptions {
    std::string bucket;
    std::string key;
    std::optional<std::string> version_id;
    void validate() const;
};

struct WORM_API DeleteObjectOptions {
    std::string bucket;
    std::string key;
    std::optional<std::string> version_id;
    bool bypass_governance = false;
    void validate() const;
};

struct DeleteObjectResult {
    std::string version_id;
    bool delete_marker = false;
};

struct WORM_API ListObjectsOptions {
    std::string bucket;
    std::string prefix;
    std::string delimiter;
    std::string continuation_token;
    std::string start_after;
    int max_keys = 1000;
    void validate() const;
};

struct ListedObject {
    std::string key;
    std::uint64_t size = 0;
    std::string etag;
    TimePoint last_modified{};
    std::string storage_class;
};

struct ListObjectsPage {
    std::vector<ListedObject> objects;
    std::vector<std::string> common_prefixes;
    bool is_truncated = false;
    std::string next_continuation_token;
};

struct WORM_API ListVersionsOptions {
    std::string bucket;
    std::string prefix;
    std::string delimiter;
    std::string key_marker;
    std::string version_id_marker;
    int max_keys = 1000;
    void validate() const;
};

struct ListedVersion {
    std::string key;
    std::string version_id;
    bool is_latest = false;
    bool delete_marker = false;
    std::uint64_t size = 0;
    std::string etag;
    TimePoint last_modified{};
};

struct ListVersionsPage {
    std::vector<ListedVersion> versions;  // versions and delete markers, in server order
    std::vector<std::string> common_prefixes;
    bool is_truncated = false;
    std::string next_key_marker;
    std::string next_version_id_marker;
};

struct WORM_API ObjectRef {
    std::string bucket;
    std::string key;
    std::optional<std::string> version_id;
    void validate() const;
};

struct WORM_API PutRetentionOptions {
    std::string bucket;
    std::string key;
    std::optional<std::string> version_id;
    Retention retention;
    bool bypass_governance = false;
    void validate(TimePoint now) const;  // retain-until must be in the future
};

struct WORM_API PutLegalHoldOptions {
    std::string bucket;
    std::string key;
    std::optional<std::string> version_id;
    bool on = true;
    void validate() const;
};

// ---- multipart pieces (put_object uses them above the threshold) -----------------------

struct CompletedPart {
    int number = 0;
    std::string etag;
    std::string checksum_sha256;  // base64, as sent with the part
};

// A multipart upload another run (or process) can continue: the caller keeps the upload id
// and the finished parts somewhere durable (the migration's state file) and passes them
// back, so only the parts that never finished are sent again.
struct MultipartCheckpoint {
    std::string upload_id;             // "": CreateMultipartUpload starts one
    std::uint64_t part_size = 0;       // 0: the client's; fixed once the upload exists
    std::vector<CompletedPart> parts;  // finished parts (any order)
    // Called once a new upload exists (upload_id and part_size set), and after each part
    // finishes (one call at a time), so the caller can record them before going on.
    std::function<void(const MultipartCheckpoint&)> on_created;
    std::function<void(const CompletedPart&)> on_part;
};

// ---- server-side copy ----------------------------------------------------------------

// CopyObject (or, above multipart_above, UploadPartCopy parts): the bytes stay on the server.
struct WORM_API CopyObjectOptions {
    std::string source_bucket;
    std::string source_key;  // raw: x-amz-copy-source is percent-encoded from it
    std::optional<std::string> source_version_id;
    // x-amz-copy-source-if-match: the copy happens only while the source still has this ETag
    // (so what the caller checked about it, its checksum, is what is copied). "": any.
    std::string source_if_match;
    std::uint64_t source_size = 0;  // needed to cut a multipart copy into ranges
    std::string bucket;
    std::string key;
    std::string content_type;
    // Replaces the source's metadata (x-amz-metadata-directive: REPLACE).
    std::map<std::string, std::string> metadata;
    ObjectLock lock;
    // x-amz-checksum-algorithm: SHA256, so a server that keeps checksums computes the copy's.
    bool checksum_sha256 = true;
    // A single CopyObject up to this many bytes (S3 refuses more than 5 GiB in one); above it,
    // a multipart upload of UploadPartCopy ranges of part_size (0: the client's).
    std::uint64_t multipart_above = 5ull << 30;
    std::uint64_t part_size = 0;
    // Throws Error(invalid_argument) naming the field.
    void validate(TimePoint now) const;
};

struct CopyObjectResult {
    std::string etag;
    std::string version_id;           // the new version ("" on an unversioned bucket)
    std::string source_version_id;    // x-amz-copy-source-version-id, "" when not said
    std::string checksum_sha256_hex;  // the full-object SHA-256 the server computed, "" when it gave none
    // The lock of the new version as the server stated it (echoed by the copy, else read back
    // by HeadObject), after any lock it ignored was applied (PutObjectRetention / LegalHold).
    std::optional<Retention> retention;
    bool legal_hold = false;
    // The server ignored a lock header on the copy, and the client set the lock after it
    // with a request of its own (Ceph RGW 16).
    bool lock_set_after_copy = false;
    bool multipart = false;
    std::vector<CompletedPart> parts;  // a multipart copy's parts (ETag: the MD5 of that range)
    std::uint64_t part_size = 0;
};

// ---- the raw escape hatch --------------------------------------------------------------

// One signed request as the client sends it (retries, skew correction and error mapping
// included). Operations are built on it; tests use it to send what no operation would.
struct S3Request {
    std::string method = "GET";
    std::string bucket;  // empty: service-level request
    std::string key;     // raw, not encoded
    std::vector<std::pair<std::string, std::string>> query;  // raw
    HttpHeaders headers;                                     // signed and sent
    S3Body body;
    std::optional<std::string> payload_sha256_hex;  // computed when absent
    std::optional<std::filesystem::path> response_file;
    ResponseObserver* response_observer = nullptr;  // see HttpRequest
    bool keep_response_body = true;
    // false: after a failure the server may have acted on (a transport error or timeout once
    // the request may have gone out, a 500/502/504), throw instead of sending it again; only
    // answers that say it was not applied (503, SlowDown, RequestTimeout, ...) are retried.
    // For writes whose repetition is not harmless (a create-only PUT into a locked bucket:
    // a second version could never be deleted), so the caller can check what is there first.
    bool resend_if_maybe_applied = true;
    // true: a 2xx whose body is an S3 <Error> document failed (CompleteMultipartUpload can
    // answer 200 and fail later); it is retried and reported like any other error answer.
    bool error_in_ok_body = false;
};

// ---- the client ------------------------------------------------------------------------

class WORM_API S3Client {
public:
    // Validates the config (Error(config)); fills in the transport when empty.
    explicit S3Client(ClientConfig config);

    const ClientConfig& config() const { return config_; }

    // Buckets.
    void create_bucket(const CreateBucketOptions& options);
    // Throws S3Error (not_found for a missing bucket, s3 for 403...).
    void head_bucket(const std::string& bucket);
    bool bucket_exists(const std::string& bucket);
    ObjectLockConfiguration get_object_lock_configuration(const std::string& bucket);
    void put_object_lock_configuration(const std::string& bucket, const ObjectLockConfiguration& config);
    VersioningStatus get_bucket_versioning(const std::string& bucket);
    void put_bucket_versioning(const std::string& bucket, bool enabled);
    // nullopt when the bucket has no encryption configuration.
    std::optional<BucketEncryption> get_bucket_encryption(const std::string& bucket);
    void put_bucket_encryption(const std::string& bucket, const BucketEncryption& encryption);
    std::optional<PublicAccessBlock> get_public_access_block(const std::string& bucket);
    void put_public_access_block(const std::string& bucket, const PublicAccessBlock& block);
    void put_bucket_policy(const std::string& bucket, const std::string& policy_json);
    void put_bucket_lifecycle_configuration(const std::string& bucket, const std::vector<LifecycleRule>& rules);
    // Replaces the bucket's replication configuration (rules in priority order; delete
    // markers are not replicated). The bucket must have versioning on.
    void put_bucket_replication(const std::string& bucket, const ReplicationConfiguration& configuration);
    // Bucket configuration reads (client_bucket_config.cpp). Each returns nullopt when the
    // bucket has none (the S3 "not found" code for that configuration), and throws Error(parse)
    // when the server answers with something else (it does not implement the read).
    std::optional<std::string> get_bucket_policy(const std::string& bucket);  // the policy JSON as stored
    std::optional<std::vector<LifecycleRule>> get_bucket_lifecycle_configuration(const std::string& bucket);
    std::optional<ReplicationConfiguration> get_bucket_replication(const std::string& bucket);

    // Objects. put_object goes multipart for bodies of at least multipart_threshold bytes;
    // a multipart object is then HEADed, and a lock the server did not apply from the
    // CreateMultipartUpload headers (Ceph RGW 16.2) is set with PutObjectRetention /
    // PutObjectLegalHold before put_object returns.
    PutObjectResult put_object(const PutObjectOptions& options);
    GetObjectResult get_object(const GetObjectOptions& options);
    ObjectHead head_object(const HeadObjectOptions& options);
    DeleteObjectResult delete_object(const DeleteObjectOptions& options);
    ListObjectsPage list_objects_v2(const ListObjectsOptions& options);
    // Follows continuation tokens to the end.
    std::vector<ListedObject> list_all_objects(ListObjectsOptions options);
    ListVersionsPage list_object_versions(const ListVersionsOptions& options);
    std::vector<ListedVersion> list_all_object_versions(ListVersionsOptions options);

    // Object Lock on a version. get_object_retention returns nullopt when the version has
    // none; a 200 without a <Retention> document (moto) is Error(parse): S3Store then reads
    // the lock from HeadObject.
    std::optional<Retention> get_object_retention(const ObjectRef& object);
    void put_object_retention(const PutRetentionOptions& options);
    // The one check every call that sets a lock goes through (put_object, multipart,
    // put_object_resumable, put_object_retention; a CopyObject with lock headers must too):
    // when `asked` is past 2106-02-07T06:28:15Z, the version's lock is read back (HeadObject)
    // and must be exactly the date asked, in the mode asked or COMPLIANCE. Ceph RGW 16 keeps
    // lock dates modulo 2^32 seconds and answers 200 all the same. Otherwise throws
    // Error(storage) naming both dates and the version (which exists, with the lock shown).
    void check_lock_stored(const ObjectRef& version, const Retention& asked);
    bool get_object_legal_hold(const ObjectRef& object);
    void put_object_legal_hold(const PutLegalHoldOptions& options);

    // Multipart steps. put_object drives them; public for callers with their own part logic.
    // upload_part hashes the part once (SHA-256: x-amz-checksum-sha256 and the payload hash).
    std::string create_multipart_upload(const PutObjectOptions& options);  // returns the upload id
    CompletedPart upload_part(const std::string& bucket, const std::string& key, const std::string& upload_id,
                              int part_number, const S3Body& body);
    // Safe to retry: when a retried complete finds the upload gone, the object's ETag is
    // checked against the one the parts give, so a complete that succeeded unseen is success.
    PutObjectResult complete_multipart_upload(const std::string& bucket, const std::string& key,
                                              const std::string& upload_id, const std::vector<CompletedPart>& parts,
                                              bool if_none_match = false);
    void abort_multipart_upload(const std::string& bucket, const std::string& key, const std::string& upload_id);
    // put_object for a file body, always multipart, continuing `checkpoint` when it names an
    // upload: its finished parts are not sent again. A failure leaves the upload in place
    // (not aborted) for the next try; an upload the server no longer knows (NoSuchUpload,
    // aborted or expired) is started again from part 1.
    PutObjectResult put_object_resumable(const PutObjectOptions& options, MultipartCheckpoint& checkpoint);

    // Server-side copy with the lock, metadata and checksum asked. Never re-sent after a
    // failure it may have survived (a second locked version could not be removed): the
    // caller HEADs the key. Ceph RGW 16 ignores lock headers on a copy and names no version:
    // the new version is then HEADed and the lock set on it, as for a multipart upload. A
    // far retain-until is read back (check_lock_stored).
    CopyObjectResult copy_object(const CopyObjectOptions& options);
    // One UploadPartCopy of source bytes [first, last] into an upload.
    CompletedPart upload_part_copy(const CopyObjectOptions& options, const std::string& upload_id, int part_number,
                                   std::uint64_t first, std::uint64_t last);

    // A signed request with retries and error mapping; returns any 2xx response.
    HttpResponse send(const S3Request& request);

    // The "https://host/bucket/key" URL a request goes to (addressing style applied).
    std::string object_url(const std::string& bucket, const std::string& key) const;
    // How far the server's clock is ahead of ours, as learnt from RequestTimeTooSkewed.
    std::chrono::milliseconds clock_offset() const { return std::chrono::milliseconds(clock_offset_ms_.load()); }

private:
    struct Target {
        std::string url;
        std::string host;
        std::string canonical_path;  // raw path signed
    };
    Target target(const std::string& bucket, const std::string& key,
                  const std::vector<std::pair<std::string, std::string>>& query) const;
    bool use_path_style(const std::string& bucket) const;
    HttpResponse send_once(const S3Request& request, const std::string& payload_hash);
    PutObjectResult put_single(const PutObjectOptions& options);
    PutObjectResult put_multipart(const PutObjectOptions& options);
    // The parts missing from checkpoint, then the complete; aborts on failure unless keep_on_failure.
    PutObjectResult run_multipart(const PutObjectOptions& options, MultipartCheckpoint& checkpoint, bool keep_on_failure);
    // After a multipart upload: fills an ETag the server left out, applies a lock it ignored.
    void ensure_multipart_result(const PutObjectOptions& options, PutObjectResult& out);
    TimePoint now() const;

    ClientConfig config_;
    Backoff backoff_;  // config_.retry with config_.sleep and config_.random
    std::string scheme_;
    std::string endpoint_host_;  // host[:port]
    std::atomic<long long> clock_offset_ms_{0};
};

// Whether a bucket name can be a DNS label (virtual-hosted addressing).
WORM_API bool is_dns_compatible_bucket(std::string_view bucket);

}  // namespace worm::s3
