// WormConfig from the environment (see config.hpp for the variables and defaults).
#include "worm/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "worm/error.hpp"
#include "worm/json.hpp"
#include "../util/text.hpp"
#include "../util/url.hpp"

namespace worm {

std::string_view to_string(WormMode mode) noexcept { return mode == WormMode::direct ? "direct" : "proxy"; }

std::optional<std::string> process_env(std::string_view name) {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
}

namespace {
// The S3 endpoint variables, first set wins.
constexpr const char* endpoint_variables[] = {"WORM_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"};
}  // namespace

std::string s3_endpoint_from_env(const EnvLookup& lookup) {
    for (const char* name : endpoint_variables)
        if (const auto v = lookup(name)) {
            std::string t = detail::trim(*v);
            if (!t.empty()) return t;
        }
    return {};
}

namespace {

using worm::detail::to_lower;

using worm::detail::trim;

// Reads variables, remembering which one supplied each value, and collecting problems.
class EnvReader {
public:
    EnvReader(const EnvLookup& lookup, std::vector<std::string>& problems) : lookup_(lookup), problems_(problems) {}

    // The first of names that is set and not empty.
    std::optional<std::pair<std::string, std::string>> first(std::initializer_list<const char*> names) const {
        for (const char* name : names)
            if (auto v = lookup_(name)) {
                std::string t = trim(*v);
                if (!t.empty()) return std::make_pair(std::string(name), t);
            }
        return std::nullopt;
    }

    // Each read returns whether the variable was set (valid or not).
    bool read_bool(const char* name, bool& out) {
        const auto v = first({name});
        if (!v) return false;
        const std::string t = to_lower(v->second);
        if (t == "1" || t == "true" || t == "yes" || t == "on") out = true;
        else if (t == "0" || t == "false" || t == "no" || t == "off") out = false;
        else problems_.push_back(std::string(name) + " must be true or false (1/0, yes/no, on/off), got '" + v->second + "'");
        return true;
    }

    bool read_int(const char* name, int& out, const char* unit) {
        const auto v = first({name});
        if (!v) return false;
        int value = 0;
        const auto* b = v->second.data();
        const auto* e = b + v->second.size();
        const auto [end, ec] = std::from_chars(b, e, value);
        if (ec != std::errc() || end != e)
            problems_.push_back(std::string(name) + " must be a whole number of " + unit + ", got '" + v->second + "'");
        else
            out = value;
        return true;
    }

private:
    const EnvLookup& lookup_;
    std::vector<std::string>& problems_;
};

// "https://user:secret@host/x" -> "https://user:****@host/x".
}  // namespace

WormConfig WormConfig::from_env(const EnvLookup& lookup) {
    WormConfig c;
    EnvReader env(lookup, c.problems);
    // Every field starts as "default"; a variable that sets it replaces that.
    for (const char* field : {"enabled", "mode", "s3_bucket", "s3_region", "s3_prefix", "s3_endpoint",
                              "retention_days", "allow_short_retention", "lock_mode", "auto_upload",
                              "sigstore_bundle", "upload_attempts", "sync_concurrency", "sse", "sse_kms_key_id",
                              "mcp_url", "mcp_api_key"})
        c.sources[field] = "default";
    const auto from = [&](const char* field, const std::string& name) { c.sources[field] = name; };
    const auto flag = [&](const char* field, const char* name, bool& out) {
        if (env.read_bool(name, out)) from(field, name);
    };
    const auto number = [&](const char* field, const char* name, int& out, const char* unit) {
        if (env.read_int(name, out, unit)) from(field, name);
    };

    flag("enabled", "WORM_ENABLED", c.enabled);
    if (const auto v = env.first({"WORM_MODE"})) {
        from("mode", v->first);
        const std::string m = to_lower(v->second);
        if (m == "proxy") c.mode = WormMode::proxy;
        else if (m == "direct") c.mode = WormMode::direct;
        else c.problems.push_back("WORM_MODE must be proxy or direct, got '" + v->second + "'");
    }
    if (const auto v = env.first({"WORM_S3_BUCKET", "MSP_WORM_BUCKET"})) {
        c.s3_bucket = v->second;
        from("s3_bucket", v->first);
    }
    // Seed 001: MSP_WORM_BUCKET alone turns direct uploads on.
    if (c.sources["enabled"] == "default" && env.first({"MSP_WORM_BUCKET"})) {
        c.enabled = true;
        from("enabled", "MSP_WORM_BUCKET");
        if (c.sources["mode"] == "default") {
            c.mode = WormMode::direct;
            from("mode", "MSP_WORM_BUCKET");
        }
    }
    if (const auto v = env.first({"WORM_S3_REGION", "AWS_REGION"})) {
        c.s3_region = v->second;
        from("s3_region", v->first);
    }
    if (const auto v = env.first({"WORM_S3_PREFIX"})) {
        std::string p = v->second;
        while (!p.empty() && p.back() == '/') p.pop_back();
        while (!p.empty() && p.front() == '/') p.erase(0, 1);
        c.s3_prefix = p;
        from("s3_prefix", v->first);
    }
    c.s3_endpoint = s3_endpoint_from_env(lookup);
    for (const char* name : endpoint_variables)
        if (env.first({name})) {
            from("s3_endpoint", name);
            break;
        }
    number("retention_days", "WORM_RETENTION_DAYS", c.retention_days, "days");
    flag("allow_short_retention", "WORM_ALLOW_SHORT_RETENTION", c.allow_short_retention);
    if (const auto v = env.first({"WORM_LOCK_MODE"})) {
        from("lock_mode", v->first);
        try {
            c.lock_mode = parse_lock_mode(v->second);
        } catch (const Error&) {
            c.problems.push_back("WORM_LOCK_MODE must be COMPLIANCE or GOVERNANCE, got '" + v->second + "'");
        }
    }
    flag("auto_upload", "WORM_AUTO_UPLOAD", c.auto_upload);
    flag("sigstore_bundle", "WORM_SIGSTORE_BUNDLE", c.sigstore_bundle);
    number("upload_attempts", "WORM_UPLOAD_ATTEMPTS", c.upload_attempts, "attempts");
    number("sync_concurrency", "WORM_SYNC_CONCURRENCY", c.sync_concurrency, "uploads");
    if (const auto v = env.first({"WORM_SSE"})) {
        from("sse", v->first);
        const std::string s = to_lower(v->second);
        if (s == "aes256") c.encryption.kind = ServerSideEncryption::Kind::aes256;
        else if (s == "aws:kms") c.encryption.kind = ServerSideEncryption::Kind::aws_kms;
        else if (s == "none") c.encryption.kind = ServerSideEncryption::Kind::none;
        else c.problems.push_back("WORM_SSE must be AES256 or aws:kms, got '" + v->second + "'");
    }
    if (const auto v = env.first({"WORM_SSE_KMS_KEY_ID"})) {
        c.encryption.kms_key_id = v->second;
        from("sse_kms_key_id", v->first);
    }
    if (const auto v = env.first({"MCP_URL"})) {
        c.mcp_url = v->second;
        from("mcp_url", v->first);
    }
    if (const auto v = env.first({"MCP_API_KEY"})) {
        c.mcp_api_key = v->second;
        from("mcp_api_key", v->first);
    }
    return c;
}

std::vector<std::string> WormConfig::check() const {
    std::vector<std::string> out = problems;
    if (enabled && mode == WormMode::proxy && mcp_url.empty())
        out.push_back("endpoint not configured: WORM_MODE=proxy needs MCP_URL");
    if (enabled && mode == WormMode::direct && s3_bucket.empty())
        out.push_back("bucket not configured: WORM_MODE=direct needs WORM_S3_BUCKET (or MSP_WORM_BUCKET)");
    if (!mcp_url.empty()) {
        try {
            (void)detail::proxy_base_url(mcp_url);  // what ProxyStore (and so sync) checks
        } catch (const Error& e) {
            out.push_back(std::string("MCP_URL: ") + e.what());
        }
    }
    if (!s3_endpoint.empty()) {
        try {
            (void)detail::parse_service_endpoint(s3_endpoint, "S3 endpoint");  // what the S3 client (and so sync) checks
        } catch (const Error& e) {
            out.push_back(e.what());
        }
    }
    if (retention_days < 1 || retention_days > maximum_retention_days)
        out.push_back("WORM_RETENTION_DAYS must be between 1 and " + std::to_string(maximum_retention_days) +
                      ", got " + std::to_string(retention_days));
    else if (retention_days < minimum_retention_days && !allow_short_retention)
        out.push_back("WORM_RETENTION_DAYS=" + std::to_string(retention_days) + " is below the " +
                      std::to_string(minimum_retention_days) +
                      "-day minimum for evidence; set WORM_ALLOW_SHORT_RETENTION=1 to allow it (tests only)");
    if (upload_attempts < 1 || upload_attempts > 100)
        out.push_back("WORM_UPLOAD_ATTEMPTS must be between 1 and 100, got " + std::to_string(upload_attempts));
    if (sync_concurrency < 1 || sync_concurrency > 256)
        out.push_back("WORM_SYNC_CONCURRENCY must be between 1 and 256, got " + std::to_string(sync_concurrency));
    if (!encryption.kms_key_id.empty() && encryption.kind != ServerSideEncryption::Kind::aws_kms)
        out.push_back("WORM_SSE_KMS_KEY_ID needs WORM_SSE=aws:kms");
    return out;
}

void WormConfig::validate() const {
    const auto all = check();
    if (all.empty()) return;
    std::string message;
    for (const auto& p : all) message += (message.empty() ? "" : "; ") + p;
    throw Error(ErrorCode::config, message);
}

std::string WormConfig::describe_masked() const {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    w.member("enabled", enabled).member("mode", to_string(mode)).member("s3_bucket", s3_bucket);
    w.member("s3_region", s3_region).member("s3_prefix", s3_prefix);
    w.member("s3_endpoint", detail::mask_url_password(s3_endpoint));
    w.member("retention_days", retention_days).member("allow_short_retention", allow_short_retention);
    w.member("lock_mode", to_string(lock_mode)).member("auto_upload", auto_upload);
    w.member("upload_attempts", upload_attempts).member("sync_concurrency", sync_concurrency);
    w.member("sse", encryption.kind == ServerSideEncryption::Kind::aes256    ? "AES256"
                    : encryption.kind == ServerSideEncryption::Kind::aws_kms ? "aws:kms"
                                                                             : "");
    w.member("sse_kms_key_id", encryption.kms_key_id).member("mcp_url", detail::mask_url_password(mcp_url));
    // Only whether it is set: not even a few characters of a bearer token are shown.
    w.member("mcp_api_key", mcp_api_key.empty() ? "" : "****");
    if (!sources.empty()) {
        w.key("sources").begin_object();
        for (const auto& [field, variable] : sources) w.member(field, variable);
        w.end_object();
    }
    w.key("problems").begin_array();
    for (const auto& p : check()) w.value(p);
    w.end_array();
    w.end_object();
    return w.take();
}

}  // namespace worm
