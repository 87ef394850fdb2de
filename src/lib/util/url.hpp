// url.hpp (private): the one URL type. Every URL the library accepts (S3 endpoints, store
// URLs, MCP_URL, container-credential and IMDS endpoints) is parsed here, and every message
// that names one prints it through to_string() / mask_url_password(), which never show a
// secret: "https://AKID:SECRET@host" is written "https://AKID:****@host", user info without
// a password separator ("http://TOKEN@host") "http://****@host", query values
// ("?token=T") "?token=****" and a fragment "#****".
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <string_view>

#include "worm/error.hpp"

namespace worm::detail {

struct Url {
    std::string scheme;    // lower-case: "https", "mcp+https", "file", "s3"
    std::string user;      // as written (percent-encoded), "" without user info
    std::string password;  // as written; never printed
    bool has_user_info = false;
    std::string host;      // lower-case; an IPv6 literal keeps its brackets
    std::string port;      // digits, "" when absent
    std::string path;      // as written, from the '/' after the authority ("" when none)
    std::string query;     // without '?'
    std::string fragment;  // without '#'
    bool has_query = false;
    bool has_fragment = false;

    // scheme://[user[:password]@]host[:port][/path][?query][#fragment]. Refuses anything
    // else, and spaces or control characters, with Error(code) naming `what` ("S3 endpoint",
    // "proxy URL") and the text with its password masked.
    static Url parse(std::string_view text, std::string_view what, ErrorCode code);

    std::string authority() const;  // host[:port]: never user info
    // host[:port] as a Host header carries it: the port left out when it is the scheme's
    // default (443 for https, 80 for http), as curl sends it and SigV4 must sign it.
    std::string host_header() const;
    std::string origin() const;     // scheme://host[:port]
    std::string to_string() const;  // the whole URL, secrets masked (mask_url_password)
};

// Whether host (as Url::host holds it) names this machine: "localhost", "*.localhost",
// 127.0.0.0/8 and [::1]. Only these may be reached over plain http without WORM_ALLOW_HTTP.
bool is_loopback_host(std::string_view host);

// Refuses plain http to any other host unless WORM_ALLOW_HTTP=1: request signatures, bearer
// tokens and evidence would cross the network readable and changeable by anyone on the path.
// Throws Error(config) naming `what` and the URL (password masked); https passes.
void require_tls_unless_loopback(const Url& url, std::string_view what);

// An S3-style service endpoint, "http(s)://host[:port][/]": no credentials (they come
// from the credentials chain), path, query or fragment, and TLS unless loopback. Throws
// Error(config) naming `what`. Here, not in the S3 client, so the configuration check
// (core) refuses what the client would refuse without depending on it.
Url parse_service_endpoint(std::string_view text, std::string_view what);

// "mcp+https://h:1/x/" -> "https://h:1/x" (worm::proxy_base_url): http(s) with a host, no
// query, fragment or user info, TLS unless loopback. Here, in core, so the configuration check
// refuses what ProxyStore (and so `worm sync`) refuses, with the same words.
std::string proxy_base_url(std::string_view text);

// `text` with the secrets of a URL in it masked (a password, user info without ':', query
// values, the fragment), for messages about text that may not even parse as a URL
// ("AKID:SECRET@host", "htps://u:p@h", "http://TOKEN@h/?token=T").
std::string mask_url_password(std::string_view text);

inline constexpr std::string_view masked_password = "****";

// "a=1&b&c=" -> "a=****&b&c=": every non-empty value masked, except those of the parameters
// named in `keep` (worm-proxy's log lines keep its own API's key=, prefix=, ...). Inline:
// worm-proxy uses it too, and a shared libworm exports no internals.
inline std::string mask_query(std::string_view query, std::span<const std::string_view> keep = {}) {
    std::string out;
    while (true) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::size_t eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        out += name;
        if (std::find(keep.begin(), keep.end(), name) != keep.end()) out += pair.substr(name.size());
        else if (eq != std::string_view::npos) out += eq + 1 < pair.size() ? "=" + std::string(masked_password) : "=";
        if (amp == std::string_view::npos) return out;
        out += '&';
        query.remove_prefix(amp + 1);
    }
}

}  // namespace worm::detail
