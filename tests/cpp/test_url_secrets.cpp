// No password in a URL ever reaches a message: the URL type (src/lib/util/url.hpp) and one
// test per entry point that accepts a URL (endpoint env vars, store URLs, MCP_URL, container
// credential URLs, the IMDS endpoint), through the library's errors and the `worm` CLI's
// stdout and stderr. Servers that must not answer are free loopback ports nobody listens on.
#include <doctest/doctest.h>

#include <functional>

#include "support/scoped_env.hpp"
#include "support/test_env.hpp"
#include "util/url.hpp"
#include "worm/config.hpp"
#include "worm/error.hpp"
#include "worm/http.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"
#include "worm/storage.hpp"

using namespace worm;
namespace t = worm::test;

namespace {

constexpr const char* secret = "Sup3rSecretValue";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs `call`, which must throw; the message must not hold the secret.
std::string message_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const std::exception& e) {
        const std::string what = e.what();
        CHECK_MESSAGE(!contains(what, secret), what);
        return what;
    }
    FAIL("expected an error");
    return "";
}

std::string loopback(const std::string& user_info) {
    return "http://" + user_info + "@127.0.0.1:" + std::to_string(t::free_port());
}

t::CommandResult worm_cli(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, env);
}

void check_cli_hides_secret(const t::CommandResult& r) {
    CAPTURE(r.out);
    CAPTURE(r.err);
    CHECK(r.exit_code != 0);
    CHECK_FALSE(contains(r.out, secret));
    CHECK_FALSE(contains(r.err, secret));
}

}  // namespace

TEST_CASE("Url parses what the library accepts and prints it with the password masked") {
    using detail::Url;
    const Url u = Url::parse("HTTPS://AKID:" + std::string(secret) + "@S3.Example.com:8443/p/a%20b?x=1#f", "test URL",
                             ErrorCode::config);
    CHECK(u.scheme == "https");
    CHECK(u.user == "AKID");
    CHECK(u.password == secret);
    CHECK(u.host == "s3.example.com");
    CHECK(u.port == "8443");
    CHECK(u.path == "/p/a%20b");
    CHECK(u.query == "x=1");
    CHECK(u.fragment == "f");
    CHECK(u.authority() == "s3.example.com:8443");
    CHECK(u.origin() == "https://s3.example.com:8443");
    CHECK(u.to_string() == "https://AKID:****@s3.example.com:8443/p/a%20b?x=****#****");

    const Url v6 = Url::parse("mcp+http://[::1]:9000", "proxy URL", ErrorCode::config);
    CHECK(v6.scheme == "mcp+http");
    CHECK(v6.host == "[::1]");
    CHECK(v6.port == "9000");
    CHECK_FALSE(v6.has_user_info);
    CHECK(Url::parse("file:///var/evidence", "store URL", ErrorCode::invalid_argument).path == "/var/evidence");
    CHECK(Url::parse("s3://bucket/prefix", "store URL", ErrorCode::invalid_argument).host == "bucket");

    for (const std::string& bad : std::vector<std::string>{"no-scheme", "https://u:" + std::string(secret) + "@host:port",
                                  "https://u:" + std::string(secret) + "@ho st", "https://[::1", "://x"}) {
        CAPTURE(bad);
        const std::string m = message_of([&] { (void)Url::parse(bad, "test URL", ErrorCode::config); });
        CHECK(contains(m, "test URL"));
    }
    CHECK(detail::mask_url_password("AKID:" + std::string(secret) + "@host") == "AKID:****@host");
    CHECK(detail::mask_url_password("htps://u:" + std::string(secret) + "@h/x@y") == "htps://u:****@h/x@y");
    CHECK(detail::mask_url_password("https://host/a:b@c") == "https://host/a:b@c");  // '@' in the path is no user info
}

TEST_CASE("user info without a password separator, query values and fragments are masked like passwords") {
    using detail::Url;
    const std::string s(secret);
    // A token as the whole user info: nothing tells it from a user name, so all of it goes.
    CHECK(detail::mask_url_password("http://" + s + "@127.0.0.1:9") == "http://****@127.0.0.1:9");
    CHECK(Url::parse("http://" + s + "@127.0.0.1:9", "t", ErrorCode::config).to_string() == "http://****@127.0.0.1:9");
    CHECK(detail::mask_url_password(s + "@host") == "****@host");
    CHECK(detail::mask_url_password("https://h/p?token=" + s + "&x&y=&z=1#" + s) == "https://h/p?token=****&x&y=&z=****#****");
    CHECK(Url::parse("https://h/p?access_token=" + s, "t", ErrorCode::config).to_string() == "https://h/p?access_token=****");
    CHECK(detail::mask_url_password("https://host/path") == "https://host/path");
    CHECK(detail::mask_query("key=evidence%2Fa&token=" + s) == "key=****&token=****");
}

TEST_CASE("an endpoint whose user info is a bare token (no ':') never shows it: ls, config check, sync") {
    const std::string url = "http://" + std::string(secret) + "@127.0.0.1:" + std::to_string(t::free_port());
    for (const char* variable : {"WORM_S3_ENDPOINT", "AWS_ENDPOINT_URL"}) {
        CAPTURE(variable);
        const std::vector<std::string> cli_env = {std::string(variable) + "=" + url, "WORM_S3_BUCKET=b",
                                                  "WORM_MODE=direct", "AWS_ACCESS_KEY_ID=AKID",
                                                  "AWS_SECRET_ACCESS_KEY=x"};
        const t::CommandResult ls = worm_cli({"ls", "--store", "s3://b"}, cli_env);
        check_cli_hides_secret(ls);
        CHECK(contains(ls.err, "http://****@127.0.0.1"));
    }
    t::TempDir dir("worm-url-token");
    const std::vector<std::string> cli_env = {"WORM_ENABLED=true", "WORM_S3_ENDPOINT=" + url, "WORM_S3_BUCKET=b",
                                              "WORM_MODE=direct", "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=x"};
    const t::CommandResult sync = worm_cli({"sync", "--evidence-dir", dir.path().string(), "--quiet"}, cli_env);
    check_cli_hides_secret(sync);
    CHECK(contains(sync.err, "http://****@127.0.0.1"));
    const t::CommandResult check = worm_cli({"config", "check"}, cli_env);
    check_cli_hides_secret(check);
    CHECK(contains(check.out + check.err, "****@127.0.0.1"));
}

TEST_CASE("MCP_URL: config check applies sync's validation (user info, query) and shows neither secret") {
    t::TempDir dir("worm-url-mcp");
    for (const std::string& url : {"https://" + std::string(secret) + "@proxy.example.com",
                                   "https://user:" + std::string(secret) + "@proxy.example.com",
                                   "https://proxy.example.com/?token=" + std::string(secret)}) {
        CAPTURE(url);
        const std::vector<std::string> cli_env = {"WORM_ENABLED=true", "WORM_MODE=proxy", "MCP_URL=" + url,
                                                  "MCP_API_KEY=api-key"};
        const t::CommandResult sync = worm_cli({"sync", "--evidence-dir", dir.path().string(), "--quiet"}, cli_env);
        check_cli_hides_secret(sync);
        const t::CommandResult check = worm_cli({"config", "check"}, cli_env);
        check_cli_hides_secret(check);
        // One validation: the problem config check reports is the one sync refuses with.
        const std::string why = contains(url, "?") ? "must not have a query or fragment" : "must not carry user info";
        CHECK(contains(sync.err, why));
        CHECK(contains(check.out + check.err, why));
        // The library's check says the same.
        t::ScopedEnv env;
        env.set("WORM_MODE", "proxy").set("MCP_URL", url).set("MCP_API_KEY", "api-key");
        const std::vector<std::string> problems = WormConfig::from_env().check();
        REQUIRE(problems.size() == 1);
        CHECK(contains(problems[0], why));
        CHECK_FALSE(contains(problems[0], secret));
    }
}

TEST_CASE("endpoint variables: AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, WORM_S3_ENDPOINT") {
    const std::string url = "https://AKID:" + std::string(secret) + "@s3.example.com";
    for (const char* variable : {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}) {
        CAPTURE(variable);
        t::ScopedEnv env;
        env.unset("AWS_ENDPOINT_URL").unset("AWS_ENDPOINT_URL_S3").set(variable, url);
        env.set("AWS_ACCESS_KEY_ID", "AKID").set("AWS_SECRET_ACCESS_KEY", "x");
        const std::string m = message_of([] { s3::S3Client client(s3::ClientConfig::from_env()); });
        CHECK(contains(m, "S3 endpoint 'https://AKID:****@s3.example.com'"));
        CHECK(contains(m, "credentials"));

        const t::CommandResult r = worm_cli({"head", "--store", "s3://bucket", "key"},
                                            {std::string(variable) + "=" + url, "AWS_ACCESS_KEY_ID=AKID",
                                             "AWS_SECRET_ACCESS_KEY=x"});
        check_cli_hides_secret(r);
        CHECK(contains(r.err, "AKID:****@"));
    }
    // WORM_S3_ENDPOINT goes through WormConfig (its problems, describe_masked) to the client.
    t::ScopedEnv env;
    env.set("WORM_S3_ENDPOINT", url).set("WORM_S3_BUCKET", "bucket").set("WORM_MODE", "direct");
    env.set("AWS_ACCESS_KEY_ID", "AKID").set("AWS_SECRET_ACCESS_KEY", "x");
    const WormConfig config = WormConfig::from_env();
    CHECK_FALSE(contains(config.describe_masked(), secret));
    const std::string m = message_of([&] { (void)open_configured_store(config); });
    CHECK(contains(m, "AKID:****@"));
    t::TempDir dir("worm-url-secret");
    const std::vector<std::string> cli_env = {"WORM_S3_ENDPOINT=" + url, "WORM_S3_BUCKET=bucket", "WORM_MODE=direct",
                                              "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=x"};
    check_cli_hides_secret(worm_cli({"sync", "--evidence-dir", dir.path().string(), "--quiet"}, cli_env));
    const t::CommandResult check = worm_cli({"config", "check"}, cli_env);
    CHECK_FALSE(contains(check.out + check.err, secret));
}

TEST_CASE("store URLs: file://, s3:// and mcp+https:// with user info") {
    const std::string user_info = "user:" + std::string(secret);
    for (const std::string& url : std::vector<std::string>{"file://" + user_info + "@host/dir", "s3://" + user_info + "@bucket/prefix",
                                  "mcp+https://" + user_info + "@proxy.example.com",
                                  "mcp+http://" + user_info + "@127.0.0.1:1", "ftp://" + user_info + "@host/x"}) {
        CAPTURE(url);
        t::ScopedEnv env;
        env.set("MCP_API_KEY", "api-key");
        const std::string m = message_of([&] { (void)open_store(url); });
        CHECK(contains(m, "user:****@"));
        const t::CommandResult r = worm_cli({"head", "--store", url, "key"}, {"MCP_API_KEY=api-key"});
        check_cli_hides_secret(r);
        CHECK(r.exit_code == 2);
    }
}

TEST_CASE("MCP_URL with user info") {
    const std::string url = "https://user:" + std::string(secret) + "@proxy.example.com";
    t::ScopedEnv env;
    env.set("WORM_MODE", "proxy").set("MCP_URL", url).set("MCP_API_KEY", "api-key");
    const WormConfig config = WormConfig::from_env();
    CHECK_FALSE(contains(config.describe_masked(), secret));
    const std::string m = message_of([&] { (void)open_configured_store(config); });
    CHECK(contains(m, "proxy URL 'https://user:****@proxy.example.com'"));
    t::TempDir dir("worm-url-secret");
    const std::vector<std::string> cli_env = {"WORM_MODE=proxy", "MCP_URL=" + url, "MCP_API_KEY=api-key"};
    check_cli_hides_secret(worm_cli({"sync", "--evidence-dir", dir.path().string(), "--quiet"}, cli_env));
    const t::CommandResult check = worm_cli({"config", "check"}, cli_env);
    CHECK_FALSE(contains(check.out + check.err, secret));
}

TEST_CASE("container credential URLs (AWS_CONTAINER_CREDENTIALS_FULL_URI) with user info") {
    auto transport = make_curl_transport();
    for (const std::string& url : std::vector<std::string>{"http://user:" + std::string(secret) + "@10.1.2.3/creds",  // plain http to a remote host
                                  loopback("user:" + std::string(secret)) + "/creds",      // nothing listens
                                  "ftp://user:" + std::string(secret) + "@host/creds"}) {
        CAPTURE(url);
        t::ScopedEnv env;
        env.unset("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").set("AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
        s3::ContainerProvider provider(transport, s3::ContainerOptions::from_env());
        (void)message_of([&] { (void)provider.get(); });
    }
}

TEST_CASE("IMDS endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT) with user info") {
    t::ScopedEnv env;
    env.unset("AWS_EC2_METADATA_DISABLED").set("AWS_EC2_METADATA_SERVICE_ENDPOINT", loopback("user:" + std::string(secret)));
    s3::ImdsProvider provider(make_curl_transport(), s3::ImdsOptions::from_env());
    const std::string m = message_of([&] { (void)provider.get(); });
    CHECK(contains(m, "user:****@127.0.0.1"));
    CHECK(contains(m, "did not answer"));
}
