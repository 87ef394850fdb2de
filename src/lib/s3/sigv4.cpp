// sigv4.cpp: AWS Signature Version 4 (see include/worm/s3/sigv4.hpp for the steps).
//
// Read top-down: encoding, canonical pieces, validation, the two signing entry points,
// then the signing-key cache. No function here logs, and no error message contains the
// secret key, the session token, a signing key or a signature.
#include "worm/s3/sigv4.hpp"

#include <algorithm>
#include <array>

#include "worm/crypto.hpp"
#include "worm/error.hpp"

namespace worm::s3 {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view scope_terminator = "aws4_request";

[[noreturn]] void invalid(const std::string& what) {
    throw Error(ErrorCode::invalid_argument, "SigV4: " + what);
}

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// SigV4 header value: trimmed, and every inner run of spaces/tabs folded to one space.
std::string canonical_header_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    bool pending_space = false;
    for (char c : value) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

// Generic AWS rule only (S3 never does this): drop "." and empty segments, let ".."
// remove the previous segment, keep a leading and a trailing '/'.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> kept;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view segment = path.substr(start, end - start);
        if (segment == "..") {
            if (!kept.empty()) kept.pop_back();
        } else if (!segment.empty() && segment != ".") {
            kept.push_back(segment);
        }
        start = end + 1;
    }
    std::string out = path.front() == '/' ? "/" : "";
    for (std::size_t i = 0; i < kept.size(); ++i) {
        if (i > 0) out += '/';
        out += kept[i];
    }
    if (path.back() == '/' && !kept.empty()) out += '/';
    return out;
}

struct CanonicalHeaders {
    std::string block;         // "name:value\n" per header, sorted by name
    std::string signed_names;  // "host;x-amz-date"
};

// Names lower-cased and sorted; a repeated name keeps its values in request order, joined by ','.
CanonicalHeaders canonicalize_headers(const HttpHeaders& headers) {
    std::map<std::string, std::string> by_name;  // std::map: sorted by byte value, as SigV4 wants
    for (const auto& [name, value] : headers) {
        auto [it, inserted] = by_name.try_emplace(to_lower(name));
        if (!inserted) it->second += ',';
        it->second += canonical_header_value(value);
    }
    CanonicalHeaders out;
    for (const auto& [name, value] : by_name) {
        out.block += name + ':' + value + '\n';
        if (!out.signed_names.empty()) out.signed_names += ';';
        out.signed_names += name;
    }
    return out;
}

std::string credential_scope(std::string_view day, const SigningScope& scope) {
    return std::string(day) + '/' + scope.region + '/' + scope.service + '/' + std::string(scope_terminator);
}

std::string build_canonical_request(std::string_view method, std::string_view uri, std::string_view query,
                                    const CanonicalHeaders& headers, std::string_view payload_hash) {
    std::string cr;
    cr.append(method).append("\n");
    cr.append(uri).append("\n");
    cr.append(query).append("\n");
    cr.append(headers.block).append("\n");  // the block ends in '\n' itself: one empty line follows
    cr.append(headers.signed_names).append("\n");
    cr.append(payload_hash);
    return cr;
}

std::string build_string_to_sign(std::string_view amz_date, std::string_view scope,
                                  std::string_view canonical_request) {
    std::string sts(algorithm);
    sts.append("\n").append(amz_date).append("\n").append(scope).append("\n");
    sts.append(sha256_hex(canonical_request));
    return sts;
}

// ---- validation: refuse what would make a request ambiguous or inject headers ----------

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    return std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

bool is_payload_hash(std::string_view h) {
    if (h == unsigned_payload) return true;
    return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

void validate_common(const SigningRequest& request, const Credentials& credentials, const SigningScope& scope) {
    if (request.method.empty() || !std::all_of(request.method.begin(), request.method.end(), is_token_char))
        invalid("request method is empty or not an HTTP token");
    if (request.host.empty() || has_control_char(request.host) ||
        request.host.find_first_of(" /") != std::string::npos)
        invalid("host '" + request.host + "' is empty or malformed");
    if (!request.path.empty() && request.path.front() != '/')
        invalid("path must start with '/'");
    if (credentials.access_key_id.empty()) invalid("the access key id is empty");
    if (credentials.secret_access_key.empty()) invalid("the secret access key is empty");
    if (has_control_char(credentials.access_key_id) || credentials.access_key_id.find('/') != std::string::npos)
        invalid("the access key id contains '/' or a control character");
    if (has_control_char(credentials.session_token)) invalid("the session token contains a control character");
    if (scope.region.empty() || scope.service.empty()) invalid("the signing region or service is empty");
    if (scope.region.find('/') != std::string::npos || scope.service.find('/') != std::string::npos ||
        has_control_char(scope.region) || has_control_char(scope.service))
        invalid("the signing region or service contains '/' or a control character");
}

// Headers the signer owns: given twice they would be ambiguous on the wire.
bool is_signer_header(std::string_view lower_name, const SigningScope& scope) {
    return lower_name == "host" || lower_name == "authorization" || lower_name == "x-amz-date" ||
           lower_name == "x-amz-security-token" ||
           (scope.add_content_sha256 && lower_name == "x-amz-content-sha256");
}

void validate_headers(const HttpHeaders& headers, const SigningScope& scope) {
    for (const auto& [name, value] : headers) {
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
            invalid("header name '" + name + "' is empty or not an HTTP token");
        const std::string lower = to_lower(name);
        if (is_signer_header(lower, scope))
            invalid("header '" + lower + "' is set by the signer; do not pass it in SigningRequest::headers");
        // CR/LF in a value would let a caller smuggle extra headers onto the wire.
        if (has_control_char(value)) invalid("header '" + lower + "' has a control character in its value");
    }
}

std::string effective_path(const SigningRequest& request) {
    return request.path.empty() ? std::string("/") : request.path;
}

std::string signature_of(const Credentials& credentials, std::string_view day, const SigningScope& scope,
                         std::string_view string_to_sign) {
    const std::string key =
        default_signing_key_cache().get(credentials, day, scope.region, scope.service);
    return to_hex(hmac_sha256(key, string_to_sign));
}

}  // namespace

// ---- encoding --------------------------------------------------------------------------

std::string uri_encode(std::string_view raw, bool encode_slash) {
    static constexpr std::array<char, 16> hex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                 '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
    std::string out;
    out.reserve(raw.size() * 3);
    for (char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (c == '/' && !encode_slash)) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0f];
        }
    }
    return out;
}

std::string encoded_query_string(const std::vector<std::pair<std::string, std::string>>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
    std::sort(encoded.begin(), encoded.end());  // by encoded name, then encoded value
    std::string out;
    for (const auto& [name, value] : encoded) {
        if (!out.empty()) out += '&';
        out += name + '=' + value;
    }
    return out;
}

std::string canonical_uri(std::string_view raw_path, bool normalize) {
    if (raw_path.empty()) return "/";
    // S3 object keys may legitimately contain "//", "." and "..": normalizing would sign
    // (and address) a different object, so S3 never asks for it.
    if (!normalize) return uri_encode(raw_path, false);
    return uri_encode(remove_dot_segments(raw_path), false);
}

std::string derive_signing_key(std::string_view secret, std::string_view day, std::string_view region,
                               std::string_view service) {
    const std::string k_date = hmac_sha256("AWS4" + std::string(secret), day);
    const std::string k_region = hmac_sha256(k_date, region);
    const std::string k_service = hmac_sha256(k_region, service);
    return hmac_sha256(k_service, scope_terminator);
}

// ---- Authorization header --------------------------------------------------------------

SignedRequest sign_request(const SigningRequest& request, const Credentials& credentials,
                           const SigningScope& scope) {
    validate_common(request, credentials, scope);
    validate_headers(request.headers, scope);
    if (!is_payload_hash(request.payload_sha256_hex))
        invalid("payload_sha256_hex must be 64 lower-case hex digits or UNSIGNED-PAYLOAD");

    const std::string amz_date = format_amz_date(scope.time);
    const std::string day = format_amz_day(scope.time);

    // The headers that go on the wire; all of them are signed.
    SignedRequest out;
    out.headers = request.headers;
    out.headers.emplace_back("host", request.host);
    out.headers.emplace_back("x-amz-date", amz_date);
    // S3 refuses requests without it; it also binds the body to the signature.
    if (scope.add_content_sha256) out.headers.emplace_back("x-amz-content-sha256", request.payload_sha256_hex);
    if (!credentials.session_token.empty())
        out.headers.emplace_back("x-amz-security-token", credentials.session_token);

    const CanonicalHeaders canonical = canonicalize_headers(out.headers);
    out.canonical_request = build_canonical_request(request.method, canonical_uri(effective_path(request), scope.normalize_path),
                                                    encoded_query_string(request.query), canonical,
                                                    request.payload_sha256_hex);
    const std::string cred_scope = credential_scope(day, scope);
    out.string_to_sign = build_string_to_sign(amz_date, cred_scope, out.canonical_request);
    out.signature = signature_of(credentials, day, scope, out.string_to_sign);

    out.headers.emplace_back("authorization", std::string(algorithm) + " Credential=" + credentials.access_key_id +
                                                  '/' + cred_scope + ", SignedHeaders=" + canonical.signed_names +
                                                  ", Signature=" + out.signature);
    return out;
}

// ---- presigned URL (query authentication) ----------------------------------------------

PresignedUrl presign(const SigningRequest& request, const Credentials& credentials, const SigningScope& scope,
                     std::chrono::seconds expires, std::string_view scheme) {
    validate_common(request, credentials, scope);
    validate_headers(request.headers, scope);
    if (expires < std::chrono::seconds(1) || expires > max_presign_expiry)
        invalid("presigned URL expiry must be 1 s to 7 days, got " + std::to_string(expires.count()) + " s");
    if (scheme != "https" && scheme != "http") invalid("URL scheme must be https or http");
    for (const auto& [name, value] : request.query)
        if (to_lower(name).starts_with("x-amz-"))
            invalid("query parameter '" + name + "' is set by the signer in a presigned URL");
    // A presigned URL is used later by someone else, with a body we do not know.
    const std::string payload = request.payload_sha256_hex.empty() ? std::string(unsigned_payload)
                                                                    : request.payload_sha256_hex;
    if (!is_payload_hash(payload)) invalid("payload_sha256_hex must be 64 lower-case hex digits or UNSIGNED-PAYLOAD");

    const std::string amz_date = format_amz_date(scope.time);
    const std::string day = format_amz_day(scope.time);
    const std::string cred_scope = credential_scope(day, scope);

    HttpHeaders headers = request.headers;
    headers.emplace_back("host", request.host);
    const CanonicalHeaders canonical = canonicalize_headers(headers);

    // The authentication parameters travel in the query and are signed with it.
    auto query = request.query;
    query.emplace_back("X-Amz-Algorithm", std::string(algorithm));
    query.emplace_back("X-Amz-Credential", credentials.access_key_id + '/' + cred_scope);
    query.emplace_back("X-Amz-Date", amz_date);
    query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
    query.emplace_back("X-Amz-SignedHeaders", canonical.signed_names);
    if (!credentials.session_token.empty()) query.emplace_back("X-Amz-Security-Token", credentials.session_token);
    const std::string query_string = encoded_query_string(query);
    const std::string uri = canonical_uri(effective_path(request), scope.normalize_path);

    PresignedUrl out;
    out.canonical_request = build_canonical_request(request.method, uri, query_string, canonical, payload);
    out.string_to_sign = build_string_to_sign(amz_date, cred_scope, out.canonical_request);
    out.signature = signature_of(credentials, day, scope, out.string_to_sign);
    out.url = std::string(scheme) + "://" + request.host + uri + '?' + query_string +
              "&X-Amz-Signature=" + out.signature;
    return out;
}

std::string presign_url(const SigningRequest& request, const Credentials& credentials, const SigningScope& scope,
                        std::chrono::seconds expires, std::string_view scheme) {
    return presign(request, credentials, scope, expires, scheme).url;
}

// ---- signing-key cache ------------------------------------------------------------------

std::string SigningKeyCache::get(const Credentials& credentials, std::string_view day, std::string_view region,
                                 std::string_view service) {
    // sign_request/presign refuse control characters in every part, so for them the
    // '\n'-joined id is unambiguous; the secret fingerprint is checked on every hit anyway.
    std::string id = credentials.access_key_id;
    id.append("\n").append(day).append("\n").append(region).append("\n").append(service);
    const std::string fingerprint = sha256(credentials.secret_access_key);

    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end() &&
                                     constant_time_equal(it->second.secret_fingerprint, fingerprint))
        return it->second.key;
    if (entries_.size() >= capacity_) entries_.clear();  // days roll over; old entries are dead weight
    std::string key = derive_signing_key(credentials.secret_access_key, day, region, service);
    entries_[id] = Entry{fingerprint, key};
    ++derivations_;
    return key;
}

std::size_t SigningKeyCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t SigningKeyCache::derivations() const {
    std::lock_guard lock(mutex_);
    return derivations_;
}

void SigningKeyCache::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
}

SigningKeyCache& default_signing_key_cache() {
    static SigningKeyCache cache;
    return cache;
}

}  // namespace worm::s3
