// bucket_json.cpp: the JSON forms of a setup report and a verification (stable field
// names: `worm bucket ... --json`, audit reports and certificates read them).
#include <rapidjson/document.h>

#include "bucket_rules.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

namespace {

using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value str(std::string_view s, Alloc& a) { return json::make_string(s, a); }

}  // namespace

std::string to_json(const BucketSetupReport& report) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("bucket", str(report.bucket, a), a);
    doc.AddMember("dry_run", report.dry_run, a);
    doc.AddMember("unchanged", report.unchanged(), a);
    rapidjson::Value resources(rapidjson::kArrayType);
    for (const ResourceOutcome& r : report.resources) {
        rapidjson::Value item(rapidjson::kObjectType);
        item.AddMember("resource", str(r.resource, a), a);
        item.AddMember("action", str(to_string(r.action), a), a);
        item.AddMember("detail", str(r.detail, a), a);
        resources.PushBack(item, a);
    }
    doc.AddMember("resources", resources, a);
    return json::to_pretty(doc);
}

std::string to_json(const BucketVerification& v) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("endpoint", str(v.endpoint, a), a);
    doc.AddMember("bucket", str(v.bucket, a), a);
    doc.AddMember("checked_at", str(format_rfc3339(v.checked_at), a), a);
    doc.AddMember("passed", v.passed(), a);
    rapidjson::Value checks(rapidjson::kArrayType);
    for (const BucketCheck& c : v.checks) {
        rapidjson::Value item(rapidjson::kObjectType);
        item.AddMember("id", str(c.id, a), a);
        item.AddMember("title", str(c.title, a), a);
        item.AddMember("cross_reference", str(c.cross_reference, a), a);
        item.AddMember("observed", str(c.observed, a), a);
        item.AddMember("expected", str(c.expected, a), a);
        item.AddMember("status", str(to_string(c.status), a), a);
        rapidjson::Value answers(rapidjson::kArrayType);
        for (const ServerAnswer& s : c.answers) {
            rapidjson::Value ans(rapidjson::kObjectType);
            ans.AddMember("request", str(s.request, a), a);
            ans.AddMember("http_status", s.http_status, a);
            ans.AddMember("sha256", str(s.sha256_hex, a), a);
            answers.PushBack(ans, a);
        }
        item.AddMember("answers", answers, a);
        checks.PushBack(item, a);
    }
    doc.AddMember("checks", checks, a);
    return json::to_pretty(doc);
}

std::string setup_rules_json(const BucketSetupOptions& options) {
    options.validate();
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("bucket", str(options.bucket, a), a);
    rapidjson::Value lock(rapidjson::kObjectType);
    lock.AddMember("enabled", true, a);
    lock.AddMember("mode", str(to_string(options.mode), a), a);
    lock.AddMember("days", options.retention_years ? rapidjson::Value() : rapidjson::Value(options.retention_period_days()), a);
    lock.AddMember("years", options.retention_years ? rapidjson::Value(*options.retention_years) : rapidjson::Value(), a);
    doc.AddMember("object_lock", lock, a);
    doc.AddMember("versioning", "Enabled", a);
    rapidjson::Value sse(rapidjson::kObjectType);
    sse.AddMember("algorithm", str(options.encryption.kind == ServerSideEncryption::Kind::aws_kms ? "aws:kms" : "AES256", a), a);
    sse.AddMember("kms_key_id", options.encryption.kms_key_id.empty() ? rapidjson::Value() : str(options.encryption.kms_key_id, a), a);
    doc.AddMember("encryption", sse, a);
    rapidjson::Value pab(rapidjson::kObjectType);
    for (const char* flag : {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"})
        pab.AddMember(rapidjson::StringRef(flag), true, a);
    doc.AddMember("public_access_block", pab, a);
    if (options.tls_only_policy) {
        rapidjson::Document policy = json::parse_strict(tls_only_bucket_policy(options.bucket), "bucket policy");
        doc.AddMember("bucket_policy", rapidjson::Value(policy, a), a);
    } else {
        doc.AddMember("bucket_policy", rapidjson::Value(), a);
    }
    const s3::LifecycleRule rule = detail::wanted_lifecycle_rule(options);
    rapidjson::Value lc(rapidjson::kObjectType);
    lc.AddMember("id", str(rule.id, a), a);
    lc.AddMember("prefix", str(rule.prefix, a), a);
    lc.AddMember("transition_days", rule.transition_days ? rapidjson::Value(*rule.transition_days) : rapidjson::Value(), a);
    lc.AddMember("storage_class", rule.transition_days ? str(rule.transition_storage_class, a) : rapidjson::Value(), a);
    lc.AddMember("expiration_days", rapidjson::Value(rule.expiration_days.value_or(0)), a);
    lc.AddMember("noncurrent_version_expiration_days", rapidjson::Value(rule.noncurrent_version_expiration_days.value_or(0)), a);
    doc.AddMember("lifecycle", lc, a);
    return json::to_compact(doc);
}

}  // namespace worm::compliance
