// test_credentials.cpp: static, env and shared-file providers, the refresh rules and the
// chain's order and messages. (Container and IMDS against a local server are in
// test_it_credentials.cpp.)
#include <doctest/doctest.h>

#include <functional>

#include "support/scoped_env.hpp"
#include "support/test_env.hpp"
#include "worm/error.hpp"
#include "worm/s3/credentials.hpp"

using namespace worm;
using namespace worm::s3;

namespace {

// The secret values used below: no error message may contain any of them.
const std::vector<std::string> secrets = {"env-SECRET-value", "env-TOKEN-value", "file-SECRET-default",
                                          "file-TOKEN-prod", "config-SECRET-cfg", "partial-SECRET-x",
                                          "cfg-partial-SECRET"};

// Runs fn, expects worm::Error with `code`, checks no secret leaked, returns the message.
std::string expect_error(const std::function<void()>& fn, ErrorCode code) {
    try {
        fn();
    } catch (const Error& e) {
        CHECK(to_string(e.code()) == to_string(code));
        const std::string msg = e.what();
        for (const auto& s : secrets) CHECK_MESSAGE(msg.find(s) == std::string::npos, "secret in: " << msg);
        return msg;
    }
    FAIL("no error thrown");
    return {};
}

const char* credentials_ini = R"(# AWS shared credentials, written by hand
; semicolon comment
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = file-SECRET-default   # inline comment

[prod]
aws_access_key_id=AKIAPROD
aws_secret_access_key=file-SECRET-prod
aws_session_token = file-TOKEN-prod

[partial]
aws_access_key_id = AKIAPARTIAL
region = us-east-1

[both]
aws_access_key_id = AKIABOTH-FROM-CREDENTIALS
aws_secret_access_key = both-from-credentials
)";

const char* config_ini = R"([default]
region = eu-central-1

[profile cfg]
region = us-west-2
s3 =
  addressing_style = path
aws_access_key_id = AKIACFG
aws_secret_access_key = config-SECRET-cfg

[profile both]
aws_access_key_id = AKIABOTH-FROM-CONFIG
aws_secret_access_key = both-from-config

[profile assumed]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default

[profile cfgpartial]
aws_secret_access_key = cfg-partial-SECRET
)";

}  // namespace

TEST_CASE("StaticProvider returns its credentials and refuses empty keys") {
    StaticProvider p(Credentials{.access_key_id = "AKID", .secret_access_key = "s"});
    CHECK(p.get().access_key_id == "AKID");
    CHECK(p.name() == "static");
    expect_error([] { StaticProvider(Credentials{.access_key_id = "AKID"}); }, ErrorCode::invalid_argument);
}

TEST_CASE("EnvProvider reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN") {
    test::TempDir home;
    test::ScopedEnv env;
    env.clear_aws(home.path().string());
    EnvProvider p;
    CHECK(expect_error([&] { p.get(); }, ErrorCode::not_found).find("AWS_ACCESS_KEY_ID") != std::string::npos);

    env.set("AWS_ACCESS_KEY_ID", "AKIAENV").set("AWS_SECRET_ACCESS_KEY", "env-SECRET-value");
    Credentials c = p.get();
    CHECK(c.access_key_id == "AKIAENV");
    CHECK(c.secret_access_key == "env-SECRET-value");
    CHECK(c.session_token.empty());
    CHECK_FALSE(c.expiration.has_value());

    env.set("AWS_SESSION_TOKEN", "env-TOKEN-value");
    CHECK(p.get().session_token == "env-TOKEN-value");

    env.unset("AWS_SECRET_ACCESS_KEY");
    CHECK(expect_error([&] { p.get(); }, ErrorCode::config).find("AWS_SECRET_ACCESS_KEY is not") != std::string::npos);
    env.set("AWS_SECRET_ACCESS_KEY", "env-SECRET-value").unset("AWS_ACCESS_KEY_ID");
    expect_error([&] { p.get(); }, ErrorCode::config);
}

TEST_CASE("ProfileProvider reads the shared credentials and config files") {
    test::TempDir dir;
    test::write_file(dir / "credentials", credentials_ini);
    test::write_file(dir / "config", config_ini);
    const auto profile = [&](const std::string& name) {
        return ProfileProvider(ProfileOptions{.profile = name, .credentials_file = dir / "credentials",
                                              .config_file = dir / "config"});
    };

    SUBCASE("default and named profiles, comments, tokens") {
        Credentials d = profile("default").get();
        CHECK(d.access_key_id == "AKIADEFAULT");
        CHECK(d.secret_access_key == "file-SECRET-default");  // inline comment stripped
        CHECK(d.session_token.empty());
        Credentials p = profile("prod").get();
        CHECK(p.access_key_id == "AKIAPROD");
        CHECK(p.session_token == "file-TOKEN-prod");
        CHECK(profile("prod").name() == "profile 'prod'");
    }
    SUBCASE("config file [profile x] sections, sub-properties skipped") {
        Credentials c = profile("cfg").get();
        CHECK(c.access_key_id == "AKIACFG");
        CHECK(c.secret_access_key == "config-SECRET-cfg");
    }
    SUBCASE("the credentials file wins over the config file") {
        CHECK(profile("both").get().access_key_id == "AKIABOTH-FROM-CREDENTIALS");
    }
    SUBCASE("half a key pair, unsupported sources and missing profiles") {
        const std::string partial = expect_error([&] { profile("partial").get(); }, ErrorCode::config);
        CHECK(partial.find("aws_secret_access_key") != std::string::npos);
        CHECK(partial.find("'partial'") != std::string::npos);
        expect_error([&] { profile("cfgpartial").get(); }, ErrorCode::config);
        CHECK(expect_error([&] { profile("assumed").get(); }, ErrorCode::config).find("role_arn") != std::string::npos);
        CHECK(expect_error([&] { profile("nope").get(); }, ErrorCode::not_found).find("'nope'") != std::string::npos);
        ProfileProvider required(ProfileOptions{.profile = "nope", .credentials_file = dir / "credentials",
                                                .config_file = dir / "config", .required = true});
        expect_error([&] { required.get(); }, ErrorCode::config);
        ProfileProvider no_files(ProfileOptions{.profile = "default", .credentials_file = dir / "missing1",
                                                .config_file = dir / "missing2"});
        expect_error([&] { no_files.get(); }, ErrorCode::not_found);
    }
    SUBCASE("a malformed file names the file and line, not the content") {
        test::write_file(dir / "bad", "[default]\naws_access_key_id = AKIA\npartial-SECRET-x\n");
        ProfileProvider bad(ProfileOptions{.profile = "default", .credentials_file = dir / "bad"});
        const std::string msg = expect_error([&] { bad.get(); }, ErrorCode::parse);
        CHECK(msg.find("line 3") != std::string::npos);
        CHECK(msg.find((dir / "bad").string()) != std::string::npos);
    }
}

TEST_CASE("ProfileOptions::from_env: AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, ~/.aws defaults") {
    test::TempDir home;
    test::ScopedEnv env;
    env.clear_aws(home.path().string());
    ProfileOptions d = ProfileOptions::from_env();
    CHECK(d.profile == "default");
    CHECK_FALSE(d.required);
    CHECK(d.credentials_file == home.path() / ".aws" / "credentials");
    CHECK(d.config_file == home.path() / ".aws" / "config");

    // The real default location works end to end.
    test::write_file(home / ".aws/credentials", credentials_ini);
    CHECK(ProfileProvider().get().access_key_id == "AKIADEFAULT");

    env.set("AWS_PROFILE", "prod").set("AWS_SHARED_CREDENTIALS_FILE", "/x/creds").set("AWS_CONFIG_FILE", "~/cfg");
    ProfileOptions o = ProfileOptions::from_env();
    CHECK(o.profile == "prod");
    CHECK(o.required);
    CHECK(o.credentials_file == "/x/creds");
    CHECK(o.config_file == home.path() / "cfg");
}

namespace {

// Fault injection for the refresh rules: a provider whose fetch() the test scripts.
class ScriptedProvider final : public RefreshingProvider {
public:
    explicit ScriptedProvider(const Clock& clock) : RefreshingProvider(clock) {}
    std::string name() const override { return "scripted"; }
    int fetches = 0;
    bool fail = false;
    std::chrono::seconds lifetime{3600};

protected:
    Credentials fetch() override {
        ++fetches;
        if (fail) throw Error(ErrorCode::network, "scripted failure");
        return Credentials{.access_key_id = "AKID" + std::to_string(fetches), .secret_access_key = "s",
                           .session_token = "t", .expiration = clock().now() + lifetime};
    }
};

}  // namespace

TEST_CASE("RefreshingProvider caches, refreshes 5 minutes before expiry, rides out a failed refresh") {
    FixedClock clock(parse_rfc3339("2026-03-01T12:00:00Z"));
    ScriptedProvider p(clock);
    CHECK(p.get().access_key_id == "AKID1");
    CHECK(p.get().access_key_id == "AKID1");
    clock.advance(std::chrono::minutes(54));  // 6 minutes left: still cached
    CHECK(p.get().access_key_id == "AKID1");
    CHECK(p.fetches == 1);
    clock.advance(std::chrono::minutes(2));  // 4 minutes left: refresh
    CHECK(p.get().access_key_id == "AKID2");
    CHECK(p.fetches == 2);

    clock.advance(std::chrono::minutes(57));  // AKID2 has 3 minutes left; the refresh fails
    p.fail = true;
    CHECK(p.get().access_key_id == "AKID2");  // still valid, so still served
    clock.advance(std::chrono::minutes(4));   // now expired
    expect_error([&] { p.get(); }, ErrorCode::network);
    p.fail = false;
    CHECK(p.get().access_key_id == "AKID5");

    // Credentials that already expire inside the window are refetched on every get().
    p.lifetime = std::chrono::seconds(60);
    clock.advance(std::chrono::hours(2));
    CHECK(p.get().access_key_id == "AKID6");
    CHECK(p.get().access_key_id == "AKID7");
}

TEST_CASE("ChainProvider: order, stickiness, and what it says when nothing is found") {
    test::TempDir home;
    test::ScopedEnv env;
    env.clear_aws(home.path().string());

    const std::string none = expect_error([] { default_credentials_chain(nullptr)->get(); }, ErrorCode::config);
    CHECK(none.starts_with("no AWS credentials found (tried: env, profile 'default')"));

    test::write_file(home / ".aws/credentials", credentials_ini);
    auto chain = default_credentials_chain(nullptr);
    CHECK(chain->get().access_key_id == "AKIADEFAULT");  // profile, env being empty

    env.set("AWS_ACCESS_KEY_ID", "AKIAENV").set("AWS_SECRET_ACCESS_KEY", "env-SECRET-value");
    CHECK(chain->get().access_key_id == "AKIADEFAULT");              // the chosen source sticks
    CHECK(default_credentials_chain(nullptr)->get().access_key_id == "AKIAENV");  // env comes first

    // A half-configured source stops the chain instead of falling back to the profile.
    env.unset("AWS_SECRET_ACCESS_KEY");
    expect_error([] { default_credentials_chain(nullptr)->get(); }, ErrorCode::config);

    // An AWS_PROFILE that does not exist is an error too.
    env.unset("AWS_ACCESS_KEY_ID").set("AWS_PROFILE", "missing");
    CHECK(expect_error([] { default_credentials_chain(nullptr)->get(); }, ErrorCode::config).find("'missing'") !=
          std::string::npos);

    expect_error([] { ChainProvider({nullptr}); }, ErrorCode::invalid_argument);
}
