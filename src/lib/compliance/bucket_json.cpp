// bucket_json.cpp: the JSON forms of a setup report and a verification (stable field
// names: `worm bucket ... --json`, audit reports and certificates read them).
#include <rapidjson/document.h>

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

}  // namespace worm::compliance
