// open_store: a store from a URL. file: URLs open a LocalWormStore; s3:// and
// mcp+http(s):// are wired in by their own stores.
#include <algorithm>
#include <cctype>

#include "../util/percent_encoding.hpp"
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

// file:///abs/dir, file://localhost/abs/dir, file:/abs/dir, or file:relative/dir.
std::filesystem::path file_store_path(std::string_view url) {
    if (detail::to_lower(url.substr(0, 5)) != "file:")
        throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' is not a file: URL (file:///dir)");
    std::string_view rest = url.substr(5);  // after "file:"
    if (rest.find_first_of("?#") != std::string_view::npos)
        throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' must not have a query or fragment");
    if (rest.starts_with("//")) {
        rest.remove_prefix(2);
        const std::size_t slash = rest.find('/');
        const std::string_view host = rest.substr(0, slash);
        if (!host.empty() && host != "localhost")
            throw Error(ErrorCode::invalid_argument,
                        "store URL '" + shown(url) + "' names host '" + shown(host) +
                            "'; a file: store must be local (file:///dir)");
        if (slash == std::string_view::npos)
            throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' has no directory");
        rest = rest.substr(slash);
    }
    const std::string path = detail::percent_decode(rest, false, "store URL '" + shown(url) + "'");
    if (path.empty() || path == "/")
        throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' has no directory");
    return path;
}

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
