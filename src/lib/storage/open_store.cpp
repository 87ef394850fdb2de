// open_store: a store from a URL: file: URLs open a LocalWormStore, s3:// an S3Store,
// mcp+http(s):// the proxy store. It knows every kind of store, so it lives in worm::s3
// (the component that has them all); worm::core alone opens a LocalWormStore directly
// (file_store_path, storage/file_url.cpp).
#include <algorithm>
#include <cctype>

#include "../util/text.hpp"
#include "../util/url.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/proxy/store.hpp"
#include "worm/s3/client.hpp"
#include "worm/storage.hpp"
#include "worm/s3/store.hpp"
#include "worm/storage/local.hpp"

namespace worm {

namespace {

// A store URL as messages show it: password masked.
std::string shown(std::string_view url) { return detail::mask_url_password(url); }

}  // namespace

std::string store_url(std::string_view url) {
    if (url.find(':') != std::string_view::npos) return std::string(url);
    const std::string_view bucket = url.substr(0, url.find('/'));
    if (!s3::is_dns_compatible_bucket(bucket)) return std::string(url);
    return "s3://" + std::string(url);
}

std::unique_ptr<ObjectStore> open_store(std::string_view given) {
    const std::string full = store_url(given);
    const std::string_view url = full;
    const std::size_t colon = url.find(':');
    const std::string scheme = detail::to_lower(url.substr(0, colon == std::string_view::npos ? 0 : colon));
    if (scheme == "file") return std::make_unique<LocalWormStore>(file_store_path(url));
    if (scheme == "s3") return s3::open_s3_store(url);
    if (scheme == "mcp+https" || scheme == "mcp+http") return open_proxy_store(url);  // key from MCP_API_KEY
    if (scheme.empty())
        throw Error(ErrorCode::invalid_argument,
                    "store URL '" + shown(url) + "' has no scheme and is not a bucket name (use file:///dir, s3://bucket or mcp+https://host)");
    throw Error(ErrorCode::invalid_argument, "unsupported store URL scheme '" + scheme + "' in '" + shown(url) + "'");
}

std::unique_ptr<ObjectStore> open_configured_store(const WormConfig& config) {
    if (config.mode == WormMode::direct) {
        if (config.s3_bucket.empty()) throw Error(ErrorCode::config, "bucket not configured (set WORM_S3_BUCKET)");
        s3::ClientConfig client = s3::ClientConfig::from_env();
        if (!config.s3_endpoint.empty()) client.endpoint = config.s3_endpoint;
        client.region = config.s3_region;
        return std::make_unique<s3::S3Store>(std::make_shared<s3::S3Client>(std::move(client)), config.s3_bucket);
    }
    if (config.mcp_url.empty()) throw Error(ErrorCode::config, "endpoint not configured (set MCP_URL)");
    return open_proxy_store(config.mcp_url, config.mcp_api_key);
}

}  // namespace worm
