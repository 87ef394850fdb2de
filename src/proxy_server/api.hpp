// api.hpp: the worm-proxy HTTP API, apart from the network code.
//
// A request is handled in two steps, so a refusal costs no body bytes:
//   prepare(): authenticate the bearer token, route, check the key lies under the
//              client's evidence/{client_id}/ prefix, check the size and the headers;
//   handle():  after the body was read (uploads into a spool file), call the backend
//              store and build the answer.
// Every error answer is JSON {"error": name, "message": text}; see docs/proxy-api.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "settings.hpp"
#include "worm/http.hpp"
#include "worm/metrics.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm::proxy_server {

struct ApiRequest {
    std::string method;  // "GET", "PUT", ...
    std::string target;  // "/evidence/head?key=..." as received
    HttpHeaders headers;
    std::optional<std::uint64_t> content_length;  // absent for chunked or no body
    bool chunked = false;
    std::string request_id;  // given to the client (X-Request-Id) and in the log line
};

struct ApiResponse {
    int status = 200;
    HttpHeaders headers;
    std::string body;                            // used when body_file is empty
    std::optional<std::filesystem::path> body_file;  // streamed, then removed
    std::string error_name;                      // for the log line
    std::string log_detail;                      // for the log line only: what the client is not told
};

enum class Endpoint { health, metrics, upload, object, head, list, retention, legal_hold };
enum class BodyKind { none, small, upload };  // small: JSON bodies up to small_body_limit

inline constexpr std::uint64_t small_body_limit = 64 * 1024;
// Uploads whose Content-Length is at most this are received in memory, not spooled.
inline constexpr std::uint64_t memory_upload_limit = 1024 * 1024;

struct Prepared {
    std::optional<ApiResponse> refusal;  // set: answer this without reading the body
    Endpoint endpoint = Endpoint::health;
    BodyKind body = BodyKind::none;
    std::string client_id;  // "" before authentication succeeded
    std::string key;        // the checked object key (not for list/health)
    std::map<std::string, std::string> query;
};

class Api {
public:
    Api(ObjectStore& store, std::vector<TokenEntry> tokens, Policy policy, std::filesystem::path spool_dir,
        const Clock& clock = system_clock());

    Prepared prepare(const ApiRequest& request) const;
    // small_body: the body of a BodyKind::small request, or of an upload received in memory
    // (then upload_file is null); upload_file: the spooled upload.
    ApiResponse handle(const Prepared& prepared, const ApiRequest& request, const std::string& small_body,
                       const std::filesystem::path* upload_file);

    // The client id of a bearer token; every entry is compared (constant time, no early exit).
    std::optional<std::string> authenticate(std::string_view token) const;

    const Policy& policy() const noexcept { return policy_; }
    // A fresh file name in the spool directory (not created).
    std::filesystem::path spool_path(std::string_view tag) const;

    // GET /metrics: Prometheus text, per tenant (client id): uploads ok/failed, backend
    // errors a client may retry (503, timeouts), uploads in flight, upload latency.
    std::string metrics_text() const;

private:
    struct TenantMetrics {
        std::uint64_t uploads_ok = 0;
        std::uint64_t uploads_failed = 0;
        std::uint64_t retryable_errors = 0;
        std::shared_ptr<LatencyHistogram> latency = std::make_shared<LatencyHistogram>();
    };
    void record_upload(const std::string& client_id, const ApiResponse& response, double seconds);

    // body: the spooled file or the bytes received in memory.
    ApiResponse upload(const Prepared& p, const ApiRequest& r, const PutBody& body);
    ApiResponse get_object(const Prepared& p, const ApiRequest& r);
    ApiResponse list(const Prepared& p);

    ObjectStore& store_;
    std::vector<TokenEntry> tokens_;
    Policy policy_;
    std::filesystem::path spool_dir_;
    const Clock* clock_;  // borrowed (see Clock in time.hpp)
    mutable std::mutex metrics_mutex_;
    std::map<std::string, TenantMetrics> tenants_;
    std::atomic<std::int64_t> uploads_in_flight_{0};
};

// The error answer for a name and message, with the given status.
ApiResponse error_response(int status, std::string_view name, std::string_view message);

}  // namespace worm::proxy_server
