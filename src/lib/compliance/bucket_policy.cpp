// bucket_policy.cpp: the policy documents of a WORM bucket, built with json_build.hpp: the
// bucket policy statements setup adds (TLS only, no deletion) and the tests verify applies
// to a bucket's policy, and the IAM policies setup prints (uploader, replication role).
#include <algorithm>

#include "bucket_rules.hpp"
#include "json_build.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/json.hpp"

namespace worm::compliance::detail {

namespace {

std::string bucket_arn(const std::string& bucket) { return "arn:aws:s3:::" + bucket; }

rapidjson::Value string_list(std::initializer_list<std::string_view> items, Alloc& a) {
    rapidjson::Value v(rapidjson::kArrayType);
    for (std::string_view i : items) v.PushBack(str(i, a), a);
    return v;
}

// {"Sid"?: sid, "Effect": effect, "Principal"?: "*", "Action": actions, "Resource": resource}
rapidjson::Value statement(std::string_view sid, std::string_view effect, bool every_principal, rapidjson::Value actions,
                           rapidjson::Value resource, Alloc& a) {
    rapidjson::Value st(rapidjson::kObjectType);
    if (!sid.empty()) put(st, "Sid", sid, a);
    put(st, "Effect", effect, a);
    if (every_principal) put(st, "Principal", "*", a);
    put(st, "Action", std::move(actions), a);
    put(st, "Resource", std::move(resource), a);
    return st;
}

std::string policy_document(rapidjson::Value statements, bool pretty) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    put(doc, "Version", "2012-10-17", a);
    put(doc, "Statement", rapidjson::Value(statements, a), a);
    return pretty ? json::to_pretty(doc) : json::to_compact(doc);
}

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

// A Deny statement for every principal.
bool denies_everyone(const rapidjson::Value& st) {
    if (!st.IsObject()) return false;
    const rapidjson::Value* effect = json::find_member(st, "Effect");
    return effect && effect->IsString() && std::string_view(effect->GetString()) == "Deny" &&
           every_principal(json::find_member(st, "Principal"));
}

bool denies_all_with_tls_condition(const rapidjson::Value& st, const std::string& bucket) {
    if (!denies_everyone(st)) return false;
    const std::vector<std::string> actions = string_or_list(json::find_member(st, "Action"));
    if (!contains(actions, "s3:*") && !contains(actions, "*")) return false;
    const std::vector<std::string> resources = string_or_list(json::find_member(st, "Resource"));
    const std::string arn = bucket_arn(bucket);
    if (!contains(resources, "*") && !(contains(resources, arn) && contains(resources, arn + "/*"))) return false;
    return insecure_transport_condition(json::find_member(st, "Condition"));
}

bool denies_deletion_unconditionally(const rapidjson::Value& st, const std::string& bucket) {
    if (!denies_everyone(st) || json::find_member(st, "Condition")) return false;
    const std::vector<std::string> actions = string_or_list(json::find_member(st, "Action"));
    const auto covers = [&](std::string_view action) {
        return contains(actions, action) || contains(actions, "s3:Delete*") || contains(actions, "s3:*") ||
               contains(actions, "*");
    };
    if (!covers("s3:DeleteObject") || !covers("s3:DeleteObjectVersion")) return false;
    const std::vector<std::string> resources = string_or_list(json::find_member(st, "Resource"));
    return contains(resources, "*") || contains(resources, bucket_arn(bucket) + "/*");
}

// Whether any statement of the policy (one object or an array) passes `test`.
template <typename Test>
bool any_statement(const std::string& policy_json, Test&& test) {
    rapidjson::Document doc;
    doc.Parse(policy_json.data(), policy_json.size());
    if (doc.HasParseError() || !doc.IsObject()) return false;
    const rapidjson::Value* statements = json::find_member(doc, "Statement");
    if (!statements) return false;
    if (statements->IsObject()) return test(*statements);
    if (!statements->IsArray()) return false;
    return std::any_of(statements->Begin(), statements->End(), test);
}

}  // namespace

bool denies_insecure_transport(const std::string& policy_json, const std::string& bucket) {
    return any_statement(policy_json, [&](const rapidjson::Value& st) { return denies_all_with_tls_condition(st, bucket); });
}

bool denies_object_deletion(const std::string& policy_json, const std::string& bucket) {
    return any_statement(policy_json,
                         [&](const rapidjson::Value& st) { return denies_deletion_unconditionally(st, bucket); });
}

rapidjson::Value tls_deny_statement(const std::string& bucket, Alloc& a) {
    const std::string arn = bucket_arn(bucket);
    rapidjson::Value st = statement("DenyInsecureTransport", "Deny", true, str("s3:*", a),
                                    string_list({arn, arn + "/*"}, a), a);
    rapidjson::Value secure(rapidjson::kObjectType);
    put(secure, "aws:SecureTransport", "false", a);
    rapidjson::Value condition(rapidjson::kObjectType);
    put(condition, "Bool", std::move(secure), a);
    put(st, "Condition", std::move(condition), a);
    return st;
}

rapidjson::Value delete_deny_statement(const std::string& bucket, Alloc& a) {
    return statement("DenyObjectDeletion", "Deny", true, string_list({"s3:DeleteObject", "s3:DeleteObjectVersion"}, a),
                     str(bucket_arn(bucket) + "/*", a), a);
}

bool has_wanted_statements(const std::optional<std::string>& policy, const BucketSetupOptions& o) {
    if (!o.tls_only_policy && !o.deny_delete_policy) return true;
    return policy && (!o.tls_only_policy || denies_insecure_transport(*policy, o.bucket)) &&
           (!o.deny_delete_policy || denies_object_deletion(*policy, o.bucket));
}

std::string with_wanted_statements(const std::optional<std::string>& existing, const BucketSetupOptions& o) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    if (existing) {
        doc.Parse(existing->data(), existing->size());
        if (doc.HasParseError() || !doc.IsObject())
            throw Error(ErrorCode::parse, "the bucket policy of " + o.bucket + " is not a JSON object; not changing it");
    } else {
        put(doc, "Version", "2012-10-17", a);
    }
    rapidjson::Value* statements = doc.HasMember("Statement") ? &doc["Statement"] : nullptr;
    if (!statements) {
        put(doc, "Statement", rapidjson::Value(rapidjson::kArrayType), a);
        statements = &doc["Statement"];
    } else if (statements->IsObject()) {
        rapidjson::Value single(std::move(*statements));
        statements->SetArray();
        statements->PushBack(single, a);
    }
    if (o.tls_only_policy && !(existing && denies_insecure_transport(*existing, o.bucket)))
        statements->PushBack(tls_deny_statement(o.bucket, a), a);
    if (o.deny_delete_policy && !(existing && denies_object_deletion(*existing, o.bucket)))
        statements->PushBack(delete_deny_statement(o.bucket, a), a);
    return json::to_compact(doc);
}

}  // namespace worm::compliance::detail

namespace worm::compliance {

using detail::Alloc;
using detail::put;
using detail::str;

std::string setup_bucket_policy(const BucketSetupOptions& options) {
    if (!options.tls_only_policy && !options.deny_delete_policy) return "";
    return detail::with_wanted_statements(std::nullopt, options);
}

std::string tls_only_bucket_policy(const std::string& bucket) {
    BucketSetupOptions o;
    o.bucket = bucket;
    o.tls_only_policy = true;
    o.deny_delete_policy = false;
    return setup_bucket_policy(o);
}

std::string replication_role_policy(const std::string& source_bucket, const std::string& destination_bucket) {
    const std::string source = detail::bucket_arn(source_bucket), destination = detail::bucket_arn(destination_bucket);
    rapidjson::Document scratch;
    auto& a = scratch.GetAllocator();
    rapidjson::Value statements(rapidjson::kArrayType);
    statements.PushBack(detail::statement({}, "Allow", false,
                                          detail::string_list({"s3:GetReplicationConfiguration", "s3:ListBucket"}, a),
                                          str(source, a), a),
                        a);
    statements.PushBack(detail::statement({}, "Allow", false,
                                          detail::string_list({"s3:GetObjectVersionForReplication",
                                                               "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                                                               "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
                                                              a),
                                          str(source + "/*", a), a),
                        a);
    statements.PushBack(detail::statement({}, "Allow", false,
                                          detail::string_list({"s3:ReplicateObject", "s3:ReplicateDelete",
                                                               "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"},
                                                              a),
                                          str(destination + "/*", a), a),
                        a);
    return detail::policy_document(std::move(statements), true);
}

std::string uploader_iam_policy(const std::string& bucket, const std::string& prefix) {
    const std::string arn = detail::bucket_arn(bucket);
    rapidjson::Document scratch;
    auto& a = scratch.GetAllocator();
    rapidjson::Value statements(rapidjson::kArrayType);
    statements.PushBack(detail::statement("EvidenceObjects", "Allow", false,
                                          detail::string_list({"s3:PutObject", "s3:PutObjectRetention", "s3:GetObject",
                                                               "s3:GetObjectVersion", "s3:GetObjectRetention",
                                                               "s3:GetObjectLegalHold"},
                                                              a),
                                          str(arn + "/" + prefix + "*", a), a),
                        a);
    rapidjson::Value listing = detail::statement(
        "ListEvidencePrefix", "Allow", false, detail::string_list({"s3:ListBucket", "s3:ListBucketVersions"}, a),
        str(arn, a), a);
    if (!prefix.empty()) {
        rapidjson::Value like(rapidjson::kObjectType);
        put(like, "s3:prefix", prefix + "*", a);
        rapidjson::Value condition(rapidjson::kObjectType);
        put(condition, "StringLike", std::move(like), a);
        put(listing, "Condition", std::move(condition), a);
    }
    statements.PushBack(listing, a);
    statements.PushBack(detail::statement("ReadBucketLockConfiguration", "Allow", false,
                                          detail::string_list({"s3:GetBucketObjectLockConfiguration",
                                                               "s3:GetBucketVersioning"},
                                                              a),
                                          str(arn, a), a),
                        a);
    return detail::policy_document(std::move(statements), true);
}

}  // namespace worm::compliance
