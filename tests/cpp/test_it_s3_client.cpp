// peers: moto rgw
// S3Client and S3Store against a real S3 server (WORM_TEST_PEER=moto|rgw, see
// support/s3_peer.hpp), with boto3 as the reference client on the other side.
// moto verifies SigV4 here (INITIAL_NO_AUTH_ACTION_COUNT); its Object Lock leniencies are
// never asserted as expected behaviour: assertions that only a strict server satisfies are
// guarded by peer.strict().
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "support/wire_log.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

// Buckets created once per binary: one with Object Lock, one plain.
const std::string& lock_bucket() {
    static const std::string name = peer().create_bucket("lock", true);
    return name;
}

const std::string& plain_bucket() {
    static const std::string name = peer().create_bucket("plain", false);
    return name;
}

using worm::test::pattern_bytes;

s3::PutObjectOptions put_opts(const std::string& bucket, const std::string& key, s3::S3Body body) {
    s3::PutObjectOptions o;
    o.bucket = bucket;
    o.key = key;
    o.body = std::move(body);
    return o;
}

// Milliseconds since the epoch (S3 keeps lock dates to the millisecond).
long long epoch_ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
long long epoch_ms(RetentionDate t) { return t.millis().time_since_epoch().count(); }

}  // namespace

TEST_CASE("objects put by libworm read byte-identical by boto3, and the reverse") {
    t::TempDir dir("worm-it-s3");
    s3::S3Client client(peer().client_config());
    const std::string bucket = plain_bucket();

    // libworm -> boto3: from memory and streamed from a file.
    const std::string small = "{\"bundle_id\":\"EB-20261122-0001\"}";
    client.put_object(put_opts(bucket, "to-boto/small.json", s3::S3Body::bytes(small)));
    const std::string big = pattern_bytes(3 << 20, 1);
    t::write_file(dir / "big.bin", big);
    client.put_object(put_opts(bucket, "to-boto/big.bin", s3::S3Body::file(dir / "big.bin")));
    peer().boto({"get", bucket, "to-boto/small.json", (dir / "small.out").string()});
    peer().boto({"get", bucket, "to-boto/big.bin", (dir / "big.out").string()});
    CHECK(t::read_file(dir / "small.out") == small);
    CHECK(t::read_file(dir / "big.out") == big);

    // boto3 -> libworm: into memory, into a file, and a range.
    const std::string theirs = pattern_bytes(1 << 20, 2);
    t::write_file(dir / "theirs.bin", theirs);
    peer().boto({"put", bucket, "from-boto/theirs.bin", (dir / "theirs.bin").string()});
    s3::GetObjectOptions get{.bucket = bucket, .key = "from-boto/theirs.bin", .version_id = std::nullopt,
                             .range = std::nullopt, .to_file = std::nullopt};
    CHECK(client.get_object(get).body == theirs);
    get.to_file = dir / "theirs.out";
    const s3::GetObjectResult to_file = client.get_object(get);
    CHECK(to_file.body.empty());
    CHECK(to_file.head.size == theirs.size());
    CHECK(t::read_file(dir / "theirs.out") == theirs);
    get.to_file.reset();
    get.range = std::make_pair(std::uint64_t{1000}, std::optional<std::uint64_t>(1999));
    CHECK(client.get_object(get).body == theirs.substr(1000, 1000));

    // A missing key is not_found with the S3 code.
    get.key = "from-boto/missing";
    get.range.reset();
    try {
        client.get_object(get);
        FAIL("expected NoSuchKey");
    } catch (const S3Error& e) {
        CHECK(e.code() == ErrorCode::not_found);
        CHECK(e.s3_code() == "NoSuchKey");
    }
}

TEST_CASE("Object Lock: HeadObject shows the mode and retain-until asked for; a locked version cannot be deleted") {
    s3::S3Client client(peer().client_config());
    const std::string bucket = lock_bucket();
    CHECK(client.get_object_lock_configuration(bucket).enabled);
    CHECK(client.get_bucket_versioning(bucket) == s3::VersioningStatus::enabled);

    // A date with milliseconds that S3 must keep exactly.
    const TimePoint until = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 24h + 250ms;
    s3::PutObjectOptions o = put_opts(bucket, "evidence/clinic-001/2026/11/EB-1.json", s3::S3Body::bytes("{}"));
    o.content_type = "application/json";
    o.metadata = {{"bundle-id", "EB-1"}};
    o.lock.retention = Retention{LockMode::compliance, until};
    const s3::PutObjectResult put = client.put_object(o);
    REQUIRE_FALSE(put.version_id.empty());

    const s3::ObjectHead head = client.head_object({.bucket = bucket, .key = o.key, .version_id = put.version_id});
    REQUIRE(head.retention.has_value());
    CHECK(head.retention->mode == LockMode::compliance);
    CHECK(epoch_ms(head.retention->retain_until) == epoch_ms(until));
    CHECK(head.content_type == "application/json");
    CHECK(head.metadata.at("bundle-id") == "EB-1");
    CHECK(head.version_id == put.version_id);

    // boto3 reads the same lock.
    const std::string boto_head = peer().boto({"head", bucket, o.key});
    CHECK(boto_head.find("\"lock_mode\": \"COMPLIANCE\"") != std::string::npos);
    CHECK(boto_head.find("\"retain_until_epoch_ms\": " + std::to_string(epoch_ms(until))) != std::string::npos);

    // The store reports the retention (from GetObjectRetention, or HeadObject when the
    // server answers it with nothing).
    s3::S3Store store(std::make_shared<s3::S3Client>(peer().client_config()), bucket);
    const auto retention = store.get_retention(o.key, put.version_id);
    REQUIRE(retention.has_value());
    CHECK(retention->mode == LockMode::compliance);
    CHECK(epoch_ms(retention->retain_until) == epoch_ms(until));
    if (peer().strict()) {
        // A real GetObjectRetention document (RGW sends 9 fractional digits).
        const auto direct = client.get_object_retention({.bucket = bucket, .key = o.key, .version_id = put.version_id});
        REQUIRE(direct.has_value());
        CHECK(epoch_ms(direct->retain_until) == epoch_ms(until));
    }

    // Deleting the locked version is refused with AccessDenied, surfaced plainly.
    try {
        client.delete_object({.bucket = bucket, .key = o.key, .version_id = put.version_id, .bypass_governance = false});
        FAIL("deleting a COMPLIANCE-locked version must fail");
    } catch (const S3Error& e) {
        CHECK(e.http_status() == 403);
        CHECK(e.s3_code() == "AccessDenied");
        CHECK(std::string(e.what()).find("S3 DELETE " + bucket + "/" + o.key + " failed: HTTP 403 AccessDenied") !=
              std::string::npos);
    }
    try {
        store.remove(o.key, {.version_id = put.version_id, .bypass_governance = true});
        FAIL("deleting a COMPLIANCE-locked version must fail even with bypass");
    } catch (const S3Error& e) {
        CHECK(e.code() == ErrorCode::object_locked);
        CHECK(e.s3_code() == "AccessDenied");
    }
    // The version is still there, byte for byte.
    CHECK(store.get(o.key, {.version_id = put.version_id, .range = std::nullopt}) == "{}");

    // Legal hold round trip.
    s3::PutObjectOptions held = put_opts(bucket, "held.json", s3::S3Body::bytes("held"));
    held.lock.legal_hold = true;
    const s3::PutObjectResult hp = client.put_object(held);
    CHECK(client.get_object_legal_hold({.bucket = bucket, .key = "held.json", .version_id = hp.version_id}));
    CHECK(client.head_object({.bucket = bucket, .key = "held.json", .version_id = hp.version_id}).legal_hold);
    client.put_object_legal_hold({.bucket = bucket, .key = "held.json", .version_id = hp.version_id, .on = false});
    CHECK_FALSE(client.get_object_legal_hold({.bucket = bucket, .key = "held.json", .version_id = hp.version_id}));
    client.delete_object({.bucket = bucket, .key = "held.json", .version_id = hp.version_id, .bypass_governance = false});

    // Extending retention is allowed everywhere.
    const TimePoint later = until + 24h;
    client.put_object_retention({.bucket = bucket, .key = o.key, .version_id = put.version_id,
                                 .retention = Retention{LockMode::compliance, later}, .bypass_governance = false});
    CHECK(epoch_ms(client.head_object({.bucket = bucket, .key = o.key, .version_id = put.version_id})
                       .retention->retain_until) == epoch_ms(later));
    if (peer().strict()) {
        // Only a strict server refuses shortening COMPLIANCE retention (moto accepts it).
        try {
            store.put_retention(o.key, Retention{LockMode::compliance, until}, {.version_id = put.version_id,
                                                                                 .bypass_governance = false});
            FAIL("shortening COMPLIANCE retention must be refused");
        } catch (const S3Error& e) {
            CHECK(e.code() == ErrorCode::object_locked);
        }
    }
}

TEST_CASE("a wrong secret fails with SignatureDoesNotMatch, surfaced clearly and without the secret") {
    s3::ClientConfig c = peer().client_config();
    s3::Credentials wrong = peer().credentials();
    wrong.secret_access_key = "WRONGsecretWRONGsecretWRONGsecret0000000";
    c.credentials = std::make_shared<s3::StaticProvider>(wrong);
    s3::S3Client client(c);
    try {
        client.put_object(put_opts(plain_bucket(), "should-not-exist", s3::S3Body::bytes("x")));
        FAIL("expected SignatureDoesNotMatch");
    } catch (const S3Error& e) {
        CHECK(e.http_status() == 403);
        CHECK(e.s3_code() == "SignatureDoesNotMatch");
        CHECK_FALSE(e.retryable());
        const std::string msg = e.what();
        CHECK(msg.find("SignatureDoesNotMatch") != std::string::npos);
        CHECK(msg.find(wrong.secret_access_key) == std::string::npos);
        CHECK(msg.find(peer().credentials().secret_access_key) == std::string::npos);
    }
}

TEST_CASE("keys with spaces, unicode and +=&~ round-trip through put, list, get and boto3") {
    t::TempDir dir("worm-it-keys");
    t::S3Peer& p = t::S3Peer::for_encoded_names();  // see s3_peer.hpp for why moto needs its own
    s3::S3Client client(p.client_config());
    const std::string bucket = t::S3Peer::unique_bucket("keys");
    client.create_bucket({.bucket = bucket, .object_lock = false, .region = ""});
    const std::vector<std::string> keys = {
        "odd/with space.json",     "odd/unicodé/日本語/ファイル.txt", "odd/plus+equals=amp&tilde~.bin",
        "odd/percent%20not-space", "odd/star*(paren)!'quote",        "odd/a//double/./dot/../seg",
        "odd/semi;colon:at@comma,dollar$",
    };
    for (const std::string& key : keys) client.put_object(put_opts(bucket, key, s3::S3Body::bytes("body of " + key)));

    s3::ListObjectsOptions list{.bucket = bucket, .prefix = "odd/", .delimiter = "", .continuation_token = "",
                                .start_after = "", .max_keys = 1000};
    std::set<std::string> listed;
    for (const auto& o : client.list_all_objects(list)) listed.insert(o.key);
    CHECK(listed == std::set<std::string>(keys.begin(), keys.end()));

    std::vector<std::string> get_all{"get-all", bucket, dir.path().string()};
    get_all.insert(get_all.end(), keys.begin(), keys.end());
    p.boto(get_all);
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string& key = keys[i];
        CAPTURE(key);
        CHECK(client.get_object({.bucket = bucket, .key = key, .version_id = std::nullopt, .range = std::nullopt,
                                 .to_file = std::nullopt})
                  .body == "body of " + key);
        CHECK(t::read_file(dir / std::to_string(i)) == "body of " + key);
    }
    // And boto3 lists exactly the same keys.
    const std::string boto_keys = p.boto({"keys", bucket, "odd/"});
    CHECK(boto_keys.find("plus+equals=amp&tilde~.bin") != std::string::npos);

    // Delimiter listing gives the common prefix.
    list.prefix = "odd/u";
    list.delimiter = "/";
    const s3::ListObjectsPage page = client.list_objects_v2(list);
    CHECK(page.objects.empty());
    REQUIRE(page.common_prefixes.size() == 1);
    CHECK(page.common_prefixes[0] == "odd/unicodé/");
}

TEST_CASE("listing 2,500 keys returns all of them, over three pages") {
    const std::string bucket = plain_bucket();
    // A prefix without '/' keeps moto's signature check happy (see s3_peer.hpp).
    peer().boto({"put-many", bucket, "many-k", "2500"});
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::S3Client client(peer().client_config(recorder));
    const auto all = client.list_all_objects({.bucket = bucket, .prefix = "many-", .delimiter = "",
                                              .continuation_token = "", .start_after = "", .max_keys = 1000});
    REQUIRE(all.size() == 2500);
    for (size_t i = 0; i < all.size(); ++i) {
        char expected[32];
        std::snprintf(expected, sizeof expected, "many-k%05zu", i);
        if (all[i].key != expected) {
            FAIL("key " << i << " is " << all[i].key);
        }
    }
    CHECK(recorder->requests().size() == 3);
    // The store's list_all agrees.
    s3::S3Store store(std::make_shared<s3::S3Client>(peer().client_config()), bucket);
    CHECK(store.list_all("many-").size() == 2500);
}

TEST_CASE("a 60 MiB multipart upload with lock headers reads back identical") {
    t::TempDir dir("worm-it-mpu");
    // Not a whole number of MiB: the last part ends inside a hashing read.
    const std::string content = pattern_bytes((60 << 20) + 12345, 3);
    t::write_file(dir / "big.bin", content);
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig c = peer().client_config(recorder);
    c.part_size = 16 << 20;
    c.multipart_threshold = 32 << 20;
    c.parallel_parts = 3;
    s3::S3Client client(c);
    const std::string bucket = lock_bucket();
    const TimePoint until = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + 48h;
    s3::PutObjectOptions o = put_opts(bucket, "large/backup.tar", s3::S3Body::file(dir / "big.bin"));
    o.lock.retention = Retention{LockMode::compliance, until};
    const s3::PutObjectResult r = client.put_object(o);
    CHECK(r.multipart);
    CHECK(r.parts == 4);
    CHECK(r.etag.ends_with("-4"));

    // What went out: lock headers on CreateMultipartUpload, a SHA-256 checksum on every part
    // (the signed payload hash is the same digest, so the server checks each part twice) and
    // no Content-MD5 (the checksum is what a locked upload needs; the strict peer accepts it).
    int creates = 0, parts = 0, completes = 0;
    for (const HttpRequest& req : recorder->requests()) {
        if (req.method == "POST" && req.url.find("?uploads") != std::string::npos) {
            ++creates;
            CHECK(find_header(req.headers, "x-amz-object-lock-mode") == std::optional<std::string>("COMPLIANCE"));
            CHECK(find_header(req.headers, "x-amz-object-lock-retain-until-date") ==
                  std::optional<std::string>(format_rfc3339_millis(until)));
            CHECK(find_header(req.headers, "x-amz-checksum-algorithm") == std::optional<std::string>("SHA256"));
        } else if (req.method == "PUT" && req.url.find("partNumber=") != std::string::npos) {
            ++parts;
            REQUIRE(req.body_file.has_value());
            const std::string expected = base64_encode(
                sha256(std::string_view(content).substr(req.body_file->offset, req.body_file->length)));
            CHECK(find_header(req.headers, "x-amz-checksum-sha256") == std::optional<std::string>(expected));
            CHECK(find_header(req.headers, "x-amz-content-sha256") == std::optional<std::string>(to_hex(base64_decode(expected))));
            CHECK_FALSE(find_header(req.headers, "content-md5"));
        } else if (req.method == "POST" && req.url.find("uploadId=") != std::string::npos) {
            ++completes;
        }
    }
    CHECK(creates == 1);
    CHECK(parts == 4);
    CHECK(completes == 1);

    // moto 5.2.1 and Ceph RGW 16.2 both drop lock headers given to CreateMultipartUpload
    // (boto3's too); put_object then locks the version itself with PutObjectRetention, so
    // the object is locked either way, and the server's own GetObjectRetention says so.
    const s3::ObjectHead head = client.head_object({.bucket = bucket, .key = o.key, .version_id = r.version_id});
    CHECK(head.size == content.size());
    CHECK(head.etag == r.etag);  // RGW answers Complete with an empty <ETag>: taken from HEAD
    REQUIRE(head.retention.has_value());
    CHECK(head.retention->mode == LockMode::compliance);
    CHECK(epoch_ms(head.retention->retain_until) == epoch_ms(until));
    if (peer().strict()) {
        const auto direct = client.get_object_retention({.bucket = bucket, .key = o.key, .version_id = r.version_id});
        REQUIRE(direct.has_value());
        CHECK(epoch_ms(direct->retain_until) == epoch_ms(until));
        try {
            client.delete_object({.bucket = bucket, .key = o.key, .version_id = r.version_id, .bypass_governance = false});
            FAIL("the locked multipart version must not be deletable");
        } catch (const S3Error& e) {
            CHECK(e.s3_code() == "AccessDenied");
        }
    }
    client.get_object({.bucket = bucket, .key = o.key, .version_id = r.version_id, .range = std::nullopt,
                       .to_file = dir / "back.bin"});
    CHECK(sha256_file(dir / "back.bin") == sha256(content));
    peer().boto({"get", bucket, o.key, (dir / "boto.bin").string()});
    CHECK(sha256_file(dir / "boto.bin") == sha256(content));
}

namespace {

// Fault injection only: fails the second UploadPart with a network error, every time.
class FailSecondPart final : public HttpTransport {
public:
    explicit FailSecondPart(std::shared_ptr<HttpTransport> next) : next_(std::move(next)) {}
    HttpResponse send(const HttpRequest& r) override {
        if (r.method == "PUT" && r.url.find("partNumber=2&") != std::string::npos)
            throw Error(ErrorCode::network, "injected reset on part 2");
        if (r.method == "DELETE" && r.url.find("uploadId=") != std::string::npos) ++aborts;
        return next_->send(r);
    }
    std::atomic<int> aborts{0};

private:
    std::shared_ptr<HttpTransport> next_;
};

}  // namespace

TEST_CASE("a failing multipart upload is aborted and reports the part's error") {
    auto faulty = std::make_shared<FailSecondPart>(make_curl_transport());
    s3::ClientConfig c = peer().client_config(faulty);
    c.part_size = 5 << 20;
    c.multipart_threshold = 5 << 20;
    c.retry.max_attempts = 2;
    s3::S3Client client(c);
    try {
        client.put_object(put_opts(plain_bucket(), "aborted.bin", s3::S3Body::bytes(pattern_bytes(11 << 20, 4))));
        FAIL("expected the injected error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::network);
        CHECK(std::string(e.what()).find("part 2") != std::string::npos);
    }
    CHECK(faulty->aborts == 1);
    CHECK_FALSE(client.bucket_exists(plain_bucket() + "-nope"));
    try {
        client.head_object({.bucket = plain_bucket(), .key = "aborted.bin", .version_id = std::nullopt});
        FAIL("the aborted object must not exist");
    } catch (const S3Error& e) {
        CHECK(e.code() == ErrorCode::not_found);
    }
}

TEST_CASE("bucket configuration: versioning, encryption, public access block, lifecycle, policy") {
    s3::S3Client client(peer().client_config());
    const std::string bucket = t::S3Peer::unique_bucket("conf");
    client.create_bucket({.bucket = bucket, .object_lock = false, .region = ""});
    client.head_bucket(bucket);
    CHECK(client.bucket_exists(bucket));
    CHECK(client.get_bucket_versioning(bucket) == s3::VersioningStatus::unversioned);
    client.put_bucket_versioning(bucket, true);
    CHECK(client.get_bucket_versioning(bucket) == s3::VersioningStatus::enabled);
    CHECK_FALSE(client.get_object_lock_configuration(bucket).enabled);

    // Versions listing sees both versions of a key written twice (before the public access
    // block: Ceph RGW 16.2 then refuses every PutObject with AccessDenied, a known RGW bug).
    client.put_object(put_opts(bucket, "v.txt", s3::S3Body::bytes("one")));
    client.put_object(put_opts(bucket, "v.txt", s3::S3Body::bytes("two")));
    const auto versions = client.list_all_object_versions({.bucket = bucket, .prefix = "v.txt", .delimiter = "",
                                                           .key_marker = "", .version_id_marker = "", .max_keys = 1000});
    REQUIRE(versions.size() == 2);
    CHECK(versions[0].is_latest != versions[1].is_latest);

    const s3::BucketEncryption sse_s3{.sse = {.kind = ServerSideEncryption::Kind::aes256, .kms_key_id = ""},
                                     .bucket_key_enabled = false};
    if (peer().kind() == "rgw") {
        // Ceph RGW 16.2 without an SSE-S3 key backend refuses bucket encryption, and answers
        // GET ?encryption with a bucket listing: the client says so instead of "none".
        try {
            client.put_bucket_encryption(bucket, sse_s3);
            FAIL("RGW without an SSE-S3 backend accepted bucket encryption");
        } catch (const S3Error& e) {
            CHECK(e.http_status() == 400);
            CHECK(e.s3_code() == "InvalidArgument");
        }
        try {
            (void)client.get_bucket_encryption(bucket);
            FAIL("a bucket listing must not read as 'no encryption'");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::parse);
            CHECK(std::string(e.what()).find("bucket listing") != std::string::npos);
        }
    } else {
        client.put_bucket_encryption(bucket, sse_s3);
        const auto enc = client.get_bucket_encryption(bucket);
        REQUIRE(enc.has_value());
        CHECK(enc->sse.kind == ServerSideEncryption::Kind::aes256);
    }

    client.put_public_access_block(bucket, s3::PublicAccessBlock{});
    const auto pab = client.get_public_access_block(bucket);
    REQUIRE(pab.has_value());
    CHECK(pab->block_public_acls);
    CHECK(pab->restrict_public_buckets);

    client.put_bucket_lifecycle_configuration(
        bucket, {s3::LifecycleRule{.id = "abort-mpu", .prefix = "", .enabled = true, .expiration_days = std::nullopt,
                                   .noncurrent_version_expiration_days = std::nullopt,
                                   .abort_incomplete_multipart_days = 7}});

    // Default retention on a lock bucket.
    const std::string locked = t::S3Peer::unique_bucket("conflock");
    client.create_bucket({.bucket = locked, .object_lock = true, .region = ""});
    client.put_object_lock_configuration(
        locked, {.enabled = true,
                 .default_retention = s3::DefaultRetention{.mode = LockMode::governance, .days = 1, .years = std::nullopt}});
    const auto lock = client.get_object_lock_configuration(locked);
    CHECK(lock.enabled);
    REQUIRE(lock.default_retention.has_value());
    CHECK(lock.default_retention->mode == LockMode::governance);
    CHECK(lock.default_retention->days == std::optional<int>(1));

    // A policy (last: it denies plain-HTTP access to the bucket's objects, as evidence buckets should).
    client.put_bucket_policy(bucket, R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",)"
                                     R"("Action":"s3:*","Resource":"arn:aws:s3:::)" + bucket +
                                         R"(/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})");
}
