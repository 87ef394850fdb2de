// bucket_options.cpp: the bucket profiles and the setup / verify options they fill in, with
// their validation (the first thing setup_bucket, verify_bucket and the CLI do).
#include "bucket_options.hpp"

#include <algorithm>

#include "worm/compliance/bucket.hpp"
#include "worm/error.hpp"

namespace worm::compliance {

namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::invalid_argument, message); }

void check_days(std::optional<int> value, const std::string& name, int min, int max) {
    if (value && (*value < min || *value > max))
        invalid(name + " must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                std::to_string(*value));
}

// Seed 004 ("Object Lock Configuration", "Lifecycle Policy", "Bucket Policy"): GOVERNANCE for
// 2557 days (7 years), Standard-IA from day 31, Glacier from day 91, Deep Archive from day 366.
constexpr int audit_logs_retention_days = 2557;
const std::vector<s3::LifecycleTransition>& audit_logs_transitions() {
    static const std::vector<s3::LifecycleTransition> transitions{
        {31, "STANDARD_IA"}, {91, "GLACIER"}, {366, "DEEP_ARCHIVE"}};
    return transitions;
}
// AWS_S3_PREFIX's default in seed 004; the sink writes {prefix}/YYYY/MM/DD/...
constexpr const char* audit_logs_prefix = "audit-logs/";

}  // namespace

namespace detail {

int days_in_years(int years) { return years * 365 + (years + 3) / 4; }

}  // namespace detail

std::string_view to_string(BucketProfile profile) noexcept {
    switch (profile) {
        case BucketProfile::evidence: return "evidence";
        case BucketProfile::audit_logs: return "audit-logs";
    }
    return "evidence";
}

BucketProfile parse_bucket_profile(std::string_view name) {
    for (BucketProfile p : {BucketProfile::evidence, BucketProfile::audit_logs})
        if (name == to_string(p)) return p;
    invalid("unknown bucket profile '" + std::string(name) + "' (profiles: evidence, audit-logs)");
}

BucketSetupOptions BucketSetupOptions::for_profile(BucketProfile profile, std::string bucket) {
    BucketSetupOptions o;
    o.bucket = std::move(bucket);
    if (profile == BucketProfile::audit_logs) {
        o.mode = LockMode::governance;
        o.retention_days = audit_logs_retention_days;
        o.prefix = audit_logs_prefix;
        o.lifecycle_rule_id = "worm-audit-logs-tiering";
        o.transitions = audit_logs_transitions();
        o.expire_grace_days.reset();  // the seed keeps logs in Deep Archive; deleting is denied
        o.deny_delete_policy = true;
    }
    return o;
}

int BucketSetupOptions::retention_period_days() const {
    return retention_years ? detail::days_in_years(*retention_years) : retention_days.value_or(default_retention_days);
}

void BucketSetupOptions::validate() const {
    if (bucket.empty()) invalid("bucket name is empty");
    if (retention_days && retention_years) invalid("give retention in days or in years, not both");
    check_days(retention_days, "retention days", 1, 36500);
    check_days(retention_years, "retention years", 1, 100);
    check_days(expire_grace_days, "expire grace days", 0, 36500);
    if (lifecycle_rule_id.empty() && (!transitions.empty() || expire_grace_days)) invalid("the lifecycle rule needs an id");
    for (size_t i = 0; i < transitions.size(); ++i) {
        const s3::LifecycleTransition& t = transitions[i];
        check_days(t.days, "transition days", 0, 36500);
        if (t.storage_class.empty()) invalid("a transition needs a storage class");
        if (i > 0 && t.days <= transitions[i - 1].days)
            invalid("transitions must come in ascending days: " + t.storage_class + " after " +
                    std::to_string(t.days) + " days follows " + transitions[i - 1].storage_class + " after " +
                    std::to_string(transitions[i - 1].days) + " days");
        if (expire_grace_days && t.days >= retention_period_days() + *expire_grace_days)
            invalid("transition after " + std::to_string(t.days) +
                    " days would come after the expiry; choose fewer transition days");
    }
    if (encryption.kind == ServerSideEncryption::Kind::none) invalid("default encryption must be AES256 or aws:kms");
    if (encryption.kind != ServerSideEncryption::Kind::aws_kms && !encryption.kms_key_id.empty())
        invalid("a KMS key needs aws:kms encryption");
    if (prefix.starts_with("/")) invalid("prefix '" + prefix + "' must not start with '/'");
    if (replicate_to.empty() != replication_role.empty())
        invalid("replication needs both the replica bucket and the IAM role S3 replicates as");
    if (!replication_role.empty() && !replication_role.starts_with("arn:"))
        invalid("replication role '" + replication_role + "' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
    if (!replicate_to.empty() && replicate_to == bucket) invalid("a bucket cannot replicate to itself");
}

BucketVerifyOptions BucketVerifyOptions::for_profile(BucketProfile profile, std::string bucket) {
    BucketVerifyOptions o;
    o.bucket = std::move(bucket);
    if (profile == BucketProfile::audit_logs) {
        o.min_retention_days = audit_logs_retention_days;
        o.mode = LockMode::governance;
        o.require_deny_delete = true;
        o.required_transitions = audit_logs_transitions();
        o.prefix = audit_logs_prefix;
    }
    return o;
}

void BucketVerifyOptions::validate() const {
    if (bucket.empty()) invalid("bucket name is empty");
    if (min_retention_days < 0 || min_retention_days > 36500)
        invalid("minimum retention must be from 0 to 36500 days, got " + std::to_string(min_retention_days));
    if (sample < 0 || sample > 1000) invalid("sample must be from 0 to 1000 versions, got " + std::to_string(sample));
    for (const s3::LifecycleTransition& t : required_transitions) {
        if (t.storage_class.empty()) invalid("a required transition needs a storage class");
        check_days(t.days, "required transition days", 0, 36500);
    }
}

}  // namespace worm::compliance
