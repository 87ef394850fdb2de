// Bucket commands (S3 only): `worm bucket create` makes a WORM-ready bucket (Object Lock,
// versioning, a default retention); `worm bucket info` shows how a bucket is configured.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <iostream>

#include "commands.hpp"
#include "worm/s3/client.hpp"

namespace worm::cli {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

const OptionSpec bucket_store_option{"--store", "URL", "s3://bucket (endpoint and credentials from AWS_* variables)",
                                     true};

// "s3://bucket" -> "bucket". Other schemes and prefixes are usage errors: a bucket is
// an S3 notion, and a file:// store needs none.
std::string bucket_from_url(const std::string& url, const std::string& command) {
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

int positive_days(const std::string& text, const std::string& option) {
    int n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size() || n <= 0 || n > 36500)
        throw UsageError(option + " must be a whole number of days from 1 to 36500, got '" + text + "'");
    return n;
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

void write_default_retention(Writer& w, const std::optional<s3::DefaultRetention>& d) {
    w.Key("default_retention");
    if (!d) {
        w.Null();
        return;
    }
    w.StartObject();
    w.Key("mode"); w.String(std::string(to_string(d->mode)).c_str());
    // Some servers send <Years>0</Years> beside <Days>: a zero is no period.
    w.Key("days"); if (d->days && *d->days > 0) w.Int(*d->days); else w.Null();
    w.Key("years"); if (d->years && *d->years > 0) w.Int(*d->years); else w.Null();
    w.EndObject();
}

int run_bucket_create(const ParsedArgs& a) {
    const std::string bucket = bucket_from_url(a.require("--store"), "bucket create");
    const auto days = a.get("--default-retention-days");
    const auto mode = a.get("--default-lock-mode");
    if (days.has_value() != mode.has_value())
        throw UsageError("--default-retention-days and --default-lock-mode go together");
    std::optional<s3::DefaultRetention> default_retention;
    if (days) {
        if (!a.has("--object-lock")) throw UsageError("a default retention needs --object-lock");
        default_retention = s3::DefaultRetention{.mode = parse_lock_mode(*mode),
                                                 .days = positive_days(*days, "--default-retention-days"),
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

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("bucket"); w.String(bucket.c_str());
    w.Key("region"); w.String(client.config().region.c_str());
    w.Key("object_lock"); w.Bool(object_lock);
    w.Key("versioning"); w.String(versioning ? "enabled" : "unversioned");
    write_default_retention(w, default_retention);
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return exit_ok;
}

// Runs one configuration read; when the server refuses or does not implement it, the
// section is reported as unavailable (with the S3 code) instead of failing the command.
template <typename F>
bool read_section(const char* name, F&& read, std::vector<std::pair<std::string, std::string>>& unavailable) {
    try {
        read();
        return true;
    } catch (const S3Error& e) {
        if (e.code() == ErrorCode::not_found && e.s3_code() == "NoSuchBucket") throw;
        unavailable.emplace_back(name, "HTTP " + std::to_string(e.http_status()) + " " + e.s3_code());
        return false;
    }
}

int run_bucket_info(const ParsedArgs& a) {
    const std::string bucket = bucket_from_url(a.require("--store"), "bucket info");
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

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("bucket"); w.String(bucket.c_str());
    w.Key("versioning");
    if (have_versioning) w.String(std::string(versioning_name(versioning)).c_str()); else w.Null();
    w.Key("object_lock");
    if (have_lock) {
        w.StartObject();
        w.Key("enabled"); w.Bool(lock.enabled);
        write_default_retention(w, lock.default_retention);
        w.EndObject();
    } else {
        w.Null();
    }
    w.Key("encryption");
    if (have_encryption && encryption) {
        w.StartObject();
        w.Key("algorithm");
        w.String(encryption->sse.kind == ServerSideEncryption::Kind::aws_kms ? "aws:kms" : "AES256");
        w.Key("kms_key_id");
        if (encryption->sse.kms_key_id.empty()) w.Null(); else w.String(encryption->sse.kms_key_id.c_str());
        w.Key("bucket_key_enabled"); w.Bool(encryption->bucket_key_enabled);
        w.EndObject();
    } else {
        w.Null();  // none configured, or unavailable (see "unavailable")
    }
    w.Key("public_access_block");
    if (have_pab && pab) {
        w.StartObject();
        w.Key("block_public_acls"); w.Bool(pab->block_public_acls);
        w.Key("ignore_public_acls"); w.Bool(pab->ignore_public_acls);
        w.Key("block_public_policy"); w.Bool(pab->block_public_policy);
        w.Key("restrict_public_buckets"); w.Bool(pab->restrict_public_buckets);
        w.EndObject();
    } else {
        w.Null();
    }
    w.Key("unavailable");
    w.StartObject();
    for (const auto& [name, why] : unavailable) {
        w.Key(name.c_str());
        w.String(why.c_str());
    }
    w.EndObject();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return exit_ok;
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
    return c;
}

}  // namespace worm::cli
