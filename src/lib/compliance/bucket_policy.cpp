// bucket_policy.cpp: the policy documents of a WORM bucket, written with json::Writer: the
// bucket policy statements setup adds (TLS only, no deletion) and the tests verify applies
// to a bucket's policy, and the IAM policies setup prints (uploader, replication role).
#include <algorithm>
#include <optional>

#include "bucket_rules.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/json.hpp"

namespace worm::compliance::detail {

namespace {

std::string bucket_arn(const std::string& bucket) { return "arn:aws:s3:::" + bucket; }

// {"<test>": {"<key>": "<value>"}}
struct Condition {
    std::string_view test, key, value;
};

// {"Sid"?: sid, "Effect": effect, "Principal"?: "*", "Action": actions, "Resource": resources,
// "Condition"?: condition}. One action or resource is written as a string, several as a list.
void statement(json::Writer& w, std::string_view sid, std::string_view effect, bool every_principal,
               std::initializer_list<std::string_view> actions, std::initializer_list<std::string_view> resources,
               const std::optional<Condition>& condition = std::nullopt) {
    const auto strings = [&w](std::initializer_list<std::string_view> items) {
        if (items.size() == 1) {
            w.value(*items.begin());
            return;
        }
        w.begin_array();
        for (std::string_view i : items) w.value(i);
        w.end_array();
    };
    w.begin_object();
    if (!sid.empty()) w.member("Sid", sid);
    w.member("Effect", effect);
    if (every_principal) w.member("Principal", "*");
    w.key("Action");
    strings(actions);
    w.key("Resource");
    strings(resources);
    if (condition) {
        w.key("Condition").begin_object();
        w.key(condition->test).begin_object().member(condition->key, condition->value).end_object();
        w.end_object();
    }
    w.end_object();
}

// {"Version": "2012-10-17", "Statement": [...]} as pretty JSON; write_statements writes the
// statements into the list.
template <typename WriteStatements>
std::string policy_document(WriteStatements&& write_statements) {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object().member("Version", "2012-10-17");
    w.key("Statement").begin_array();
    write_statements(w);
    w.end_array().end_object();
    return w.take();
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

void tls_deny_statement(json::Writer& w, const std::string& bucket) {
    const std::string arn = bucket_arn(bucket);
    statement(w, "DenyInsecureTransport", "Deny", true, {"s3:*"}, {arn, arn + "/*"},
              Condition{"Bool", "aws:SecureTransport", "false"});
}

void delete_deny_statement(json::Writer& w, const std::string& bucket) {
    statement(w, "DenyObjectDeletion", "Deny", true, {"s3:DeleteObject", "s3:DeleteObjectVersion"},
              {bucket_arn(bucket) + "/*"});
}

bool has_wanted_statements(const std::optional<std::string>& policy, const BucketSetupOptions& o) {
    if (!o.tls_only_policy && !o.deny_delete_policy) return true;
    return policy && (!o.tls_only_policy || denies_insecure_transport(*policy, o.bucket)) &&
           (!o.deny_delete_policy || denies_object_deletion(*policy, o.bucket));
}

std::string with_wanted_statements(const std::optional<std::string>& existing, const BucketSetupOptions& o) {
    rapidjson::Document doc;
    if (existing) {
        doc.Parse(existing->data(), existing->size());
        if (doc.HasParseError() || !doc.IsObject())
            throw Error(ErrorCode::parse, "the bucket policy of " + o.bucket + " is not a JSON object; not changing it");
    }
    const rapidjson::Value* statements = existing ? json::find_member(doc, "Statement") : nullptr;
    if (statements && !statements->IsObject() && !statements->IsArray())
        throw Error(ErrorCode::parse, "the Statement of the bucket policy of " + o.bucket +
                                          " is neither a statement nor a list; not changing it");
    // The policy's members in their order, its statements (one becomes a list of one) followed
    // by the wanted ones it lacks; a policy without statements gets the list at its end.
    const auto write_statements = [&](json::Writer& w) {
        w.key("Statement").begin_array();
        if (statements && statements->IsArray()) {
            for (const auto& st : statements->GetArray()) w.value(st);
        } else if (statements) {
            w.value(*statements);
        }
        if (o.tls_only_policy && !(existing && denies_insecure_transport(*existing, o.bucket)))
            tls_deny_statement(w, o.bucket);
        if (o.deny_delete_policy && !(existing && denies_object_deletion(*existing, o.bucket)))
            delete_deny_statement(w, o.bucket);
        w.end_array();
    };
    json::Writer w;
    w.begin_object();
    if (existing) {
        for (const auto& m : doc.GetObject()) {
            if (&m.value == statements) {
                write_statements(w);
            } else {
                w.key(std::string_view(m.name.GetString(), m.name.GetStringLength()));
                w.value(m.value);
            }
        }
    } else {
        w.member("Version", "2012-10-17");
    }
    if (!statements) write_statements(w);
    w.end_object();
    return w.take();
}

}  // namespace worm::compliance::detail

namespace worm::compliance {

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
    return detail::policy_document([&](json::Writer& w) {
        detail::statement(w, {}, "Allow", false, {"s3:GetReplicationConfiguration", "s3:ListBucket"}, {source});
        detail::statement(w, {}, "Allow", false,
                          {"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                           "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
                          {source + "/*"});
        detail::statement(w, {}, "Allow", false,
                          {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags",
                           "s3:ObjectOwnerOverrideToBucketOwner"},
                          {destination + "/*"});
    });
}

std::string uploader_iam_policy(const std::string& bucket, const std::string& prefix) {
    const std::string arn = detail::bucket_arn(bucket), objects = arn + "/" + prefix + "*", listed = prefix + "*";
    return detail::policy_document([&](json::Writer& w) {
        detail::statement(w, "EvidenceObjects", "Allow", false,
                          {"s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:GetObjectVersion",
                           "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
                          {objects});
        detail::statement(w, "ListEvidencePrefix", "Allow", false, {"s3:ListBucket", "s3:ListBucketVersions"}, {arn},
                          prefix.empty() ? std::nullopt
                                         : std::optional(detail::Condition{"StringLike", "s3:prefix", listed}));
        detail::statement(w, "ReadBucketLockConfiguration", "Allow", false,
                          {"s3:GetBucketObjectLockConfiguration", "s3:GetBucketVersioning"}, {arn});
    });
}

}  // namespace worm::compliance
