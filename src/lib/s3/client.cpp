// client.cpp: configuration, addressing, and the signed request loop (retries, clock
// skew, error mapping) every S3 operation goes through. The operations themselves are in
// client_ops.cpp and multipart.cpp.
#include "../util/text.hpp"
#include "worm/s3/client.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "../crypto/digest.hpp"
#include "../util/env.hpp"
#include "../util/text.hpp"
#include "../util/url.hpp"
#include "client_internal.hpp"
#include "worm/crypto.hpp"
#include "documents.hpp"
#include "retry.hpp"
#include "worm/config.hpp"

namespace worm::s3 {

namespace {

using worm::detail::to_lower;

struct ParsedEndpoint {
    std::string scheme;  // "http" / "https"
    std::string host;    // host[:port] as the Host header carries it
    std::string hostname;  // without the port
};

// "https://host[:port][/]" (detail::parse_service_endpoint's rules).
ParsedEndpoint parse_endpoint(const std::string& text) {
    const worm::detail::Url url = worm::detail::parse_service_endpoint(text, "S3 endpoint");
    ParsedEndpoint e;
    e.scheme = url.scheme;
    e.hostname = url.host;
    e.host = url.host_header();
    return e;
}

bool is_ip_or_localhost(const std::string& hostname) {
    if (hostname == "localhost" || (hostname.size() > 10 && hostname.ends_with(".localhost"))) return true;
    if (!hostname.empty() && hostname.front() == '[') return true;  // IPv6 literal
    return !hostname.empty() && std::all_of(hostname.begin(), hostname.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
}

// The query as sent: the signed (sorted, encoded) form, with sub-resources that have no
// value written bare ("?retention", not "?retention="), as the AWS SDKs send them; some
// servers only recognise the bare form. Encoded names never hold '=' or '&'.
std::string wire_query(const std::vector<std::pair<std::string, std::string>>& query) {
    const std::string signed_form = encoded_query_string(query);
    std::string out;
    size_t start = 0;
    while (start <= signed_form.size()) {
        size_t end = signed_form.find('&', start);
        if (end == std::string::npos) end = signed_form.size();
        std::string_view piece(signed_form.data() + start, end - start);
        if (piece.ends_with('=')) piece.remove_suffix(1);
        if (!out.empty()) out += '&';
        out += piece;
        start = end + 1;
    }
    return out;
}

std::string default_endpoint(const std::string& region) { return "https://s3." + region + ".amazonaws.com"; }

}  // namespace

bool is_dns_compatible_bucket(std::string_view b) {
    if (b.size() < 3 || b.size() > 63) return false;
    if (b.front() == '-' || b.front() == '.' || b.back() == '-' || b.back() == '.') return false;
    if (b.find("..") != std::string_view::npos) return false;
    return std::all_of(b.begin(), b.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    });
}

// ---- configuration -------------------------------------------------------------------

void validate_endpoint(const std::string& endpoint) { (void)parse_endpoint(endpoint); }

void detail::validate_signing_settings(std::string_view who, const std::string& region,
                                       const std::shared_ptr<CredentialsProvider>& credentials, const Clock* clock,
                                       const RetryPolicy& retry) {
    const std::string name(who);
    if (region.empty()) throw Error(ErrorCode::config, name + " region is empty (set AWS_REGION)");
    if (!credentials) throw Error(ErrorCode::config, name + " client has no credentials provider");
    if (!clock) throw Error(ErrorCode::config, name + " client clock is null (leave it unset for the system clock)");
    retry.validate("retry");
}

std::string detail::region_from_env(std::string fallback) {
    using worm::detail::env_or_empty;
    if (std::string r = env_or_empty("AWS_REGION"); !r.empty()) return r;
    if (std::string r = env_or_empty("AWS_DEFAULT_REGION"); !r.empty()) return r;
    return fallback;
}

void ClientConfig::validate() const {
    if (!endpoint.empty()) (void)parse_endpoint(endpoint);
    detail::validate_signing_settings("S3", region, credentials, clock, retry);
    if (part_size < (5ull << 20) || part_size > (5ull << 30))
        throw Error(ErrorCode::config, "part_size must be between 5 MiB and 5 GiB, got " + std::to_string(part_size));
    if (multipart_threshold < part_size)
        throw Error(ErrorCode::config, "multipart_threshold must be at least part_size");
    if (parallel_parts < 1 || parallel_parts > 64)
        throw Error(ErrorCode::config, "parallel_parts must be between 1 and 64");
}

ClientConfig ClientConfig::from_env() {
    ClientConfig c;
    using worm::detail::env_or_empty;
    c.endpoint = s3_endpoint_from_env();
    c.region = detail::region_from_env(c.region);
    if (const std::string a = env_or_empty("WORM_S3_ADDRESSING"); !a.empty()) {
        const std::string v = to_lower(a);
        if (v == "path") c.addressing = AddressingStyle::path;
        else if (v == "virtual") c.addressing = AddressingStyle::virtual_hosted;
        else if (v == "auto") c.addressing = AddressingStyle::automatic;
        else throw Error(ErrorCode::config, "WORM_S3_ADDRESSING must be path, virtual or auto, got '" + a + "'");
    }
    c.transport = make_curl_transport(HttpOptions::from_env());
    c.credentials = default_credentials_chain(c.transport);
    return c;
}

// ---- bodies ----------------------------------------------------------------------------

S3Body S3Body::file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        throw Error(ec == std::errc::no_such_file_or_directory ? ErrorCode::not_found : ErrorCode::io,
                    "cannot read size of " + path.string() + ": " + ec.message());
    return S3Body{FileSlice{path, 0, size}};
}

std::uint64_t S3Body::size() const {
    if (const auto* s = std::get_if<std::string>(&source)) return s->size();
    return std::get<FileSlice>(source).length;
}

namespace detail {

S3Body sub_body(const S3Body& body, std::uint64_t offset, std::uint64_t length) {
    if (const auto* s = std::get_if<std::string>(&body.source)) return S3Body::bytes(s->substr(offset, length));
    const FileSlice& f = std::get<FileSlice>(body.source);
    return S3Body::slice(FileSlice{f.path, f.offset + offset, length});
}

worm::detail::Digests digest_body(const S3Body& body, bool want_md5) {
    worm::detail::Digests out;
    if (const auto* s = std::get_if<std::string>(&body.source)) {
        out.sha256 = sha256(*s);
        if (want_md5) out.md5 = md5(*s);
        return out;
    }
    const FileSlice& f = std::get<FileSlice>(body.source);
    return worm::detail::digest_file_slice(f.path, f.offset, f.length, want_md5);
}

std::string strip_quotes(std::string s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
    return s;
}

bool is_md5_etag(const std::string& etag) {
    return etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string checksum_base64_to_hex(const std::optional<std::string>& value) {
    if (!value || value->empty() || value->find('-') != std::string::npos) return "";
    try {
        const std::string raw = base64_decode(*value);
        return raw.size() == 32 ? to_hex(raw) : "";
    } catch (const Error&) {
        return "";  // not a plain SHA-256: report none rather than a wrong one
    }
}

// Error code for a response without a body (HEAD), as the AWS SDKs name them.
std::string code_for_status(int status) {
    switch (status) {
        case 301: return "PermanentRedirect";
        case 307: return "TemporaryRedirect";
        case 304: return "NotModified";
        case 400: return "BadRequest";
        case 403: return "Forbidden";
        case 404: return "NotFound";
        case 405: return "MethodNotAllowed";
        case 409: return "Conflict";
        case 412: return "PreconditionFailed";
        case 500: return "InternalError";
        case 503: return "ServiceUnavailable";
        default: return "";
    }
}

ErrorCode classify(int status, const std::string& code) {
    if (status == 404) return ErrorCode::not_found;
    if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "InvalidDigest")
        return ErrorCode::integrity;
    return ErrorCode::s3;
}

S3Error make_s3_error(const std::string& method, const std::string& bucket, const std::string& key,
                      const HttpResponse& response) {
    S3ErrorInfo info;
    info.http_status = response.status;
    info.method = method;
    info.resource = bucket.empty() ? "/" : key.empty() ? bucket : bucket + "/" + key;
    info.request_id = find_header(response.headers, "x-amz-request-id").value_or("");
    if (const auto document = parse_error_document(response.body)) {
        info.code = document->code;
        info.message = document->message;
        if (info.request_id.empty()) info.request_id = document->request_id;
    }
    if (info.code.empty()) info.code = code_for_status(response.status);
    const ErrorCode code = classify(response.status, info.code);
    return S3Error(std::move(info), code);
}

ObjectHead parse_object_head(const std::string& key, const HttpHeaders& headers) {
    ObjectHead h;
    h.key = key;
    for (const auto& [name, value] : headers) {
        if (name == "content-length") {
            std::from_chars(value.data(), value.data() + value.size(), h.size);
        } else if (name == "etag") {
            h.etag = strip_quotes(value);
        } else if (name == "content-type") {
            h.content_type = value;
        } else if (name == "last-modified") {
            try {
                h.last_modified = parse_http_date(value);
            } catch (const Error&) {
                throw Error(ErrorCode::parse, "object " + key + " has an unreadable Last-Modified '" + value + "'");
            }
        } else if (name == "x-amz-version-id") {
            h.version_id = value == "null" ? "" : value;
        } else if (name == "x-amz-object-lock-mode") {
            if (!h.retention) h.retention = Retention{};
            h.retention->mode = parse_lock_mode(value);
        } else if (name == "x-amz-object-lock-retain-until-date") {
            if (!h.retention) h.retention = Retention{};
            h.retention->retain_until = parse_retention_date(value);
        } else if (name == "x-amz-object-lock-legal-hold") {
            h.legal_hold = to_lower(value) == "on";
        } else if (name.starts_with("x-amz-meta-")) {
            h.metadata[name.substr(11)] = value;
        } else if (name == "x-amz-checksum-sha256") {
            h.checksum_sha256 = value;
        } else if (name == "x-amz-server-side-encryption") {
            h.server_side_encryption = value;
        } else if (name == "x-amz-delete-marker") {
            h.delete_marker = to_lower(value) == "true";
        }
    }
    return h;
}

void add_object_headers(HttpHeaders& headers, const PutObjectOptions& o) {
    if (!o.content_type.empty()) headers.emplace_back("content-type", o.content_type);
    for (const auto& [name, value] : o.metadata) headers.emplace_back("x-amz-meta-" + to_lower(name), value);
    if (o.lock.retention) {
        headers.emplace_back("x-amz-object-lock-mode", std::string(to_string(o.lock.retention->mode)));
        headers.emplace_back("x-amz-object-lock-retain-until-date", format_rfc3339_millis(o.lock.retention->retain_until));
    }
    if (o.lock.legal_hold) headers.emplace_back("x-amz-object-lock-legal-hold", "ON");
    switch (o.encryption.kind) {
        case ServerSideEncryption::Kind::none: break;
        case ServerSideEncryption::Kind::aes256: headers.emplace_back("x-amz-server-side-encryption", "AES256"); break;
        case ServerSideEncryption::Kind::aws_kms:
            headers.emplace_back("x-amz-server-side-encryption", "aws:kms");
            if (!o.encryption.kms_key_id.empty())
                headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", o.encryption.kms_key_id);
            break;
    }
}

}  // namespace detail

// ---- the client core -----------------------------------------------------------------

S3Client::S3Client(ClientConfig config)
    : config_(std::move(config)), backoff_(config_.retry, config_.sleep, config_.random) {
    config_.validate();
    if (config_.endpoint.empty()) config_.endpoint = default_endpoint(config_.region);
    const ParsedEndpoint e = parse_endpoint(config_.endpoint);
    scheme_ = e.scheme;
    endpoint_host_ = e.host;
    if (!config_.transport) config_.transport = make_curl_transport();
}

TimePoint S3Client::now() const { return config_.clock->now() + clock_offset(); }

bool S3Client::use_path_style(const std::string& bucket) const {
    switch (config_.addressing) {
        case AddressingStyle::path: return true;
        case AddressingStyle::virtual_hosted: return false;
        case AddressingStyle::automatic: break;
    }
    const std::string hostname = endpoint_host_.front() == '['
                                     ? endpoint_host_.substr(0, endpoint_host_.find(']') + 1)
                                     : endpoint_host_.substr(0, endpoint_host_.find(':'));
    if (is_ip_or_localhost(hostname)) return true;
    if (!is_dns_compatible_bucket(bucket)) return true;
    // A dotted bucket name would not match the *.s3 wildcard certificate.
    return scheme_ == "https" && bucket.find('.') != std::string::npos;
}

S3Client::Target S3Client::target(const std::string& bucket, const std::string& key,
                                  const std::vector<std::pair<std::string, std::string>>& query) const {
    Target t;
    if (bucket.empty()) {
        t.host = endpoint_host_;
        t.canonical_path = "/";
    } else if (use_path_style(bucket)) {
        t.host = endpoint_host_;
        t.canonical_path = "/" + bucket + (key.empty() ? "" : "/" + key);
    } else {
        t.host = bucket + "." + endpoint_host_;
        t.canonical_path = "/" + key;
    }
    t.url = scheme_ + "://" + t.host + uri_encode(t.canonical_path, false);
    if (!query.empty()) t.url += "?" + wire_query(query);
    return t;
}

std::string S3Client::object_url(const std::string& bucket, const std::string& key) const {
    return target(bucket, key, {}).url;
}

HttpResponse S3Client::send_once(const S3Request& request, const std::string& payload_hash) {
    const Target t = target(request.bucket, request.key, request.query);
    SigningRequest sr;
    sr.method = request.method;
    sr.host = t.host;
    sr.path = t.canonical_path;
    sr.query = request.query;
    sr.headers = request.headers;
    sr.payload_sha256_hex = payload_hash;
    SigningScope scope;  // S3 rules: the defaults
    scope.region = config_.region;
    scope.service = "s3";
    scope.time = now();
    SignedRequest signed_request = sign_request(sr, config_.credentials->get(), scope);

    HttpRequest http;
    http.method = request.method;
    http.url = t.url;
    http.headers = std::move(signed_request.headers);
    http.response_file = request.response_file;
    http.response_observer = request.response_observer;
    http.keep_response_body = request.keep_response_body;
    if (const auto* s = std::get_if<std::string>(&request.body.source)) http.body = *s;
    else http.body_file = std::get<FileSlice>(request.body.source);
    return config_.transport->send(http);
}

HttpResponse S3Client::send(const S3Request& request) {
    std::string payload_hash;
    if (request.payload_sha256_hex) payload_hash = *request.payload_sha256_hex;
    else payload_hash = to_hex(detail::digest_body(request.body, false).sha256);

    bool skew_corrected = false;
    for (int attempt = 1;; ++attempt) {
        HttpResponse response;
        try {
            response = send_once(request, payload_hash);
        } catch (const Error& e) {
            const detail::FailureKind kind = detail::classify_transport_failure(e.code());
            if (!detail::should_retry(config_.retry, kind, attempt, request.resend_if_maybe_applied)) throw;
            backoff_.wait(attempt);
            continue;
        }
        const bool ok = response.status >= 200 && response.status < 300;
        // CompleteMultipartUpload (and copies) may answer 200 and report the failure in the body.
        if (ok && !(request.error_in_ok_body && detail::parse_error_document(response.body))) return response;

        S3Error error = detail::make_s3_error(request.method, request.bucket, request.key, response);
        const detail::FailureKind kind = detail::classify_s3_failure(error.http_status(), error.s3_code());
        if (kind == detail::FailureKind::clock_skew && !skew_corrected) {
            // Sign again with the server's idea of now (from its Date header), once.
            if (const auto date = find_header(response.headers, "date")) {
                try {
                    const auto offset = std::chrono::duration_cast<std::chrono::milliseconds>(
                        parse_http_date(*date) - config_.clock->now());
                    clock_offset_ms_.store(offset.count());
                    skew_corrected = true;
                    --attempt;  // the correction does not use up a retry
                    continue;
                } catch (const Error&) {
                    // No usable Date: report the skew error below.
                }
            }
        }
        if (!detail::should_retry(config_.retry, kind, attempt, request.resend_if_maybe_applied)) throw error;
        backoff_.wait(attempt, detail::parse_retry_after(response.headers, config_.clock->now()));
    }
}

}  // namespace worm::s3
