// S3Client behaviour that needs no S3 server: addressing, configuration, what goes on the
// wire, and retries / clock-skew correction / error mapping against the fault server
// (tests/python/fault_server.py), which answers like S3 when told to fail.
#include <doctest/doctest.h>

#include <cstdlib>

#include "support/fault_server.hpp"
#include "support/test_env.hpp"
#include "support/wire_log.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/store.hpp"

using namespace worm;
using namespace std::chrono_literals;
namespace t = worm::test;

namespace {

t::FaultServer& fault_server() {
    static t::TempDir log_dir("worm-s3-fault");
    static t::FaultServer server(log_dir.path());
    return server;
}

s3::ClientConfig base_config(const std::string& endpoint) {
    s3::ClientConfig c;
    c.endpoint = endpoint;
    c.credentials = std::make_shared<s3::StaticProvider>(
        s3::Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", std::nullopt});
    c.retry.base_delay = 1ms;
    c.retry.max_delay = 5ms;
    return c;
}

HttpResponse control(const std::string& path_and_query) {
    HttpRequest r;
    r.method = "POST";
    r.url = fault_server().url(path_and_query);
    return make_curl_transport()->send(r);
}

std::string server_log() {
    HttpRequest r;
    r.url = fault_server().url("/__log");
    return make_curl_transport()->send(r).body;
}

size_t count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

s3::PutObjectOptions small_put(const std::string& key, std::string body = "evidence") {
    s3::PutObjectOptions o;
    o.bucket = "bkt";
    o.key = key;
    o.body = s3::S3Body::bytes(std::move(body));
    return o;
}

}  // namespace

TEST_CASE("addressing: virtual-hosted by default, path-style where virtual cannot work") {
    auto url = [](const std::string& endpoint, const std::string& bucket, const std::string& key,
                  s3::AddressingStyle style = s3::AddressingStyle::automatic) {
        s3::ClientConfig c = base_config(endpoint);
        c.addressing = style;
        return s3::S3Client(c).object_url(bucket, key);
    };
    CHECK(url("https://s3.eu-west-1.amazonaws.com", "my-bucket", "a b/c+d=&~.json") ==
          "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd%3D%26~.json");
    CHECK(url("https://s3.eu-west-1.amazonaws.com", "my.dotted.bucket", "k") ==
          "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k");
    setenv("WORM_ALLOW_HTTP", "1", 1);  // plain http to a non-loopback host (see the next test case)
    CHECK(url("http://minio.internal:9000", "my.dotted.bucket", "k") == "http://my.dotted.bucket.minio.internal:9000/k");
    unsetenv("WORM_ALLOW_HTTP");
    CHECK(url("http://127.0.0.1:9000", "bucket", "k") == "http://127.0.0.1:9000/bucket/k");
    CHECK(url("http://localhost:9000", "bucket", "k") == "http://localhost:9000/bucket/k");
    CHECK(url("https://s3.amazonaws.com", "Upper_Case", "k") == "https://s3.amazonaws.com/Upper_Case/k");
    CHECK(url("https://s3.amazonaws.com", "bucket", "k", s3::AddressingStyle::path) == "https://s3.amazonaws.com/bucket/k");
    CHECK(url("https://s3.amazonaws.com:443", "bucket", "unicodé/日本", s3::AddressingStyle::virtual_hosted) ==
          "https://bucket.s3.amazonaws.com/unicod%C3%A9/%E6%97%A5%E6%9C%AC");
    // No endpoint: AWS for the region.
    s3::ClientConfig aws = base_config("");
    aws.region = "ap-southeast-2";
    CHECK(s3::S3Client(aws).object_url("b-1", "x") == "https://b-1.s3.ap-southeast-2.amazonaws.com/x");
}

TEST_CASE("configuration is validated and read from the environment") {
    CHECK_THROWS_AS(s3::S3Client(base_config("ftp://host")), Error);
    CHECK_THROWS_AS(s3::S3Client(base_config("http://host/path")), Error);
    s3::ClientConfig small_parts = base_config("http://127.0.0.1:1");
    small_parts.part_size = 1 << 20;
    CHECK_THROWS_AS(s3::S3Client{small_parts}, Error);
    s3::ClientConfig no_creds = base_config("http://127.0.0.1:1");
    no_creds.credentials.reset();
    CHECK_THROWS_AS(s3::S3Client{no_creds}, Error);

    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ENDPOINT_URL", "https://generic.example:1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "https://s3.example:2", 1);
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    setenv("AWS_REGION", "eu-central-1", 1);
    setenv("WORM_S3_ADDRESSING", "path", 1);
    s3::ClientConfig c = s3::ClientConfig::from_env();
    CHECK(c.endpoint == "https://s3.example:2");
    CHECK(c.region == "eu-central-1");
    CHECK(c.addressing == s3::AddressingStyle::path);
    CHECK(c.credentials->get().access_key_id == "AKIDENV");
    CHECK(s3::S3Client(c).object_url("bucket", "k") == "https://s3.example:2/bucket/k");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_REGION");
    setenv("WORM_S3_ADDRESSING", "sideways", 1);
    CHECK_THROWS_AS(s3::ClientConfig::from_env(), Error);
    unsetenv("WORM_S3_ADDRESSING");
    c = s3::ClientConfig::from_env();
    CHECK(c.endpoint == "https://generic.example:1");
    CHECK(c.region == "eu-west-1");
    CHECK(c.addressing == s3::AddressingStyle::automatic);
    for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                          "AWS_EC2_METADATA_DISABLED"})
        unsetenv(v);
}

TEST_CASE("plain http only to this machine unless WORM_ALLOW_HTTP=1") {
    unsetenv("WORM_ALLOW_HTTP");
    for (const char* loopback : {"http://127.0.0.1:9000", "http://127.8.9.10", "http://localhost:9000",
                                 "http://minio.localhost", "http://[::1]:9000", "http://LOCALHOST:1"})
        CHECK_NOTHROW(s3::S3Client(base_config(loopback)));
    for (const char* remote : {"http://minio.internal:9000", "http://10.0.0.5", "http://127.0.0.1.nip.io",
                               "http://127.example", "http://128.0.0.1", "http://[::2]", "http://localhost.example"}) {
        CAPTURE(remote);
        try {
            s3::S3Client client(base_config(remote));
            FAIL("plain http to a remote host was accepted");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::config);
            CHECK(std::string(e.what()).find(remote) != std::string::npos);
            CHECK(std::string(e.what()).find("WORM_ALLOW_HTTP") != std::string::npos);
        }
    }
    CHECK_NOTHROW(s3::S3Client(base_config("https://minio.internal:9000")));
    setenv("WORM_ALLOW_HTTP", "1", 1);
    CHECK_NOTHROW(s3::S3Client(base_config("http://minio.internal:9000")));
    setenv("WORM_ALLOW_HTTP", "yes", 1);  // only "1" opts in
    CHECK_THROWS_AS(s3::S3Client(base_config("http://minio.internal:9000")), Error);
    unsetenv("WORM_ALLOW_HTTP");
}

TEST_CASE("open_s3_store parses s3://bucket[/prefix]") {
    auto client = std::make_shared<s3::S3Client>(base_config("http://127.0.0.1:1"));
    auto store = s3::open_s3_store("s3://evidence/msp-a/", client);
    CHECK(store->uri("x.json") == "s3://evidence/msp-a/x.json");
    CHECK(s3::open_s3_store("s3://evidence", client)->uri("y") == "s3://evidence/y");
    CHECK_THROWS_AS(s3::open_s3_store("s4://evidence", client), Error);
    CHECK_THROWS_AS(s3::open_s3_store("s3:///prefix", client), Error);
}

TEST_CASE("what a locked PUT sends: lock headers, millisecond dates, Content-MD5 and SHA-256 checksums") {
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig c = base_config(fault_server().base_url());
    c.transport = recorder;
    s3::S3Client client(c);
    const TimePoint until = parse_rfc3339("2031-01-02T03:04:05Z");
    s3::PutObjectOptions o = small_put("dir/my key+=&~.json", "{\"a\":1}");
    o.content_type = "application/json";
    o.metadata = {{"bundle-id", "EB-20261122-0001"}};
    o.lock.retention = Retention{LockMode::compliance, until};
    o.lock.legal_hold = true;
    o.encryption.kind = ServerSideEncryption::Kind::aes256;
    client.put_object(o);

    const auto requests = recorder->requests();
    REQUIRE(requests.size() == 1);
    const HttpRequest& r = requests[0];
    CHECK(r.method == "PUT");
    CHECK(r.url == fault_server().url("/bkt/dir/my%20key%2B%3D%26~.json"));
    auto h = [&](const char* name) { return find_header(r.headers, name).value_or("<absent>"); };
    CHECK(h("x-amz-object-lock-mode") == "COMPLIANCE");
    CHECK(h("x-amz-object-lock-retain-until-date") == "2031-01-02T03:04:05.000Z");
    CHECK(h("x-amz-object-lock-legal-hold") == "ON");
    CHECK(h("content-md5") == base64_encode(md5("{\"a\":1}")));
    CHECK(h("x-amz-checksum-sha256") == base64_encode(sha256("{\"a\":1}")));
    CHECK(h("x-amz-content-sha256") == sha256_hex("{\"a\":1}"));
    CHECK(h("x-amz-meta-bundle-id") == "EB-20261122-0001");
    CHECK(h("x-amz-server-side-encryption") == "AES256");
    CHECK(h("content-type") == "application/json");
    CHECK(h("authorization").rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0) == 0);
    // And the server got the body and the signed headers as sent.
    const std::string log = server_log();
    CHECK(log.find("\"x-amz-object-lock-retain-until-date\": \"2031-01-02T03:04:05.000Z\"") != std::string::npos);
    CHECK(log.find(sha256_hex("{\"a\":1}")) != std::string::npos);
    CHECK(h("x-amz-sdk-checksum-algorithm") == "<absent>");

    // Without Content-MD5 (PutOptions::content_md5 = false: the audit-log sink) the PUT names
    // its checksum's algorithm, which S3 then requires of an Object Lock PUT.
    o.content_md5 = false;
    client.put_object(o);
    const auto again = recorder->requests();
    REQUIRE(again.size() == 2);
    CHECK_FALSE(find_header(again[1].headers, "content-md5"));
    CHECK(find_header(again[1].headers, "x-amz-sdk-checksum-algorithm").value_or("") == "SHA256");
    CHECK(find_header(again[1].headers, "x-amz-checksum-sha256").value_or("") == base64_encode(sha256("{\"a\":1}")));
}

TEST_CASE("invalid options are refused before anything is sent") {
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig c = base_config(fault_server().base_url());
    c.transport = recorder;
    s3::S3Client client(c);
    s3::PutObjectOptions past = small_put("k");
    past.lock.retention = Retention{LockMode::compliance, std::chrono::system_clock::now() - 1h};
    try {
        client.put_object(past);
        FAIL("a past retain-until date must be refused");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::invalid_argument);
        CHECK(std::string(e.what()).find("not in the future") != std::string::npos);
    }
    CHECK_THROWS_AS(client.put_object(small_put("")), Error);
    s3::PutObjectOptions bad_meta = small_put("k");
    bad_meta.metadata = {{"bad name", "v"}};
    CHECK_THROWS_AS(client.put_object(bad_meta), Error);
    CHECK_THROWS_AS(client.get_object({.bucket = "bkt", .key = "k", .version_id = std::string(), .range = std::nullopt,
                                       .to_file = std::nullopt}),
                    Error);
    CHECK(recorder->requests().empty());
}

TEST_CASE("retries: 503 twice then 200 succeeds; Retry-After is honoured") {
    s3::S3Client client(base_config(fault_server().base_url()));
    control("/__clear");
    control("/__fail?count=2&status=503&code=SlowDown&retry_after=1");
    const auto start = std::chrono::steady_clock::now();
    const s3::PutObjectResult r = client.put_object(small_put("retry-me", "payload"));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK_FALSE(r.etag.empty());
    const std::string log = server_log();
    CHECK(count(log, "\"method\": \"PUT\", \"path\": \"/bkt/retry-me\"") == 3);
    CHECK(count(log, sha256_hex("payload")) >= 3);  // every attempt carried the whole body
    // Two waits of at least Retry-After: 1 s each (a lower bound, never flaky).
    CHECK(elapsed >= 2s);
}

namespace {

// Answers from a script, one response per request, and counts what it was sent: the S3
// client's retries seen without a server or a clock.
class ScriptedTransport final : public HttpTransport {
public:
    explicit ScriptedTransport(std::vector<HttpResponse> script) : script_(std::move(script)) {}
    HttpResponse send(const HttpRequest& request) override {
        sent.push_back(request.method + " " + request.url);
        REQUIRE(next_ < script_.size());
        return script_[next_++];
    }
    std::vector<std::string> sent;

private:
    std::vector<HttpResponse> script_;
    std::size_t next_ = 0;
};

HttpResponse slow_down(HttpHeaders headers = {}) {
    headers.emplace_back("content-type", "application/xml");
    return {503, std::move(headers),
            "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            "<RequestId>scripted</RequestId></Error>"};
}

}  // namespace

TEST_CASE("retries wait through the injected sleeper: jitter from the injected draws, Retry-After as a floor") {
    FixedClock clock(parse_rfc3339("2026-11-22T10:00:00Z"));
    std::vector<std::chrono::milliseconds> slept;
    std::vector<double> draws;
    s3::ClientConfig c = base_config("http://127.0.0.1:9");
    c.clock = &clock;
    c.retry.max_attempts = 4;
    c.retry.base_delay = 100ms;
    c.retry.max_delay = 1000ms;
    c.retry.max_retry_after = 3000ms;
    c.sleep = [&](std::chrono::milliseconds d) { slept.push_back(d); };
    c.random = [&] {
        draws.push_back(0.5);
        return 0.5;
    };
    SUBCASE("503 with Retry-After in seconds, then as an HTTP date, then none, then 200") {
        auto transport = std::make_shared<ScriptedTransport>(std::vector<HttpResponse>{
            slow_down({{"retry-after", "2"}}),
            slow_down({{"retry-after", format_http_date(clock.now() + 10s)}}),  // above max_retry_after
            slow_down(),
            {200, {}, ""}});
        c.transport = transport;
        s3::S3Client client(c);
        client.head_bucket("bkt");
        CHECK(transport->sent.size() == 4);
        // Attempt 1: the draw is 50 ms, the server asked 2 s. Attempt 2: 100 ms drawn, the
        // server's 10 s capped at 3 s. Attempt 3: half of the 400 ms ceiling.
        CHECK(slept == std::vector<std::chrono::milliseconds>{2000ms, 3000ms, 200ms});
        CHECK(draws.size() == 3);  // one draw per wait
    }
    SUBCASE("503 on every attempt: max_attempts requests, a wait between each, then the server's error") {
        auto transport = std::make_shared<ScriptedTransport>(
            std::vector<HttpResponse>{slow_down(), slow_down(), slow_down(), slow_down()});
        c.transport = transport;
        s3::S3Client client(c);
        try {
            client.head_bucket("bkt");
            FAIL("expected an S3Error");
        } catch (const S3Error& e) {
            CHECK(e.http_status() == 503);
        }
        CHECK(transport->sent.size() == 4);
        CHECK(slept == std::vector<std::chrono::milliseconds>{50ms, 100ms, 200ms});
    }
}

TEST_CASE("retries stop after max_attempts; the error keeps what the server said") {
    s3::S3Client client(base_config(fault_server().base_url()));
    control("/__clear");
    control("/__fail?count=10&status=503&code=SlowDown&retry_after=0");
    try {
        client.put_object(small_put("always-503"));
        FAIL("expected an S3Error");
    } catch (const S3Error& e) {
        CHECK(e.http_status() == 503);
        CHECK(e.s3_code() == "SlowDown");
        CHECK(e.request_id() == "fault-503");
        CHECK(e.resource() == "bkt/always-503");
        CHECK(e.retryable());
        CHECK(std::string(e.what()).find("S3 PUT bkt/always-503 failed: HTTP 503 SlowDown") != std::string::npos);
    }
    CHECK(count(server_log(), "\"path\": \"/bkt/always-503\"") == 4);
    control("/__fail?count=0");
}

TEST_CASE("client errors are not retried; HEAD errors get a code from the status") {
    s3::S3Client client(base_config(fault_server().base_url()));
    control("/__clear");
    control("/__fail?count=1&status=400&code=InvalidArgument");
    try {
        client.put_object(small_put("bad-request"));
        FAIL("expected an S3Error");
    } catch (const S3Error& e) {
        CHECK(e.code() == ErrorCode::s3);
        CHECK(e.s3_code() == "InvalidArgument");
    }
    CHECK(count(server_log(), "\"path\": \"/bkt/bad-request\"") == 1);

    control("/__fail?count=1&status=404&code=NoSuchKey");
    try {
        client.head_object({.bucket = "bkt", .key = "missing", .version_id = std::nullopt});
        FAIL("expected an S3Error");
    } catch (const S3Error& e) {
        CHECK(e.code() == ErrorCode::not_found);
        CHECK(e.http_status() == 404);
        CHECK(e.s3_code() == "NotFound");  // HEAD answers carry no body
    }
    control("/__fail?count=1&status=400&code=BadDigest");
    try {
        client.put_object(small_put("corrupted"));
        FAIL("expected an S3Error");
    } catch (const S3Error& e) {
        CHECK(e.code() == ErrorCode::integrity);
    }
}

TEST_CASE("RequestTimeTooSkewed: re-signed once with the server's clock") {
    const TimePoint real_now = std::chrono::system_clock::now();
    FixedClock clock(real_now - 2h);
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig c = base_config(fault_server().base_url());
    c.clock = &clock;
    c.transport = recorder;
    s3::S3Client client(c);
    control("/__fail?count=1&status=403&code=RequestTimeTooSkewed");
    client.put_object(small_put("skewed"));
    const auto requests = recorder->requests();
    REQUIRE(requests.size() == 2);
    CHECK(find_header(requests[0].headers, "x-amz-date") == format_amz_date(real_now - 2h));
    // The second attempt is dated by the server's Date header: within a minute of real time.
    const std::string second = *find_header(requests[1].headers, "x-amz-date");
    CHECK(second.substr(0, 8) == format_amz_date(real_now).substr(0, 8));
    CHECK(std::chrono::abs(client.clock_offset() - std::chrono::duration_cast<std::chrono::milliseconds>(2h)) < 60s);

    // A server that keeps saying so is reported, not retried forever.
    control("/__fail?count=5&status=403&code=RequestTimeTooSkewed");
    s3::S3Client stubborn(c);
    CHECK_THROWS_AS(stubborn.put_object(small_put("skewed-again")), S3Error);
    control("/__fail?count=0");
}

TEST_CASE("connection refused is retried, then reported as a network error") {
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig c = base_config("http://127.0.0.1:" + std::to_string(t::free_port()));
    c.transport = recorder;
    s3::S3Client client(c);
    try {
        client.put_object(small_put("nowhere"));
        FAIL("expected a network error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::network);
    }
    CHECK(recorder->requests().size() == 4);
}

TEST_CASE("a create-only PUT (If-None-Match) is not re-sent after a failure it may have survived") {
    // Not every server honours If-None-Match (Ceph RGW 16 ignores it), so re-sending a PUT
    // whose response was lost could add a second, permanently locked version. The error goes
    // to the caller (the uploader HEADs the key before trying again); answers that say the
    // request was not applied are still retried.
    auto recorder = std::make_shared<t::WireLog>(make_curl_transport());
    s3::ClientConfig c = base_config(fault_server().base_url());
    c.transport = recorder;
    s3::S3Client client(c);
    s3::PutObjectOptions once = small_put("create-only");
    once.if_none_match = true;

    control("/__clear");
    control("/__fail?count=1&status=500&code=InternalError");
    try {
        client.put_object(once);
        FAIL("expected the 500");
    } catch (const S3Error& e) {
        CHECK(e.http_status() == 500);
        CHECK(e.retryable());  // the caller may retry, after checking
    }
    CHECK(count(server_log(), "\"path\": \"/bkt/create-only\"") == 1);

    control("/__clear");
    control("/__fail?count=2&status=503&code=SlowDown&retry_after=0");
    client.put_object(once);
    CHECK(count(server_log(), "\"path\": \"/bkt/create-only\"") == 3);

    // A plain PUT is still retried after a 500.
    control("/__clear");
    control("/__fail?count=1&status=500&code=InternalError");
    client.put_object(small_put("plain"));
    CHECK(count(server_log(), "\"path\": \"/bkt/plain\"") == 2);

    // Transport errors: the transport cannot tell whether the request got there.
    s3::ClientConfig down = base_config("http://127.0.0.1:" + std::to_string(t::free_port()));
    auto down_recorder = std::make_shared<t::WireLog>(make_curl_transport());
    down.transport = down_recorder;
    try {
        s3::S3Client(down).put_object(once);
        FAIL("expected a network error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::network);
    }
    CHECK(down_recorder->requests().size() == 1);
}
