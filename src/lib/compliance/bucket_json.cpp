// bucket_json.cpp: the JSON forms of a setup report, a verification and the setup rules
// (stable field names: `worm bucket ... --json`, audit reports and certificates read them).
#include "bucket_rules.hpp"
#include "json_build.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/json.hpp"

namespace worm::compliance {

using detail::put;
using detail::put_bool;
using detail::put_int;
using detail::str;

namespace {

rapidjson::Value int_or_null(std::optional<int> n) { return n ? rapidjson::Value(*n) : rapidjson::Value(); }

}  // namespace

std::string to_json(const BucketSetupReport& report) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    put(doc, "bucket", report.bucket, a);
    put_bool(doc, "dry_run", report.dry_run, a);
    put_bool(doc, "unchanged", report.unchanged(), a);
    rapidjson::Value resources(rapidjson::kArrayType);
    for (const ResourceOutcome& r : report.resources) {
        rapidjson::Value item(rapidjson::kObjectType);
        put(item, "resource", r.resource, a);
        put(item, "action", to_string(r.action), a);
        put(item, "detail", r.detail, a);
        resources.PushBack(item, a);
    }
    put(doc, "resources", std::move(resources), a);
    return json::to_pretty(doc);
}

std::string to_json(const BucketVerification& v) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    put(doc, "endpoint", v.endpoint, a);
    put(doc, "bucket", v.bucket, a);
    put(doc, "checked_at", format_rfc3339(v.checked_at), a);
    put_bool(doc, "passed", v.passed(), a);
    rapidjson::Value checks(rapidjson::kArrayType);
    for (const BucketCheck& c : v.checks) {
        rapidjson::Value item(rapidjson::kObjectType);
        put(item, "id", c.id, a);
        put(item, "title", c.title, a);
        put(item, "cross_reference", c.cross_reference, a);
        put(item, "observed", c.observed, a);
        put(item, "expected", c.expected, a);
        put(item, "status", to_string(c.status), a);
        rapidjson::Value answers(rapidjson::kArrayType);
        for (const ServerAnswer& s : c.answers) {
            rapidjson::Value ans(rapidjson::kObjectType);
            put(ans, "request", s.request, a);
            put_int(ans, "http_status", s.http_status, a);
            put(ans, "sha256", s.sha256_hex, a);
            answers.PushBack(ans, a);
        }
        put(item, "answers", std::move(answers), a);
        checks.PushBack(item, a);
    }
    put(doc, "checks", std::move(checks), a);
    return json::to_pretty(doc);
}

std::string setup_rules_json(const BucketSetupOptions& options) {
    options.validate();
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    put(doc, "bucket", options.bucket, a);
    rapidjson::Value lock(rapidjson::kObjectType);
    put_bool(lock, "enabled", true, a);
    put(lock, "mode", to_string(options.mode), a);
    put(lock, "days", options.retention_years ? rapidjson::Value() : rapidjson::Value(options.retention_period_days()), a);
    put(lock, "years", int_or_null(options.retention_years), a);
    put(doc, "object_lock", std::move(lock), a);
    put(doc, "versioning", "Enabled", a);
    rapidjson::Value sse(rapidjson::kObjectType);
    put(sse, "algorithm", options.encryption.kind == ServerSideEncryption::Kind::aws_kms ? "aws:kms" : "AES256", a);
    put(sse, "kms_key_id", options.encryption.kms_key_id.empty() ? rapidjson::Value() : str(options.encryption.kms_key_id, a), a);
    put(doc, "encryption", std::move(sse), a);
    rapidjson::Value pab(rapidjson::kObjectType);
    for (const char* flag : {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"})
        put_bool(pab, flag, true, a);
    put(doc, "public_access_block", std::move(pab), a);
    const std::string policy = setup_bucket_policy(options);
    put(doc, "bucket_policy",
        policy.empty() ? rapidjson::Value() : rapidjson::Value(json::parse_strict(policy, "bucket policy"), a), a);
    const s3::LifecycleRule rule = detail::wanted_lifecycle_rule(options);
    rapidjson::Value lc(rapidjson::kObjectType);
    put(lc, "id", rule.id, a);
    put(lc, "prefix", rule.prefix, a);
    rapidjson::Value transitions(rapidjson::kArrayType);
    for (const s3::LifecycleTransition& t : rule.transitions) {
        rapidjson::Value item(rapidjson::kObjectType);
        put_int(item, "days", t.days, a);
        put(item, "storage_class", t.storage_class, a);
        transitions.PushBack(item, a);
    }
    put(lc, "transitions", std::move(transitions), a);
    put(lc, "expiration_days", int_or_null(rule.expiration_days), a);
    put(lc, "noncurrent_version_expiration_days", int_or_null(rule.noncurrent_version_expiration_days), a);
    put(doc, "lifecycle", std::move(lc), a);
    return json::to_compact(doc);
}

}  // namespace worm::compliance
