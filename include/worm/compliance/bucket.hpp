// compliance/bucket.hpp: set an S3 bucket up for WORM evidence, and verify that it is.
//
// setup_bucket applies the eight resources of a WORM evidence bucket (the bucket with
// Object Lock, default retention, versioning, default encryption, the public access block,
// a TLS-only bucket policy, a lifecycle rule for the evidence prefix, and the uploader's
// IAM policy, which is printed because it is attached outside S3). It is idempotent: each
// resource is read first and written only when it differs. A server that does not
// implement a resource is reported as such, never as done.
//
// verify_bucket reads the bucket's configuration and answers one row per check, with the
// observed and expected values, pass / fail / unsupported, the AWS Config / Security Hub
// control it corresponds to, and the SHA-256 of each raw server answer it judged, so a
// certificate can cite exactly what the server said.
//
// Example:
//   worm::s3::S3Client client(worm::s3::ClientConfig::from_env());
//   worm::compliance::BucketSetupReport setup =
//       worm::compliance::setup_bucket(client, {.bucket = "evidence", .retention_days = 90});
//   worm::compliance::BucketVerification result =
//       worm::compliance::verify_bucket(client, {.bucket = "evidence", .min_retention_days = 90});
//   if (!result.passed()) std::cout << worm::compliance::to_json(result);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/config.hpp"
#include "worm/export.hpp"
#include "worm/s3/client.hpp"
#include "worm/storage.hpp"
#include "worm/time.hpp"

namespace worm::compliance {

// ---- profiles ---------------------------------------------------------------------------

// A named set of what setup applies and verify requires.
//   evidence    (the default) seed 001's evidence bucket: COMPLIANCE, 90 days (or
//               $WORM_RETENTION_YEARS in the CLI), lifecycle for evidence/: GLACIER after 30
//               days, expiry only after retention + 30 days; TLS-only policy.
//   audit_logs  seed 004's audit-log bucket ("audit-logs"): GOVERNANCE 2557 days, lifecycle for
//               audit-logs/: STANDARD_IA after 31 days, GLACIER after 91, DEEP_ARCHIVE after 366,
//               no expiry; TLS-only policy plus a statement denying object deletion.
enum class BucketProfile { evidence, audit_logs };
WORM_API std::string_view to_string(BucketProfile profile) noexcept;  // "evidence", "audit-logs"
// Throws Error(invalid_argument) naming the profiles there are.
WORM_API BucketProfile parse_bucket_profile(std::string_view name);

// ---- setup -----------------------------------------------------------------------------

struct WORM_API BucketSetupOptions {
    std::string bucket{};
    std::string region{};  // where to create the bucket; empty: the client's region
    LockMode mode = LockMode::compliance;
    // Default retention: exactly one of days / years (days = default_retention_days when neither is set).
    std::optional<int> retention_days{};
    std::optional<int> retention_years{};
    // Default encryption: aes256 or aws_kms (kms_key_id empty: the account's aws/s3 key).
    ServerSideEncryption encryption{ServerSideEncryption::Kind::aes256, {}};
    // One lifecycle rule (id lifecycle_rule_id) for `prefix`: current versions move through
    // `transitions` (ascending days; none: no transition), and, when expire_grace_days is set,
    // current and noncurrent versions expire only after retention + expire_grace_days.
    std::string prefix = "evidence/";
    std::string lifecycle_rule_id = "worm-evidence-retention";
    std::vector<s3::LifecycleTransition> transitions{{30, "GLACIER"}};
    std::optional<int> expire_grace_days = 30;
    // Apply the bucket policy denying requests without TLS. A server that enforces
    // aws:SecureTransport (AWS, moto) then refuses object writes sent over plain http.
    bool tls_only_policy = true;
    // Add a statement denying s3:DeleteObject and s3:DeleteObjectVersion to everyone. Deny wins
    // over any allow, so a GOVERNANCE bypass delete then needs the statement removed first
    // (s3:PutBucketPolicy is the "special permission").
    bool deny_delete_policy = false;
    bool dry_run = false;  // read and plan, write nothing
    // Replication of new versions under `prefix` to this bucket (an existing bucket, versioned,
    // with Object Lock, usually in the backup region), as the IAM role replication_role
    // (an ARN; attach replication_role_policy to it). Empty: no replication rule.
    std::string replicate_to{};
    std::string replication_role{};

    // The options of a profile for `bucket` (evidence: the defaults above).
    static BucketSetupOptions for_profile(BucketProfile profile, std::string bucket);
    // The default retention period in days (years with the leap days they may hold).
    int retention_period_days() const;
    // Throws Error(invalid_argument) naming the field.
    void validate() const;
};

enum class SetupAction {
    created,        // did not exist; created
    already_right,  // existed as wanted; nothing sent
    changed,        // existed differently; rewritten
    unsupported,    // the server does not implement it (nothing is in place)
    planned,        // dry run: would be created or changed
    printed,        // the IAM policy: shown for the user to attach outside S3
    skipped,        // left out as asked (tls_only_policy = false)
};
WORM_API std::string_view to_string(SetupAction action) noexcept;

struct WORM_API ResourceOutcome {
    std::string resource{};  // "bucket", "object_lock", "versioning", "encryption", "public_access_block",
                           // "bucket_policy", "lifecycle", "replication", "iam_policy"
    SetupAction action = SetupAction::already_right;
    std::string detail{};    // what was observed / written / why unsupported
};

struct WORM_API BucketSetupReport {
    std::string bucket{};
    bool dry_run = false;
    std::vector<ResourceOutcome> resources{};  // one per resource, in the order above

    // Nothing was created or changed (a second run of an idempotent setup).
    bool unchanged() const;
    // Some resource is not supported by the server.
    bool has_unsupported() const;
};

// Creates (or adopts) and configures the bucket. Throws Error(invalid_argument) for bad
// options, Error(storage) when an existing bucket has no Object Lock (it cannot be added
// later), S3Error when the server refuses a supported operation.
WORM_API BucketSetupReport setup_bucket(s3::S3Client& client, const BucketSetupOptions& options);

// What setup_bucket applies for these options, without a request (JSON: bucket, object_lock
// {enabled, mode, days, years}, versioning, encryption, public_access_block, bucket_policy,
// lifecycle {id, prefix, transitions [{days, storage_class}], expiration_days,
// noncurrent_version_expiration_days} (expiries null without expire_grace_days)):
// `worm bucket setup --print-rules`, and what examples/cloudformation/ is tested against.
WORM_API std::string setup_rules_json(const BucketSetupOptions& options);

// The bucket policy setup gives a bucket without one (JSON): the TLS-only statement and the
// deny-delete statement as the options ask; "" when they ask for neither. A bucket that has a
// policy gets the missing statements added to it.
WORM_API std::string setup_bucket_policy(const BucketSetupOptions& options);
// The TLS-only policy alone: deny every request without TLS (aws:SecureTransport false).
WORM_API std::string tls_only_bucket_policy(const std::string& bucket);
// The permissions of the role S3 replicates as (IAM JSON): read the source's replication
// configuration, versions, tags, retention and legal holds; replicate into the destination.
// examples/cloudformation/worm-storage.yaml's ReplicationRole holds the same.
WORM_API std::string replication_role_policy(const std::string& source_bucket, const std::string& destination_bucket);
// The least-privilege uploader policy (IAM JSON): PutObject, PutObjectRetention, GetObject,
// GetObjectRetention, GetObjectVersion on bucket/prefix*, ListBucket limited to the prefix.
WORM_API std::string uploader_iam_policy(const std::string& bucket, const std::string& prefix);

// ---- verification ------------------------------------------------------------------------

struct WORM_API BucketVerifyOptions {
    std::string bucket{};
    int min_retention_days = default_retention_days;  // default retention must be at least this
    std::optional<LockMode> mode{};          // required default retention mode (any when unset)
    bool require_kms = false;              // default encryption must be aws:kms (S3.17)
    bool require_replica = false;          // replication to a lock-enabled bucket is required
    // The bucket policy must deny s3:DeleteObject and s3:DeleteObjectVersion to everyone
    // (row deny_delete_policy; absent when not required).
    bool require_deny_delete = false;
    // Each must be a transition of an enabled lifecycle rule covering `prefix`, at exactly
    // that day count (one row each: lifecycle_transition_<storage class, lower case>).
    std::vector<s3::LifecycleTransition> required_transitions{};
    std::string prefix{};                    // lifecycle rules and sampled objects ("" = whole bucket)
    int sample = 10;                       // object versions to check (0 = none)

    // What a profile requires of `bucket` (evidence: the defaults above).
    static BucketVerifyOptions for_profile(BucketProfile profile, std::string bucket);
    void validate() const;
};

enum class CheckStatus { pass, fail, unsupported };
WORM_API std::string_view to_string(CheckStatus status) noexcept;

// A raw server answer a check was judged on: the request, and SHA-256 (hex) of the body
// (of a HEAD: of its headers, one "name: value\n" line each, lower-case names, as received).
struct WORM_API ServerAnswer {
    std::string request{};  // "GET /bucket?object-lock", "HEAD /bucket/key?versionId=..."
    int http_status = 0;
    std::string sha256_hex{};
};

struct WORM_API BucketCheck {
    std::string id{};               // stable: "object_lock_enabled", "default_retention", ...
    std::string title{};            // a sentence for people
    std::string cross_reference{};  // "Security Hub S3.15 / AWS Config s3-bucket-default-lock-enabled"
    std::string observed{};
    std::string expected{};
    CheckStatus status = CheckStatus::fail;
    std::vector<ServerAnswer> answers{};
};

struct WORM_API BucketVerification {
    std::string endpoint{};
    std::string bucket{};
    TimePoint checked_at{};
    std::vector<BucketCheck> checks{};

    bool passed() const;                         // no check failed (unsupported is not a failure)
    const BucketCheck* find(std::string_view id) const;
    std::vector<std::string> failed_ids() const;
};

// Reads the bucket and judges it. Throws Error(not_found) when the bucket does not exist and
// S3Error / Error(storage) when it cannot be read at all (the CLI's exit 3); a check the
// server does not answer is an `unsupported` row (or `fail` when the check is required).
WORM_API BucketVerification verify_bucket(s3::S3Client& client, const BucketVerifyOptions& options);

// JSON forms (one object; stable field names: other tools read them).
WORM_API std::string to_json(const BucketSetupReport& report);
WORM_API std::string to_json(const BucketVerification& verification);

}  // namespace worm::compliance
