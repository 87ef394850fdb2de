// The libcurl transport against a real local server (tests/python/fault_server.py):
// streaming bodies both ways, keep-alive, error bodies kept in memory, stalls, resets.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/fault_server.hpp"
#include "support/test_env.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/http.hpp"

using namespace worm;
namespace t = worm::test;

namespace {

// What fault_server.py's /blob sends: byte i is (i * 7) % 251.
std::string expected_blob(size_t size) {
    std::string out(size, '\0');
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7) % 251);
    return out;
}

// The value of "key": "value" or "key": number in the server's flat JSON answer.
std::string json_field(const std::string& json, const std::string& key) {
    const std::string needle = "\"" + key + "\": ";
    const size_t at = json.find(needle);
    REQUIRE_MESSAGE(at != std::string::npos, "no " << key << " in " << json);
    size_t start = at + needle.size();
    if (json[start] == '"') {
        const size_t end = json.find('"', start + 1);
        return json.substr(start + 1, end - start - 1);
    }
    const size_t end = json.find_first_of(",}", start);
    return json.substr(start, end - start);
}

HttpRequest request(std::string method, std::string url, std::string body = {}, HttpHeaders headers = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

// One server for the whole file (doctest re-enters a TEST_CASE per SUBCASE); stopped at exit.
t::FaultServer& shared_server() {
    static t::TempDir log_dir("worm-http-server");
    static t::FaultServer server(log_dir.path());
    return server;
}

HttpOptions quick_options() {
    HttpOptions o;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.total_timeout = std::chrono::milliseconds(30'000);
    o.low_speed_time = std::chrono::seconds(2);
    return o;
}

}  // namespace

TEST_CASE("curl transport against the fault server") {
    t::TempDir dir("worm-http");
    t::FaultServer& server = shared_server();
    auto http = make_curl_transport(quick_options());

    SUBCASE("GET: status, lower-cased response headers, find_header any case") {
        HttpResponse r = http->send(request("GET", server.url("/echo?a=1"), "", {{"X-Custom", "v 1"}}));
        CHECK(r.status == 200);
        CHECK(find_header(r.headers, "X-MIXED-CASE") == std::optional<std::string>("Value Kept"));
        for (const auto& [name, value] : r.headers)
            for (char c : name) CHECK_FALSE(std::isupper(static_cast<unsigned char>(c)));
        CHECK(json_field(r.body, "method") == "GET");
        CHECK(json_field(r.body, "query") == "a=1");
        CHECK(r.body.find("\"x-custom\": \"v 1\"") != std::string::npos);
        CHECK_FALSE(find_header(r.headers, "no-such-header"));
    }

    SUBCASE("PUT from memory: exact bytes, Content-Length, no Expect: 100-continue") {
        const std::string body(300'000, 'q');
        HttpResponse r = http->send(request("PUT", server.url("/echo/put"), body));
        CHECK(r.status == 200);
        CHECK(json_field(r.body, "body_length") == "300000");
        CHECK(json_field(r.body, "body_sha256") == sha256_hex(body));
        CHECK(r.body.find("\"expect\"") == std::string::npos);
        CHECK(r.body.find("\"transfer-encoding\"") == std::string::npos);
        // Bodies of 1 MiB and more go through libcurl's larger upload buffer.
        const std::string big = expected_blob((3 << 20) + 7);
        HttpResponse rb = http->send(request("PUT", server.url("/echo/put-big"), big));
        CHECK(json_field(rb.body, "body_length") == std::to_string(big.size()));
        CHECK(json_field(rb.body, "body_sha256") == sha256_hex(big));
    }

    SUBCASE("small bodies from memory (sent with the head): exact bytes, the method, no Content-Type added") {
        const std::string body = expected_blob(4096);  // binary: holds NUL bytes
        HttpResponse put = http->send(request("PUT", server.url("/echo/small"), body));
        CHECK(put.status == 200);
        CHECK(json_field(put.body, "method") == "PUT");
        CHECK(json_field(put.body, "body_length") == "4096");
        CHECK(json_field(put.body, "body_sha256") == sha256_hex(body));
        CHECK(put.body.find("\"content-length\": \"4096\"") != std::string::npos);
        CHECK(put.body.find("\"content-type\"") == std::string::npos);  // not libcurl's form type
        CHECK(put.body.find("\"expect\"") == std::string::npos);
        HttpResponse post = http->send(request("POST", server.url("/echo/small-post"), "<Delete/>",
                                               {{"Content-Type", "application/xml"}}));
        CHECK(json_field(post.body, "method") == "POST");
        CHECK(json_field(post.body, "body_sha256") == sha256_hex(std::string("<Delete/>")));
        CHECK(post.body.find("\"content-type\": \"application/xml\"") != std::string::npos);
        // The largest body sent with the head, and the first one sent after it.
        for (const std::size_t size : {std::size_t{64 * 1024}, std::size_t{64 * 1024 + 1}}) {
            const std::string edge = expected_blob(size);
            HttpResponse r = http->send(request("PUT", server.url("/echo/edge"), edge));
            CHECK(json_field(r.body, "body_length") == std::to_string(size));
            CHECK(json_field(r.body, "body_sha256") == sha256_hex(edge));
        }
    }

    SUBCASE("POST and DELETE with empty bodies send the method and Content-Length 0") {
        HttpResponse post = http->send(request("POST", server.url("/echo/p?uploads")));
        CHECK(json_field(post.body, "method") == "POST");
        CHECK(post.body.find("\"content-length\": \"0\"") != std::string::npos);
        HttpResponse del = http->send(request("DELETE", server.url("/echo/d")));
        CHECK(json_field(del.body, "method") == "DELETE");
    }

    SUBCASE("PUT streams a slice of a large file") {
        const std::string content = expected_blob(12 << 20);
        const auto path = dir / "big.bin";
        t::write_file(path, content);
        const std::uint64_t offset = 1 << 20, length = 9 << 20;
        HttpRequest req = request("PUT", server.url("/echo/file"));
        req.body_file = FileSlice{path, offset, length};
        HttpResponse r = http->send(req);
        CHECK(r.status == 200);
        CHECK(json_field(r.body, "body_length") == std::to_string(length));
        CHECK(json_field(r.body, "body_sha256") == sha256_hex(std::string_view(content).substr(offset, length)));
    }

    SUBCASE("a body file shorter than the slice is an io error, not a short upload") {
        const auto path = dir / "short.bin";
        t::write_file(path, "only a few bytes");
        HttpRequest req = request("PUT", server.url("/echo/short"));
        // Sends req and checks it fails with `code`, naming `file` when given.
        const auto expect_error = [&](ErrorCode code, const std::string& file) {
            try {
                http->send(req);
                FAIL("expected an error");
            } catch (const Error& e) {
                CHECK(e.code() == code);
                if (!file.empty()) CHECK(std::string(e.what()).find(file) != std::string::npos);
            }
        };
        req.body_file = FileSlice{path, 0, 1000};
        expect_error(ErrorCode::io, "short.bin");
        // The same with a slice big enough for the large upload buffer, cut short mid-buffer.
        const auto big_path = dir / "short-big.bin";
        t::write_file(big_path, expected_blob((1 << 20) + 300'000));
        req.body_file = FileSlice{big_path, 0, 2 << 20};
        expect_error(ErrorCode::io, "short-big.bin");
        req.body_file = FileSlice{dir / "missing.bin", 0, 1};
        expect_error(ErrorCode::not_found, "");
    }

    SUBCASE("2xx response body streams to a file, atomically") {
        const size_t size = 20 << 20;
        HttpRequest req = request("GET", server.url("/blob?size=" + std::to_string(size)));
        req.response_file = dir / "out" / "blob.bin";
        std::filesystem::create_directories(dir / "out");
        HttpResponse r = http->send(req);
        CHECK(r.status == 200);
        CHECK(r.body.empty());
        CHECK(t::read_file(*req.response_file) == expected_blob(size));
        // Only the destination remains: the temp file was renamed.
        int files = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir / "out")) ++files;
        CHECK(files == 1);

        // An empty 2xx body still produces the (empty) file.
        req.url = server.url("/blob?size=0");
        req.response_file = dir / "out" / "empty.bin";
        CHECK(http->send(req).status == 200);
        CHECK(std::filesystem::exists(dir / "out" / "empty.bin"));
        CHECK(std::filesystem::file_size(dir / "out" / "empty.bin") == 0);
    }

    SUBCASE("a response observer sees a 2xx body as it arrives; not kept, it is nowhere else") {
        struct Seen final : ResponseObserver {
            int begun = 0;
            std::string headers_length, bytes;
            std::size_t pieces = 0;
            void begin(const HttpHeaders& headers) override {
                ++begun;
                headers_length = find_header(headers, "content-length").value_or("");
                bytes.clear();
            }
            void piece(std::string_view b) override {
                ++pieces;
                bytes.append(b);
            }
        };
        const size_t size = (5 << 20) + 3;
        // Kept in a file and shown on the way: both are the body.
        Seen kept;
        HttpRequest req = request("GET", server.url("/blob?size=" + std::to_string(size)));
        req.response_file = dir / "seen.bin";
        req.response_observer = &kept;
        CHECK(http->send(req).status == 200);
        CHECK(kept.begun == 1);
        CHECK(kept.headers_length == std::to_string(size));
        CHECK(kept.pieces > 1);  // in pieces, not at the end
        CHECK(kept.bytes == expected_blob(size));
        CHECK(t::read_file(dir / "seen.bin") == kept.bytes);
        // Not kept: shown, with no body in memory and no file, not even a temporary one.
        Seen only;
        req.response_file = dir / "unkept" / "never.bin";
        std::filesystem::create_directories(dir / "unkept");
        req.response_observer = &only;
        req.keep_response_body = false;
        HttpResponse r = http->send(req);
        CHECK(r.status == 200);
        CHECK(r.body.empty());
        CHECK(only.bytes == expected_blob(size));
        CHECK(std::filesystem::is_empty(dir / "unkept"));
        // An empty body still begins; an error body is not shown, and stays in memory.
        Seen empty;
        HttpRequest none = request("GET", server.url("/blob?size=0"));
        none.response_observer = &empty;
        none.keep_response_body = false;
        CHECK(http->send(none).status == 200);
        CHECK(empty.begun == 1);
        CHECK(empty.bytes.empty());
        Seen error;
        HttpRequest failing = request("GET", server.url("/status/503"));
        failing.response_observer = &error;
        failing.keep_response_body = false;
        HttpResponse e = http->send(failing);
        CHECK(e.status == 503);
        CHECK(error.begun == 0);
        CHECK(e.body.find("<Code>SlowDown</Code>") != std::string::npos);
        // An observer that throws stops the transfer, and its error is the send's.
        struct Refuses final : ResponseObserver {
            void begin(const HttpHeaders&) override {}
            void piece(std::string_view) override { throw Error(ErrorCode::integrity, "observer refused"); }
        } refuses;
        HttpRequest stopped = request("GET", server.url("/blob?size=100000"));
        stopped.response_observer = &refuses;
        try {
            http->send(stopped);
            FAIL("the observer's error was lost");
        } catch (const Error& x) {
            CHECK(x.code() == ErrorCode::integrity);
        }
    }

    SUBCASE("error bodies stay in memory even with a response file; Retry-After visible") {
        HttpRequest req = request("GET", server.url("/status/503?retry_after=7"));
        req.response_file = dir / "never.bin";
        HttpResponse r = http->send(req);
        CHECK(r.status == 503);
        CHECK(r.body.find("<Code>SlowDown</Code>") != std::string::npos);
        CHECK(find_header(r.headers, "Retry-After") == std::optional<std::string>("7"));
        CHECK_FALSE(std::filesystem::exists(dir / "never.bin"));
        CHECK(http->send(request("GET", server.url("/status/500"))).status == 500);
    }

    SUBCASE("HEAD returns headers and no body") {
        HttpResponse r = http->send(request("HEAD", server.url("/blob?size=5000")));
        CHECK(r.status == 200);
        CHECK(r.body.empty());
        CHECK(find_header(r.headers, "content-length") == std::optional<std::string>("5000"));
    }

    SUBCASE("keep-alive: consecutive requests on one thread reuse the connection") {
        const std::string p1 = json_field(http->send(request("GET", server.url("/echo/1"))).body, "peer_port");
        const std::string p2 = json_field(http->send(request("GET", server.url("/echo/2"))).body, "peer_port");
        const std::string p3 = json_field(
            http->send(request("PUT", server.url("/echo/3"), "abc")).body, "peer_port");
        CHECK(p1 == p2);
        CHECK(p2 == p3);
        // Another thread has its own handle, so its own connection.
        std::string other;
        std::thread th([&] { other = json_field(http->send(request("GET", server.url("/echo/4"))).body, "peer_port"); });
        th.join();
        CHECK(other != p1);
    }

    SUBCASE("a stalled body is a timeout error naming the host, without header values") {
        HttpOptions o = quick_options();
        o.low_speed_time = std::chrono::seconds(1);
        o.low_speed_bytes = 1000;  // libcurl averages over a ~5 s window: the 10 bytes sent must not hide the stall
        auto stalling = make_curl_transport(o);
        HttpRequest req = request("GET", server.url("/stall"), "",
                                  {{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRETVALUE"}});
        req.response_file = dir / "stalled.bin";
        try {
            stalling->send(req);
            FAIL("expected a timeout");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::timeout);
            const std::string msg = e.what();
            CHECK(msg.find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
            CHECK(msg.find("AKIDSECRETVALUE") == std::string::npos);
        }
        CHECK_FALSE(std::filesystem::exists(dir / "stalled.bin"));
        for (const auto& e : std::filesystem::directory_iterator(dir.path()))
            CHECK(e.path().filename().string().find(".part-") == std::string::npos);
    }

    SUBCASE("a server that never answers hits the total timeout") {
        HttpOptions o = quick_options();
        o.total_timeout = std::chrono::milliseconds(1000);
        o.low_speed_time = std::chrono::seconds(30);
        try {
            make_curl_transport(o)->send(request("GET", server.url("/stall-headers")));
            FAIL("expected a timeout");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::timeout);
        }
    }

    SUBCASE("a connection reset mid-body is a network error and leaves no file") {
        HttpRequest req = request("GET", server.url("/reset"));
        req.response_file = dir / "reset.bin";
        try {
            http->send(req);
            FAIL("expected a network error");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::network);
            CHECK(std::string(e.what()).find("GET to 127.0.0.1:") != std::string::npos);
        }
        CHECK_FALSE(std::filesystem::exists(dir / "reset.bin"));
        // The transport recovers: the next request on this thread works.
        CHECK(http->send(request("GET", server.url("/echo/after-reset"))).status == 200);
    }
}

TEST_CASE("connection refused is a network error naming host and port") {
    const int port = t::free_port();  // nothing listens there
    try {
        make_curl_transport(quick_options())->send(request("GET", "http://127.0.0.1:" + std::to_string(port) + "/x?X-Amz-Security-Token=tok"));
        FAIL("expected a network error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::network);
        const std::string msg = e.what();
        CHECK(msg.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
        CHECK(msg.find("tok") == std::string::npos);
    }
}

TEST_CASE("HttpOptions::from_env reads AWS_CA_BUNDLE and WORM_HTTP_* overrides") {
    setenv("AWS_CA_BUNDLE", "/etc/ssl/custom.pem", 1);
    setenv("WORM_HTTP_CONNECT_TIMEOUT_MS", "1234", 1);
    setenv("WORM_HTTP_TIMEOUT_MS", "5678", 1);
    const HttpOptions o = HttpOptions::from_env();
    CHECK(o.ca_bundle == "/etc/ssl/custom.pem");
    CHECK(o.connect_timeout.count() == 1234);
    CHECK(o.total_timeout.count() == 5678);
    CHECK(o.verify_tls);
    setenv("WORM_HTTP_TIMEOUT_MS", "soon", 1);
    CHECK_THROWS_AS(HttpOptions::from_env(), Error);
    unsetenv("AWS_CA_BUNDLE");
    unsetenv("WORM_HTTP_CONNECT_TIMEOUT_MS");
    unsetenv("WORM_HTTP_TIMEOUT_MS");
}

TEST_CASE("TLS is verified by default; a CA bundle makes a self-signed server trusted") {
    t::TempDir dir("worm-tls");
    const auto cert = dir / "cert.pem", key = dir / "key.pem";
    const auto made = t::run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                      "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                                      "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                      key.string(), "-out", cert.string()});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    const int port = t::free_port();
    t::ServerProcess tls({t::python3(), (t::source_dir() / "tests" / "python" / "fault_server.py").string(),
                          std::to_string(port), cert.string(), key.string()},
                         {}, dir / "tls.log");
    tls.wait_for_port(port);
    const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/echo/tls";

    try {
        make_curl_transport(quick_options())->send(request("GET", url));
        FAIL("a self-signed certificate must not be accepted by default");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::network);
    }
    HttpOptions trusted = quick_options();
    trusted.ca_bundle = cert.string();
    CHECK(make_curl_transport(trusted)->send(request("GET", url)).status == 200);
}
