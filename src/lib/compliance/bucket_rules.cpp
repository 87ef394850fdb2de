// bucket_rules.cpp: the rules setup and verify share (see bucket_rules.hpp).
#include "bucket_rules.hpp"

#include <algorithm>

#include "worm/json.hpp"

namespace worm::compliance::detail {

namespace {

// A policy element that is either a string or an array of strings, as a list.
std::vector<std::string> string_or_list(const rapidjson::Value* v) {
    std::vector<std::string> out;
    if (!v) return out;
    if (v->IsString()) out.emplace_back(v->GetString(), v->GetStringLength());
    if (v->IsArray())
        for (const auto& item : v->GetArray())
            if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

// Principal "*" or {"AWS": "*"}.
bool every_principal(const rapidjson::Value* principal) {
    if (!principal) return false;
    if (principal->IsString()) return std::string_view(principal->GetString()) == "*";
    if (principal->IsObject()) return contains(string_or_list(json::find_member(*principal, "AWS")), "*");
    return false;
}

// Condition {"Bool": {"aws:SecureTransport": "false"}} (a JSON false is accepted too).
bool insecure_transport_condition(const rapidjson::Value* condition) {
    if (!condition || !condition->IsObject()) return false;
    const rapidjson::Value* b = json::find_member(*condition, "Bool");
    if (!b || !b->IsObject()) return false;
    const rapidjson::Value* v = json::find_member(*b, "aws:SecureTransport");
    if (!v) return false;
    if (v->IsBool()) return !v->GetBool();
    const std::vector<std::string> values = string_or_list(v);
    return !values.empty() && std::all_of(values.begin(), values.end(), [](const std::string& s) { return s == "false"; });
}

bool denies_all_with_tls_condition(const rapidjson::Value& st, const std::string& bucket) {
    if (!st.IsObject()) return false;
    const rapidjson::Value* effect = json::find_member(st, "Effect");
    if (!effect || !effect->IsString() || std::string_view(effect->GetString()) != "Deny") return false;
    if (!every_principal(json::find_member(st, "Principal"))) return false;
    const std::vector<std::string> actions = string_or_list(json::find_member(st, "Action"));
    if (!contains(actions, "s3:*") && !contains(actions, "*")) return false;
    const std::vector<std::string> resources = string_or_list(json::find_member(st, "Resource"));
    const std::string arn = "arn:aws:s3:::" + bucket;
    if (!contains(resources, "*") && !(contains(resources, arn) && contains(resources, arn + "/*"))) return false;
    return insecure_transport_condition(json::find_member(st, "Condition"));
}

}  // namespace

int days_in_years(int years) { return years * 365 + (years + 3) / 4; }

int period_days(const s3::DefaultRetention& retention) {
    if (retention.days && *retention.days > 0) return *retention.days;
    if (retention.years && *retention.years > 0) return days_in_years(*retention.years);
    return 0;
}

bool denies_insecure_transport(const std::string& policy_json, const std::string& bucket) {
    rapidjson::Document doc;
    doc.Parse(policy_json.data(), policy_json.size());
    if (doc.HasParseError() || !doc.IsObject()) return false;
    const rapidjson::Value* statements = json::find_member(doc, "Statement");
    if (!statements) return false;
    if (statements->IsObject()) return denies_all_with_tls_condition(*statements, bucket);
    if (!statements->IsArray()) return false;
    for (const auto& st : statements->GetArray())
        if (denies_all_with_tls_condition(st, bucket)) return true;
    return false;
}

std::string tls_deny_statement(const std::string& bucket) {
    const std::string arn = "arn:aws:s3:::" + bucket;
    return R"({"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":[")" + arn +
           R"(",")" + arn + R"(/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}})";
}

s3::LifecycleRule wanted_lifecycle_rule(const BucketSetupOptions& options) {
    s3::LifecycleRule rule;
    rule.id = std::string(lifecycle_rule_id);
    rule.prefix = options.prefix;
    rule.enabled = true;
    const int expire_after = options.retention_period_days() + options.expire_grace_days;
    rule.expiration_days = expire_after;
    rule.noncurrent_version_expiration_days = expire_after;
    if (options.transition_days) {
        rule.transition_days = options.transition_days;
        rule.transition_storage_class = options.storage_class;
    }
    return rule;
}

bool same_lifecycle_rule(const s3::LifecycleRule& a, const s3::LifecycleRule& b) {
    return a.id == b.id && a.prefix == b.prefix && a.enabled == b.enabled && a.expiration_days == b.expiration_days &&
           a.expiration_date == b.expiration_date &&
           a.noncurrent_version_expiration_days == b.noncurrent_version_expiration_days &&
           a.transition_days == b.transition_days &&
           (!a.transition_days || a.transition_storage_class == b.transition_storage_class);
}

bool not_implemented(const Error& error) {
    if (const auto* s3e = dynamic_cast<const S3Error*>(&error)) {
        const std::string& code = s3e->s3_code();
        return s3e->http_status() == 501 || code == "NotImplemented" || code == "MethodNotAllowed" ||
               s3e->http_status() == 405;
    }
    return error.code() == ErrorCode::parse;
}

std::string describe_error(const Error& error) {
    if (const auto* s3e = dynamic_cast<const S3Error*>(&error))
        return "HTTP " + std::to_string(s3e->http_status()) + (s3e->s3_code().empty() ? "" : " " + s3e->s3_code());
    return error.what();
}

std::string describe(const s3::DefaultRetention& retention) {
    std::string s(to_string(retention.mode));
    if (retention.days && *retention.days > 0) s += " " + std::to_string(*retention.days) + " days";
    else if (retention.years && *retention.years > 0) s += " " + std::to_string(*retention.years) + " years";
    else s += " (no period)";
    return s;
}

std::string describe(const s3::PublicAccessBlock& b) {
    auto flag = [](const char* name, bool on) { return std::string(name) + "=" + (on ? "true" : "false"); };
    return flag("BlockPublicAcls", b.block_public_acls) + " " + flag("IgnorePublicAcls", b.ignore_public_acls) + " " +
           flag("BlockPublicPolicy", b.block_public_policy) + " " +
           flag("RestrictPublicBuckets", b.restrict_public_buckets);
}

std::string describe(const ServerSideEncryption& sse) {
    switch (sse.kind) {
        case ServerSideEncryption::Kind::none: return "none";
        case ServerSideEncryption::Kind::aes256: return "AES256";
        case ServerSideEncryption::Kind::aws_kms:
            return sse.kms_key_id.empty() ? "aws:kms (default key)" : "aws:kms key " + sse.kms_key_id;
    }
    return "none";
}

std::string describe(const s3::LifecycleRule& r) {
    std::string s = "rule '" + r.id + "' prefix '" + r.prefix + "'" + (r.enabled ? "" : " (disabled)");
    if (r.transition_days)
        s += ", to " + r.transition_storage_class + " after " + std::to_string(*r.transition_days) + " days";
    if (r.expiration_days) s += ", expire after " + std::to_string(*r.expiration_days) + " days";
    if (r.expiration_date) s += ", expire on " + format_rfc3339(*r.expiration_date);
    if (r.noncurrent_version_expiration_days)
        s += ", noncurrent versions expire after " + std::to_string(*r.noncurrent_version_expiration_days) + " days";
    return s;
}

}  // namespace worm::compliance::detail

namespace worm::compliance {

// Here, beside days_in_years, rather than in bucket_setup.cpp: the lifecycle rule above
// needs it, and setup uses this file, never the other way round.
int BucketSetupOptions::retention_period_days() const {
    return retention_years ? detail::days_in_years(*retention_years) : retention_days.value_or(default_retention_days);
}

}  // namespace worm::compliance
