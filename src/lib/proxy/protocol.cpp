// The proxy wire contract shared by ProxyStore and worm-proxy.
#include "worm/proxy/protocol.hpp"

#include "../util/percent_encoding.hpp"

#include <rapidjson/document.h>

#include <cctype>

#include "worm/json.hpp"

namespace worm::proxy {

namespace {

ErrorCode code_for_status(int status) {
    if (status == 404) return ErrorCode::not_found;
    if (status == 409) return ErrorCode::object_locked;
    if (status == 422) return ErrorCode::integrity;
    if (status == 401 || status == 403) return ErrorCode::config;
    if (status == 504) return ErrorCode::timeout;
    if (status >= 400 && status < 500) return ErrorCode::invalid_argument;
    return ErrorCode::storage;
}

}  // namespace

int http_status_for(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_argument:
        case ErrorCode::parse:
        case ErrorCode::schema: return 400;
        case ErrorCode::not_found: return 404;
        case ErrorCode::object_locked:
        case ErrorCode::already_exists: return 409;
        case ErrorCode::integrity:
        case ErrorCode::verification: return 422;
        case ErrorCode::network:
        case ErrorCode::s3: return 502;
        case ErrorCode::timeout: return 504;
        default: return 500;
    }
}

std::string error_json(std::string_view name, std::string_view message) {
    json::Writer w;
    w.begin_object().member("error", name);
    // A message may quote request bytes (a header, a percent-decoded name) that are not UTF-8.
    w.key("message").value_lossy(message);
    return w.end_object().take();
}

Error error_from_response(int status, std::string_view body, std::string_view what) {
    std::string name, server_message;
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
        if (auto it = doc.FindMember("error"); it != doc.MemberEnd() && it->value.IsString())
            name = it->value.GetString();
        if (auto it = doc.FindMember("message"); it != doc.MemberEnd() && it->value.IsString())
            server_message = it->value.GetString();
    }
    ErrorCode code = code_for_status(status);
    if (name == error_unauthorized || name == error_forbidden) {
        code = ErrorCode::config;
    } else if (name == error_too_large) {
        code = ErrorCode::invalid_argument;
    } else {
        if (const auto named = parse_error_code(name)) code = *named;
        // A backend S3 failure arrives without the S3 fields; report it as a storage failure.
        if (code == ErrorCode::s3 || code == ErrorCode::internal) code = ErrorCode::storage;
    }
    std::string message = "proxy " + std::string(what) + " failed: HTTP " + std::to_string(status);
    if (status == 401) message += " (the proxy refused the API key; check MCP_API_KEY)";
    if (status == 403) message += " (this API key may not access that key; check the client id)";
    if (!server_message.empty()) message += ": " + server_message;
    return Error(code, message);
}

std::string percent_encode(std::string_view raw) { return detail::percent_encode(raw, detail::PercentKeep::unreserved); }

std::string percent_decode(std::string_view text, bool plus_is_space) {
    return detail::percent_decode(text, plus_is_space, "request query");
}

std::map<std::string, std::string> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        std::string name = percent_decode(pair.substr(0, eq), true);
        std::string value = eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), true);
        if (out.contains(name))
            throw Error(ErrorCode::invalid_argument, "query parameter '" + name + "' is given more than once");
        out.emplace(std::move(name), std::move(value));
    }
    return out;
}

std::string client_prefix(std::string_view client_id) { return "evidence/" + std::string(client_id) + "/"; }

}  // namespace worm::proxy
