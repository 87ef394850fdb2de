// sigv4.cpp: AWS Signature Version 4 (see include/worm/s3/sigv4.hpp for the steps).
//
// Read top-down: character classes and encoding, canonical pieces, validation, the two
// signing entry points, then the signing-key cache. No function here logs, and no error
// message contains the secret key, the session token, a signing key or a signature.
//
// An uploader signs every request, so the signing path appends each piece into one
// reserved buffer (no temporaries), sorts references to the headers instead of copying
// them into a map, and hashes into stack arrays; errors are built only when thrown.
#include "worm/s3/sigv4.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <tuple>

#include "../crypto/digest.hpp"
#include "../util/percent_encoding.hpp"
#include "../util/text.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"

namespace worm::s3 {

namespace {

using worm::detail::to_lower;

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view scope_terminator = "aws4_request";

[[noreturn]] void invalid(const std::string& what) {
    throw Error(ErrorCode::invalid_argument, "SigV4: " + what);
}

// ---- character classes: 256-entry tables, as they run on every byte --------------------

using CharClass = std::array<bool, 256>;

constexpr CharClass make_class(bool (*member)(unsigned char)) {
    CharClass table{};
    for (int c = 0; c < 256; ++c) table[static_cast<std::size_t>(c)] = member(static_cast<unsigned char>(c));
    return table;
}

// RFC 9110 token: what a method or a header name may hold.
constexpr CharClass token = make_class([](unsigned char c) {
    if (c <= 0x20 || c >= 0x7f) return false;
    return std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) == std::string_view::npos;
});

// What a hex SHA-256 payload hash may hold.
constexpr CharClass lower_hex =
    make_class([](unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });

bool in(const CharClass& cls, char c) { return cls[static_cast<unsigned char>(c)]; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `s` equals the lower-case `lower_case`, ignoring the case of `s`.
bool equals_lower(std::string_view s, std::string_view lower_case) {
    return s.size() == lower_case.size() &&
           std::equal(s.begin(), s.end(), lower_case.begin(), [](char a, char b) { return lower(a) == b; });
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// ---- encoding ----------------------------------------------------------------------------

void append_uri_encoded(std::string& out, std::string_view raw, bool encode_slash) {
    worm::detail::append_percent_encoded(out, raw,
                                   encode_slash ? worm::detail::PercentKeep::unreserved
                                                : worm::detail::PercentKeep::unreserved_and_slash);
}

void append_encoded_query(std::string& out, const std::vector<std::pair<std::string, std::string>>& query) {
    if (query.empty()) return;
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
    std::sort(encoded.begin(), encoded.end());  // by encoded name, then encoded value
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        if (i > 0) out += '&';
        out.append(encoded[i].first).append(1, '=').append(encoded[i].second);
    }
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

void append_canonical_uri(std::string& out, std::string_view raw_path, bool normalize) {
    if (raw_path.empty()) {
        out += '/';
        return;
    }
    // S3 object keys may legitimately contain "//", "." and "..": normalizing would sign
    // (and address) a different object, so S3 never asks for it.
    if (!normalize) return append_uri_encoded(out, raw_path, false);
    append_uri_encoded(out, remove_dot_segments(raw_path), false);
}

// ---- canonical headers ---------------------------------------------------------------

// SigV4 header value: trimmed, and every inner run of spaces/tabs folded to one space.
void append_canonical_header_value(std::string& out, std::string_view value) {
    if (std::none_of(value.begin(), value.end(), is_space)) {
        out.append(value);  // the usual case: nothing to trim or fold
        return;
    }
    bool wrote = false, pending_space = false;
    for (char c : value) {
        if (is_space(c)) {
            pending_space = wrote;
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        wrote = true;
        out += c;
    }
}

// The headers in canonical order: sorted by lower-cased name (byte order), the values of
// a repeated name in request order. Names are lower-cased once, into one buffer; values
// are views into the headers given, which must outlive this.
class CanonicalHeaders {
public:
    explicit CanonicalHeaders(const HttpHeaders& headers) {
        std::size_t names_size = 0;
        for (const auto& header : headers) names_size += header.first.size();
        names_.resize(names_size);
        entries_.reserve(headers.size());
        std::size_t at = 0;
        for (const auto& [name, value] : headers) {
            entries_.push_back({at, name.size(), value});
            std::transform(name.begin(), name.end(), names_.begin() + static_cast<std::ptrdiff_t>(at), lower);
            at += name.size();
        }
        // Insertion sort: stable (repeats keep request order), no allocation, and a request
        // has a handful of headers.
        for (std::size_t i = 1; i < entries_.size(); ++i)
            for (std::size_t j = i; j > 0 && name(j - 1) > name(j); --j) std::swap(entries_[j - 1], entries_[j]);
    }

    // "name:value\n" per distinct name; a repeated name's values joined by ','.
    void append_block(std::string& out) const {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (repeats_previous(i)) {
                out.back() = ',';  // in place of the previous value's '\n'
            } else {
                out.append(name(i)).append(1, ':');
            }
            append_canonical_header_value(out, entries_[i].value);
            out += '\n';
        }
    }

    // "host;x-amz-date": the distinct names in canonical order.
    void append_signed_names(std::string& out) const {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (repeats_previous(i)) continue;
            if (i > 0) out += ';';
            out.append(name(i));
        }
    }

private:
    struct Entry {
        std::size_t name_at, name_size;  // in names_
        std::string_view value;
    };
    std::string_view name(std::size_t i) const {
        return std::string_view(names_).substr(entries_[i].name_at, entries_[i].name_size);
    }
    bool repeats_previous(std::size_t i) const { return i > 0 && name(i - 1) == name(i); }

    std::string names_;  // every name lower-cased, back to back
    std::vector<Entry> entries_;
};

// ---- canonical request, string to sign, signature ----------------------------------------

// "20130524" of "20130524T000000Z".
std::string_view day_of(std::string_view amz_date) { return amz_date.substr(0, 8); }


// Room for the canonical request in one allocation: the path may triple when
// percent-encoded, header names appear twice (block and signed names).
std::size_t canonical_request_capacity(const SigningRequest& request, const HttpHeaders& headers,
                                       std::size_t query_size) {
    std::size_t size = request.method.size() + 3 * request.path.size() + query_size + 64 + 16;
    for (const auto& [name, value] : headers) size += 2 * name.size() + value.size() + 3;
    return size;
}

// METHOD \n URI \n QUERY \n HEADERS \n SIGNED-NAMES \n PAYLOAD-HASH into `out`; returns
// where the signed names start (they end at the next '\n').
std::size_t build_canonical_request(std::string& out, const SigningRequest& request, const SigningScope& scope,
                                    std::string_view encoded_query, const CanonicalHeaders& headers,
                                    std::string_view payload_hash) {
    out.append(request.method).append(1, '\n');
    append_canonical_uri(out, request.path, scope.normalize_path);
    out.append(1, '\n').append(encoded_query).append(1, '\n');
    headers.append_block(out);
    out += '\n';  // the block ends in '\n' itself: one empty line follows
    const std::size_t names_at = out.size();
    headers.append_signed_names(out);
    out.append(1, '\n').append(payload_hash);
    return names_at;
}

// "20130524/us-east-1/s3/aws4_request"
void append_credential_scope(std::string& out, std::string_view day, const SigningScope& scope) {
    out.append(day).append(1, '/').append(scope.region).append(1, '/').append(scope.service).append(1, '/');
    out.append(scope_terminator);
}

std::size_t credential_scope_size(std::string_view day, const SigningScope& scope) {
    return day.size() + scope.region.size() + scope.service.size() + scope_terminator.size() + 3;
}

std::string build_string_to_sign(std::string_view amz_date, const SigningScope& scope,
                                  std::string_view canonical_request) {
    const std::string_view day = day_of(amz_date);
    std::string sts;
    sts.reserve(algorithm.size() + amz_date.size() + credential_scope_size(day, scope) + 3 + 64);
    sts.append(algorithm).append(1, '\n').append(amz_date).append(1, '\n');
    append_credential_scope(sts, day, scope);
    sts += '\n';
    detail::append_hex(sts, detail::as_chars(detail::sha256_digest(canonical_request)));
    return sts;
}

std::string signature_of(const Credentials& credentials, std::string_view day, const SigningScope& scope,
                         std::string_view string_to_sign) {
    const SigningKeyCache::Key key = default_signing_key_cache().key(credentials, day, scope.region, scope.service);
    const std::string_view key_bytes(reinterpret_cast<const char*>(key.data()), key.size());
    std::string signature;
    detail::append_hex(signature, detail::as_chars(detail::hmac_sha256_digest(key_bytes, string_to_sign)));
    return signature;
}


// ---- validation: refuse what would make a request ambiguous or inject headers ----------

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return in(token, c); });
}

bool is_payload_hash(std::string_view h) {
    if (h == unsigned_payload) return true;
    return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) { return in(lower_hex, c); });
}

void validate_common(const SigningRequest& request, const Credentials& credentials, const SigningScope& scope) {
    if (!is_token(request.method)) invalid("request method is empty or not an HTTP token");
    if (request.host.empty() || has_control_char(request.host) ||
        std::any_of(request.host.begin(), request.host.end(), [](char c) { return c == ' ' || c == '/'; }))
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
bool is_signer_header(std::string_view name, const SigningScope& scope) {
    return equals_lower(name, "host") || equals_lower(name, "authorization") || equals_lower(name, "x-amz-date") ||
           equals_lower(name, "x-amz-security-token") ||
           (scope.add_content_sha256 && equals_lower(name, "x-amz-content-sha256"));
}

void validate_headers(const HttpHeaders& headers, const SigningScope& scope) {
    for (const auto& [name, value] : headers) {
        if (!is_token(name)) invalid("header name '" + name + "' is empty or not an HTTP token");
        if (is_signer_header(name, scope))
            invalid("header '" + to_lower(name) + "' is set by the signer; do not pass it in SigningRequest::headers");
        // CR/LF in a value would let a caller smuggle extra headers onto the wire.
        if (has_control_char(value)) invalid("header '" + to_lower(name) + "' has a control character in its value");
    }
}

}  // namespace

// ---- public encoding helpers ---------------------------------------------------------

std::string uri_encode(std::string_view raw, bool encode_slash) {
    std::string out;
    out.reserve(raw.size() * 3);
    append_uri_encoded(out, raw, encode_slash);
    return out;
}

std::string encoded_query_string(const std::vector<std::pair<std::string, std::string>>& query) {
    std::string out;
    append_encoded_query(out, query);
    return out;
}

std::string canonical_uri(std::string_view raw_path, bool normalize) {
    std::string out;
    out.reserve(raw_path.size() * 3 + 1);
    append_canonical_uri(out, raw_path, normalize);
    return out;
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

    // The headers that go on the wire; all of them are signed. Room for all the signer's
    // headers up front: views below point into these strings, so the vector must not move.
    SignedRequest out;
    out.headers.reserve(request.headers.size() + 5);
    out.headers.assign(request.headers.begin(), request.headers.end());
    out.headers.emplace_back("host", request.host);
    const std::string_view amz_date = out.headers.emplace_back("x-amz-date", format_amz_date(scope.time)).second;
    const std::string_view day = day_of(amz_date);
    // S3 refuses requests without it; it also binds the body to the signature.
    if (scope.add_content_sha256) out.headers.emplace_back("x-amz-content-sha256", request.payload_sha256_hex);
    if (!credentials.session_token.empty())
        out.headers.emplace_back("x-amz-security-token", credentials.session_token);

    const std::string query = encoded_query_string(request.query);
    std::string& canonical = out.canonical_request;
    canonical.reserve(canonical_request_capacity(request, out.headers, query.size()));
    const std::size_t names_at = build_canonical_request(canonical, request, scope, query,
                                                         CanonicalHeaders(out.headers), request.payload_sha256_hex);
    const std::string_view signed_names =
        std::string_view(canonical).substr(names_at, canonical.find('\n', names_at) - names_at);

    out.string_to_sign = build_string_to_sign(amz_date, scope, canonical);
    out.signature = signature_of(credentials, day, scope, out.string_to_sign);

    constexpr std::string_view credential_label = " Credential=", names_label = ", SignedHeaders=",
                               signature_label = ", Signature=";
    std::string authorization;
    authorization.reserve(algorithm.size() + credential_label.size() + credentials.access_key_id.size() + 1 +
                          credential_scope_size(day, scope) + names_label.size() + signed_names.size() +
                          signature_label.size() + out.signature.size());
    authorization.append(algorithm).append(credential_label).append(credentials.access_key_id).append(1, '/');
    append_credential_scope(authorization, day, scope);
    authorization.append(names_label).append(signed_names).append(signature_label).append(out.signature);
    out.headers.emplace_back("authorization", std::move(authorization));
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
        if (name.size() >= 6 && equals_lower(std::string_view(name).substr(0, 6), "x-amz-"))
            invalid("query parameter '" + name + "' is set by the signer in a presigned URL");
    // A presigned URL is used later by someone else, with a body we do not know.
    const std::string_view payload =
        request.payload_sha256_hex.empty() ? unsigned_payload : std::string_view(request.payload_sha256_hex);
    if (!is_payload_hash(payload)) invalid("payload_sha256_hex must be 64 lower-case hex digits or UNSIGNED-PAYLOAD");

    const std::string amz_date = format_amz_date(scope.time);
    const std::string_view day = day_of(amz_date);

    HttpHeaders headers = request.headers;
    headers.emplace_back("host", request.host);
    const CanonicalHeaders canonical_headers(headers);
    std::string signed_names, credential = credentials.access_key_id + '/';
    canonical_headers.append_signed_names(signed_names);
    append_credential_scope(credential, day, scope);

    // The authentication parameters travel in the query and are signed with it.
    auto query = request.query;
    query.emplace_back("X-Amz-Algorithm", std::string(algorithm));
    query.emplace_back("X-Amz-Credential", std::move(credential));
    query.emplace_back("X-Amz-Date", amz_date);
    query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
    query.emplace_back("X-Amz-SignedHeaders", std::move(signed_names));
    if (!credentials.session_token.empty()) query.emplace_back("X-Amz-Security-Token", credentials.session_token);
    const std::string query_string = encoded_query_string(query);

    PresignedUrl out;
    out.canonical_request.reserve(canonical_request_capacity(request, headers, query_string.size()));
    build_canonical_request(out.canonical_request, request, scope, query_string, canonical_headers, payload);
    out.string_to_sign = build_string_to_sign(amz_date, scope, out.canonical_request);
    out.signature = signature_of(credentials, day, scope, out.string_to_sign);
    out.url.append(scheme).append("://").append(request.host);
    append_canonical_uri(out.url, request.path, scope.normalize_path);
    out.url.append(1, '?').append(query_string).append("&X-Amz-Signature=").append(out.signature);
    return out;
}

std::string presign_url(const SigningRequest& request, const Credentials& credentials, const SigningScope& scope,
                        std::chrono::seconds expires, std::string_view scheme) {
    return presign(request, credentials, scope, expires, scheme).url;
}

// ---- signing-key cache ------------------------------------------------------------------

struct SigningKeyCache::State {
    // What a key is derived for; looked up with string_views (IdView), so a hit builds nothing.
    template <class S>
    struct BasicId {
        S access_key_id, day, region, service;
        auto parts() const {
            return std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>(
                access_key_id, day, region, service);
        }
    };
    using Id = BasicId<std::string>;
    using IdView = BasicId<std::string_view>;
    struct IdLess {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const { return a.parts() < b.parts(); }
    };
    struct Entry {
        Key secret_fingerprint;  // SHA-256 of the secret
        Key key;
    };

    explicit State(std::size_t c) : capacity(c) {}

    std::size_t capacity;
    mutable std::mutex mutex;
    std::map<Id, Entry, IdLess> entries;
    std::size_t derivations = 0;
};

SigningKeyCache::SigningKeyCache(std::size_t capacity) : state_(std::make_unique<State>(capacity)) {}

SigningKeyCache::~SigningKeyCache() = default;

SigningKeyCache::Key SigningKeyCache::key(const Credentials& credentials, std::string_view day,
                                          std::string_view region, std::string_view service) {
    State& st = *state_;
    const State::IdView id{credentials.access_key_id, day, region, service};
    const detail::Sha256Digest fingerprint = detail::sha256_digest(credentials.secret_access_key);

    std::lock_guard lock(st.mutex);
    if (auto it = st.entries.find(id); it != st.entries.end() &&
                                       constant_time_equal(detail::as_chars(it->second.secret_fingerprint),
                                                           detail::as_chars(fingerprint)))
        return it->second.key;
    if (st.entries.size() >= st.capacity) st.entries.clear();  // days roll over; old entries are dead weight
    const std::string derived = derive_signing_key(credentials.secret_access_key, day, region, service);
    State::Entry entry{.secret_fingerprint = fingerprint, .key = {}};
    std::copy(derived.begin(), derived.end(), entry.key.begin());
    st.entries.insert_or_assign(State::Id{std::string(id.access_key_id), std::string(day), std::string(region),
                                          std::string(service)},
                                entry);
    ++st.derivations;
    return entry.key;
}

std::string SigningKeyCache::get(const Credentials& credentials, std::string_view day, std::string_view region,
                                 std::string_view service) {
    const Key k = key(credentials, day, region, service);
    return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

std::size_t SigningKeyCache::size() const {
    std::lock_guard lock(state_->mutex);
    return state_->entries.size();
}

std::size_t SigningKeyCache::derivations() const {
    std::lock_guard lock(state_->mutex);
    return state_->derivations;
}

void SigningKeyCache::clear() {
    std::lock_guard lock(state_->mutex);
    state_->entries.clear();
}

SigningKeyCache& default_signing_key_cache() {
    static SigningKeyCache cache;
    return cache;
}

}  // namespace worm::s3
