// proxy/store.hpp: ProxyStore, the ObjectStore of proxy mode.
//
// In proxy mode an agent holds no cloud credentials: it sends evidence to a worm-proxy
// server (MCP_URL) with a per-client bearer token (MCP_API_KEY), and the proxy stores it
// under evidence/{client_id}/ with its own credentials and its own minimum object lock.
// ProxyStore speaks that HTTP API (docs/proxy-api.md) through an HttpTransport:
//   - put streams file bodies (never loaded) and sends X-Worm-Sha256, which the proxy
//     checks; it then checks that the proxy recorded that SHA-256 and applied at least
//     the lock that was asked for (Error(integrity) otherwise);
//   - full-object reads are hashed and compared with the proxy's X-Worm-Sha256;
//   - the proxy's errors come back as worm::Error with the matching code (not_found,
//     object_locked, already_exists, integrity, ...); a refused token or a key outside
//     the client's prefix is Error(config); the API key never appears in a message.
//
// Example:
//   std::unique_ptr<worm::ProxyStore> store = worm::open_proxy_store("mcp+https://proxy.example.net");
//   store->put("evidence/clinic-001/2026/11/EB-20261122-0001.json",  // API key from MCP_API_KEY
//              worm::PutBody::from_file("EB-20261122-0001.json"), {.content_type = "application/json"});
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "worm/export.hpp"
#include "worm/http.hpp"
#include "worm/storage.hpp"

namespace worm {

struct WORM_API ProxyConfig {
    // mcp+https://host[:port][/base], mcp+http://..., or plain https:// / http://.
    std::string url;
    std::string api_key;                       // the bearer token (MCP_API_KEY)
    std::shared_ptr<HttpTransport> transport;  // empty: make_curl_transport()
    // Bodies at least this big are sent with "Expect: 100-continue", so a proxy that
    // refuses them (token, prefix, size) answers before the body goes out.
    std::uint64_t expect_continue_bytes = 1u << 20;

    // Throws Error(config): empty or malformed URL, empty API key, a key with control characters.
    void validate() const;
};

// "mcp+https://h:1/x/" -> "https://h:1/x"; throws Error(config) naming the URL when it is
// not http(s) with a host, or has a query, fragment or user info.
WORM_API std::string proxy_base_url(std::string_view url);

class WORM_API ProxyStore final : public ObjectStore {
public:
    explicit ProxyStore(ProxyConfig config);

    // remove(): the proxy refuses deletes unless it was started with --allow-delete;
    // bypass_governance is always refused (a client cannot weaken a lock).

    // "{base}/evidence/object?key=<encoded key>" with the mcp+ scheme, e.g.
    // "mcp+https://proxy.example.net/evidence/object?key=evidence%2Fc1%2Fa.json".
    std::string uri(const std::string& key) const override;

    const std::string& base_url() const noexcept { return base_url_; }

private:
    PutResult do_put(const std::string& key, const PutBody& body, const PutOptions& options) override;
    std::string do_get(const std::string& key, const GetOptions& options) override;
    ObjectInfo do_get_to_file(const std::string& key, const std::filesystem::path& destination,
                              const GetOptions& options) override;
    ObjectInfo do_head(const std::string& key, const std::optional<std::string>& version_id) override;
    ListPage do_list(const ListOptions& options) override;
    void do_remove(const std::string& key, const DeleteOptions& options) override;
    std::optional<Retention> do_get_retention(const std::string& key,
                                              const std::optional<std::string>& version_id) override;
    void do_put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options) override;
    bool do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) override;
    void do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) override;

    HttpResponse send(HttpRequest request, std::string_view what);
    std::string endpoint(std::string_view path, const std::string& key,
                         const std::optional<std::string>& version_id) const;

    ProxyConfig config_;
    std::string base_url_;  // https://host[:port][/base], no trailing slash
};

// A ProxyStore for `url` with the API key from MCP_API_KEY (Error(config) when unset).
WORM_API std::unique_ptr<ProxyStore> open_proxy_store(std::string_view url);
WORM_API std::unique_ptr<ProxyStore> open_proxy_store(std::string_view url, std::string api_key);

}  // namespace worm
