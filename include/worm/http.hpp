// http.hpp: the HttpTransport interface S3 and proxy clients send requests through.
//
// One virtual call, send(), like a spdlog sink. The libcurl implementation lives in
// src/lib/http/curl_transport.cpp; tests wrap a real transport in a recorder
// (tests/cpp/support/recording_transport.hpp) to see exactly what went on the wire. Transport failures (refused, reset, timeout, TLS)
// throw worm::Error with code network or timeout; any HTTP status is a normal return.
//
// Example:
//   std::shared_ptr<worm::HttpTransport> http = worm::make_curl_transport();
//   worm::HttpResponse response = http->send({.method = "GET", .url = "http://127.0.0.1:9000/"});
//   std::optional<std::string> type = worm::find_header(response.headers, "Content-Type");
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worm/export.hpp"

namespace worm {

// Header list in send order; names compare case-insensitively.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the first header named `name` (any case), or nullopt.
WORM_API std::optional<std::string> find_header(const HttpHeaders& headers, std::string_view name);

// A slice of a file sent as the request body (a multipart part, or a whole file).
struct FileSlice {
    std::filesystem::path path;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

// Sees a 2xx response body as it arrives, in the same pass that keeps it, so that a large
// body is hashed without being read a second time (or without being kept at all).
class WORM_API ResponseObserver {
public:
    virtual ~ResponseObserver() = default;
    // Before the body's first byte (also for an empty body), with the response's headers.
    virtual void begin(const HttpHeaders& headers) = 0;
    // The next piece of the body; an exception thrown here stops the transfer and is rethrown.
    virtual void piece(std::string_view bytes) = 0;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;  // absolute, already percent-encoded as it goes on the wire
    HttpHeaders headers;
    std::string body;                       // used when body_file is empty
    std::optional<FileSlice> body_file;     // streamed from disk when set
    std::optional<std::filesystem::path> response_file;  // 2xx bodies streamed here when set
    // Shown a 2xx body as it arrives (a transport that cannot never calls begin()).
    ResponseObserver* response_observer = nullptr;
    // false: a 2xx body is only shown to response_observer, neither kept in memory nor
    // written to response_file (reading to hash, with nothing to clean up).
    bool keep_response_body = true;
};

struct HttpResponse {
    int status = 0;
    HttpHeaders headers;  // names lower-cased
    std::string body;     // empty when streamed to response_file (errors are always in memory)
};

struct WORM_API HttpOptions {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds total_timeout{300'000};  // whole request, 0 = none
    // Abort when fewer than low_speed_bytes per second move for low_speed_time (stalls). A
    // server trickling a few bytes a second is stopped by total_timeout, or sooner with a
    // higher low_speed_bytes (WORM_HTTP_LOW_SPEED_BYTES). The default stays 1: S3 keeps a
    // long CompleteMultipartUpload alive with sparse whitespace.
    std::chrono::seconds low_speed_time{30};
    long low_speed_bytes = 1;
    // Bodies kept in memory are bounded, so a hostile or broken server cannot exhaust memory
    // with an endless or huge answer: error (non-2xx) bodies, which are S3 error documents of
    // a few hundred bytes, and 2xx bodies not streamed to a file (listings, small objects).
    // Beyond the limit the transfer stops with Error(storage) naming the host and the limit.
    std::uint64_t max_error_body = 1 << 20;
    std::uint64_t max_memory_body = 256ull << 20;
    bool verify_tls = true;
    std::string ca_bundle;  // empty: system default (AWS_CA_BUNDLE sets it in from_env)
    std::string user_agent = "libworm/0.1";

    // Reads AWS_CA_BUNDLE and the WORM_HTTP_* overrides (CONNECT_TIMEOUT_MS, TIMEOUT_MS,
    // LOW_SPEED_TIME_S, LOW_SPEED_BYTES); proxies come from libcurl's own
    // handling of http_proxy / https_proxy / no_proxy.
    static HttpOptions from_env();
};

class WORM_API HttpTransport {
public:
    virtual ~HttpTransport() = default;
    virtual HttpResponse send(const HttpRequest& request) = 0;
};

// libcurl transport: keeps connections alive across calls (one handle per thread).
WORM_API std::shared_ptr<HttpTransport> make_curl_transport(const HttpOptions& options = HttpOptions::from_env());

}  // namespace worm
