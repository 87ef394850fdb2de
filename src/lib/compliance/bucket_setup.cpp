// bucket_setup.cpp: setup_bucket. Each resource is read, compared with what is wanted,
// written only when it differs, and read back: a write the server accepted but did not
// apply is reported as unsupported, never as done.
#include <algorithm>
#include <functional>

#include "bucket_rules.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/s3/client.hpp"

namespace worm::compliance {

namespace {

s3::DefaultRetention wanted_retention(const BucketSetupOptions& o) {
    s3::DefaultRetention r;
    r.mode = o.mode;
    if (o.retention_years) r.years = o.retention_years;
    else r.days = o.retention_days.value_or(default_retention_days);
    return r;
}

bool same_retention(const s3::DefaultRetention& a, const s3::DefaultRetention& b) {
    // Servers may send <Years>0</Years> beside <Days>: compare the period that is set.
    auto days = [](const s3::DefaultRetention& r) { return r.days && *r.days > 0 ? r.days : std::nullopt; };
    auto years = [](const s3::DefaultRetention& r) { return r.years && *r.years > 0 ? r.years : std::nullopt; };
    return a.mode == b.mode && days(a) == days(b) && years(a) == years(b);
}

bool same_block(const s3::PublicAccessBlock& a, const s3::PublicAccessBlock& b) {
    return a.block_public_acls == b.block_public_acls && a.ignore_public_acls == b.ignore_public_acls &&
           a.block_public_policy == b.block_public_policy && a.restrict_public_buckets == b.restrict_public_buckets;
}

bool same_encryption(const std::optional<s3::BucketEncryption>& have, const ServerSideEncryption& want) {
    if (!have || have->sse.kind != want.kind) return false;
    // An unnamed KMS key is the account default: any key the bucket names is one the user chose.
    return want.kind != ServerSideEncryption::Kind::aws_kms || want.kms_key_id.empty() ||
           have->sse.kms_key_id == want.kms_key_id || have->sse.kms_key_id.ends_with("/" + want.kms_key_id);
}

class Setup {
public:
    Setup(s3::S3Client& client, const BucketSetupOptions& options) : client_(client), o_(options) {
        report_.bucket = o_.bucket;
        report_.dry_run = o_.dry_run;
    }

    BucketSetupReport run() {
        const bool exists = bucket();
        if (!exists) {  // dry run of a new bucket: everything would be created
            for (const char* r : {"object_lock", "versioning", "encryption", "public_access_block", "bucket_policy",
                                  "lifecycle"})
                add(r, SetupAction::planned, "would be set on the new bucket");
        } else {
            object_lock();
            versioning();
            encryption();
            public_access_block();
            bucket_policy();
            lifecycle();
            if (!o_.replicate_to.empty()) replication();
        }
        add("iam_policy", SetupAction::printed, "least-privilege uploader policy; attach it outside S3");
        return std::move(report_);
    }

private:
    void add(std::string resource, SetupAction action, std::string detail) {
        report_.resources.push_back({std::move(resource), action, std::move(detail)});
    }

    // Writes unless dry run, then reads back; `action` is what a confirmed write is.
    void apply(const char* resource, SetupAction action, const std::string& wanted, const std::function<void()>& write,
               const std::function<bool()>& confirmed) {
        if (o_.dry_run) {
            add(resource, SetupAction::planned, (action == SetupAction::created ? "would create: " : "would change to: ") +
                                                    wanted);
            return;
        }
        try {
            write();
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
            add(resource, SetupAction::unsupported, "not supported by this server (" + detail::describe_error(e) + ")");
            return;
        }
        bool ok = false;
        try {
            ok = confirmed();
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
        }
        if (!ok) {
            add(resource, SetupAction::unsupported,
                "not supported by this server (it accepted the write but does not report " + wanted + ")");
            return;
        }
        add(resource, action, wanted);
    }

    bool bucket() {
        bool exists = false;
        try {
            client_.head_bucket(o_.bucket);
            exists = true;
        } catch (const S3Error& e) {
            if (e.http_status() != 404) throw;
        }
        if (exists) {
            if (!client_.get_object_lock_configuration(o_.bucket).enabled)
                throw Error(ErrorCode::storage, "bucket " + o_.bucket +
                                                    " exists without Object Lock; Object Lock can only be chosen "
                                                    "when a bucket is created: use a new bucket name");
            add("bucket", SetupAction::already_right, "exists with Object Lock enabled");
            return true;
        }
        if (o_.dry_run) {
            add("bucket", SetupAction::planned, "would create with Object Lock enabled");
            return false;
        }
        client_.create_bucket({.bucket = o_.bucket, .object_lock = true, .region = o_.region});
        if (!client_.get_object_lock_configuration(o_.bucket).enabled)
            throw Error(ErrorCode::storage, "bucket " + o_.bucket + " was created but reports no Object Lock");
        add("bucket", SetupAction::created, "created with Object Lock enabled");
        return true;
    }

    void object_lock() {
        const s3::DefaultRetention want = wanted_retention(o_);
        const s3::ObjectLockConfiguration have = client_.get_object_lock_configuration(o_.bucket);
        if (have.default_retention && same_retention(*have.default_retention, want)) {
            add("object_lock", SetupAction::already_right, "default retention " + detail::describe(want));
            return;
        }
        apply("object_lock", have.default_retention ? SetupAction::changed : SetupAction::created,
              "default retention " + detail::describe(want),
              [&] { client_.put_object_lock_configuration(o_.bucket, {.enabled = true, .default_retention = want}); },
              [&] {
                  const auto now = client_.get_object_lock_configuration(o_.bucket).default_retention;
                  return now && same_retention(*now, want);
              });
    }

    void versioning() {
        const s3::VersioningStatus have = client_.get_bucket_versioning(o_.bucket);
        if (have == s3::VersioningStatus::enabled) {
            add("versioning", SetupAction::already_right, "enabled");
            return;
        }
        apply("versioning", have == s3::VersioningStatus::unversioned ? SetupAction::created : SetupAction::changed,
              "enabled", [&] { client_.put_bucket_versioning(o_.bucket, true); },
              [&] { return client_.get_bucket_versioning(o_.bucket) == s3::VersioningStatus::enabled; });
    }

    void encryption() {
        std::optional<s3::BucketEncryption> have;
        try {
            have = client_.get_bucket_encryption(o_.bucket);
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
            add("encryption", SetupAction::unsupported, "not supported by this server (" + detail::describe_error(e) + ")");
            return;
        }
        if (same_encryption(have, o_.encryption)) {
            add("encryption", SetupAction::already_right, detail::describe(have->sse));
            return;
        }
        const s3::BucketEncryption want{.sse = o_.encryption,
                                        .bucket_key_enabled = o_.encryption.kind == ServerSideEncryption::Kind::aws_kms};
        apply("encryption", have ? SetupAction::changed : SetupAction::created, detail::describe(o_.encryption),
              [&] { client_.put_bucket_encryption(o_.bucket, want); },
              [&] { return same_encryption(client_.get_bucket_encryption(o_.bucket), o_.encryption); });
    }

    void public_access_block() {
        const s3::PublicAccessBlock want{};  // all four flags on
        std::optional<s3::PublicAccessBlock> have;
        try {
            have = client_.get_public_access_block(o_.bucket);
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
            add("public_access_block", SetupAction::unsupported,
                "not supported by this server (" + detail::describe_error(e) + ")");
            return;
        }
        if (have && same_block(*have, want)) {
            add("public_access_block", SetupAction::already_right, detail::describe(want));
            return;
        }
        apply("public_access_block", have ? SetupAction::changed : SetupAction::created, detail::describe(want),
              [&] { client_.put_public_access_block(o_.bucket, want); },
              [&] {
                  const auto now = client_.get_public_access_block(o_.bucket);
                  return now && same_block(*now, want);
              });
    }

    void bucket_policy() {
        if (!o_.tls_only_policy && !o_.deny_delete_policy) {
            add("bucket_policy", SetupAction::skipped, "TLS-only policy left out as asked");
            return;
        }
        std::optional<std::string> have;
        try {
            have = client_.get_bucket_policy(o_.bucket);
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
            add("bucket_policy", SetupAction::unsupported, "not supported by this server (" + detail::describe_error(e) + ")");
            return;
        }
        std::string what;
        if (o_.tls_only_policy) what = "denies requests without TLS (aws:SecureTransport false)";
        if (o_.deny_delete_policy)
            what += std::string(what.empty() ? "denies" : "; denies") + " s3:DeleteObject and s3:DeleteObjectVersion to everyone";
        if (detail::has_wanted_statements(have, o_)) {
            add("bucket_policy", SetupAction::already_right, what);
            return;
        }
        const std::string policy = detail::with_wanted_statements(have, o_);
        apply("bucket_policy", have ? SetupAction::changed : SetupAction::created,
              what + (have ? " (statements added to the existing policy)" : ""),
              [&] { client_.put_bucket_policy(o_.bucket, policy); },
              [&] { return detail::has_wanted_statements(client_.get_bucket_policy(o_.bucket), o_); });
    }

    void lifecycle() {
        const s3::LifecycleRule want = detail::wanted_lifecycle_rule(o_);
        if (want.transitions.empty() && !want.expiration_days) {  // a rule without an action is refused by S3
            add("lifecycle", SetupAction::skipped, "no transition and no expiry asked");
            return;
        }
        std::optional<std::vector<s3::LifecycleRule>> have;
        try {
            have = client_.get_bucket_lifecycle_configuration(o_.bucket);
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
            add("lifecycle", SetupAction::unsupported, "not supported by this server (" + detail::describe_error(e) + ")");
            return;
        }
        std::vector<s3::LifecycleRule> rules = have.value_or(std::vector<s3::LifecycleRule>{});
        const auto mine = std::find_if(rules.begin(), rules.end(),
                                       [&](const s3::LifecycleRule& r) { return r.id == o_.lifecycle_rule_id; });
        if (mine != rules.end() && detail::same_lifecycle_rule(*mine, want)) {
            add("lifecycle", SetupAction::already_right, detail::describe(want));
            return;
        }
        const bool existed = mine != rules.end();
        if (existed) *mine = want;  // other rules are kept as they are
        else rules.push_back(want);
        apply("lifecycle", existed ? SetupAction::changed : SetupAction::created, detail::describe(want),
              [&] { client_.put_bucket_lifecycle_configuration(o_.bucket, rules); },
              [&] {
                  const auto now = client_.get_bucket_lifecycle_configuration(o_.bucket);
                  return now && std::any_of(now->begin(), now->end(), [&](const s3::LifecycleRule& r) {
                             return detail::same_lifecycle_rule(r, want);
                         });
              });
    }

    void replication() {
        // The destination must be there first: S3 accepts a rule to a missing bucket and
        // then fails every replication silently.
        try {
            client_.head_bucket(o_.replicate_to);
        } catch (const S3Error& e) {
            if (e.http_status() != 404) throw;
            throw Error(ErrorCode::not_found, "replica bucket " + o_.replicate_to +
                                                  " does not exist: create it first, in the backup region "
                                                  "(worm bucket setup --store s3://" + o_.replicate_to + " --region R)");
        }
        const s3::ReplicationRule want{.id = "worm-replica", .prefix = o_.prefix, .enabled = true,
                                       .destination_bucket_arn = "arn:aws:s3:::" + o_.replicate_to,
                                       .destination_storage_class = ""};
        const auto same = [&want](const s3::ReplicationRule& r) {
            return r.id == want.id && r.prefix == want.prefix && r.enabled &&
                   r.destination_bucket_arn == want.destination_bucket_arn;
        };
        std::optional<s3::ReplicationConfiguration> have;
        try {
            have = client_.get_bucket_replication(o_.bucket);
        } catch (const Error& e) {
            if (!detail::not_implemented(e)) throw;
            add("replication", SetupAction::unsupported, "not supported by this server (" + detail::describe_error(e) + ")");
            return;
        }
        const std::string what = "new versions under '" + o_.prefix + "' to " + o_.replicate_to + " as " + o_.replication_role;
        if (have && have->role == o_.replication_role && std::any_of(have->rules.begin(), have->rules.end(), same)) {
            add("replication", SetupAction::already_right, what);
            return;
        }
        s3::ReplicationConfiguration config{.role = o_.replication_role, .rules = {}};
        if (have)  // other rules are kept as they are
            for (const auto& r : have->rules)
                if (r.id != want.id) config.rules.push_back(r);
        config.rules.push_back(want);
        apply("replication", have ? SetupAction::changed : SetupAction::created, what,
              [&] { client_.put_bucket_replication(o_.bucket, config); },
              [&] {
                  const auto now = client_.get_bucket_replication(o_.bucket);
                  return now && now->role == o_.replication_role && std::any_of(now->rules.begin(), now->rules.end(), same);
              });
    }

    s3::S3Client& client_;
    const BucketSetupOptions& o_;
    BucketSetupReport report_;
};

}  // namespace

std::string_view to_string(SetupAction action) noexcept {
    switch (action) {
        case SetupAction::created: return "created";
        case SetupAction::already_right: return "already right";
        case SetupAction::changed: return "changed";
        case SetupAction::unsupported: return "not supported by this server";
        case SetupAction::planned: return "planned";
        case SetupAction::printed: return "printed";
        case SetupAction::skipped: return "skipped";
    }
    return "unknown";
}

bool BucketSetupReport::unchanged() const {
    return std::none_of(resources.begin(), resources.end(), [](const ResourceOutcome& r) {
        return r.action == SetupAction::created || r.action == SetupAction::changed;
    });
}

bool BucketSetupReport::has_unsupported() const {
    return std::any_of(resources.begin(), resources.end(),
                       [](const ResourceOutcome& r) { return r.action == SetupAction::unsupported; });
}

BucketSetupReport setup_bucket(s3::S3Client& client, const BucketSetupOptions& options) {
    options.validate();
    return Setup(client, options).run();
}

}  // namespace worm::compliance
