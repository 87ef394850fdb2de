// query_client.cpp: ServiceConfig, AwsServiceError and the query-protocol call (see
// query_client.hpp).
#include "query_client.hpp"

#include <pugixml.hpp>


#include "../s3/retry.hpp"
#include "../util/env.hpp"
#include "../util/url.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/sigv4.hpp"

namespace worm::aws {

namespace {

ErrorCode classify(int http_status, const std::string& code) {
    if (http_status == 404 || code == "NotFound" || code.ends_with("NotFound")) return ErrorCode::not_found;
    if (code == "AccessDenied" || code == "AuthorizationError" || code == "InvalidClientTokenId" ||
        code == "SignatureDoesNotMatch" || code == "UnrecognizedClientException" || code == "ExpiredToken")
        return ErrorCode::config;
    return ErrorCode::s3;
}

std::string describe(const std::string& service, const std::string& action, int http_status, const std::string& code,
                     const std::string& message, const std::string& request_id) {
    std::string m = service + " " + action + " failed: HTTP " + std::to_string(http_status);
    if (!code.empty()) m += " " + code;
    if (!message.empty()) m += ": " + message;
    if (!request_id.empty()) m += " (request id " + request_id + ")";
    return m;
}

// The endpoint's URL and Host header value ("127.0.0.1:5000"), checked as the S3 endpoint is.
struct Endpoint {
    std::string url;  // scheme://authority/
    std::string host;
};

// "http(s)://host[:port][/]" (detail::parse_service_endpoint's rules, as the S3 client's).
Endpoint parse_endpoint(const std::string& text) {
    const worm::detail::Url url = worm::detail::parse_service_endpoint(text, "AWS endpoint");
    Endpoint e;
    e.host = url.host_header();
    e.url = url.scheme + "://" + e.host + "/";
    return e;
}

std::string service_endpoint(const ServiceConfig& config, std::string_view service) {
    if (!config.endpoint.empty()) return config.endpoint;
    return "https://" + std::string(service) + "." + config.region + ".amazonaws.com";
}

}  // namespace

AwsServiceError::AwsServiceError(std::string service, std::string action, int http_status, std::string aws_code,
                                 std::string message, std::string request_id)
    : Error(classify(http_status, aws_code), describe(service, action, http_status, aws_code, message, request_id)),
      http_status_(http_status),
      aws_code_(std::move(aws_code)),
      request_id_(std::move(request_id)) {}

ServiceConfig ServiceConfig::from_env(const char* endpoint_variable) {
    using worm::detail::env_or_empty;
    ServiceConfig c;
    c.endpoint = env_or_empty(endpoint_variable);
    if (c.endpoint.empty()) c.endpoint = env_or_empty("AWS_ENDPOINT_URL");
    if (const std::string r = env_or_empty("AWS_REGION"); !r.empty()) c.region = r;
    else if (const std::string r2 = env_or_empty("AWS_DEFAULT_REGION"); !r2.empty()) c.region = r2;
    c.transport = make_curl_transport(HttpOptions::from_env());
    c.credentials = s3::default_credentials_chain(c.transport);
    return c;
}

void ServiceConfig::validate() const {
    if (!endpoint.empty()) (void)parse_endpoint(endpoint);
    if (region.empty()) throw Error(ErrorCode::config, "AWS region is empty (set AWS_REGION)");
    if (!credentials) throw Error(ErrorCode::config, "AWS client has no credentials provider");
    if (!clock) throw Error(ErrorCode::config, "AWS client clock is null (leave it unset for the system clock)");
    retry.validate("retry");
}

namespace detail {

namespace {

// application/x-www-form-urlencoded as botocore writes it (Python's urlencode): unreserved
// characters kept, a space as '+', every other byte %XX. The signature covers these bytes;
// writing them as the reference client does also suits servers that re-encode the form to check it.
std::string form_encode(std::string_view text) {
    std::string out;
    for (const char c : text) out += c == ' ' ? std::string("+") : s3::uri_encode(std::string_view(&c, 1), true);
    return out;
}

}  // namespace

std::string form_body(const QueryCall& call) {
    std::string body = "Action=" + form_encode(call.action) + "&Version=" + form_encode(call.version);
    for (const auto& [name, value] : call.params) body += "&" + form_encode(name) + "=" + form_encode(value);
    return body;
}

std::string xml_text(const std::string& xml, const char* name) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size())) return "";
    const pugi::xml_node n = doc.find_node([name](const pugi::xml_node& node) { return std::string_view(node.name()) == name; });
    return n ? n.text().as_string() : "";
}

std::string send_query(const ServiceConfig& config, const QueryCall& call) {
    config.validate();
    const Endpoint endpoint = parse_endpoint(service_endpoint(config, call.service));
    const std::string body = form_body(call);
    const std::shared_ptr<HttpTransport> transport = config.transport ? config.transport : make_curl_transport();
    const std::string content_type = "application/x-www-form-urlencoded; charset=utf-8";
    const Backoff backoff(config.retry, config.sleep, config.random);

    for (int attempt = 1;; ++attempt) {
        s3::SigningRequest sr;
        sr.method = "POST";
        sr.host = endpoint.host;
        sr.path = "/";
        sr.headers = {{"content-type", content_type}};
        sr.payload_sha256_hex = sha256_hex(body);
        s3::SigningScope scope;
        scope.region = config.region;
        scope.service = std::string(call.service);
        scope.time = config.clock->now();
        scope.normalize_path = true;      // the generic AWS rules, not S3's
        scope.add_content_sha256 = false;  // query services do not use x-amz-content-sha256
        HttpRequest http;
        http.method = "POST";
        http.url = endpoint.url;
        http.headers = s3::sign_request(sr, config.credentials->get(), scope).headers;
        http.body = body;

        HttpResponse response;
        try {
            response = transport->send(http);
        } catch (const Error& e) {
            const auto kind = s3::detail::classify_transport_failure(e.code());
            if (!s3::detail::should_retry(config.retry, kind, attempt, false)) throw;
            backoff.wait(attempt);
            continue;
        }
        if (response.status >= 200 && response.status < 300) return response.body;
        const std::string code = xml_text(response.body, "Code");
        // Query services say Throttling where S3 says SlowDown: nothing was applied either way.
        const auto kind = code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded"
                              ? s3::detail::FailureKind::not_applied
                              : s3::detail::classify_s3_failure(response.status, code);
        if (!s3::detail::should_retry(config.retry, kind, attempt, false)) {
            std::string request_id = xml_text(response.body, "RequestId");
            if (request_id.empty()) request_id = find_header(response.headers, "x-amzn-requestid").value_or("");
            throw AwsServiceError(std::string(call.display_name), std::string(call.action), response.status, code,
                                  xml_text(response.body, "Message"), request_id);
        }
        backoff.wait(attempt, s3::detail::parse_retry_after(response.headers, config.clock->now()));
    }
}

}  // namespace detail

}  // namespace worm::aws
