// Bucket commands (S3 only): `worm bucket create` makes a WORM-ready bucket (Object Lock,
// versioning, a default retention); `worm bucket info` shows how a bucket is configured.
#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/json.hpp"
#include "worm/platform_env.hpp"
#include "worm/s3/client.hpp"

namespace worm::cli {

namespace {

const OptionSpec bucket_store_option =
    with_help(not_required(store_option), "s3://bucket or a bucket name (default $WORM_EVIDENCE_BUCKET; endpoint and credentials "
                            "from AWS_* variables)");

// --store, else seed 002's WORM_EVIDENCE_BUCKET.
std::string bucket_store_url(const ParsedArgs& a) {
    if (auto s = a.get("--store")) return *s;
    const std::string env = PlatformEnv::from_env().evidence_store();
    if (env.empty()) throw UsageError("missing required option --store URL (or set WORM_EVIDENCE_BUCKET)");
    return env;
}

// "s3://bucket" -> "bucket". Other schemes and prefixes are usage errors: a bucket is
// an S3 notion, and a file:// store needs none.
std::string bucket_from_url(const std::string& given, const std::string& command) {
    const std::string url = store_url(given);  // a bare bucket name, as seed 002 writes them
    constexpr std::string_view scheme = "s3://";
    if (!url.starts_with(scheme))
        throw UsageError(command + " works on S3 stores only (--store s3://bucket), got '" + url + "'");
    std::string bucket = url.substr(scheme.size());
    if (!bucket.empty() && bucket.back() == '/') bucket.pop_back();
    if (bucket.find('/') != std::string::npos)
        throw UsageError(command + " takes s3://bucket without a prefix, got '" + url + "'");
    if (bucket.empty()) throw UsageError(command + ": '" + url + "' names no bucket");
    return bucket;
}

// The client for the bucket commands: the environment's, with --region overriding the
// signing region (CreateBucket must be signed for the region it creates the bucket in).
s3::S3Client make_client(const ParsedArgs& a) {
    s3::ClientConfig config = s3::ClientConfig::from_env();
    if (auto region = a.get("--region")) {
        if (region->empty()) throw UsageError("--region needs a region name");
        config.region = *region;
    }
    return s3::S3Client(std::move(config));
}

std::string_view versioning_name(s3::VersioningStatus s) {
    switch (s) {
        case s3::VersioningStatus::enabled: return "enabled";
        case s3::VersioningStatus::suspended: return "suspended";
        case s3::VersioningStatus::unversioned: return "unversioned";
    }
    return "unversioned";
}

void write_default_retention(json::Writer& w, const std::optional<s3::DefaultRetention>& d) {
    w.key("default_retention");
    if (!d) {
        w.null();
        return;
    }
    // Some servers send <Years>0</Years> beside <Days>: a zero is no period.
    const auto period = [](const std::optional<int>& n) { return n && *n > 0 ? n : std::nullopt; };
    w.begin_object().member("mode", to_string(d->mode)).member("days", period(d->days)).member("years", period(d->years));
    w.end_object();
}

int run_bucket_create(const ParsedArgs& a) {
    const std::string bucket = bucket_from_url(bucket_store_url(a), "bucket create");
    const auto days = days_arg(a, "--default-retention-days");
    const auto mode = lock_mode_arg(a, "--default-lock-mode");
    if (days.has_value() != mode.has_value())
        throw UsageError("--default-retention-days and --default-lock-mode go together");
    std::optional<s3::DefaultRetention> default_retention;
    if (days) {
        if (!a.has("--object-lock")) throw UsageError("a default retention needs --object-lock");
        default_retention = s3::DefaultRetention{.mode = *mode,
                                                 .days = *days,
                                                 .years = std::nullopt};
    }
    const bool object_lock = a.has("--object-lock");
    const bool versioning = object_lock || a.has("--versioning");

    s3::S3Client client = make_client(a);
    client.create_bucket({.bucket = bucket, .object_lock = object_lock, .region = a.value_or("--region", "")});
    // S3 answers 200 when the caller already owns the bucket (us-east-1), so an existing
    // bucket without Object Lock would pass silently: check what the bucket really has.
    if (object_lock && !client.get_object_lock_configuration(bucket).enabled)
        throw Error(ErrorCode::storage, "bucket " + bucket +
                                            " already exists without Object Lock; Object Lock is chosen when a bucket "
                                            "is created: use a new bucket name");
    // Object Lock turns versioning on by itself; a plain bucket gets it when asked.
    if (versioning && !object_lock) client.put_bucket_versioning(bucket, true);
    if (default_retention)
        client.put_object_lock_configuration(bucket, {.enabled = true, .default_retention = default_retention});

    json::Writer w;
    w.begin_object().member("bucket", bucket).member("region", client.config().region).member("object_lock", object_lock);
    w.member("versioning", versioning ? "enabled" : "unversioned");
    write_default_retention(w, default_retention);
    w.end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

// Runs one configuration read; when the server refuses or does not implement it, the
// section is reported as unavailable (with the S3 code or the reason) instead of failing the command.
template <typename F>
bool read_section(const char* name, F&& read, std::vector<std::pair<std::string, std::string>>& unavailable) {
    try {
        read();
        return true;
    } catch (const S3Error& e) {
        if (e.code() == ErrorCode::not_found && e.s3_code() == "NoSuchBucket") throw;
        unavailable.emplace_back(name, "HTTP " + std::to_string(e.http_status()) + " " + e.s3_code());
        return false;
    } catch (const Error& e) {
        // A server that answers with something else (RGW 16 returns a bucket listing for
        // GET ?encryption) does not support the read: report it, do not guess "none".
        if (e.code() != ErrorCode::parse) throw;
        unavailable.emplace_back(name, e.what());
        return false;
    }
}

int run_bucket_info(const ParsedArgs& a) {
    const std::string bucket = bucket_from_url(bucket_store_url(a), "bucket info");
    s3::S3Client client = make_client(a);
    try {
        client.head_bucket(bucket);  // a missing or forbidden bucket fails the command (exit 3)
    } catch (const S3Error& e) {
        // HEAD has no error document; say plainly what a 404 means.
        if (e.http_status() == 404) throw Error(ErrorCode::not_found, "bucket " + bucket + " does not exist (HTTP 404)");
        throw;
    }

    std::vector<std::pair<std::string, std::string>> unavailable;
    s3::VersioningStatus versioning{};
    s3::ObjectLockConfiguration lock;
    std::optional<s3::BucketEncryption> encryption;
    std::optional<s3::PublicAccessBlock> pab;
    const bool have_versioning =
        read_section("versioning", [&] { versioning = client.get_bucket_versioning(bucket); }, unavailable);
    const bool have_lock =
        read_section("object_lock", [&] { lock = client.get_object_lock_configuration(bucket); }, unavailable);
    const bool have_encryption =
        read_section("encryption", [&] { encryption = client.get_bucket_encryption(bucket); }, unavailable);
    const bool have_pab =
        read_section("public_access_block", [&] { pab = client.get_public_access_block(bucket); }, unavailable);

    json::Writer w;
    w.begin_object().member("bucket", bucket);
    w.key("versioning");
    if (have_versioning) w.value(versioning_name(versioning)); else w.null();
    w.key("object_lock");
    if (have_lock) {
        w.begin_object().member("enabled", lock.enabled);
        write_default_retention(w, lock.default_retention);
        w.end_object();
    } else {
        w.null();
    }
    w.key("encryption");
    if (have_encryption && encryption) {
        w.begin_object();
        w.member("algorithm", encryption->sse.kind == ServerSideEncryption::Kind::aws_kms ? "aws:kms" : "AES256");
        w.key("kms_key_id");
        if (encryption->sse.kms_key_id.empty()) w.null(); else w.value(encryption->sse.kms_key_id);
        w.member("bucket_key_enabled", encryption->bucket_key_enabled);
        w.end_object();
    } else {
        w.null();  // none configured, or unavailable (see "unavailable")
    }
    w.key("public_access_block");
    if (have_pab && pab) {
        w.begin_object();
        w.member("block_public_acls", pab->block_public_acls).member("ignore_public_acls", pab->ignore_public_acls);
        w.member("block_public_policy", pab->block_public_policy);
        w.member("restrict_public_buckets", pab->restrict_public_buckets);
        w.end_object();
    } else {
        w.null();
    }
    w.key("unavailable").begin_object();
    for (const auto& [name, why] : unavailable) w.member(name, why);
    w.end_object();
    w.end_object();
    std::cout << w.take() << "\n";
    return exit_ok;
}

compliance::BucketProfile profile_option(const ParsedArgs& a) {
    try {
        return compliance::parse_bucket_profile(a.value_or("--profile", "evidence"));
    } catch (const Error& e) {
        throw UsageError(std::string("--profile: ") + e.what());
    }
}

compliance::BucketSetupOptions setup_options(const ParsedArgs& a, const std::string& bucket) {
    const compliance::BucketProfile profile = profile_option(a);
    compliance::BucketSetupOptions o = compliance::BucketSetupOptions::for_profile(profile, bucket);
    o.region = a.value_or("--region", "");
    if (a.has("--retention-days") && a.has("--retention-years"))
        throw UsageError("give --retention-days or --retention-years, not both");
    if (a.has("--retention-days") || a.has("--retention-years")) o.retention_days.reset();
    if (auto days = days_arg(a, "--retention-days")) o.retention_days = *days;
    if (auto y = a.get("--retention-years")) o.retention_years = whole_number(*y, "--retention-years", 1, 100, "years");
    if (!o.retention_days && !o.retention_years) o.retention_years = PlatformEnv::from_env().retention_years();
    if (auto mode = lock_mode_arg(a)) o.mode = *mode;
    const std::string sse = a.value_or("--sse", "AES256");
    if (sse == "AES256") o.encryption.kind = ServerSideEncryption::Kind::aes256;
    else if (sse == "aws:kms") o.encryption.kind = ServerSideEncryption::Kind::aws_kms;
    else throw UsageError("--sse must be AES256 or aws:kms, got '" + sse + "'");
    if (auto key = a.get("--kms-key")) {
        if (o.encryption.kind != ServerSideEncryption::Kind::aws_kms) throw UsageError("--kms-key needs --sse aws:kms");
        if (key->empty()) throw UsageError("--kms-key needs a key id or ARN");
        o.encryption.kms_key_id = *key;
    }
    if (a.has("--no-transition")) {
        if (a.has("--transition-days") || a.has("--storage-class"))
            throw UsageError("--no-transition excludes --transition-days and --storage-class");
        o.transitions.clear();
    }
    if (a.has("--transition-days") || a.has("--storage-class")) {
        // One transition, as the evidence profile has; a profile with several keeps its own.
        if (o.transitions.size() > 1)
            throw UsageError("--profile " + std::string(to_string(profile)) + " has " +
                             std::to_string(o.transitions.size()) +
                             " transitions; --transition-days and --storage-class set the one of the evidence "
                             "profile (--no-transition leaves them out)");
        s3::LifecycleTransition t = o.transitions.empty() ? s3::LifecycleTransition{30, "GLACIER"} : o.transitions.front();
        if (auto days = days_arg(a, "--transition-days", 0)) t.days = *days;
        if (auto c = a.get("--storage-class")) {
            if (c->empty()) throw UsageError("--storage-class needs a storage class name (GLACIER, DEEP_ARCHIVE, ...)");
            t.storage_class = *c;
        }
        o.transitions = {t};
    }
    if (auto days = days_arg(a, "--expire-grace-days", 0)) o.expire_grace_days = *days;
    if (auto p = a.get("--prefix")) o.prefix = *p;
    if (a.has("--no-tls-policy")) o.tls_only_policy = false;
    if (a.has("--no-deny-delete")) o.deny_delete_policy = false;
    if (auto to = a.get("--replicate-to")) o.replicate_to = bucket_from_url(*to, "--replicate-to");
    o.replication_role = a.value_or("--replication-role", "");
    o.dry_run = a.has("--dry-run");
    try {
        o.validate();
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    return o;
}

int run_bucket_setup(const ParsedArgs& a) {
    const std::string bucket = bucket_from_url(bucket_store_url(a), "bucket setup");
    const compliance::BucketSetupOptions options = setup_options(a, bucket);
    if (a.has("--print-iam-policy")) {  // a pure function of bucket and prefix: no request is sent
        std::cout << compliance::uploader_iam_policy(bucket, options.prefix) << "\n";
        return exit_ok;
    }
    if (a.has("--print-replication-policy")) {
        if (options.replicate_to.empty()) throw UsageError("--print-replication-policy needs --replicate-to s3://BUCKET");
        std::cout << compliance::replication_role_policy(bucket, options.replicate_to) << "\n";
        return exit_ok;
    }
    if (a.has("--print-rules")) {  // likewise: what setup applies for these options
        std::cout << compliance::setup_rules_json(options) << "\n";
        return exit_ok;
    }
    s3::S3Client client = make_client(a);
    const compliance::BucketSetupReport report = compliance::setup_bucket(client, options);
    if (a.has("--json")) {
        std::cout << compliance::to_json(report) << "\n";
    } else {
        for (const auto& r : report.resources)
            std::cout << std::left << std::setw(21) << r.resource << std::setw(31) << to_string(r.action) << r.detail
                      << "\n";
        if (!options.replicate_to.empty())
            std::cout << "replication role " << options.replication_role << " needs this policy:\n"
                      << compliance::replication_role_policy(bucket, options.replicate_to) << "\n";
        if (report.dry_run) std::cout << "dry run: nothing was written\n";
        else if (report.unchanged()) std::cout << "nothing changed: bucket " << bucket << " was already set up\n";
    }
    if (report.has_unsupported())
        std::cerr << "worm: warning: some resources are not supported by this server (see above); "
                     "they are NOT in place\n";
    return exit_ok;
}

int run_bucket_verify(const ParsedArgs& a) {
    compliance::BucketVerifyOptions o =
        compliance::BucketVerifyOptions::for_profile(profile_option(a), bucket_from_url(bucket_store_url(a), "bucket verify"));
    if (auto days = days_arg(a, "--min-retention-days", 0)) o.min_retention_days = *days;
    if (auto mode = lock_mode_arg(a)) o.mode = mode;
    o.require_kms = a.has("--require-kms");
    o.require_replica = a.has("--require-replica");
    if (auto p = a.get("--prefix")) o.prefix = *p;
    if (auto n = a.get("--sample")) o.sample = whole_number(*n, "--sample", 0, 1000, "versions");
    s3::S3Client client = make_client(a);
    const compliance::BucketVerification v = compliance::verify_bucket(client, o);
    if (a.has("--json")) {
        std::cout << compliance::to_json(v) << "\n";
    } else {
        std::cout << "bucket " << v.bucket << " checked at " << format_rfc3339(v.checked_at) << "\n";
        // The id column fits the longest id (the audit-logs transition rows are long).
        size_t id_width = 26;
        for (const auto& c : v.checks) id_width = std::max(id_width, c.id.size() + 2);
        const int indent = static_cast<int>(12 + id_width);
        for (const auto& c : v.checks) {
            std::string status(to_string(c.status));
            for (char& ch : status) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            std::cout << std::left << std::setw(12) << status << std::setw(static_cast<int>(id_width)) << c.id
                      << c.observed << "\n";
            if (c.status != compliance::CheckStatus::pass)
                std::cout << std::setw(indent) << "" << "expected: " << c.expected << "\n";
            std::cout << std::setw(indent) << "" << c.cross_reference << "\n";
        }
        const auto failed = v.failed_ids();
        std::string names;
        for (const auto& id : failed) names += (names.empty() ? "" : ", ") + id;
        std::cout << (failed.empty() ? "all checks passed" : std::to_string(failed.size()) + " check(s) failed: " + names)
                  << "\n";
    }
    return v.passed() ? exit_ok : exit_verification_failed;
}

}  // namespace

std::vector<Command> bucket_commands() {
    std::vector<Command> c;
    c.push_back({{"bucket create", "", "create an S3 bucket, optionally with Object Lock (write-once)",
                  {bucket_store_option,
                   {"--object-lock", "", "enable Object Lock (and versioning, which it needs)"},
                   {"--versioning", "", "enable versioning on a bucket without Object Lock"},
                   {"--region", "R", "create the bucket in region R (default AWS_REGION)"},
                   {"--default-retention-days", "N", "default retention for new versions (needs --object-lock)"},
                   {"--default-lock-mode", "MODE", "COMPLIANCE or GOVERNANCE for the default retention"}},
                  0, 0,
                  "Prints one JSON object: bucket, region, object_lock, versioning, default_retention.\n"
                  "Object Lock can only be chosen when a bucket is created. Endpoint and credentials come from\n"
                  "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or the\n"
                  "other AWS credential sources). Exit 2 for a non-S3 URL, 3 when the server refuses."},
                 run_bucket_create});
    c.push_back({{"bucket info", "", "show an S3 bucket's versioning, Object Lock, encryption and public access block",
                  {bucket_store_option, {"--region", "R", "sign for region R (default AWS_REGION)"}},
                  0, 0,
                  "Prints one JSON object: bucket, versioning, object_lock {enabled, default_retention},\n"
                  "encryption, public_access_block (null when not configured), and unavailable: the sections\n"
                  "the server would not answer, with its HTTP status and S3 code."},
                 run_bucket_info});
    c.push_back({{"bucket setup", "", "create or adopt a WORM evidence bucket and apply its eight resources (idempotent)",
                  {bucket_store_option,
                   {"--profile", "NAME", "evidence (default: the values below) or audit-logs (seed 004: GOVERNANCE 2557 days, "
                                         "audit-logs/ to STANDARD_IA at 31 days, GLACIER at 91, DEEP_ARCHIVE at 366, no "
                                         "expiry, TLS-only and deny-delete policy); the options below override it"},
                   {"--retention-days", "N", "default retention in days (default " + std::to_string(default_retention_days) + ", or $WORM_RETENTION_YEARS years)"},
                   {"--retention-years", "N", "default retention in years (instead of days)"},
                   with_help(lock_mode_option, "COMPLIANCE or GOVERNANCE (default COMPLIANCE; GOVERNANCE with --profile audit-logs)"),
                   {"--sse", "ALG", "default encryption: AES256 (default) or aws:kms"},
                   {"--kms-key", "ID", "KMS key id or ARN (with --sse aws:kms; default: the aws/s3 key)"},
                   {"--prefix", "PREFIX", "the prefix the lifecycle rule applies to (default evidence/; audit-logs/ with --profile audit-logs)"},
                   {"--transition-days", "N", "move versions to --storage-class after N days (default 30)"},
                   {"--storage-class", "C", "storage class of the transition (default GLACIER)"},
                   {"--no-transition", "", "no storage class transition"},
                   {"--expire-grace-days", "N", "expire versions N days after retention ends (default 30)"},
                   {"--no-tls-policy", "", "do not apply the bucket policy denying requests without TLS"},
                   {"--no-deny-delete", "", "leave out the audit-logs profile's statement denying object deletion"},
                   {"--region", "R", "create the bucket in region R (default AWS_REGION)"},
                   {"--dry-run", "", "read the bucket and print the plan; write nothing"},
                   {"--print-iam-policy", "", "print the least-privilege uploader IAM policy (JSON) and exit"},
                   {"--print-rules", "", "print what setup applies for these options (JSON) and exit; nothing is sent"},
                   {"--replicate-to", "URL", "replicate new versions under the prefix to this existing bucket (s3://BUCKET)"},
                   {"--replication-role", "ARN", "IAM role S3 replicates as (with --replicate-to)"},
                   {"--print-replication-policy", "", "print the replication role's IAM policy (JSON) and exit"},
                   {"--json", "", "print the report as JSON"}},
                  0, 0,
                  "Applies, in order: bucket (with Object Lock), object_lock (default retention), versioning,\n"
                  "encryption, public_access_block (all four flags), bucket_policy (deny without TLS), lifecycle\n"
                  "(transitions, then expiry only after retention + grace) and reports iam_policy (attached outside\n"
                  "S3: --print-iam-policy). One line per resource: created, already right, changed, planned (dry\n"
                  "run) or not supported by this server. A second run changes nothing. Each write is read back:\n"
                  "a write the server ignores is reported as not supported. An existing bucket without Object\n"
                  "Lock is refused (exit 3): Object Lock can only be chosen at creation. Over a plain-http endpoint\n"
                  "a server that enforces the TLS-only policy (AWS, moto) refuses later object writes: use https,\n"
                  "or --no-tls-policy. Ceph RGW 16 refuses PutObject while BlockPublicAcls is on (measured)."},
                 run_bucket_setup});
    c.push_back({{"bucket verify", "", "check a bucket against the WORM evidence requirements (one row per check)",
                  {bucket_store_option,
                   {"--profile", "NAME", "evidence (default) or audit-logs: also require GOVERNANCE, 2557 days, the "
                                         "three transitions under audit-logs/ and the deny-delete statement"},
                   {"--min-retention-days", "N", "default retention must be at least N days (default " + std::to_string(default_retention_days) + ")"},
                   with_help(lock_mode_option, "required default retention mode (default: either)"),
                   {"--require-kms", "", "default encryption must be aws:kms (Security Hub S3.17)"},
                   {"--require-replica", "", "replication to a bucket with Object Lock is required"},
                   {"--prefix", "PREFIX", "sample object versions under PREFIX (default: the whole bucket)"},
                   {"--sample", "N", "object versions to check for mode and retain-until (default 10, 0 = none)"},
                   {"--region", "R", "sign for region R (default AWS_REGION)"},
                   {"--json", "", "print the verification as JSON (with the SHA-256 of each server answer)"}},
                  0, 0,
                  "Checks: object_lock_enabled (S3.15), default_retention_mode, default_retention_period,\n"
                  "versioning (S3.14), default_encryption (S3.17 with KMS), public_access_block (S3.8),\n"
                  "tls_only_policy (S3.5), lifecycle_retention (no expiry before retention ends), replication\n"
                  "(to a bucket with Object Lock; required with --require-replica), object_sample. With --profile\n"
                  "audit-logs also deny_delete_policy and lifecycle_transition_standard_ia / _glacier /\n"
                  "_deep_archive (each at its day count, for the prefix). Each row is\n"
                  "pass, fail or unsupported (the server does not implement the read). Exit 0 when no check\n"
                  "failed, 1 when one did, 3 when the bucket cannot be read."},
                 run_bucket_verify});
    return c;
}

}  // namespace worm::cli
