// bucket_json.cpp: the JSON forms of a setup report, a verification and the setup rules
// (stable field names: `worm bucket ... --json`, audit reports and certificates read them).
#include "bucket_rules.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

std::string to_json(const BucketSetupReport& report) {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    w.member("bucket", report.bucket).member("dry_run", report.dry_run).member("unchanged", report.unchanged());
    w.key("resources").begin_array();
    for (const ResourceOutcome& r : report.resources) {
        w.begin_object();
        w.member("resource", r.resource).member("action", to_string(r.action)).member("detail", r.detail);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.take();
}

std::string to_json(const BucketVerification& v) {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    w.member("endpoint", v.endpoint).member("bucket", v.bucket).member("checked_at", format_rfc3339(v.checked_at));
    w.member("passed", v.passed());
    w.key("checks").begin_array();
    for (const BucketCheck& c : v.checks) {
        w.begin_object();
        w.member("id", c.id).member("title", c.title).member("cross_reference", c.cross_reference);
        w.member("observed", c.observed).member("expected", c.expected).member("status", to_string(c.status));
        w.key("answers").begin_array();
        for (const ServerAnswer& s : c.answers) {
            w.begin_object();
            w.member("request", s.request).member("http_status", s.http_status).member("sha256", s.sha256_hex);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.take();
}

std::string setup_rules_json(const BucketSetupOptions& options) {
    options.validate();
    json::Writer w;
    w.begin_object();
    w.member("bucket", options.bucket);
    w.key("object_lock").begin_object();
    w.member("enabled", true).member("mode", to_string(options.mode));
    w.member("days", options.retention_years ? std::nullopt : std::optional<int>(options.retention_period_days()));
    w.member("years", options.retention_years);
    w.end_object();
    w.member("versioning", "Enabled");
    w.key("encryption").begin_object();
    w.member("algorithm", options.encryption.kind == ServerSideEncryption::Kind::aws_kms ? "aws:kms" : "AES256");
    w.key("kms_key_id");
    if (options.encryption.kms_key_id.empty()) w.null();
    else w.value(options.encryption.kms_key_id);
    w.end_object();
    w.key("public_access_block").begin_object();
    for (const char* flag : {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"})
        w.member(flag, true);
    w.end_object();
    const std::string policy = setup_bucket_policy(options);
    w.key("bucket_policy");
    if (policy.empty()) w.null();
    else w.value(json::parse_strict(policy, "bucket policy"));
    const s3::LifecycleRule rule = detail::wanted_lifecycle_rule(options);
    w.key("lifecycle").begin_object();
    w.member("id", rule.id).member("prefix", rule.prefix);
    w.key("transitions").begin_array();
    for (const s3::LifecycleTransition& t : rule.transitions)
        w.begin_object().member("days", t.days).member("storage_class", t.storage_class).end_object();
    w.end_array();
    w.member("expiration_days", rule.expiration_days);
    w.member("noncurrent_version_expiration_days", rule.noncurrent_version_expiration_days);
    w.end_object();
    w.end_object();
    return w.take();
}

}  // namespace worm::compliance
