// bucket_rules.cpp: the lifecycle rule setup writes, and the error and description rules
// setup and verify share (see bucket_rules.hpp).
#include "bucket_rules.hpp"

namespace worm::compliance::detail {

int period_days(const s3::DefaultRetention& retention) {
    if (retention.days && *retention.days > 0) return *retention.days;
    if (retention.years && *retention.years > 0) return days_in_years(*retention.years);
    return 0;
}

s3::LifecycleRule wanted_lifecycle_rule(const BucketSetupOptions& options) {
    s3::LifecycleRule rule;
    rule.id = options.lifecycle_rule_id;
    rule.prefix = options.prefix;
    rule.enabled = true;
    if (options.expire_grace_days) {
        const int expire_after = options.retention_period_days() + *options.expire_grace_days;
        rule.expiration_days = expire_after;
        rule.noncurrent_version_expiration_days = expire_after;
    }
    rule.transitions = options.transitions;
    return rule;
}

bool same_lifecycle_rule(const s3::LifecycleRule& a, const s3::LifecycleRule& b) {
    return a.id == b.id && a.prefix == b.prefix && a.enabled == b.enabled && a.expiration_days == b.expiration_days &&
           a.expiration_date == b.expiration_date &&
           a.noncurrent_version_expiration_days == b.noncurrent_version_expiration_days &&
           a.transitions == b.transitions;
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

std::string describe(const s3::LifecycleTransition& t) {
    return t.storage_class + " after " + std::to_string(t.days) + (t.days == 1 ? " day" : " days");
}

std::string describe(const s3::LifecycleRule& r) {
    std::string s = "rule '" + r.id + "' prefix '" + r.prefix + "'" + (r.enabled ? "" : " (disabled)");
    for (size_t i = 0; i < r.transitions.size(); ++i) s += (i == 0 ? ", to " : ", then ") + describe(r.transitions[i]);
    if (r.expiration_days) s += ", expire after " + std::to_string(*r.expiration_days) + " days";
    if (r.expiration_date) s += ", expire on " + format_rfc3339(*r.expiration_date);
    if (r.noncurrent_version_expiration_days)
        s += ", noncurrent versions expire after " + std::to_string(*r.noncurrent_version_expiration_days) + " days";
    return s;
}

}  // namespace worm::compliance::detail
