// The worm-proxy API: authentication, tenant confinement, lock policy, backend calls.
#include "api.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>

#include "../lib/util/text.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/proxy/protocol.hpp"
#include "worm/storage/keys.hpp"

namespace worm::proxy_server {

namespace fs = std::filesystem;
namespace wire = worm::proxy;

namespace {

using worm::detail::to_lower;

// A refusal that is not a worm::Error (auth, tenant, size, routing).
struct Refusal {
    int status;
    std::string_view name;
    std::string message;
};

[[noreturn]] void refuse(int status, std::string_view name, std::string message) {
    throw Refusal{status, name, std::move(message)};
}

[[noreturn]] void bad_request(std::string message) { throw Error(ErrorCode::invalid_argument, std::move(message)); }

ApiResponse json_response(int status, std::string body) {
    ApiResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
}

ApiResponse response_for(const Refusal& refusal) {
    ApiResponse r = error_response(refusal.status, refusal.name, refusal.message);
    if (refusal.status == 401) r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="worm-proxy")");
    return r;
}

// A failure of the backend store (a 5xx, or anything an S3 server said) is told to the
// client by kind and request id only: its text names the bucket, the S3 request id and
// local paths, which stay in the proxy's log (ApiResponse::log_detail).
ApiResponse backend_failure(int status, std::string_view name, std::string detail, const std::string& request_id) {
    ApiResponse r = error_response(status, name, "the storage backend failed (" + std::string(name) +
                                                     "); the proxy logged the details under request id " + request_id);
    r.log_detail = std::move(detail);
    return r;
}

// A missing object is answered with the key (and version) the client asked for, whatever the
// backend: a local store's message names its directory, an S3 one the bucket.
ApiResponse response_for(const Error& e, const std::string& key, const std::optional<std::string>& version_id,
                         const std::string& request_id) {
    const int status = wire::http_status_for(e.code());
    if (e.code() == ErrorCode::not_found && !key.empty()) {
        ApiResponse r = error_response(status, to_string(e.code()),
                                       "no object " + quote_key(key) + (version_id ? " version " + *version_id : ""));
        r.log_detail = e.what();
        return r;
    }
    if (status >= 500 || dynamic_cast<const S3Error*>(&e) != nullptr)
        return backend_failure(status, to_string(e.code()), e.what(), request_id);
    return error_response(status, to_string(e.code()), e.what());
}

bool is_sha256_hex(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool parse_on_off(std::string_view header, const std::string& value) {
    const std::string v = to_lower(value);
    if (v == "on" || v == "true") return true;
    if (v == "off" || v == "false") return false;
    bad_request(std::string(header) + " must be ON or OFF, got '" + value + "'");
}

std::optional<std::string> query_value(const Prepared& p, const std::string& name) {
    auto it = p.query.find(name);
    if (it == p.query.end()) return std::nullopt;
    return it->second;
}

// "bytes=first-[last]"; suffix and multiple ranges are not supported.
std::pair<std::uint64_t, std::optional<std::uint64_t>> parse_range(const std::string& text) {
    auto fail = [&]() -> void { bad_request("Range must be 'bytes=FIRST-[LAST]', got '" + text + "'"); };
    if (!text.starts_with("bytes=")) fail();
    const std::string spec = text.substr(6);
    const std::size_t dash = spec.find('-');
    if (dash == std::string::npos || dash == 0) fail();
    auto number = [&](std::string_view s) {
        std::uint64_t v = 0;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || ptr != s.data() + s.size()) fail();
        return v;
    };
    const std::uint64_t first = number(std::string_view(spec).substr(0, dash));
    if (dash + 1 == spec.size()) return {first, std::nullopt};
    const std::uint64_t last = number(std::string_view(spec).substr(dash + 1));
    if (last < first) fail();
    return {first, last};
}

}  // namespace

ApiResponse error_response(int status, std::string_view name, std::string_view message) {
    ApiResponse r = json_response(status, wire::error_json(name, message));
    r.error_name = std::string(name);
    return r;
}

Api::Api(ObjectStore& store, std::vector<TokenEntry> tokens, Policy policy, fs::path spool_dir, const Clock& clock)
    : store_(store), tokens_(std::move(tokens)), policy_(std::move(policy)), spool_dir_(std::move(spool_dir)), clock_(&clock) {}

std::optional<std::string> Api::authenticate(std::string_view token) const {
    // Hashing first makes every comparison the same length; no entry is skipped.
    const std::string presented = sha256(token);
    const std::string* found = nullptr;
    for (const auto& entry : tokens_)
        if (constant_time_equal(presented, entry.token_sha256)) found = &entry.client_id;
    if (!found) return std::nullopt;
    return *found;
}

fs::path Api::spool_path(std::string_view tag) const {
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string name(tag);
    name += '-';
    for (int i = 0; i < 16; ++i) name += hex[random() & 15];
    return spool_dir_ / name;
}

Prepared Api::prepare(const ApiRequest& request) const {
    Prepared p;
    try {
        const std::string_view target = request.target;
        const std::size_t question = target.find('?');
        const std::string path(target.substr(0, question));
        if (path == "/health") {
            if (request.method != "GET") refuse(405, wire::error_no_route, "use GET /health");
            p.endpoint = Endpoint::health;
            return p;
        }
        // Like /health, no token: scrapers hold none; it names tenants and counts, no keys or data.
        if (path == "/metrics") {
            if (request.method != "GET") refuse(405, wire::error_no_route, "use GET /metrics");
            p.endpoint = Endpoint::metrics;
            return p;
        }

        // Authentication comes before anything that would tell an outsider about the API.
        const auto authorization = find_header(request.headers, "authorization");
        if (!authorization) refuse(401, wire::error_unauthorized, "missing Authorization: Bearer token");
        if (authorization->size() < 7 || to_lower(authorization->substr(0, 7)) != "bearer ")
            refuse(401, wire::error_unauthorized, "Authorization must use the Bearer scheme");
        std::string_view token = std::string_view(*authorization).substr(7);
        while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
        const auto client = authenticate(token);
        if (!client) refuse(401, wire::error_unauthorized, "unknown or revoked token");
        p.client_id = *client;

        struct Route {
            std::string_view path;
            Endpoint endpoint;
            std::vector<std::string_view> methods;
        };
        static const std::vector<Route> routes = {
            {"/evidence/upload", Endpoint::upload, {"PUT", "POST"}},
            {"/evidence/object", Endpoint::object, {"GET", "DELETE"}},
            {"/evidence/head", Endpoint::head, {"GET"}},
            {"/evidence/list", Endpoint::list, {"GET"}},
            {"/evidence/retention", Endpoint::retention, {"GET", "PUT"}},
            {"/evidence/legal-hold", Endpoint::legal_hold, {"GET", "PUT"}},
        };
        const auto route = std::find_if(routes.begin(), routes.end(), [&](const Route& r) { return r.path == path; });
        if (route == routes.end()) refuse(404, wire::error_no_route, "no endpoint " + quote_key(path));
        if (std::find(route->methods.begin(), route->methods.end(), request.method) == route->methods.end())
            refuse(405, wire::error_no_route, request.method + " is not allowed on " + path);
        p.endpoint = route->endpoint;
        p.query = wire::parse_query(question == std::string_view::npos ? std::string_view{} : target.substr(question + 1));

        const std::string prefix = wire::client_prefix(p.client_id);
        if (p.endpoint == Endpoint::list) {
            std::string& list_prefix = p.query["prefix"];
            if (list_prefix.empty()) list_prefix = prefix;
            if (!list_prefix.starts_with(prefix))
                refuse(403, wire::error_forbidden, "prefix " + quote_key(list_prefix) + " is outside " + prefix);
        } else {
            // POST /evidence/upload may carry the key in a header (percent-encoded like the query).
            std::optional<std::string> key = query_value(p, "key");
            if (!key && request.method == "POST")
                if (auto h = find_header(request.headers, wire::header_key)) key = wire::percent_decode(*h, false);
            if (!key) bad_request("the object key is missing (?key=...)");
            validate_object_key(*key);  // no "..", ".", empty segments, absolute paths, control characters
            if (!key->starts_with(prefix))
                refuse(403, wire::error_forbidden, "key " + quote_key(*key) + " is outside " + prefix);
            p.key = std::move(*key);
        }

        if (p.endpoint == Endpoint::upload) {
            if (request.content_length && *request.content_length > policy_.max_body)
                refuse(413, wire::error_too_large, "the body of " + std::to_string(*request.content_length) +
                                                       " bytes is over the limit of " +
                                                       std::to_string(policy_.max_body));
            const auto sha = find_header(request.headers, wire::header_sha256);
            if (!sha) bad_request(std::string(wire::header_sha256) + " is required");
            if (!is_sha256_hex(*sha)) bad_request(std::string(wire::header_sha256) + " must be 64 hex digits");
            p.body = BodyKind::upload;
        } else {
            p.body = BodyKind::small;
            if (request.content_length && *request.content_length > small_body_limit)
                refuse(413, wire::error_too_large, "request bodies of this endpoint are limited to " +
                                                       std::to_string(small_body_limit) + " bytes");
        }
    } catch (const Refusal& r) {
        p.refusal = response_for(r);
    } catch (const Error& e) {
        p.refusal = response_for(e, p.key, std::nullopt, request.request_id);
    }
    return p;
}

ApiResponse Api::handle(const Prepared& p, const ApiRequest& r, const std::string& small_body, const fs::path* upload_file) {
    try {
        const auto version_id = query_value(p, "version_id");
        switch (p.endpoint) {
            case Endpoint::health: return json_response(200, R"({"status":"ok"})");
            case Endpoint::metrics: {
                ApiResponse m{.status = 200, .headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}},
                              .body = metrics_text(), .body_file = {}, .error_name = {}, .log_detail = {}};
                return m;
            }
            case Endpoint::upload: {
                const auto started = std::chrono::steady_clock::now();
                ++uploads_in_flight_;
                ApiResponse response;
                try {
                    response = upload(p, r, upload_file ? PutBody::from_file(*upload_file) : PutBody::from_bytes(small_body));
                } catch (const Refusal& refusal) {
                    response = response_for(refusal);
                } catch (const Error& e) {
                    response = response_for(e, p.key, query_value(p, "version_id"), r.request_id);
                }
                --uploads_in_flight_;
                record_upload(p.client_id, response,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
                return response;
            }
            case Endpoint::object:
                if (r.method == "GET") return get_object(p, r);
                if (!policy_.allow_delete) refuse(403, wire::error_forbidden, "this proxy does not forward deletes");
                if (auto bypass = find_header(r.headers, wire::header_bypass_governance); bypass && parse_on_off(wire::header_bypass_governance, *bypass))
                    refuse(403, wire::error_forbidden, "clients may not bypass GOVERNANCE retention");
                {
                    DeleteOptions options;
                    options.version_id = version_id;
                    store_.remove(p.key, options);
                }
                return ApiResponse{.status = 204, .headers = {}, .body = {}, .body_file = {}, .error_name = {}, .log_detail = {}};
            case Endpoint::head: return json_response(200, wire::object_info_json(store_.head(p.key, version_id)));
            case Endpoint::list: return list(p);
            case Endpoint::retention: {
                if (r.method == "GET") return json_response(200, wire::retention_json(store_.get_retention(p.key, version_id)));
                bool bypass = false;
                const Retention wanted = wire::parse_retention_request(small_body, bypass);
                if (bypass) refuse(403, wire::error_forbidden, "clients may not bypass GOVERNANCE retention");
                if (policy_.lock_mode == LockMode::compliance && wanted.mode != LockMode::compliance)
                    refuse(403, wire::error_forbidden, "this proxy keeps evidence in COMPLIANCE mode");
                RetentionOptions options;
                options.version_id = version_id;
                store_.put_retention(p.key, wanted, options);
                return json_response(200, wire::retention_json(wanted));
            }
            case Endpoint::legal_hold: {
                if (r.method == "GET") return json_response(200, wire::legal_hold_json(store_.get_legal_hold(p.key, version_id)));
                const bool on = wire::parse_legal_hold(small_body);
                if (!on && !policy_.allow_legal_hold_release)
                    refuse(403, wire::error_forbidden, "this proxy does not let clients release legal holds");
                store_.put_legal_hold(p.key, on, version_id);
                return json_response(200, wire::legal_hold_json(on));
            }
        }
        throw Error(ErrorCode::internal, "unrouted endpoint");
    } catch (const Refusal& refusal) {
        return response_for(refusal);
    } catch (const Error& e) {
        return response_for(e, p.key, query_value(p, "version_id"), r.request_id);
    } catch (const std::exception& e) {
        return backend_failure(500, "internal", std::string("internal error: ") + e.what(), r.request_id);
    }
}

ApiResponse Api::upload(const Prepared& p, const ApiRequest& r, const PutBody& body) {
    const std::string claimed = to_lower(*find_header(r.headers, wire::header_sha256));
    const std::string actual = body.is_file() ? to_hex(sha256_file(std::get<fs::path>(body.source)))
                                              : sha256_hex(std::get<std::string>(body.source));
    if (actual != claimed)
        throw Error(ErrorCode::integrity, "the body's SHA-256 " + actual + " does not match " +
                                              std::string(wire::header_sha256) + " " + claimed);
    PutOptions options;
    options.content_type = find_header(r.headers, "content-type").value_or("application/octet-stream");
    options.sha256_hex = actual;
    for (const auto& [name, value] : r.headers) {
        const std::string n = to_lower(name);
        const std::string meta_prefix = to_lower(wire::header_meta_prefix);
        if (n.starts_with(meta_prefix) && n.size() > meta_prefix.size()) options.metadata[n.substr(meta_prefix.size())] = value;
    }
    // Which client sent the evidence is the proxy's statement, not the client's.
    options.metadata[std::string(wire::proxy_client_meta)] = p.client_id;

    // The client's lock, raised to the proxy's minimum: never weaker than the policy.
    const auto mode = find_header(r.headers, wire::header_lock_mode);
    const auto until = find_header(r.headers, wire::header_retain_until);
    if (mode.has_value() != until.has_value())
        bad_request(std::string(wire::header_lock_mode) + " and " + std::string(wire::header_retain_until) +
                    " go together");
    if (mode) options.lock.retention = Retention{.mode = parse_lock_mode(*mode), .retain_until = parse_retention_date(*until)};
    if (auto hold = find_header(r.headers, wire::header_legal_hold)) options.lock.legal_hold = parse_on_off(wire::header_legal_hold, *hold);
    const TimePoint now = clock_->now();
    if (options.lock.retention && options.lock.retention->retain_until <= now)
        bad_request(std::string(wire::header_retain_until) + " " + *until + " is not in the future");
    if (policy_.retention_days > 0) {
        const RetentionDate minimum =
            std::chrono::ceil<std::chrono::seconds>(now + std::chrono::days(policy_.retention_days));
        if (!options.lock.retention) options.lock.retention = Retention{.mode = policy_.lock_mode, .retain_until = minimum};
        options.lock.retention->retain_until = std::max(options.lock.retention->retain_until, minimum);
    }
    if (options.lock.retention && policy_.lock_mode == LockMode::compliance)
        options.lock.retention->mode = LockMode::compliance;

    if (policy_.encryption) {
        options.encryption = *policy_.encryption;
    } else if (auto sse = find_header(r.headers, wire::header_sse)) {
        if (*sse == "AES256") options.encryption.kind = ServerSideEncryption::Kind::aes256;
        else if (*sse == "aws:kms") options.encryption.kind = ServerSideEncryption::Kind::aws_kms;
        else bad_request(std::string(wire::header_sse) + " must be AES256 or aws:kms");
        options.encryption.kms_key_id = find_header(r.headers, wire::header_sse_kms_key).value_or("");
    }
    if (auto inm = find_header(r.headers, "if-none-match")) {
        if (*inm != "*") bad_request("If-None-Match must be '*'");
        options.if_none_match = true;
    }
    PutResult result = store_.put(p.key, body, options);
    if (result.sha256_hex.empty()) result.sha256_hex = actual;
    if (to_lower(result.sha256_hex) != actual)
        throw Error(ErrorCode::integrity, "the backend recorded SHA-256 " + result.sha256_hex + " for " +
                                              quote_key(p.key) + " but the proxy received " + actual);
    return json_response(200, wire::put_result_json(result, options.lock, store_.uri(p.key)));
}

ApiResponse Api::get_object(const Prepared& p, const ApiRequest& r) {
    GetOptions options;
    options.version_id = query_value(p, "version_id");
    if (auto range = find_header(r.headers, "range")) options.range = parse_range(*range);
    ApiResponse response;
    const fs::path file = spool_path("get");
    try {
        const ObjectInfo info = store_.get_to_file(p.key, file, options);
        response.status = options.range ? 206 : 200;
        response.body_file = file;
        response.headers.emplace_back("Content-Type", info.content_type.empty() ? "application/octet-stream" : info.content_type);
        if (!info.sha256_hex.empty()) response.headers.emplace_back(wire::header_sha256, info.sha256_hex);
        if (!info.version_id.empty()) response.headers.emplace_back(wire::header_version_id, info.version_id);
        if (!info.etag.empty()) response.headers.emplace_back("ETag", info.etag);
        response.headers.emplace_back("X-Worm-Object-Info", wire::object_info_json(info));
        if (options.range) {
            const std::uint64_t length = fs::file_size(file);
            const std::uint64_t first = options.range->first;
            response.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" +
                                                               std::to_string(first + length - (length ? 1 : 0)) +
                                                               "/" + std::to_string(info.size));
        }
        return response;
    } catch (...) {
        std::error_code ec;
        fs::remove(file, ec);
        throw;
    }
}

ApiResponse Api::list(const Prepared& p) {
    ListOptions options;
    options.prefix = p.query.at("prefix");
    if (auto d = query_value(p, "delimiter")) options.delimiter = *d;
    if (auto t = query_value(p, "continuation_token")) options.continuation_token = *t;
    if (auto m = query_value(p, "max_keys")) {
        int v = 0;
        const auto [ptr, ec] = std::from_chars(m->data(), m->data() + m->size(), v);
        if (ec != std::errc{} || ptr != m->data() + m->size() || v < 1 || v > 1000)
            bad_request("max_keys must be an integer from 1 to 1000, got '" + *m + "'");
        options.max_keys = v;
    }
    ListPage page = store_.list(options);
    // The prefix already confines the listing; this keeps a forged continuation token from widening it.
    const std::string prefix = wire::client_prefix(p.client_id);
    std::erase_if(page.objects, [&](const ObjectSummary& o) { return !o.key.starts_with(prefix); });
    std::erase_if(page.common_prefixes, [&](const std::string& c) { return !c.starts_with(prefix); });
    return json_response(200, wire::list_page_json(page));
}

void Api::record_upload(const std::string& client_id, const ApiResponse& response, double seconds) {
    std::lock_guard lock(metrics_mutex_);
    TenantMetrics& t = tenants_[client_id];
    if (response.status < 300) {
        ++t.uploads_ok;
        t.latency->observe(seconds);
    } else {
        ++t.uploads_failed;
        if (response.status == 503 || response.status == 504) ++t.retryable_errors;
    }
}

std::string Api::metrics_text() const {
    std::lock_guard lock(metrics_mutex_);
    PrometheusText p;
    p.family("worm_proxy_uploads_total", "counter", "Uploads answered, per tenant and result.");
    for (const auto& [tenant, t] : tenants_) {
        p.sample("worm_proxy_uploads_total", static_cast<double>(t.uploads_ok), {{"tenant", tenant}, {"result", "ok"}});
        p.sample("worm_proxy_uploads_total", static_cast<double>(t.uploads_failed), {{"tenant", tenant}, {"result", "failed"}});
    }
    p.family("worm_proxy_retryable_errors_total", "counter", "Uploads answered 503/504: the client retries them.");
    for (const auto& [tenant, t] : tenants_)
        p.sample("worm_proxy_retryable_errors_total", static_cast<double>(t.retryable_errors), {{"tenant", tenant}});
    p.family("worm_proxy_uploads_in_flight", "gauge", "Uploads being stored right now (the proxy's queue depth).");
    p.sample("worm_proxy_uploads_in_flight", static_cast<double>(uploads_in_flight_.load()));
    p.family("worm_proxy_upload_duration_seconds", "histogram", "Time to store and verify an upload, per tenant.");
    for (const auto& [tenant, t] : tenants_)
        p.histogram("worm_proxy_upload_duration_seconds", t.latency->snapshot(), {{"tenant", tenant}});
    return p.text();
}

}  // namespace worm::proxy_server
