// bucket_verify.cpp: verify_bucket. Every read goes through a transport that keeps the
// SHA-256 of each raw answer, so every row names exactly what the server said.
#include <algorithm>
#include <cctype>
#include <mutex>

#include "../s3/bucket_documents.hpp"
#include "bucket_rules.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/crypto.hpp"
#include "worm/s3/client.hpp"

namespace worm::compliance {

namespace {

// Forwards to the client's transport and remembers each answer (request line, status,
// SHA-256 of the body) until taken.
class AnswerRecorder final : public HttpTransport {
public:
    explicit AnswerRecorder(std::shared_ptr<HttpTransport> next) : next_(std::move(next)) {}

    HttpResponse send(const HttpRequest& request) override {
        HttpResponse response = next_->send(request);
        std::lock_guard lock(mutex_);
        // The path and query, without scheme and host: what was asked, not where.
        std::string target = request.url;
        if (const size_t scheme = target.find("://"); scheme != std::string::npos) {
            const size_t path = target.find('/', scheme + 3);
            target = path == std::string::npos ? "/" : target.substr(path);
        }
        // A HEAD answers in its headers: those are what is hashed then.
        std::string answered = response.body;
        if (request.method == "HEAD")
            for (const auto& [name, value] : response.headers) answered += name + ": " + value + "\n";
        answers_.push_back({request.method + " " + target, response.status, to_hex(sha256(answered))});
        return response;
    }

    // The answers since the last take; retries leave only the final answer.
    std::vector<ServerAnswer> take() {
        std::lock_guard lock(mutex_);
        std::vector<ServerAnswer> out;
        if (!answers_.empty()) out.push_back(answers_.back());
        answers_.clear();
        return out;
    }

private:
    std::shared_ptr<HttpTransport> next_;
    std::mutex mutex_;
    std::vector<ServerAnswer> answers_;
};

std::string days_text(int days) { return std::to_string(days) + (days == 1 ? " day" : " days"); }

// Does a lifecycle rule for `rule_prefix` apply to objects under `prefix`?
bool overlaps(const std::string& rule_prefix, const std::string& prefix) {
    return rule_prefix.starts_with(prefix) || prefix.starts_with(rule_prefix);
}

class Verify {
public:
    Verify(s3::S3Client& client, const BucketVerifyOptions& options)
        : o_(options), recorder_(std::make_shared<AnswerRecorder>(client.config().transport)),
          client_([&] {
              s3::ClientConfig c = client.config();
              c.transport = recorder_;
              return c;
          }()) {
        result_.endpoint = client.config().endpoint;
        result_.bucket = o_.bucket;
        // Rows are filled in through references: room for every row, so none reallocates.
        result_.checks.reserve(12 + o_.required_transitions.size());
        result_.checked_at = client.config().clock ? client.config().clock->now() : std::chrono::system_clock::now();
    }

    BucketVerification run() {
        readable();
        object_lock();
        versioning();
        encryption();
        public_access_block();
        bucket_policy();
        lifecycle();
        replication();
        if (o_.sample > 0) object_sample();
        return std::move(result_);
    }

private:
    BucketCheck& row(std::string id, std::string title, std::string cross_reference, std::string expected) {
        BucketCheck c;
        c.id = std::move(id);
        c.title = std::move(title);
        c.cross_reference = std::move(cross_reference);
        c.expected = std::move(expected);
        result_.checks.push_back(std::move(c));
        return result_.checks.back();
    }

    // Runs a read; on "not implemented" marks the row unsupported (or failed when required).
    template <typename F>
    bool read(BucketCheck& c, F&& f, bool required = false) {
        try {
            f();
            append(c, recorder_->take());
            return true;
        } catch (const Error& e) {
            append(c, recorder_->take());
            if (!detail::not_implemented(e)) throw;
            c.observed = "not supported by this server (" + detail::describe_error(e) + ")";
            c.status = required ? CheckStatus::fail : CheckStatus::unsupported;
            return false;
        }
    }

    static void append(BucketCheck& c, std::vector<ServerAnswer> answers) {
        for (auto& a : answers) c.answers.push_back(std::move(a));
    }

    void readable() {
        try {
            client_.head_bucket(o_.bucket);
        } catch (const S3Error& e) {
            if (e.http_status() == 404)
                throw Error(ErrorCode::not_found, "bucket " + o_.bucket + " does not exist (HTTP 404)");
            throw;
        }
        recorder_->take();
    }

    void object_lock() {
        BucketCheck& enabled = row("object_lock_enabled", "Object Lock is enabled on the bucket",
                                   "Security Hub S3.15 / AWS Config s3-bucket-default-lock-enabled", "Enabled");
        if (!read(enabled, [&] { lock_ = client_.get_object_lock_configuration(o_.bucket); }, true)) return;
        enabled.observed = lock_.enabled ? "Enabled" : "not enabled";
        enabled.status = lock_.enabled ? CheckStatus::pass : CheckStatus::fail;

        const auto& answers = enabled.answers;
        BucketCheck& mode = row("default_retention_mode", "New versions get a default retention mode",
                                "Security Hub S3.15 / AWS Config s3-bucket-default-lock-enabled (mode)",
                                o_.mode ? std::string(to_string(*o_.mode)) : "COMPLIANCE or GOVERNANCE");
        mode.answers = answers;
        BucketCheck& period = row("default_retention_period", "The default retention lasts at least the minimum",
                                  "SEC 17a-4(f) / HIPAA §164.316(b)(2) retention period",
                                  "at least " + days_text(o_.min_retention_days));
        period.answers = answers;
        if (!lock_.default_retention) {
            mode.observed = period.observed = "no default retention";
            mode.status = period.status = CheckStatus::fail;
            return;
        }
        const s3::DefaultRetention& d = *lock_.default_retention;
        mode.observed = std::string(to_string(d.mode));
        mode.status = !o_.mode || *o_.mode == d.mode ? CheckStatus::pass : CheckStatus::fail;
        const int days = detail::period_days(d);
        period.observed = detail::describe(d).substr(mode.observed.size() + 1);
        if (d.years && !d.days) period.observed += " (" + days_text(days) + ")";
        period.status = days >= o_.min_retention_days ? CheckStatus::pass : CheckStatus::fail;
    }

    void versioning() {
        BucketCheck& c = row("versioning", "Versioning is enabled and not suspended",
                             "Security Hub S3.14 / AWS Config s3-bucket-versioning-enabled", "Enabled");
        s3::VersioningStatus v{};
        if (!read(c, [&] { v = client_.get_bucket_versioning(o_.bucket); }, true)) return;
        c.observed = v == s3::VersioningStatus::enabled     ? "Enabled"
                     : v == s3::VersioningStatus::suspended ? "Suspended"
                                                            : "never enabled";
        c.status = v == s3::VersioningStatus::enabled ? CheckStatus::pass : CheckStatus::fail;
    }

    void encryption() {
        BucketCheck& c = row("default_encryption",
                             o_.require_kms ? "New objects are encrypted at rest with AWS KMS"
                                            : "New objects are encrypted at rest by default",
                             o_.require_kms ? "Security Hub S3.17 / AWS Config s3-default-encryption-kms"
                                            : "AWS Config s3-bucket-server-side-encryption-enabled (S3.17 with KMS)",
                             o_.require_kms ? "aws:kms" : "AES256 or aws:kms");
        std::optional<s3::BucketEncryption> e;
        if (!read(c, [&] { e = client_.get_bucket_encryption(o_.bucket); }, o_.require_kms)) return;
        c.observed = e ? detail::describe(e->sse) : "no default encryption";
        const bool kms = e && e->sse.kind == ServerSideEncryption::Kind::aws_kms;
        c.status = (o_.require_kms ? kms : e.has_value()) ? CheckStatus::pass : CheckStatus::fail;
    }

    void public_access_block() {
        const s3::PublicAccessBlock all{};
        BucketCheck& c = row("public_access_block", "All four public access block flags are on",
                             "Security Hub S3.8 / AWS Config s3-bucket-level-public-access-prohibited",
                             detail::describe(all));
        std::optional<s3::PublicAccessBlock> b;
        if (!read(c, [&] { b = client_.get_public_access_block(o_.bucket); })) return;
        c.observed = b ? detail::describe(*b) : "no public access block";
        c.status = b && b->block_public_acls && b->ignore_public_acls && b->block_public_policy &&
                           b->restrict_public_buckets
                       ? CheckStatus::pass
                       : CheckStatus::fail;
    }

    void bucket_policy() {
        BucketCheck& tls = row("tls_only_policy", "The bucket policy denies requests without TLS",
                               "Security Hub S3.5 / AWS Config s3-bucket-ssl-requests-only",
                               "Deny s3:* for * when aws:SecureTransport is false");
        BucketCheck* deletion = nullptr;
        std::optional<std::string> policy;
        const bool answered = read(tls, [&] { policy = client_.get_bucket_policy(o_.bucket); });
        if (o_.require_deny_delete) {
            // Required: a server that cannot answer fails it (nothing shows deletion is denied).
            deletion = &row("deny_delete_policy", "The bucket policy denies deleting objects and object versions",
                            "seed 004 bucket policy (deny object deletion); SEC 17a-4(f) non-erasable",
                            "Deny s3:DeleteObject and s3:DeleteObjectVersion for * on the bucket's objects");
            deletion->answers = tls.answers;
            if (!answered) {
                deletion->observed = tls.observed;
                deletion->status = CheckStatus::fail;
            }
        }
        if (!answered) return;
        const bool denies = policy && detail::denies_insecure_transport(*policy, o_.bucket);
        tls.observed = !policy ? "no bucket policy"
                       : denies ? "Deny s3:* for * when aws:SecureTransport is false"
                                : "a bucket policy without a TLS-only deny statement";
        tls.status = denies ? CheckStatus::pass : CheckStatus::fail;
        if (deletion) {
            const bool denies_deletion = policy && detail::denies_object_deletion(*policy, o_.bucket);
            deletion->observed = !policy           ? "no bucket policy"
                                 : denies_deletion ? "Deny s3:DeleteObject and s3:DeleteObjectVersion for *"
                                                   : "a bucket policy that does not deny object deletion to everyone";
            deletion->status = denies_deletion ? CheckStatus::pass : CheckStatus::fail;
        }
    }

    void lifecycle() {
        // The longest retention a version may be under: the bucket default or the minimum.
        int retention = o_.min_retention_days;
        if (lock_.default_retention) retention = std::max(retention, detail::period_days(*lock_.default_retention));
        BucketCheck& c = row("lifecycle_retention", "No lifecycle rule expires a version before its retention ends",
                             "Security Hub S3.13 / AWS Config s3-lifecycle-policy-check (expiry after retention)",
                             "no expiry sooner than " + days_text(retention));
        std::optional<std::vector<s3::LifecycleRule>> rules;
        const bool answered = read(c, [&] { rules = client_.get_bucket_lifecycle_configuration(o_.bucket); });
        transitions(c, answered ? rules.value_or(std::vector<s3::LifecycleRule>{}) : std::vector<s3::LifecycleRule>{},
                    answered);
        if (!answered) return;
        if (!rules || rules->empty()) {
            c.observed = "no lifecycle configuration (nothing expires)";
            c.status = CheckStatus::pass;
            return;
        }
        const TimePoint earliest_allowed = result_.checked_at + std::chrono::days(retention);
        std::vector<std::string> early, fine;
        for (const s3::LifecycleRule& r : *rules) {
            if (!r.enabled || !overlaps(r.prefix, o_.prefix)) continue;
            const bool too_soon = (r.expiration_days && *r.expiration_days < retention) ||
                                  (r.noncurrent_version_expiration_days && *r.noncurrent_version_expiration_days < retention) ||
                                  (r.expiration_date && *r.expiration_date < earliest_allowed);
            (too_soon ? early : fine).push_back(detail::describe(r));
        }
        auto join = [](const std::vector<std::string>& v) {
            std::string s;
            for (const auto& i : v) s += (s.empty() ? "" : "; ") + i;
            return s;
        };
        if (!early.empty()) {
            c.observed = "expires too soon: " + join(early);
            c.status = CheckStatus::fail;
        } else {
            c.observed = fine.empty() ? "no enabled rule for this prefix" : join(fine);
            c.status = CheckStatus::pass;
        }
    }

    // One row per required transition: an enabled rule covering the prefix moves current
    // versions to that storage class after exactly that many days. The rows are added after
    // lifecycle_retention, share its server answer, and fail when the server cannot answer.
    void transitions(const BucketCheck& lifecycle_row, const std::vector<s3::LifecycleRule>& rules, bool answered) {
        for (const s3::LifecycleTransition& want : o_.required_transitions) {
            std::string id = "lifecycle_transition_";
            for (char ch : want.storage_class)
                id += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            BucketCheck& c = row(std::move(id), "Current versions move to " + want.storage_class + " on schedule",
                                 "seed 004 lifecycle policy; AWS Config s3-lifecycle-policy-check (transitions)",
                                 detail::describe(want) + " (rule for '" + o_.prefix + "')");
            c.answers = lifecycle_row.answers;
            if (!answered) {
                c.observed = lifecycle_row.observed;
                c.status = CheckStatus::fail;
                continue;
            }
            std::vector<std::string> same_class;  // transitions to this class at other day counts
            for (const s3::LifecycleRule& r : rules) {
                if (!r.enabled || !overlaps(r.prefix, o_.prefix)) continue;
                for (const s3::LifecycleTransition& t : r.transitions) {
                    if (t == want) {
                        c.observed = detail::describe(t) + " in rule '" + r.id + "'";
                        c.status = CheckStatus::pass;
                    } else if (t.storage_class == want.storage_class) {
                        same_class.push_back(detail::describe(t) + " in rule '" + r.id + "'");
                    }
                }
            }
            if (c.status == CheckStatus::pass) continue;
            c.observed = same_class.empty() ? "no transition to " + want.storage_class + " in an enabled rule for '" +
                                                  o_.prefix + "'"
                                            : "at another day count: " + same_class.front();
            c.status = CheckStatus::fail;
        }
    }

    void replication() {
        BucketCheck& c = row("replication", "New versions are replicated to a bucket with Object Lock",
                             "Security Hub S3.7 / AWS Config s3-bucket-replication-enabled; SEC 17a-4(f) duplicate copy",
                             o_.require_replica ? "replication to a bucket with Object Lock"
                                                : "optional (required with --require-replica)");
        std::optional<s3::ReplicationConfiguration> config;
        if (!read(c, [&] { config = client_.get_bucket_replication(o_.bucket); }, o_.require_replica)) return;
        std::vector<std::string> locked, unlocked;
        if (config) {
            for (const s3::ReplicationRule& r : config->rules) {
                if (!r.enabled || !overlaps(r.prefix, o_.prefix)) continue;
                const std::string dest = s3::detail::bucket_from_arn(r.destination_bucket_arn);
                bool has_lock = false;
                std::string why;
                try {
                    has_lock = !dest.empty() && client_.get_object_lock_configuration(dest).enabled;
                    if (!has_lock) why = "no Object Lock";
                } catch (const Error& e) {
                    why = "its Object Lock cannot be read (" + detail::describe_error(e) + ")";
                }
                append(c, recorder_->take());
                (has_lock ? locked : unlocked).push_back(r.destination_bucket_arn + (why.empty() ? "" : ": " + why));
            }
        }
        if (!locked.empty()) {
            c.observed = "replicated to " + locked.front() + " (Object Lock enabled)";
            c.status = CheckStatus::pass;
        } else {
            c.observed = !unlocked.empty() ? "replicated only to " + unlocked.front()
                         : config         ? "no enabled replication rule for this prefix"
                                          : "no replication configured";
            c.status = o_.require_replica ? CheckStatus::fail : CheckStatus::pass;
        }
    }

    void object_sample() {
        BucketCheck& c = row("object_sample", "Sampled object versions carry the expected lock",
                             "SEC 17a-4(f) / HIPAA §164.312(c)(1) (per-version retention)",
                             std::string(o_.mode ? to_string(*o_.mode) : "a lock mode") + ", retain-until at least " +
                                 days_text(o_.min_retention_days) + " after upload");
        s3::ListVersionsPage page;
        if (!read(c, [&] {
                page = client_.list_object_versions(
                    {.bucket = o_.bucket, .prefix = o_.prefix, .delimiter = "", .key_marker = "",
                     .version_id_marker = "", .max_keys = std::min(1000, std::max(o_.sample * 2, 10))});
            }))
            return;
        int sampled = 0;
        std::vector<std::string> bad;
        for (const s3::ListedVersion& v : page.versions) {
            if (v.delete_marker) continue;
            if (sampled == o_.sample) break;
            ++sampled;
            const s3::ObjectHead head = client_.head_object(
                {.bucket = o_.bucket, .key = v.key,
                 .version_id = v.version_id.empty() || v.version_id == "null" ? std::nullopt
                                                                              : std::optional(v.version_id)});
            append(c, recorder_->take());
            const std::string name = v.key + (v.version_id.empty() ? "" : "@" + v.version_id);
            if (!head.retention) {
                bad.push_back(name + ": no retention");
                continue;
            }
            if (o_.mode && head.retention->mode != *o_.mode) {
                bad.push_back(name + ": mode " + std::string(to_string(head.retention->mode)));
                continue;
            }
            const TimePoint uploaded = head.last_modified != TimePoint{} ? head.last_modified : v.last_modified;
            if (head.retention->retain_until < uploaded + std::chrono::days(o_.min_retention_days))
                bad.push_back(name + ": retained until " + format_rfc3339(head.retention->retain_until) +
                              ", less than " + days_text(o_.min_retention_days) + " after upload");
        }
        if (sampled == 0) {
            c.observed = "no object versions under '" + o_.prefix + "' to sample";
            c.status = CheckStatus::pass;
        } else if (bad.empty()) {
            c.observed = std::to_string(sampled) + " of " + std::to_string(sampled) + " sampled versions as expected";
            c.status = CheckStatus::pass;
        } else {
            c.observed = std::to_string(bad.size()) + " of " + std::to_string(sampled) + " sampled versions wrong: " + bad.front() +
                         (bad.size() > 1 ? " (and " + std::to_string(bad.size() - 1) + " more)" : "");
            c.status = CheckStatus::fail;
        }
    }

    const BucketVerifyOptions& o_;
    std::shared_ptr<AnswerRecorder> recorder_;
    s3::S3Client client_;
    BucketVerification result_;
    s3::ObjectLockConfiguration lock_;
};

}  // namespace

std::string_view to_string(CheckStatus status) noexcept {
    switch (status) {
        case CheckStatus::pass: return "pass";
        case CheckStatus::fail: return "fail";
        case CheckStatus::unsupported: return "unsupported";
    }
    return "fail";
}

bool BucketVerification::passed() const {
    return std::none_of(checks.begin(), checks.end(), [](const BucketCheck& c) { return c.status == CheckStatus::fail; });
}

const BucketCheck* BucketVerification::find(std::string_view id) const {
    const auto it = std::find_if(checks.begin(), checks.end(), [&](const BucketCheck& c) { return c.id == id; });
    return it == checks.end() ? nullptr : &*it;
}

std::vector<std::string> BucketVerification::failed_ids() const {
    std::vector<std::string> out;
    for (const BucketCheck& c : checks)
        if (c.status == CheckStatus::fail) out.push_back(c.id);
    return out;
}

BucketVerification verify_bucket(s3::S3Client& client, const BucketVerifyOptions& options) {
    options.validate();
    return Verify(client, options).run();
}

}  // namespace worm::compliance
