// config.hpp: the WORM upload configuration, read from the environment with the
// agents' (seeds') variable names and defaults.
//
//   WORM_ENABLED                false     upload at all (unset with MSP_WORM_BUCKET set: true)
//   WORM_MODE                   proxy     proxy (MCP server holds the credentials) | direct (S3)
//                                         (unset with MSP_WORM_BUCKET set: direct)
//   WORM_S3_BUCKET              -         direct mode bucket (MSP_WORM_BUCKET accepted)
//   WORM_S3_REGION / AWS_REGION us-east-1
//   WORM_S3_PREFIX              ""        key prefix before evidence/...
//   WORM_S3_ENDPOINT            -         else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL
//   WORM_RETENTION_DAYS         90        below 90 refused unless WORM_ALLOW_SHORT_RETENTION=1
//   WORM_LOCK_MODE              COMPLIANCE  | GOVERNANCE
//   WORM_AUTO_UPLOAD            true      upload right after the pipeline signs
//   WORM_UPLOAD_ATTEMPTS        3         tries per bundle before it is left failed
//   WORM_SYNC_CONCURRENCY       4         bundles uploaded at once by sync
//   WORM_SSE                    -         AES256 | aws:kms (unset: the bucket's default encryption)
//   WORM_SSE_KMS_KEY_ID         -         with aws:kms
//   WORM_SIGSTORE_BUNDLE        false     the pipeline also writes X.sigstore.json (compliance/sigstore.hpp)
//   MCP_URL, MCP_API_KEY        -         proxy mode endpoint and bearer token (a secret)
//
// Seed 001's MCP server turns uploads on with MSP_WORM_BUCKET (and AWS_REGION) alone: with
// WORM_ENABLED unset, a non-empty MSP_WORM_BUCKET means enabled, in direct mode unless
// WORM_MODE says otherwise. `sources` records which variable set each value.
//
// from_env never throws: values it cannot read are collected and reported by validate(),
// so `worm config check` can show everything that is wrong at once.
//
// Example:
//   worm::WormConfig config = worm::WormConfig::from_env();
//   config.validate();  // Error(config) listing every variable that is wrong
//   std::unique_ptr<worm::ObjectStore> store = worm::open_configured_store(config);
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/export.hpp"
#include "worm/storage.hpp"

namespace worm {

enum class WormMode { proxy, direct };

WORM_API std::string_view to_string(WormMode mode) noexcept;  // "proxy" / "direct"

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// Looks up the process environment (getenv).
WORM_API std::optional<std::string> process_env(std::string_view name);

// The S3 endpoint every command uses (sync, --store s3://, the pipeline, Python):
// WORM_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (trimmed; empty values
// count as unset). Empty: AWS's own endpoint for the region.
WORM_API std::string s3_endpoint_from_env(const EnvLookup& lookup = process_env);

// The one default retention, in days: HIPAA's minimum and the seeds' default. WORM_RETENTION_DAYS,
// bucket setup, the audit's and monitor's policies and worm-proxy's minimum all start here.
inline constexpr int default_retention_days = 90;

struct WORM_API WormConfig {
    static constexpr int minimum_retention_days = default_retention_days;
    static constexpr int maximum_retention_days = 36500;  // 100 years: S3's own ceiling

    bool enabled = false;
    WormMode mode = WormMode::proxy;
    std::string s3_bucket;
    std::string s3_region = "us-east-1";
    std::string s3_prefix;
    std::string s3_endpoint;
    int retention_days = default_retention_days;
    bool allow_short_retention = false;
    LockMode lock_mode = LockMode::compliance;
    bool auto_upload = true;
    int upload_attempts = 3;
    int sync_concurrency = 4;
    ServerSideEncryption encryption;  // none: send no SSE header
    bool sigstore_bundle = false;
    std::string mcp_url;
    std::string mcp_api_key;  // secret: never printed (describe_masked masks it)

    // Values from_env could not read, each naming the variable ("WORM_RETENTION_DAYS must be
    // a whole number of days, got 'ninety'"). validate() reports them.
    std::vector<std::string> problems;

    // Where from_env took each value: field name ("enabled", "s3_bucket", ...) -> the
    // variable that set it ("MSP_WORM_BUCKET"), or "default". Empty for a configuration
    // built in code. Shown by describe_masked() (`worm config check`).
    std::map<std::string, std::string> sources;

    // Reads the variables above through lookup (empty values count as unset).
    static WormConfig from_env(const EnvLookup& lookup);
    static WormConfig from_env() { return from_env(process_env); }

    // Throws Error(config) listing every problem, "; "-separated. When enabled: proxy mode
    // without MCP_URL -> "endpoint not configured ..."; direct mode without a bucket ->
    // "bucket not configured ...". Always: retention below 90 days without
    // allow_short_retention, out-of-range numbers, a KMS key id without aws:kms, and an S3
    // endpoint the S3 client would refuse (s3::validate_endpoint: the same check as sync).
    void validate() const;
    // Every problem validate() would report (empty when valid).
    std::vector<std::string> check() const;

    // The resolved configuration as one JSON object, MCP_API_KEY and any password in
    // MCP_URL masked, plus "sources": {field: variable or "default"} when read from the
    // environment, and "problems": [...] (for `worm config check`).
    std::string describe_masked() const;
};

// The store the configuration points at: direct mode an S3Store on s3_bucket (endpoint
// s3_endpoint, region s3_region, credentials from the AWS chain), proxy mode a ProxyStore
// on mcp_url with mcp_api_key. Keys get s3_prefix from the uploader, not from the store.
// Throws Error(config) when the mode's settings are missing.
WORM_API std::unique_ptr<ObjectStore> open_configured_store(const WormConfig& config);

}  // namespace worm
