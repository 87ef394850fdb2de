// platform_env.cpp: seed 002's variables (see platform_env.hpp).
#include "worm/platform_env.hpp"

#include <charconv>

#include "../util/url.hpp"
#include "worm/json.hpp"
#include "worm/storage.hpp"

namespace worm {

namespace {

struct Known {
    const char* name;
    const char* used_by;
};

constexpr Known known_variables[] = {
    {"WORM_EVIDENCE_BUCKET", "worm monitor, worm bucket setup/verify/info: the store when --store is not given"},
    {"WORM_REPORTS_BUCKET", "worm audit, worm certificate issue: where reports and certificates are uploaded "
                            "(locked) when --upload-to is not given"},
    {"WORM_RETENTION_YEARS", "worm bucket setup: default retention; uploaded reports and certificates: their lock"},
    {"WORM_BACKUP_REGION", "examples/cloudformation/deploy.sh: BackupRegion, where the evidence replica is"},
    {"COMPLIANCE_SIGNING_KEY_PATH", "worm certificate issue: the signing key when --key is not given"},
    {"WORM_ALERTS_TOPIC_ARN", "worm monitor: SNS topic alerted when a check fails"},
    {"DATABASE_URL", "worm audit --database: the evidence metadata database"},
    {"MIGRATION_BATCH_SIZE", "worm migrate: objects per batch"},
    {"MIGRATION_PROGRESS_DIR", "worm migrate: progress and migration_log_*.log files"},
    {"MIGRATION_MAX_WORKERS", "worm migrate: parallel copies"},
};

std::optional<int> whole(const std::string& text) {
    int n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return n;
}

// "" or the problem with a positive whole number variable.
std::string number_problem(const std::string& name, const std::string& value, int max) {
    if (value.empty()) return "";
    const auto n = whole(value);
    if (!n || *n < 1 || *n > max)
        return name + " must be a whole number from 1 to " + std::to_string(max) + ", got '" + value + "'";
    return "";
}

std::string bucket_problem(const std::string& name, const std::string& value) {
    if (value.empty()) return "";
    if (store_url(value) == value && !value.starts_with("s3://"))
        return name + " must be an S3 bucket name or s3://bucket URL, got '" + detail::mask_url_password(value) + "'";
    return "";
}

// {"NAME": {"value": ..., "used_by": ...}, ...} (DATABASE_URL's password masked): the value of
// describe_masked_json and of `worm config check`'s "platform" member.
void write_variables(json::Writer& w, const PlatformEnv& env) {
    w.begin_object();
    for (const auto& v : env.variables) {
        w.key(v.name).begin_object().key("value");
        if (v.value.empty()) w.null();
        else w.value(v.name == "DATABASE_URL" ? detail::mask_url_password(v.value) : v.value);
        w.member("used_by", v.used_by).end_object();
    }
    w.end_object();
}

}  // namespace

PlatformEnv PlatformEnv::from_env(const EnvLookup& lookup) {
    PlatformEnv env;
    for (const Known& k : known_variables) {
        std::string value = lookup(k.name).value_or("");
        env.variables.push_back({k.name, std::move(value), k.used_by});
    }
    return env;
}

std::string PlatformEnv::get(std::string_view name) const {
    for (const auto& v : variables)
        if (v.name == name) return v.value;
    return "";
}

std::string PlatformEnv::evidence_store() const {
    const std::string v = get("WORM_EVIDENCE_BUCKET");
    return v.empty() ? v : store_url(v);
}

std::string PlatformEnv::reports_store() const {
    const std::string v = get("WORM_REPORTS_BUCKET");
    return v.empty() ? v : store_url(v);
}

std::optional<int> PlatformEnv::retention_years() const {
    const std::string v = get("WORM_RETENTION_YEARS");
    if (v.empty()) return std::nullopt;
    if (const std::string p = number_problem("WORM_RETENTION_YEARS", v, 100); !p.empty()) throw Error(ErrorCode::config, p);
    return whole(v);
}

std::vector<std::string> PlatformEnv::problems() const {
    std::vector<std::string> out;
    const auto add = [&out](std::string p) {
        if (!p.empty()) out.push_back(std::move(p));
    };
    add(bucket_problem("WORM_EVIDENCE_BUCKET", get("WORM_EVIDENCE_BUCKET")));
    add(bucket_problem("WORM_REPORTS_BUCKET", get("WORM_REPORTS_BUCKET")));
    add(number_problem("WORM_RETENTION_YEARS", get("WORM_RETENTION_YEARS"), 100));
    add(number_problem("MIGRATION_BATCH_SIZE", get("MIGRATION_BATCH_SIZE"), 1'000'000));
    add(number_problem("MIGRATION_MAX_WORKERS", get("MIGRATION_MAX_WORKERS"), 256));
    if (const std::string arn = get("WORM_ALERTS_TOPIC_ARN"); !arn.empty() && !arn.starts_with("arn:"))
        add("WORM_ALERTS_TOPIC_ARN must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got '" + arn + "'");
    if (const std::string db = get("DATABASE_URL");
        !db.empty() && !db.starts_with("postgresql://") && !db.starts_with("postgres://") && !db.starts_with("sqlite://"))
        add("DATABASE_URL must be postgresql://... or sqlite:///path, got '" + detail::mask_url_password(db) + "'");
    return out;
}

std::string PlatformEnv::describe_masked_json() const {
    json::Writer w;
    write_variables(w, *this);
    return w.take();
}

std::string with_platform_section(const std::string& config_json, const PlatformEnv& env) {
    const rapidjson::Document config = json::parse_strict(config_json, "configuration");
    if (!config.IsObject()) throw Error(ErrorCode::invalid_argument, "configuration: not a JSON object");
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    for (const auto& m : config.GetObject()) w.member(std::string_view(m.name.GetString(), m.name.GetStringLength()), m.value);
    w.key("platform");
    write_variables(w, env);
    w.end_object();
    return w.take();
}

}  // namespace worm
