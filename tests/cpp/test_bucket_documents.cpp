// Bucket configuration documents and the compliance rules on them, without a server:
// lifecycle and replication answers as recorded from moto 5.2.1, Ceph RGW 16.2.15 and the
// AWS documentation; the TLS-only policy test; the uploader IAM policy; setup options.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "compliance/bucket_rules.hpp"
#include "s3/bucket_documents.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/time.hpp"

using namespace worm;
namespace d = worm::s3::detail;
namespace cd = worm::compliance::detail;

namespace {

// GET ?lifecycle from moto 5.2.1 after `worm bucket setup` (recorded).
const std::string moto_lifecycle =
    R"(<?xml version="1.0" encoding="utf-8"?>
<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><Expiration><Days>120</Days></Expiration><ID>worm-evidence-retention</ID><Filter><Prefix>evidence/</Prefix></Filter><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition><NoncurrentVersionExpiration><NoncurrentDays>120</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>)";

// AWS documentation shapes: an <And> filter with a date expiry, and the legacy rule <Prefix>.
const std::string aws_lifecycle =
    R"(<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule><ID>and-filter</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>
    <Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>
  <Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
</LifecycleConfiguration>)";

// GET ?encryption from Ceph RGW 16.2.15 (recorded): it does not implement the read and lists the bucket.
const std::string rgw_encryption =
    R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>p-plain</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>evidence/a</Key><LastModified>2026-11-26T14:30:33.180Z</LastModified><ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass><Owner><ID>tester</ID><DisplayName>tester</DisplayName></Owner><Type>Normal</Type></Contents><Marker></Marker></ListBucketResult>)";

// GET ?replication from Ceph RGW 16.2.15 on a bucket without replication (recorded).
const std::string rgw_replication =
    R"(<?xml version="1.0" encoding="UTF-8"?><ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role></Role></ReplicationConfiguration>)";

const std::string aws_replication =
    R"(<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role>arn:aws:iam::123456789012:role/replication</Role>
  <Rule><ID>copy</ID><Priority>1</Priority><Filter><Prefix>evidence/</Prefix></Filter><Status>Enabled</Status>
    <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
    <Destination><Bucket>arn:aws:s3:::evidence-replica</Bucket><StorageClass>STANDARD_IA</StorageClass></Destination></Rule>
</ReplicationConfiguration>)";

}  // namespace

TEST_CASE("lifecycle configurations are parsed from recorded answers") {
    const auto rules = d::parse_lifecycle_configuration(moto_lifecycle);
    REQUIRE(rules.size() == 1);
    CHECK(rules[0].id == "worm-evidence-retention");
    CHECK(rules[0].prefix == "evidence/");
    CHECK(rules[0].enabled);
    CHECK(rules[0].expiration_days == 120);
    CHECK(rules[0].noncurrent_version_expiration_days == 120);
    REQUIRE(rules[0].transitions.size() == 1);
    CHECK(rules[0].transitions[0] == s3::LifecycleTransition{30, "GLACIER"});

    // What setup writes for the defaults is exactly this rule (idempotence rests on it).
    compliance::BucketSetupOptions o;
    o.bucket = "b";
    CHECK(cd::same_lifecycle_rule(cd::wanted_lifecycle_rule(o), rules[0]));
    o.expire_grace_days = 31;
    CHECK_FALSE(cd::same_lifecycle_rule(cd::wanted_lifecycle_rule(o), rules[0]));

    const auto aws = d::parse_lifecycle_configuration(aws_lifecycle);
    REQUIRE(aws.size() == 2);
    CHECK(aws[0].prefix == "logs/");
    CHECK_FALSE(aws[0].enabled);
    CHECK(aws[0].expiration_date == parse_rfc3339("2030-01-01T00:00:00Z"));
    CHECK_FALSE(aws[0].expiration_days.has_value());
    CHECK(aws[1].prefix == "old/");
    CHECK(aws[1].abort_incomplete_multipart_days == 7);
}

TEST_CASE("an answer that is not the document asked for is a parse error, not an empty configuration") {
    CHECK_THROWS_WITH_AS(d::parse_replication_configuration(rgw_encryption),
                         doctest::Contains("instead of <ReplicationConfiguration>"), Error);
    CHECK_THROWS_WITH_AS(d::parse_lifecycle_configuration(rgw_encryption),
                         doctest::Contains("the server does not support it"), Error);
    try {
        d::parse_lifecycle_configuration("not xml");
        FAIL("parsed garbage");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::parse);
        CHECK(cd::not_implemented(e));
    }
    CHECK_THROWS_AS(d::parse_lifecycle_configuration(
                        "<LifecycleConfiguration><Rule><Expiration><Days>ten</Days></Expiration></Rule>"
                        "</LifecycleConfiguration>"),
                    Error);
}

TEST_CASE("replication configurations are parsed; destination ARNs name buckets") {
    const auto c = d::parse_replication_configuration(aws_replication);
    CHECK(c.role == "arn:aws:iam::123456789012:role/replication");
    REQUIRE(c.rules.size() == 1);
    CHECK(c.rules[0].prefix == "evidence/");
    CHECK(c.rules[0].enabled);
    CHECK(c.rules[0].destination_bucket_arn == "arn:aws:s3:::evidence-replica");
    CHECK(c.rules[0].destination_storage_class == "STANDARD_IA");
    // RGW answers a bucket without replication with an empty configuration: no rules.
    const auto none = d::parse_replication_configuration(rgw_replication);
    CHECK(none.role.empty());
    CHECK(none.rules.empty());
    CHECK(d::bucket_from_arn("arn:aws:s3:::evidence-replica") == "evidence-replica");
    CHECK(d::bucket_from_arn("arn:aws-cn:s3:::b") == "b");
    CHECK(d::bucket_from_arn("arn:aws:s3:::b/key") == "");
    CHECK(d::bucket_from_arn("evidence-replica") == "");
}

TEST_CASE("the TLS-only policy test accepts the usual spellings and nothing weaker") {
    CHECK(cd::denies_insecure_transport(compliance::tls_only_bucket_policy("b"), "b"));
    // A single statement object, Principal {"AWS": "*"}, Resource "*", a JSON false.
    CHECK(cd::denies_insecure_transport(
        R"({"Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":false}}}})",
        "b"));
    // Another bucket's statement, an Allow, a partial action or only the objects: not TLS-only.
    CHECK_FALSE(cd::denies_insecure_transport(compliance::tls_only_bucket_policy("other"), "b"));
    CHECK_FALSE(cd::denies_insecure_transport(
        R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})",
        "b"));
    CHECK_FALSE(cd::denies_insecure_transport(
        R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})",
        "b"));
    CHECK_FALSE(cd::denies_insecure_transport(
        R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})",
        "b"));
    CHECK_FALSE(cd::denies_insecure_transport(
        R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]})", "b"));
    CHECK_FALSE(cd::denies_insecure_transport("not json", "b"));
}

// The lifecycle rule of seed 004's audit-log bucket, as moto 5.2.1 answers it after
// `worm bucket setup --profile audit-logs` (one rule, three <Transition>, no expiry).
const std::string moto_audit_logs_lifecycle =
    R"(<?xml version="1.0" encoding="utf-8"?>
<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>worm-audit-logs-tiering</ID><Filter><Prefix>audit-logs/</Prefix></Filter><Status>Enabled</Status><Transition><Days>31</Days><StorageClass>STANDARD_IA</StorageClass></Transition><Transition><Days>91</Days><StorageClass>GLACIER</StorageClass></Transition><Transition><Days>366</Days><StorageClass>DEEP_ARCHIVE</StorageClass></Transition></Rule></LifecycleConfiguration>)";

TEST_CASE("the audit-logs profile is seed 004's bucket, and its lifecycle rule reads back as written") {
    using compliance::BucketProfile;
    CHECK(compliance::parse_bucket_profile("audit-logs") == BucketProfile::audit_logs);
    CHECK(compliance::parse_bucket_profile("evidence") == BucketProfile::evidence);
    CHECK_THROWS_WITH_AS(compliance::parse_bucket_profile("logs"), doctest::Contains("evidence, audit-logs"), Error);

    const auto o = compliance::BucketSetupOptions::for_profile(BucketProfile::audit_logs, "logs-bucket");
    CHECK_NOTHROW(o.validate());
    CHECK(o.mode == LockMode::governance);
    CHECK(o.retention_period_days() == 2557);
    CHECK(o.prefix == "audit-logs/");
    CHECK(o.deny_delete_policy);
    CHECK(o.tls_only_policy);
    const s3::LifecycleRule want = cd::wanted_lifecycle_rule(o);
    CHECK_FALSE(want.expiration_days.has_value());
    CHECK_FALSE(want.noncurrent_version_expiration_days.has_value());
    const auto rules = d::parse_lifecycle_configuration(moto_audit_logs_lifecycle);
    REQUIRE(rules.size() == 1);
    CHECK(rules[0].transitions == std::vector<s3::LifecycleTransition>{
                                      {31, "STANDARD_IA"}, {91, "GLACIER"}, {366, "DEEP_ARCHIVE"}});
    CHECK(cd::same_lifecycle_rule(want, rules[0]));
    s3::LifecycleRule missing = rules[0];
    missing.transitions.erase(missing.transitions.begin() + 1);
    CHECK_FALSE(cd::same_lifecycle_rule(want, missing));

    const auto v = compliance::BucketVerifyOptions::for_profile(BucketProfile::audit_logs, "logs-bucket");
    CHECK(v.min_retention_days == 2557);
    CHECK(v.mode == LockMode::governance);
    CHECK(v.require_deny_delete);
    CHECK(v.required_transitions == o.transitions);
    // The evidence profile is the defaults.
    const auto e = compliance::BucketSetupOptions::for_profile(BucketProfile::evidence, "b");
    CHECK(e.transitions == std::vector<s3::LifecycleTransition>{{30, "GLACIER"}});
    CHECK(e.expire_grace_days == 30);
    CHECK_FALSE(e.deny_delete_policy);
}

TEST_CASE("the deny-delete statement is recognised, and weaker policies are not") {
    auto o = compliance::BucketSetupOptions::for_profile(compliance::BucketProfile::audit_logs, "b");
    const std::string policy = compliance::setup_bucket_policy(o);
    CHECK(cd::denies_object_deletion(policy, "b"));
    CHECK(cd::denies_insecure_transport(policy, "b"));
    CHECK(cd::has_wanted_statements(policy, o));
    CHECK_FALSE(cd::denies_object_deletion(policy, "other"));
    CHECK_FALSE(cd::denies_object_deletion(compliance::tls_only_bucket_policy("b"), "b"));
    CHECK_FALSE(cd::has_wanted_statements(compliance::tls_only_bucket_policy("b"), o));
    CHECK(cd::denies_object_deletion(
        R"({"Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:Delete*","Resource":"*"}})", "b"));
    // Only one of the two actions, a condition, one principal, or an Allow: deletion is still possible.
    CHECK_FALSE(cd::denies_object_deletion(
        R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}]})",
        "b"));
    CHECK_FALSE(cd::denies_object_deletion(
        R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})",
        "b"));
    CHECK_FALSE(cd::denies_object_deletion(
        R"({"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:user/u"},"Action":"s3:*","Resource":"*"}]})",
        "b"));
    CHECK_FALSE(cd::denies_object_deletion(
        R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]})", "b"));

    // An existing policy keeps its statements and gains only the missing ones.
    const std::string existing =
        R"({"Version":"2012-10-17","Statement":{"Sid":"Mine","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}})";
    const std::string merged = cd::with_wanted_statements(existing, o);
    rapidjson::Document doc;
    doc.Parse(merged.c_str());
    REQUIRE(doc["Statement"].IsArray());
    REQUIRE(doc["Statement"].Size() == 3);
    CHECK(std::string(doc["Statement"][0]["Sid"].GetString()) == "Mine");
    CHECK(cd::has_wanted_statements(merged, o));
    CHECK(cd::with_wanted_statements(merged, o) == merged);  // nothing more to add
    CHECK_THROWS_AS(cd::with_wanted_statements(std::string("[1]"), o), Error);
    o.tls_only_policy = o.deny_delete_policy = false;
    CHECK(compliance::setup_bucket_policy(o).empty());
}

TEST_CASE("the uploader IAM policy is least privilege for the prefix") {
    const std::string text = compliance::uploader_iam_policy("evidence-bucket", "evidence/");
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    const auto& st = doc["Statement"];
    REQUIRE(st.Size() == 3);
    CHECK(std::string(st[0]["Resource"].GetString()) == "arn:aws:s3:::evidence-bucket/evidence/*");
    CHECK(std::string(st[1]["Condition"]["StringLike"]["s3:prefix"].GetString()) == "evidence/*");
    for (const auto& s : st.GetArray())
        for (const auto& a : s["Action"].GetArray()) {
            const std::string action = a.GetString();
            CHECK_MESSAGE(action.find("Delete") == std::string::npos, action);
            CHECK_MESSAGE(action.find("Bypass") == std::string::npos, action);
            CHECK_MESSAGE(action.find("PutBucket") == std::string::npos, action);  // no configuration writes
            CHECK(action != "s3:*");
        }
}

TEST_CASE("setup options are checked before anything is sent") {
    compliance::BucketSetupOptions o;
    o.bucket = "b";
    CHECK_NOTHROW(o.validate());
    CHECK(o.retention_period_days() == 90);
    o.retention_years = 7;
    CHECK(o.retention_period_days() == 7 * 365 + 2);  // with the leap days seven years may hold
    o.retention_days = 10;
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("not both"), Error);
    o.retention_days.reset();
    o.encryption.kms_key_id = "key";
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("aws:kms"), Error);
    o.encryption.kms_key_id.clear();
    o.retention_years.reset();
    o.transitions = {{200, "GLACIER"}};  // after the expiry at 90 + 30 days
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("after the expiry"), Error);
    o.transitions = {{91, "GLACIER"}, {31, "STANDARD_IA"}};
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("ascending days"), Error);
    o.transitions = {{30, ""}};
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("storage class"), Error);
    o.transitions = {{30, "GLACIER"}};
    o.bucket.clear();
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("bucket name is empty"), Error);

    compliance::BucketVerifyOptions v{.bucket = "b", .sample = 5000};
    CHECK_THROWS_WITH_AS(v.validate(), doctest::Contains("sample"), Error);
}
