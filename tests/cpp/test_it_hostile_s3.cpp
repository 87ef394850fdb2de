// peers: moto
// A hostile S3 server (issue 15): tests/python/fault_server.py in upstream mode in front of the
// peer answers with a lying Content-Length, truncated and endless bodies, a 10 MB error
// document, a billion-laughs DTD, a redirect to another host, non-UTF-8 keys, a 200 carrying
// an error, a wrong checksum and a trickle. The S3 client must end each with a typed
// worm::Error within its configured timeouts and limits, write no file it did not finish,
// never send the signed request to the redirect's host, and the uploader must leave its
// registry saying what happened.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <chrono>

#include "support/fault_server.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"
#include "worm/bundle.hpp"
#include "worm/config.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/pipeline.hpp"
#include "worm/registry.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"
#include "worm/signer.hpp"
#include "worm/uploader.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

t::FaultServer& hostile() {
    static t::TempDir logs("worm-it-hostile");
    static t::FaultServer server(logs.path(), peer().endpoint());
    return server;
}

const std::string& bucket() {
    static const std::string b = peer().create_bucket("hostile", true);
    return b;
}

// Tight limits so each scenario ends in about a second: what is tested is that it ends, and how.
HttpOptions tight_http() {
    HttpOptions h;
    h.connect_timeout = 2s;
    h.total_timeout = 3s;
    h.low_speed_time = 1s;
    h.low_speed_bytes = 100;
    h.max_memory_body = 4 << 20;
    return h;
}

s3::S3Client client(HttpOptions http = tight_http()) {
    s3::ClientConfig c = peer().client_config(make_curl_transport(http));
    c.endpoint = hostile().base_url();
    c.retry.max_attempts = 2;
    c.retry.base_delay = 5ms;
    c.retry.max_delay = 20ms;
    return s3::S3Client(c);
}

// A stored object (through the server while it is honest) with a SHA-256 checksum.
std::string put_honest(const std::string& key, const std::string& body) {
    hostile().clear_rules();
    s3::PutObjectOptions put;
    put.bucket = bucket();
    put.key = key;
    put.body = s3::S3Body::bytes(body);
    client().put_object(put);
    return key;
}

s3::GetObjectOptions get(const std::string& key, std::optional<fs::path> to_file = std::nullopt) {
    s3::GetObjectOptions o;
    o.bucket = bucket();
    o.key = key;
    o.to_file = std::move(to_file);
    return o;
}

s3::ListObjectsOptions list(const std::string& prefix) {
    s3::ListObjectsOptions o;
    o.bucket = bucket();
    o.prefix = prefix;
    return o;
}

template <class F>
Error error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected a worm::Error");
    return Error(ErrorCode::internal, "unreachable");
}

// Nothing but `allowed` in dir: no half-written download, no leftover temp file.
void check_only(const fs::path& dir, std::size_t allowed) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
    CHECK(n == allowed);
}

struct Scenario {
    Scenario() { hostile().clear_rules(); }
    ~Scenario() { hostile().clear_rules(); }
};

}  // namespace

TEST_CASE("a Content-Length shorter than the body: the cut body is an integrity error, not the object") {
    Scenario s;
    const std::string key = put_honest("hostile/length/a.json", std::string(5000, 'a') + "END");
    hostile().rule("action=wrong-length&method=GET&count=-1&match=/hostile/length/");
    const Error e = error_of([&] { client().get_object(get(key)); });
    CHECK(e.code() == ErrorCode::integrity);
    CHECK(std::string(e.what()).find("but the body received has") != std::string::npos);
    // Into a file: the cut file does not stay behind.
    t::TempDir dir("worm-hostile-length");
    const Error f = error_of([&] { client().get_object(get(key, dir / "a.json")); });
    CHECK(f.code() == ErrorCode::integrity);
    check_only(dir.path(), 0);
}

TEST_CASE("a truncated body: a network error after the retries, no file left") {
    Scenario s;
    const std::string key = put_honest("hostile/truncate/a.bin", std::string(100'000, 'x'));
    hostile().rule("action=truncate&method=GET&count=-1&match=/hostile/truncate/");
    t::TempDir dir("worm-hostile-truncate");
    const Error e = error_of([&] { client().get_object(get(key, dir / "a.bin")); });
    CHECK(e.code() == ErrorCode::network);
    check_only(dir.path(), 0);
    CHECK(error_of([&] { client().get_object(get(key)); }).code() == ErrorCode::network);
}

TEST_CASE("an endless body: bounded in memory (storage error), ended by the timeout on disk") {
    Scenario s;
    hostile().rule("action=endless&method=GET&count=-1&match=/hostile/endless/");
    const Error e = error_of([&] { client().get_object(get("hostile/endless/x")); });
    CHECK(e.code() == ErrorCode::storage);
    CHECK(std::string(e.what()).find("exceeds 4194304 bytes") != std::string::npos);
    t::TempDir dir("worm-hostile-endless");
    const Error f = error_of([&] {
        client().get_object(get("hostile/endless/x", dir / "x"));
    });
    CHECK(f.code() == ErrorCode::timeout);
    check_only(dir.path(), 0);
}

TEST_CASE("a 10 MB error document: refused at 1 MiB as a storage error; the default limits are bounded") {
    Scenario s;
    hostile().rule("action=big-error&status=503&method=PUT&count=-1&match=/hostile/big/");
    s3::PutObjectOptions put;
    put.bucket = bucket();
    put.key = "hostile/big/a.json";
    put.body = s3::S3Body::bytes("{}");
    const Error e = error_of([&] { client().put_object(put); });
    CHECK(e.code() == ErrorCode::storage);
    CHECK(std::string(e.what()).find("error response body from 127.0.0.1") != std::string::npos);
    CHECK(std::string(e.what()).size() < 1000);
    CHECK(HttpOptions{}.max_error_body == 1u << 20);
    CHECK(HttpOptions{}.max_memory_body <= 256u << 20);
}

TEST_CASE("XML entity expansion (billion laughs): a DTD is refused, never expanded") {
    Scenario s;
    const std::string prefix = "hostile/laughs/";
    hostile().rule("action=laughs&status=200&method=GET&count=-1&match=/" + bucket());
    const Error listed = error_of([&] { client().list_objects_v2(list(prefix)); });
    CHECK(listed.code() == ErrorCode::parse);
    CHECK(std::string(listed.what()).find("<!DOCTYPE>") != std::string::npos);
    hostile().clear_rules();
    // As an error document: the error is the HTTP status's, the entities stay unread.
    hostile().rule("action=laughs&status=400&method=PUT&count=-1&match=/hostile/laughs/");
    s3::PutObjectOptions put;
    put.bucket = bucket();
    put.key = prefix + "a.json";
    put.body = s3::S3Body::bytes("{}");
    try {
        client().put_object(put);
        FAIL("the 400 was taken for success");
    } catch (const S3Error& e) {
        CHECK(e.http_status() == 400);
        CHECK(std::string(e.what()).find("lol") == std::string::npos);
    }
}

TEST_CASE("a redirect to another host is not followed: the signed request never reaches it") {
    Scenario s;
    t::TempDir logs("worm-hostile-redirect");
    t::FaultServer other(logs.path());  // plain mode: it logs whatever reaches it
    hostile().rule("action=redirect&method=PUT&count=-1&match=/hostile/redirect/&location=http://localhost:" +
                   std::to_string(other.port()));
    s3::PutObjectOptions put;
    put.bucket = bucket();
    put.key = "hostile/redirect/a.json";
    put.body = s3::S3Body::bytes("{\"secret\":\"evidence\"}");
    try {
        client().put_object(put);
        FAIL("a redirect was taken for success");
    } catch (const S3Error& e) {
        CHECK(e.http_status() == 307);
        CHECK(e.s3_code() == "TemporaryRedirect");
    }
    CHECK(other.log() == "[]");
    // GET too (libcurl never follows; the transport refuses every scheme but http and https).
    hostile().rule("action=redirect&method=GET&count=-1&match=/hostile/redirect/&location=http://localhost:" +
                   std::to_string(other.port()));
    CHECK(error_of([&] { client().get_object(get(put.key)); }).code() == ErrorCode::s3);
    CHECK(other.log() == "[]");
}

TEST_CASE("a listing with a key that is not UTF-8 is a parse error naming the byte") {
    Scenario s;
    put_honest("hostile-utf8-a.json", "{}");  // no "/" in the prefix: moto mis-verifies an encoded one
    hostile().rule("action=non-utf8&method=GET&count=-1&match=/" + bucket());
    const Error e = error_of([&] { client().list_objects_v2(list("hostile-utf8-")); });
    CHECK(e.code() == ErrorCode::parse);
    CHECK(std::string(e.what()).find("not valid UTF-8 at byte") != std::string::npos);
}

TEST_CASE("a 200 whose body is an S3 error: the PUT and the listing fail with that error") {
    Scenario s;
    hostile().rule("action=error-200&method=PUT&count=-1&match=/hostile/ok-error/");
    s3::PutObjectOptions put;
    put.bucket = bucket();
    put.key = "hostile/ok-error/a.json";
    put.body = s3::S3Body::bytes("{}");
    try {
        client().put_object(put);
        FAIL("a 200 carrying <Error> was taken for a stored object");
    } catch (const S3Error& e) {
        CHECK(e.s3_code() == "InternalError");
        CHECK(e.code() == ErrorCode::s3);
    }
    hostile().clear_rules();
    hostile().rule("action=error-200&method=GET&count=-1&match=/" + bucket());
    try {
        client().list_objects_v2(list("hostile/ok-error/"));
        FAIL("a 200 carrying <Error> was taken for a listing");
    } catch (const S3Error& e) {
        CHECK(e.s3_code() == "InternalError");
    }
}

TEST_CASE("a checksum that does not match the body read is an integrity error") {
    Scenario s;
    const std::string key = put_honest("hostile/checksum/a.json", "{\"a\":1}");
    hostile().rule("action=bad-checksum&method=GET&count=-1&match=/hostile/checksum/");
    const Error e = error_of([&] { client().get_object(get(key)); });
    CHECK(e.code() == ErrorCode::integrity);
}

TEST_CASE("a body read only to hash it (keep_body = false) is checked as it arrives, and nothing is kept") {
    Scenario s;
    const std::string body = std::string(50'000, 'k') + "END";
    const std::string key = put_honest("hostile/unkept/a.bin", body);
    s3::GetObjectOptions unkept = get(key);
    unkept.keep_body = false;
    const s3::GetObjectResult got = client().get_object(unkept);
    CHECK(got.body.empty());
    CHECK(got.body_sha256_hex == sha256_hex(body));
    CHECK(got.head.size == body.size());
    CHECK(client().get_object(get(key)).body_sha256_hex == got.body_sha256_hex);  // kept: the same figure
    // A cut body, then a wrong checksum: integrity, as for a body kept.
    hostile().rule("action=wrong-length&method=GET&count=-1&match=/hostile/unkept/");
    CHECK(error_of([&] { client().get_object(unkept); }).code() == ErrorCode::integrity);
    hostile().clear_rules();
    hostile().rule("action=bad-checksum&method=GET&count=-1&match=/hostile/unkept/");
    CHECK(error_of([&] { client().get_object(unkept); }).code() == ErrorCode::integrity);
    hostile().clear_rules();
    // Cut half way once, then whole: the retry's body is hashed from its first byte, not
    // after the first attempt's half.
    hostile().rule("action=truncate&method=GET&count=1&match=/hostile/unkept/");
    CHECK(client().get_object(unkept).body_sha256_hex == sha256_hex(body));
    // Nothing to keep it in: a range or a file with keep_body = false is refused before sending.
    s3::GetObjectOptions ranged = unkept;
    ranged.range = std::pair<std::uint64_t, std::optional<std::uint64_t>>{0, 9};
    CHECK(error_of([&] { client().get_object(ranged); }).code() == ErrorCode::invalid_argument);
    t::TempDir dir("worm-hostile-unkept");
    s3::GetObjectOptions to_file = get(key, dir / "a.bin");
    to_file.keep_body = false;
    CHECK(error_of([&] { client().get_object(to_file); }).code() == ErrorCode::invalid_argument);
    check_only(dir.path(), 0);
}

TEST_CASE("a trickling server is cut off by the low-speed limit") {
    Scenario s;
    const std::string key = put_honest("hostile/trickle/a.json", std::string(400, 't'));
    hostile().rule("action=trickle&method=GET&count=-1&match=/hostile/trickle/");
    HttpOptions http = tight_http();
    http.total_timeout = 60s;  // the low-speed limit, not the total timeout, ends it
    const auto started = std::chrono::steady_clock::now();
    const Error e = error_of([&] { client(http).get_object(get(key)); });
    CHECK(e.code() == ErrorCode::timeout);
    // Two attempts, each cut after low_speed_time; far from the 200 s the trickle would take.
    CHECK(std::chrono::steady_clock::now() - started < 30s);
}

TEST_CASE("the uploader under a hostile server: the registry records the failure, nothing is marked uploaded") {
    Scenario s;
    t::TempDir dir("worm-hostile-upload");
    const fs::path evidence = dir / "evidence";
    fs::create_directories(evidence);
    const KeyPaths keys = generate_key_files(dir / "keys");
    PipelineOptions po;
    po.client_id = "hostile-client";
    po.evidence_dir = evidence;
    po.private_key_path = keys.private_key;
    EvidencePipeline pipeline(po);
    const fs::path data = t::source_dir() / "examples" / "data" / "backup-success";
    const BundleResult b = pipeline.process_incident(load_incident_inputs({.incident = data / "incident.json",
                                                                           .runbook = data / "runbook.json",
                                                                           .execution = data / "execution.json",
                                                                           .actions = data / "actions.json",
                                                                           .artifacts = data / "artifacts.json"}));
    auto registry = std::make_shared<UploadRegistry>(evidence);
    WormConfig config;
    config.enabled = true;
    config.mode = WormMode::direct;
    config.s3_bucket = bucket();
    UploaderOptions options;
    options.backoff_base = 5ms;
    options.backoff_max = 20ms;
    s3::ClientConfig c = peer().client_config(make_curl_transport(tight_http()));
    c.endpoint = hostile().base_url();
    c.retry.max_attempts = 1;
    WormUploader uploader(config, std::make_shared<s3::S3Store>(std::make_shared<s3::S3Client>(c), bucket()), registry,
                          options);
    hostile().rule("action=error-200&method=PUT&count=-1&match=/evidence/hostile-client/");
    const Error e = error_of([&] { uploader.upload_bundle(b.bundle_path, b.sig_path, po.client_id); });
    CHECK(e.code() == ErrorCode::s3);
    const auto record = registry->get(b.bundle_id);
    REQUIRE(record);
    CHECK(record->status == UploadStatus::failed);
    CHECK(record->bundle_uri.empty());
    CHECK(record->last_error.find("InternalError") != std::string::npos);
    // The bundle on disk is untouched and still verifies; an honest server takes it later.
    CHECK(fs::exists(b.bundle_path));
    CHECK(fs::exists(b.sig_path));
    hostile().clear_rules();
    CHECK(uploader.sync().uploaded == 1);
    CHECK(registry->get(b.bundle_id)->status == UploadStatus::uploaded);
}
