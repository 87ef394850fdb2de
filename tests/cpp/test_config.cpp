// WormConfig: the seeds' variable names and defaults, every invalid value named,
// and describe_masked() never showing the API key.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <map>

#include "worm/config.hpp"
#include "worm/error.hpp"

using namespace worm;

namespace {

EnvLookup env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

std::string validate_message(const WormConfig& c) {
    try {
        c.validate();
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::config);
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("defaults with nothing set") {
    const auto c = WormConfig::from_env(env({}));
    CHECK_FALSE(c.enabled);
    CHECK(c.mode == WormMode::proxy);
    CHECK(c.s3_bucket.empty());
    CHECK(c.s3_region == "us-east-1");
    CHECK(c.retention_days == 90);
    CHECK_FALSE(c.allow_short_retention);
    CHECK(c.lock_mode == LockMode::compliance);
    CHECK(c.auto_upload);
    CHECK(c.upload_attempts == 3);
    CHECK(c.sync_concurrency == 4);
    CHECK(c.encryption.kind == ServerSideEncryption::Kind::none);
    CHECK(c.problems.empty());
    CHECK_NOTHROW(c.validate());  // disabled: no endpoint or bucket needed
}

TEST_CASE("every variable is read") {
    const auto c = WormConfig::from_env(env({{"WORM_ENABLED", "true"},
                                             {"WORM_MODE", "DIRECT"},
                                             {"WORM_S3_BUCKET", "msp-worm"},
                                             {"WORM_S3_REGION", "eu-west-2"},
                                             {"AWS_REGION", "ap-south-1"},
                                             {"WORM_S3_PREFIX", "/tenant-a/"},
                                             {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"},
                                             {"WORM_RETENTION_DAYS", "2555"},
                                             {"WORM_LOCK_MODE", "governance"},
                                             {"WORM_AUTO_UPLOAD", "0"},
                                             {"WORM_UPLOAD_ATTEMPTS", "5"},
                                             {"WORM_SYNC_CONCURRENCY", "8"},
                                             {"WORM_SSE", "aws:kms"},
                                             {"WORM_SSE_KMS_KEY_ID", "alias/evidence"},
                                             {"MCP_URL", "https://mcp.example"},
                                             {"MCP_API_KEY", "sk-live-abcdef123456"}}));
    CHECK(c.problems.empty());
    CHECK(c.enabled);
    CHECK(c.mode == WormMode::direct);
    CHECK(c.s3_bucket == "msp-worm");
    CHECK(c.s3_region == "eu-west-2");  // WORM_S3_REGION wins over AWS_REGION
    CHECK(c.s3_prefix == "tenant-a");
    CHECK(c.s3_endpoint == "http://127.0.0.1:9000");
    CHECK(c.retention_days == 2555);
    CHECK(c.lock_mode == LockMode::governance);
    CHECK_FALSE(c.auto_upload);
    CHECK(c.upload_attempts == 5);
    CHECK(c.sync_concurrency == 8);
    CHECK(c.encryption.kind == ServerSideEncryption::Kind::aws_kms);
    CHECK(c.encryption.kms_key_id == "alias/evidence");
    CHECK(c.mcp_url == "https://mcp.example");
    CHECK(c.mcp_api_key == "sk-live-abcdef123456");
    CHECK_NOTHROW(c.validate());
}

TEST_CASE("fallback names: MSP_WORM_BUCKET, AWS_REGION, AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL") {
    const auto c = WormConfig::from_env(env({{"MSP_WORM_BUCKET", "legacy-bucket"},
                                             {"AWS_REGION", "ap-south-1"},
                                             {"AWS_ENDPOINT_URL_S3", "http://s3.local:1"},
                                             {"AWS_ENDPOINT_URL", "http://other.local:2"},
                                             {"WORM_S3_ENDPOINT", ""}}));  // empty counts as unset
    CHECK(c.s3_bucket == "legacy-bucket");
    CHECK(c.s3_region == "ap-south-1");
    CHECK(c.s3_endpoint == "http://s3.local:1");
    CHECK(WormConfig::from_env(env({{"WORM_S3_BUCKET", "new"}, {"MSP_WORM_BUCKET", "old"}})).s3_bucket == "new");
    CHECK(WormConfig::from_env(env({{"WORM_S3_ENDPOINT", "http://a:1"}, {"AWS_ENDPOINT_URL_S3", "http://b:2"}}))
              .s3_endpoint == "http://a:1");
}

TEST_CASE("the seeds' messages for a missing endpoint or bucket") {
    const auto proxy = WormConfig::from_env(env({{"WORM_ENABLED", "1"}}));
    CHECK(contains(validate_message(proxy), "endpoint not configured"));
    CHECK(contains(validate_message(proxy), "MCP_URL"));
    const auto direct = WormConfig::from_env(env({{"WORM_ENABLED", "yes"}, {"WORM_MODE", "direct"}}));
    CHECK(contains(validate_message(direct), "bucket not configured"));
    CHECK_FALSE(contains(validate_message(direct), "endpoint not configured"));
    CHECK_NOTHROW(WormConfig::from_env(env({{"WORM_ENABLED", "1"}, {"MCP_URL", "http://127.0.0.1:8080"}})).validate());
}

TEST_CASE("every invalid value is named") {
    const auto c = WormConfig::from_env(env({{"WORM_ENABLED", "maybe"},
                                             {"WORM_MODE", "sideways"},
                                             {"WORM_RETENTION_DAYS", "ninety"},
                                             {"WORM_AUTO_UPLOAD", "sometimes"},
                                             {"WORM_LOCK_MODE", "forever"},
                                             {"WORM_UPLOAD_ATTEMPTS", "3x"},
                                             {"WORM_SYNC_CONCURRENCY", "-2"},
                                             {"WORM_SSE", "rot13"}}));
    const std::string m = validate_message(c);
    CHECK(contains(m, "WORM_ENABLED must be true or false"));
    CHECK(contains(m, "'maybe'"));
    CHECK(contains(m, "WORM_MODE must be proxy or direct, got 'sideways'"));
    CHECK(contains(m, "WORM_RETENTION_DAYS must be a whole number of days, got 'ninety'"));
    CHECK(contains(m, "WORM_AUTO_UPLOAD"));
    CHECK(contains(m, "WORM_LOCK_MODE must be COMPLIANCE or GOVERNANCE, got 'forever'"));
    CHECK(contains(m, "WORM_UPLOAD_ATTEMPTS must be a whole number"));
    CHECK(contains(m, "WORM_SYNC_CONCURRENCY must be between 1 and 256, got -2"));
    CHECK(contains(m, "WORM_SSE must be AES256 or aws:kms, got 'rot13'"));

    CHECK(contains(validate_message(WormConfig::from_env(env({{"MCP_URL", "ftp://x"}}))),
                   "MCP_URL: proxy URL 'ftp://x' must start with mcp+https://"));
    CHECK(contains(validate_message(WormConfig::from_env(env({{"WORM_SSE_KMS_KEY_ID", "k"}}))), "needs WORM_SSE=aws:kms"));
    CHECK(contains(validate_message(WormConfig::from_env(env({{"WORM_RETENTION_DAYS", "0"}}))), "between 1 and"));
}

TEST_CASE("retention below 90 days is refused unless WORM_ALLOW_SHORT_RETENTION=1") {
    const auto short_ret = WormConfig::from_env(env({{"WORM_RETENTION_DAYS", "30"}}));
    CHECK(short_ret.retention_days == 30);
    const std::string m = validate_message(short_ret);
    CHECK(contains(m, "WORM_RETENTION_DAYS=30 is below the 90-day minimum"));
    CHECK(contains(m, "WORM_ALLOW_SHORT_RETENTION=1"));
    CHECK_NOTHROW(
        WormConfig::from_env(env({{"WORM_RETENTION_DAYS", "1"}, {"WORM_ALLOW_SHORT_RETENTION", "1"}})).validate());
    CHECK_NOTHROW(WormConfig::from_env(env({{"WORM_RETENTION_DAYS", "90"}})).validate());
}

TEST_CASE("describe_masked shows the resolved config and never the API key") {
    const std::string key = "sk-live-abcdef123456";
    auto c = WormConfig::from_env(env({{"WORM_ENABLED", "1"},
                                       {"MCP_URL", "https://agent:hunter2@mcp.example/v1"},
                                       {"MCP_API_KEY", key},
                                       {"WORM_RETENTION_DAYS", "30"}}));
    const std::string text = c.describe_masked();
    CHECK_FALSE(contains(text, key));
    CHECK_FALSE(contains(text, key.substr(key.size() - 4)));
    CHECK_FALSE(contains(text, "hunter2"));
    rapidjson::Document d;
    d.Parse(text.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(d["enabled"].GetBool());
    CHECK(std::string(d["mode"].GetString()) == "proxy");
    CHECK(std::string(d["mcp_api_key"].GetString()) == "****");
    CHECK(std::string(d["mcp_url"].GetString()) == "https://agent:****@mcp.example/v1");
    CHECK(d["retention_days"].GetInt() == 30);
    CHECK(std::string(d["lock_mode"].GetString()) == "COMPLIANCE");
    REQUIRE(d["problems"].IsArray());
    // WORM_RETENTION_DAYS below 90, and the user info sync would refuse in MCP_URL.
    REQUIRE(d["problems"].Size() == 2);
    CHECK(contains(d["problems"][0].GetString(), "MCP_URL: proxy URL 'https://agent:****@mcp.example/v1' must not "
                                                 "carry user info"));
    CHECK(contains(d["problems"][1].GetString(), "WORM_RETENTION_DAYS=30"));
    // validate() messages never carry the key either.
    CHECK_FALSE(contains(validate_message(c), key));
    c.mcp_api_key.clear();
    rapidjson::Document d2;
    const std::string text2 = c.describe_masked();
    d2.Parse(text2.c_str());
    CHECK(std::string(d2["mcp_api_key"].GetString()).empty());
}

TEST_CASE("from_env() reads the process environment") {
    setenv("WORM_SYNC_CONCURRENCY", "7", 1);
    CHECK(WormConfig::from_env().sync_concurrency == 7);
    unsetenv("WORM_SYNC_CONCURRENCY");
}

TEST_CASE("seed 001: MSP_WORM_BUCKET with WORM_ENABLED unset turns direct uploads on") {
    const auto c = WormConfig::from_env(env({{"MSP_WORM_BUCKET", "msp-compliance-evidence-prod"},
                                             {"AWS_REGION", "eu-west-1"}}));
    CHECK(c.enabled);
    CHECK(c.mode == WormMode::direct);
    CHECK(c.s3_bucket == "msp-compliance-evidence-prod");
    CHECK(c.s3_region == "eu-west-1");
    CHECK_NOTHROW(c.validate());
    CHECK(c.sources.at("enabled") == "MSP_WORM_BUCKET");
    CHECK(c.sources.at("mode") == "MSP_WORM_BUCKET");
    CHECK(c.sources.at("s3_bucket") == "MSP_WORM_BUCKET");
    CHECK(c.sources.at("s3_region") == "AWS_REGION");
    CHECK(c.sources.at("retention_days") == "default");

    // An explicit WORM_ENABLED or WORM_MODE wins; WORM_S3_BUCKET alone enables nothing (seed 000).
    const auto off = WormConfig::from_env(env({{"MSP_WORM_BUCKET", "b"}, {"WORM_ENABLED", "false"}}));
    CHECK_FALSE(off.enabled);
    CHECK(off.sources.at("enabled") == "WORM_ENABLED");
    const auto proxy = WormConfig::from_env(env({{"MSP_WORM_BUCKET", "b"}, {"WORM_MODE", "proxy"}}));
    CHECK(proxy.enabled);
    CHECK(proxy.mode == WormMode::proxy);
    CHECK(proxy.sources.at("mode") == "WORM_MODE");
    CHECK_FALSE(WormConfig::from_env(env({{"WORM_S3_BUCKET", "b"}})).enabled);
    CHECK_FALSE(WormConfig::from_env(env({{"MSP_WORM_BUCKET", " "}})).enabled);  // empty counts as unset
}

TEST_CASE("describe_masked names the variable (or default) behind each value") {
    const auto c = WormConfig::from_env(env({{"MSP_WORM_BUCKET", "b"},
                                             {"WORM_S3_REGION", "us-west-2"},
                                             {"AWS_REGION", "ignored"},
                                             {"AWS_ENDPOINT_URL", "http://127.0.0.1:9"},
                                             {"MCP_API_KEY", "secret-token-1"}}));
    const std::string text = c.describe_masked();
    CHECK_FALSE(contains(text, "secret-token-1"));
    rapidjson::Document d;
    d.Parse(text.c_str());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.HasMember("sources"));
    const auto& s = d["sources"];
    CHECK(std::string(s["enabled"].GetString()) == "MSP_WORM_BUCKET");
    CHECK(std::string(s["s3_region"].GetString()) == "WORM_S3_REGION");
    CHECK(std::string(s["s3_endpoint"].GetString()) == "AWS_ENDPOINT_URL");
    CHECK(std::string(s["mcp_api_key"].GetString()) == "MCP_API_KEY");
    CHECK(std::string(s["auto_upload"].GetString()) == "default");
    CHECK(std::string(s["retention_days"].GetString()) == "default");
    // Built in code: no sources claimed.
    WormConfig code;
    rapidjson::Document d2;
    const std::string text2 = code.describe_masked();
    d2.Parse(text2.c_str());
    CHECK_FALSE(d2.HasMember("sources"));
}
