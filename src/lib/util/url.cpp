#include "url.hpp"

#include <algorithm>

#include "env.hpp"
#include "text.hpp"

namespace worm::detail {

namespace {

bool is_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
           c == '.';
}

bool is_port(std::string_view s) {
    return !s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string mask_url_password(std::string_view text) {
    // The user info ends at the last '@' before the path; a password starts after its first
    // ':'. User info without a ':' is masked whole ("http://TOKEN@host": a token, not a name).
    // Query values and the fragment are masked too.
    const std::size_t sep = text.find("://");
    const std::size_t start = sep == std::string_view::npos ? 0 : sep + 3;
    const std::size_t end = std::min(text.find_first_of("/?#", start), text.size());
    std::string out(text.substr(0, start));
    std::string_view authority = text.substr(start, end - start);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        const std::size_t colon = authority.substr(0, at).find(':');
        out += colon == std::string_view::npos ? std::string(masked_password)
                                               : std::string(authority.substr(0, colon + 1)) + std::string(masked_password);
        authority.remove_prefix(at);
    }
    out += authority;
    std::string_view rest = text.substr(end);
    const std::size_t hash = rest.find('#');
    const std::string_view before_fragment = rest.substr(0, hash);
    const std::size_t question = before_fragment.find('?');
    out += before_fragment.substr(0, question);
    if (question != std::string_view::npos) out += "?" + mask_query(before_fragment.substr(question + 1));
    if (hash != std::string_view::npos) out += hash + 1 < rest.size() ? "#" + std::string(masked_password) : "#";
    return out;
}

Url Url::parse(std::string_view text, std::string_view what, ErrorCode code) {
    const auto fail = [&](std::string_view why) -> Error {
        return Error(code, std::string(what) + " '" + mask_url_password(text) + "' " + std::string(why));
    };
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        throw fail("holds spaces or control characters");
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos || sep == 0 ||
        !std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(sep), is_scheme_char))
        throw fail("is not a URL (scheme://host...)");
    Url url;
    url.scheme = to_lower(text.substr(0, sep));
    std::string_view rest = text.substr(sep + 3);

    const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
    std::string_view authority = rest.substr(0, authority_end);
    rest.remove_prefix(authority_end);
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view user_info = authority.substr(0, at);
        const std::size_t colon = user_info.find(':');
        url.has_user_info = true;
        url.user = std::string(user_info.substr(0, colon));
        if (colon != std::string_view::npos) url.password = std::string(user_info.substr(colon + 1));
        authority.remove_prefix(at + 1);
    }
    std::string_view port;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) throw fail("has an unterminated IPv6 address");
        url.host = to_lower(authority.substr(0, close + 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) throw fail("has junk after its IPv6 address");
        if (!after.empty()) port = after.substr(1);
        if (after == ":") throw fail("has an empty port");
    } else {
        const std::size_t colon = authority.rfind(':');
        url.host = to_lower(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) throw fail("has an empty port");
        }
    }
    if (!port.empty() && !is_port(port)) throw fail("has a port that is not a number");
    url.port = std::string(port);

    if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
        url.has_fragment = true;
        url.fragment = std::string(rest.substr(hash + 1));
        rest = rest.substr(0, hash);
    }
    if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
        url.has_query = true;
        url.query = std::string(rest.substr(q + 1));
        rest = rest.substr(0, q);
    }
    url.path = std::string(rest);
    return url;
}

std::string Url::authority() const { return port.empty() ? host : host + ":" + port; }

std::string Url::host_header() const {
    const bool default_port = (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
    return default_port ? host : authority();
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::string Url::to_string() const {
    std::string out = scheme + "://";
    // Written as parsed, then masked by the one rule for URLs in messages.
    if (has_user_info) out += user + (password.empty() ? "" : ":" + password) + "@";
    out += authority() + path;
    if (has_query) out += "?" + query;
    if (has_fragment) out += "#" + fragment;
    return mask_url_password(out);
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) return true;
    if (host == "[::1]") return true;
    // 127.a.b.c, written as a dotted quad (curl reads other forms, e.g. "127.1", the same way,
    // but a hostname like "127.example" must not pass).
    int parts = 0;
    for (std::string_view rest = host; parts < 4; ++parts) {
        const auto dot = rest.find('.');
        const std::string_view part = rest.substr(0, dot);
        if (part.empty() || part.size() > 3 ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoi(std::string(part)) > 255)
            return false;
        if (parts == 0 && part != "127") return false;
        if (dot == std::string_view::npos) return parts == 3;
        rest.remove_prefix(dot + 1);
    }
    return false;
}

void require_tls_unless_loopback(const Url& url, std::string_view what) {
    if (url.scheme.ends_with("https") || is_loopback_host(url.host) || env_or_empty("WORM_ALLOW_HTTP") == "1") return;
    throw Error(ErrorCode::config, std::string(what) + " '" + url.to_string() +
                                       "' uses plain http to a host that is not this machine; use https, or set "
                                       "WORM_ALLOW_HTTP=1 to allow it on a network you trust");
}

Url parse_service_endpoint(std::string_view text, std::string_view what) {
    const Url url = Url::parse(text, what, ErrorCode::config);
    const auto fail = [&](std::string_view why) {
        return Error(ErrorCode::config, std::string(what) + " '" + url.to_string() + "' " + std::string(why));
    };
    if (url.scheme != "http" && url.scheme != "https") throw fail("must start with http:// or https://");
    if (url.has_user_info) throw fail("must not carry credentials (they come from the credentials chain)");
    if ((!url.path.empty() && url.path != "/") || url.has_query || url.has_fragment || url.host.empty())
        throw fail("must be scheme://host[:port] with no path");
    require_tls_unless_loopback(url, what);
    return url;
}

std::string proxy_base_url(std::string_view text) {
    const Url url = Url::parse(text, "proxy URL", ErrorCode::config);
    std::string scheme = url.scheme;
    if (scheme.starts_with("mcp+")) scheme.erase(0, 4);
    if (scheme != "https" && scheme != "http")
        throw Error(ErrorCode::config, "proxy URL '" + url.to_string() +
                                           "' must start with mcp+https://, mcp+http://, https:// or http://");
    if (url.has_query || url.has_fragment)
        throw Error(ErrorCode::config, "proxy URL '" + url.to_string() + "' must not have a query or fragment");
    if (url.host.empty()) throw Error(ErrorCode::config, "proxy URL '" + url.to_string() + "' has no host");
    // User info would put a credential into every URL, and into messages that name it.
    if (url.has_user_info)
        throw Error(ErrorCode::config,
                    "proxy URL '" + url.to_string() + "' must not carry user info; give the token in MCP_API_KEY");
    require_tls_unless_loopback(url, "proxy URL");
    std::string out = scheme + "://" + url.authority() + url.path;
    while (out.ends_with('/')) out.pop_back();
    return out;
}

}  // namespace worm::detail
