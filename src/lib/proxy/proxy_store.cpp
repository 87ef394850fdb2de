// ProxyStore: the agent side of the worm-proxy HTTP API (docs/proxy-api.md).
#include "../util/text.hpp"
#include "../util/env.hpp"
#include "../util/url.hpp"
#include "worm/proxy/store.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <random>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/proxy/protocol.hpp"
#include "worm/storage/keys.hpp"
#include "worm/time.hpp"

namespace worm {

namespace fs = std::filesystem;
using proxy::percent_encode;

namespace {

using worm::detail::to_lower;

// Plain assignments: GCC 12 warns about members left out of designated initializers.
HttpRequest make_request(std::string method, std::string url, std::string body = {}) {
    HttpRequest request;
    request.method = std::move(method);
    request.url = std::move(url);
    request.body = std::move(body);
    return request;
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

std::string range_header(const GetOptions& options) {
    const auto& [first, last] = *options.range;  // checked by GetOptions::validate
    return "bytes=" + std::to_string(first) + "-" + (last ? std::to_string(*last) : std::string{});
}

// The whole-object SHA-256 the proxy announced, lower-case, or "" when it sent none.
std::string announced_sha256(const HttpResponse& response) {
    return to_lower(find_header(response.headers, proxy::header_sha256).value_or(""));
}

ObjectInfo info_from_headers(const HttpResponse& response, const std::string& key) {
    if (auto json = find_header(response.headers, "x-worm-object-info")) return proxy::parse_object_info(*json);
    // A proxy that sends no description still names the hash and version.
    ObjectInfo info;
    info.key = key;
    info.sha256_hex = announced_sha256(response);
    info.version_id = find_header(response.headers, proxy::header_version_id).value_or("");
    info.content_type = find_header(response.headers, "content-type").value_or("");
    return info;
}

void check_download(const std::string& key, const std::string& expected, const std::string& actual) {
    if (!expected.empty() && expected != actual)
        throw Error(ErrorCode::integrity, "object " + quote_key(key) + " read through the proxy has SHA-256 " +
                                              actual + " but the proxy announced " + expected);
}

}  // namespace

std::string proxy_base_url(std::string_view text) { return detail::proxy_base_url(text); }

void ProxyConfig::validate() const {
    if (url.empty()) throw Error(ErrorCode::config, "proxy endpoint not configured (MCP_URL)");
    (void)proxy_base_url(url);
    if (api_key.empty()) throw Error(ErrorCode::config, "proxy API key not configured (MCP_API_KEY)");
    if (std::any_of(api_key.begin(), api_key.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x21 || c == 0x7f; }))
        throw Error(ErrorCode::config, "proxy API key (MCP_API_KEY) holds whitespace or control characters");
}

ProxyStore::ProxyStore(ProxyConfig config) : config_(std::move(config)) {
    config_.validate();
    base_url_ = proxy_base_url(config_.url);
    if (!config_.transport) config_.transport = make_curl_transport();
}

std::string ProxyStore::endpoint(std::string_view path, const std::string& key,
                                 const std::optional<std::string>& version_id) const {
    std::string url = base_url_ + std::string(path) + "?key=" + percent_encode(key);
    if (version_id) url += "&version_id=" + percent_encode(*version_id);
    return url;
}

HttpResponse ProxyStore::send(HttpRequest request, std::string_view what) {
    request.headers.emplace_back("Authorization", "Bearer " + config_.api_key);
    HttpResponse response = config_.transport->send(request);
    if (!is_2xx(response.status)) throw proxy::error_from_response(response.status, response.body, what);
    return response;
}

PutResult ProxyStore::do_put(const std::string& key, const PutBody& body, const PutOptions& options) {
    HttpRequest request = make_request("PUT", endpoint("/evidence/upload", key, std::nullopt));
    std::uint64_t size = 0;
    std::string sha = options.sha256_hex ? to_lower(*options.sha256_hex) : std::string{};
    if (const auto* path = std::get_if<fs::path>(&body.source)) {
        std::error_code ec;
        size = fs::file_size(*path, ec);
        if (ec) throw Error(ErrorCode::io, "cannot read upload file " + path->string() + ": " + ec.message());
        if (sha.empty()) sha = to_hex(sha256_file(*path));
        request.body_file = FileSlice{.path = *path, .offset = 0, .length = size};
    } else {
        request.body = std::get<std::string>(body.source);
        size = request.body.size();
        if (sha.empty()) sha = sha256_hex(request.body);
    }
    auto& h = request.headers;
    h.emplace_back(proxy::header_sha256, sha);
    h.emplace_back("Content-Type", options.content_type);
    if (const auto& r = options.lock.retention) {
        h.emplace_back(proxy::header_lock_mode, to_string(r->mode));
        h.emplace_back(proxy::header_retain_until, format_rfc3339_millis(r->retain_until));
    }
    if (options.lock.legal_hold) h.emplace_back(proxy::header_legal_hold, "ON");
    for (const auto& [name, value] : options.metadata)
        h.emplace_back(std::string(proxy::header_meta_prefix) + name, value);
    if (options.encryption.kind != ServerSideEncryption::Kind::none) {
        h.emplace_back(proxy::header_sse,
                       options.encryption.kind == ServerSideEncryption::Kind::aes256 ? "AES256" : "aws:kms");
        if (!options.encryption.kms_key_id.empty()) h.emplace_back(proxy::header_sse_kms_key, options.encryption.kms_key_id);
    }
    if (options.if_none_match) h.emplace_back("If-None-Match", "*");
    if (size >= config_.expect_continue_bytes) h.emplace_back("Expect", "100-continue");

    const HttpResponse response = send(std::move(request), "upload of " + quote_key(key));
    ObjectLock applied;
    PutResult result = proxy::parse_put_result(response.body, applied);
    // The proxy must have stored these bytes under this key with at least the lock we asked for.
    if (result.key != key)
        throw Error(ErrorCode::integrity, "proxy stored " + quote_key(result.key) + " instead of " + quote_key(key));
    if (to_lower(result.sha256_hex) != sha)
        throw Error(ErrorCode::integrity, "proxy recorded SHA-256 '" + result.sha256_hex + "' for " + quote_key(key) +
                                              " but " + sha + " was sent");
    if (const auto& asked = options.lock.retention) {
        const auto& got = applied.retention;
        if (!got || (asked->mode == LockMode::compliance && got->mode != LockMode::compliance) ||
            got->retain_until < asked->retain_until)
            throw Error(ErrorCode::integrity, "proxy applied a weaker retention to " + quote_key(key) +
                                                  " than the " + std::string(to_string(asked->mode)) + " until " +
                                                  format_rfc3339(asked->retain_until) + " that was asked for");
    }
    if (options.lock.legal_hold && !applied.legal_hold)
        throw Error(ErrorCode::integrity, "proxy did not apply the legal hold asked for on " + quote_key(key));
    return result;
}

std::string ProxyStore::do_get(const std::string& key, const GetOptions& options) {
    HttpRequest request = make_request("GET", endpoint("/evidence/object", key, options.version_id));
    if (options.range) request.headers.emplace_back("Range", range_header(options));
    HttpResponse response = send(std::move(request), "read of " + quote_key(key));
    if (!options.range) check_download(key, announced_sha256(response), sha256_hex(response.body));
    return std::move(response.body);
}

ObjectInfo ProxyStore::do_get_to_file(const std::string& key, const fs::path& destination, const GetOptions& options) {
    // Download beside the destination, check the hash, then move it into place, so a
    // destination file is never a partial or unverified object.
    fs::path temp = destination;
    temp += ".proxy-" + std::to_string(std::random_device{}());
    HttpRequest request = make_request("GET", endpoint("/evidence/object", key, options.version_id));
    request.response_file = temp;
    if (options.range) request.headers.emplace_back("Range", range_header(options));
    try {
        const HttpResponse response = send(std::move(request), "read of " + quote_key(key));
        ObjectInfo info = info_from_headers(response, key);
        if (!options.range) check_download(key, announced_sha256(response), to_hex(sha256_file(temp)));
        std::error_code ec;
        fs::rename(temp, destination, ec);
        if (ec) throw Error(ErrorCode::io, "cannot move download into " + destination.string() + ": " + ec.message());
        fsync_directory(destination.parent_path().empty() ? fs::path(".") : destination.parent_path());
        return info;
    } catch (...) {
        std::error_code ec;
        fs::remove(temp, ec);
        throw;
    }
}

ObjectInfo ProxyStore::do_head(const std::string& key, const std::optional<std::string>& version_id) {
    const HttpResponse response =
        send(make_request("GET", endpoint("/evidence/head", key, version_id)), "head of " + quote_key(key));
    return proxy::parse_object_info(response.body);
}

ListPage ProxyStore::do_list(const ListOptions& options) {
    std::string url = base_url_ + "/evidence/list?prefix=" + percent_encode(options.prefix) +
                      "&max_keys=" + std::to_string(options.max_keys);
    if (!options.delimiter.empty()) url += "&delimiter=" + percent_encode(options.delimiter);
    if (!options.continuation_token.empty())
        url += "&continuation_token=" + percent_encode(options.continuation_token);
    const HttpResponse response =
        send(make_request("GET", url), "list of prefix " + quote_key(options.prefix));
    return proxy::parse_list_page(response.body);
}

void ProxyStore::do_remove(const std::string& key, const DeleteOptions& options) {
    HttpRequest request = make_request("DELETE", endpoint("/evidence/object", key, options.version_id));
    if (options.bypass_governance) request.headers.emplace_back(proxy::header_bypass_governance, "true");
    send(std::move(request), "delete of " + quote_key(key));
}

std::optional<Retention> ProxyStore::do_get_retention(const std::string& key, const std::optional<std::string>& version_id) {
    const HttpResponse response = send(make_request("GET", endpoint("/evidence/retention", key, version_id)),
                                       "retention read of " + quote_key(key));
    return proxy::parse_retention(response.body);
}

void ProxyStore::do_put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options) {
    HttpRequest request = make_request("PUT", endpoint("/evidence/retention", key, options.version_id),
                                       proxy::retention_request_json(retention, options.bypass_governance));
    request.headers.emplace_back("Content-Type", "application/json");
    send(std::move(request), "retention update of " + quote_key(key));
}

bool ProxyStore::do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) {
    const HttpResponse response = send(make_request("GET", endpoint("/evidence/legal-hold", key, version_id)),
                                       "legal hold read of " + quote_key(key));
    return proxy::parse_legal_hold(response.body);
}

void ProxyStore::do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) {
    HttpRequest request =
        make_request("PUT", endpoint("/evidence/legal-hold", key, version_id), proxy::legal_hold_json(on));
    request.headers.emplace_back("Content-Type", "application/json");
    send(std::move(request), "legal hold update of " + quote_key(key));
}

std::string ProxyStore::uri(const std::string& key) const {
    validate_object_key(key);
    return "mcp+" + base_url_ + "/evidence/object?key=" + percent_encode(key);
}

std::unique_ptr<ProxyStore> open_proxy_store(std::string_view url, std::string api_key) {
    ProxyConfig config;
    config.url = std::string(url);
    config.api_key = std::move(api_key);
    return std::make_unique<ProxyStore>(std::move(config));
}

std::unique_ptr<ProxyStore> open_proxy_store(std::string_view url) {
    const std::string key = detail::env_or_empty("MCP_API_KEY");
    if (key.empty()) throw Error(ErrorCode::config, "proxy API key not configured (MCP_API_KEY)");
    return open_proxy_store(url, key);
}

}  // namespace worm
