// credentials_http.cpp: the providers that fetch credentials over HTTP: ECS/EKS container
// credentials and EC2 IMDSv2. Both answer the same JSON shape:
//   {"AccessKeyId": ..., "SecretAccessKey": ..., "Token": ..., "Expiration": "2026-...Z"}
//
// Response bodies hold secrets: no message quotes a body, a token or a header value.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/s3/credentials.hpp"
#include "../util/env.hpp"
#include "../util/text.hpp"
#include "../util/url.hpp"

namespace worm::s3 {

namespace {

using worm::detail::env_or_empty;
using worm::detail::trim;

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string json_string(const rapidjson::Value& doc, const char* key) {
    const auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || !it->value.IsString()) return {};
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

// `source` names the endpoint for messages ("container credentials from http://host").
Credentials credentials_from_json(const std::string& body, const std::string& source) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject())
        throw Error(ErrorCode::parse, source + ": the response is not a JSON object");
    Credentials c;
    c.access_key_id = json_string(doc, "AccessKeyId");
    c.secret_access_key = json_string(doc, "SecretAccessKey");
    c.session_token = json_string(doc, "Token");
    if (c.access_key_id.empty() || c.secret_access_key.empty())
        throw Error(ErrorCode::parse, source + ": the response lacks AccessKeyId or SecretAccessKey");
    if (const std::string expiration = json_string(doc, "Expiration"); !expiration.empty()) {
        try {
            c.expiration = parse_rfc3339(expiration);
        } catch (const Error&) {
            throw Error(ErrorCode::parse, source + ": Expiration is not an RFC 3339 date");
        }
    }
    return c;
}

// Plain http only to the local machine or the ECS/EKS agents, as the AWS SDKs allow.
bool allowed_plain_http_host(const std::string& host) {
    return host == "localhost" || host.starts_with("127.") || host == "::1" || host == "169.254.170.2" ||
           host == "169.254.170.23" || host == "fd00:ec2::23";
}

std::string read_token_file(const std::filesystem::path& file) {
    try {
        return trim(read_file(file, max_key_file_bytes));
    } catch (const Error& e) {
        throw Error(ErrorCode::config, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: " + std::string(e.what()));
    }
}

// Built field by field: HttpRequest has members without default initializers, which
// designated initializers would leave to -Wmissing-field-initializers.
HttpRequest make_request(std::string method, std::string url, HttpHeaders headers) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.headers = std::move(headers);
    return r;
}

}  // namespace

// ---- ECS / EKS container credentials ----------------------------------------------------

ContainerOptions ContainerOptions::from_env() {
    ContainerOptions o;
    const std::string full = env_or_empty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const std::string relative = env_or_empty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    // The relative form is the ECS agent's; it takes precedence, as in the AWS SDKs.
    if (!relative.empty()) o.full_uri = "http://169.254.170.2" + relative;
    else o.full_uri = full;
    o.authorization_token = env_or_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    o.authorization_token_file = env_or_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    return o;
}

ContainerProvider::ContainerProvider(std::shared_ptr<HttpTransport> transport, ContainerOptions options,
                                     const Clock& clock)
    : RefreshingProvider(clock), transport_(std::move(transport)), options_(std::move(options)) {
    if (!transport_) throw Error(ErrorCode::invalid_argument, "container credentials need an HTTP transport");
}

Credentials ContainerProvider::fetch() {
    if (options_.full_uri.empty())
        throw Error(ErrorCode::not_found,
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set");
    const worm::detail::Url url =
        worm::detail::Url::parse(options_.full_uri, "container credentials URI", ErrorCode::config);
    if (url.scheme != "https" && url.scheme != "http")
        throw Error(ErrorCode::config, "container credentials URI '" + url.to_string() + "' must be http or https");
    // The authorization token must not travel in clear text to a remote host.
    std::string host = url.host;
    if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
    if (url.scheme == "http" && !allowed_plain_http_host(host))
        throw Error(ErrorCode::config, "container credentials URI " + url.origin() +
                                           " uses plain http to a host that is not loopback or the ECS/EKS agent");
    // Named by origin: no user info, path or query (a token could sit in either).
    const std::string source = "container credentials from " + url.origin();

    HttpRequest request = make_request("GET", options_.full_uri, {{"Accept", "application/json"}});
    std::string token = options_.authorization_token_file.empty() ? options_.authorization_token
                                                                  : read_token_file(options_.authorization_token_file);
    if (!token.empty()) {
        if (has_control_char(token)) throw Error(ErrorCode::config, "the container authorization token has a control character");
        request.headers.emplace_back("Authorization", token);
    }
    const HttpResponse response = transport_->send(request);
    if (response.status != 200)
        throw Error(response.status >= 400 && response.status < 500 ? ErrorCode::config : ErrorCode::network,
                    source + " failed: HTTP " + std::to_string(response.status));
    return credentials_from_json(response.body, source);
}

// ---- EC2 instance metadata (IMDSv2) -----------------------------------------------------

ImdsOptions ImdsOptions::from_env() {
    ImdsOptions o;
    if (const std::string e = env_or_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT"); !e.empty()) o.endpoint = e;
    o.disabled = worm::detail::to_lower(env_or_empty("AWS_EC2_METADATA_DISABLED")) == "true";
    return o;
}

ImdsProvider::ImdsProvider(std::shared_ptr<HttpTransport> transport, ImdsOptions options, const Clock& clock)
    : RefreshingProvider(clock), transport_(std::move(transport)), options_(std::move(options)) {
    if (!transport_) throw Error(ErrorCode::invalid_argument, "IMDS credentials need an HTTP transport");
    while (options_.endpoint.ends_with('/')) options_.endpoint.pop_back();
}

Credentials ImdsProvider::fetch() {
    if (options_.disabled) throw Error(ErrorCode::not_found, "IMDS is disabled (AWS_EC2_METADATA_DISABLED=true)");
    const std::string& base = options_.endpoint;
    // Messages name the endpoint with its password masked.
    const std::string shown_endpoint = worm::detail::mask_url_password(base);

    // Step 1: a session token (IMDSv2). Off EC2 nothing answers: not an error, just no IMDS.
    HttpResponse token_response;
    try {
        token_response = transport_->send(make_request(
            "PUT", base + "/latest/api/token",
            {{"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(options_.token_ttl.count())}}));
    } catch (const Error& e) {
        if (e.code() != ErrorCode::network && e.code() != ErrorCode::timeout) throw;
        throw Error(ErrorCode::not_found, "IMDS endpoint " + shown_endpoint + " did not answer (not on EC2?)");
    }
    if (token_response.status != 200)
        throw Error(token_response.status >= 500 ? ErrorCode::network : ErrorCode::not_found,
                    "IMDS token request to " + shown_endpoint + " failed: HTTP " + std::to_string(token_response.status));
    const std::string token = trim(token_response.body);
    if (token.empty() || has_control_char(token)) throw Error(ErrorCode::parse, "IMDS returned an unusable token");

    const auto get = [&](const std::string& path) {
        return transport_->send(make_request("GET", base + path, {{"X-aws-ec2-metadata-token", token}}));
    };

    // Step 2: the instance role's name.
    const std::string roles_path = "/latest/meta-data/iam/security-credentials/";
    const HttpResponse roles = get(roles_path);
    if (roles.status == 404) throw Error(ErrorCode::not_found, "IMDS: no IAM role is attached to this instance");
    if (roles.status != 200)
        throw Error(ErrorCode::network, "IMDS role list at " + shown_endpoint + " failed: HTTP " + std::to_string(roles.status));
    std::istringstream lines(roles.body);
    std::string role;
    std::getline(lines, role);
    role = trim(role);
    if (role.empty()) throw Error(ErrorCode::not_found, "IMDS: no IAM role is attached to this instance");
    if (role.find_first_of("/?#% ") != std::string::npos || has_control_char(role))
        throw Error(ErrorCode::parse, "IMDS returned a malformed role name");

    // Step 3: the role's temporary credentials.
    const std::string source = "IMDS credentials for role '" + role + "'";
    const HttpResponse creds = get(roles_path + role);
    if (creds.status != 200) throw Error(ErrorCode::network, source + " failed: HTTP " + std::to_string(creds.status));
    rapidjson::Document doc;
    doc.Parse(creds.body.data(), creds.body.size());
    if (!doc.HasParseError() && doc.IsObject()) {
        const std::string code = json_string(doc, "Code");
        if (!code.empty() && code != "Success") throw Error(ErrorCode::config, source + ": Code " + code);
    }
    return credentials_from_json(creds.body, source);
}

}  // namespace worm::s3
