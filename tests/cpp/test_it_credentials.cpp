// test_it_credentials.cpp: container (ECS) and IMDSv2 credentials against a local server
// that plays both endpoints (tests/python/credentials_server.py), over the real libcurl
// transport; refresh before expiry; the chain end to end; no secret in any message.
#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <functional>
#include <memory>

#include "support/scoped_env.hpp"
#include "support/test_env.hpp"
#include "worm/error.hpp"
#include "worm/http.hpp"
#include "worm/s3/credentials.hpp"

using namespace worm;
using namespace worm::s3;

namespace {

const std::string ecs_token = "ecs-auth-TOKEN-DO-NOT-LEAK";

// Every secret the server hands out contains this marker (see credentials_server.py).
std::string expect_error(const std::function<void()>& fn, ErrorCode code) {
    try {
        fn();
    } catch (const Error& e) {
        CHECK(to_string(e.code()) == to_string(code));
        const std::string msg = e.what();
        CHECK_MESSAGE(msg.find("DO-NOT-LEAK") == std::string::npos, "secret in: " << msg);
        return msg;
    }
    FAIL("no error thrown");
    return {};
}

class CredentialsServer {
public:
    explicit CredentialsServer(const test::TempDir& logs) : port_(test::free_port()) {
        const auto script = test::source_dir() / "tests" / "python" / "credentials_server.py";
        process_ = std::make_unique<test::ServerProcess>(
            std::vector<std::string>{test::python3(), script.string(), std::to_string(port_), ecs_token},
            std::vector<std::string>{}, logs / "credentials-server.log");
        process_->wait_for_port(port_);
    }
    std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

    void set_expires_in(std::shared_ptr<HttpTransport> t, int seconds) {
        HttpRequest r;
        r.method = "POST";
        r.url = url("/__control?expires_in=" + std::to_string(seconds));
        REQUIRE(t->send(r).status == 200);
    }
    int stat(std::shared_ptr<HttpTransport> t, const char* counter) {
        HttpRequest r;
        r.url = url("/__stats");
        const HttpResponse resp = t->send(r);
        rapidjson::Document doc;
        doc.Parse(resp.body.c_str());
        return doc[counter].GetInt();
    }

private:
    int port_;
    std::unique_ptr<test::ServerProcess> process_;
};

std::shared_ptr<HttpTransport> transport() {
    HttpOptions o;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.total_timeout = std::chrono::milliseconds(10000);
    return make_curl_transport(o);
}

}  // namespace

TEST_CASE("container and IMDSv2 credentials from a local endpoint") {
    test::TempDir dir;
    CredentialsServer server(dir);
    auto http = transport();

    {  // container: authorization token, expiration, refresh before expiry
        ContainerProvider p(http, ContainerOptions{.full_uri = server.url("/ecs/creds"), .authorization_token = ecs_token});
        Credentials c1 = p.get();
        CHECK(c1.access_key_id == "ASIAECS0001");
        CHECK(c1.secret_access_key == "ecs-secret-1-DO-NOT-LEAK");
        CHECK(c1.session_token == "ecs-session-token-1-DO-NOT-LEAK");
        REQUIRE(c1.expiration.has_value());
        CHECK(*c1.expiration > std::chrono::system_clock::now() + std::chrono::minutes(50));
        CHECK(p.get().access_key_id == "ASIAECS0001");  // cached: an hour left
        CHECK(server.stat(http, "ecs") == 1);

        // Credentials that expire in 60 s are inside the 5-minute window: refetched each time.
        server.set_expires_in(http, 60);
        ContainerProvider short_lived(http, ContainerOptions{.full_uri = server.url("/ecs/creds"),
                                                             .authorization_token = ecs_token});
        CHECK(short_lived.get().access_key_id == "ASIAECS0002");
        CHECK(short_lived.get().access_key_id == "ASIAECS0003");
        server.set_expires_in(http, 3600);
        CHECK(short_lived.get().access_key_id == "ASIAECS0004");
        CHECK(short_lived.get().access_key_id == "ASIAECS0004");
        CHECK(server.stat(http, "ecs") == 4);
    }
    {  // container: token file, wrong token, bad bodies, plain http to a remote host
        test::write_file(dir / "token", ecs_token + "\n");
        ContainerProvider from_file(http, ContainerOptions{.full_uri = server.url("/ecs/creds"),
                                                           .authorization_token = "ignored-when-a-file-is-set",
                                                           .authorization_token_file = dir / "token"});
        CHECK(from_file.get().access_key_id.starts_with("ASIAECS"));

        ContainerProvider wrong(http, ContainerOptions{.full_uri = server.url("/ecs/creds"),
                                                       .authorization_token = "wrong-DO-NOT-LEAK"});
        CHECK(expect_error([&] { wrong.get(); }, ErrorCode::config).find("HTTP 403") != std::string::npos);
        CHECK(server.stat(http, "unauthorized") == 1);

        ContainerProvider garbage(http, ContainerOptions{.full_uri = server.url("/ecs/garbage")});
        expect_error([&] { garbage.get(); }, ErrorCode::parse);
        ContainerProvider partial(http, ContainerOptions{.full_uri = server.url("/ecs/partial")});
        expect_error([&] { partial.get(); }, ErrorCode::parse);

        ContainerProvider remote(http, ContainerOptions{.full_uri = "http://192.0.2.1/creds", .authorization_token = ecs_token});
        expect_error([&] { remote.get(); }, ErrorCode::config);
        ContainerProvider unset(http, ContainerOptions{});
        expect_error([&] { unset.get(); }, ErrorCode::not_found);
        ContainerProvider missing_file(http, ContainerOptions{.full_uri = server.url("/ecs/creds"),
                                                              .authorization_token_file = dir / "nope"});
        expect_error([&] { missing_file.get(); }, ErrorCode::config);
    }
    {  // IMDSv2: token first, then role, then credentials; refresh before expiry
        // The server refuses metadata requests without a session token.
        HttpRequest direct;
        direct.url = server.url("/latest/meta-data/iam/security-credentials/");
        CHECK(http->send(direct).status == 401);
        const int unauthorized_before = server.stat(http, "unauthorized");

        ImdsProvider p(http, ImdsOptions{.endpoint = server.url("/")});
        Credentials c = p.get();
        CHECK(c.access_key_id == "ASIAIMDS0001");
        CHECK(c.secret_access_key == "imds-secret-1-DO-NOT-LEAK");
        CHECK(c.session_token == "imds-session-token-1-DO-NOT-LEAK");
        REQUIRE(c.expiration.has_value());
        CHECK(p.get().access_key_id == "ASIAIMDS0001");
        CHECK(server.stat(http, "token") == 1);
        CHECK(server.stat(http, "roles") == 1);
        CHECK(server.stat(http, "role") == 1);
        CHECK(server.stat(http, "unauthorized") == unauthorized_before);  // every request carried the token

        server.set_expires_in(http, 120);
        ImdsProvider short_lived(http, ImdsOptions{.endpoint = server.url()});
        CHECK(short_lived.get().access_key_id == "ASIAIMDS0002");
        CHECK(short_lived.get().access_key_id == "ASIAIMDS0003");  // refetched, with a new token
        CHECK(server.stat(http, "token") == 3);
        CHECK(server.stat(http, "role") == 3);
    }
    {  // IMDS disabled or unreachable is 'not found', so the chain moves on
        const int tokens_before = server.stat(http, "token");
        ImdsProvider disabled(http, ImdsOptions{.endpoint = server.url(), .disabled = true});
        expect_error([&] { disabled.get(); }, ErrorCode::not_found);
        CHECK(server.stat(http, "token") == tokens_before);  // not even asked
        ImdsProvider closed(http, ImdsOptions{.endpoint = "http://127.0.0.1:" + std::to_string(test::free_port())});
        expect_error([&] { closed.get(); }, ErrorCode::not_found);
    }
}

TEST_CASE("default_credentials_chain: env, profile, container, IMDS, from the environment") {
    test::TempDir dir;
    CredentialsServer server(dir);
    auto http = transport();
    // Each block starts from an environment without AWS settings (HOME: an empty dir).

    {  // IMDS when nothing else is configured
        test::ScopedEnv env;
        env.clear_aws(dir.path().string());
        env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url());
        CHECK(default_credentials_chain(http)->get().access_key_id.starts_with("ASIAIMDS"));
    }
    {  // container before IMDS; FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN
        test::ScopedEnv env;
        env.clear_aws(dir.path().string());
        const int tokens_before = server.stat(http, "token");
        env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url())
            .set("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/ecs/creds"))
            .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", ecs_token);
        CHECK(default_credentials_chain(http)->get().access_key_id.starts_with("ASIAECS"));
        CHECK(server.stat(http, "token") == tokens_before);
    }
    {  // env before container
        test::ScopedEnv env;
        env.clear_aws(dir.path().string());
        const int ecs_before = server.stat(http, "ecs");
        env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/ecs/creds"))
            .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", ecs_token)
            .set("AWS_ACCESS_KEY_ID", "AKIAENV")
            .set("AWS_SECRET_ACCESS_KEY", "env-DO-NOT-LEAK");
        CHECK(default_credentials_chain(http)->get().access_key_id == "AKIAENV");
        CHECK(server.stat(http, "ecs") == ecs_before);
    }
    {  // a configured container endpoint that refuses stops the chain
        test::ScopedEnv env;
        env.clear_aws(dir.path().string());
        const int tokens_before = server.stat(http, "token");
        env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url())
            .set("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url("/ecs/creds"))
            .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-DO-NOT-LEAK");
        expect_error([&] { default_credentials_chain(http)->get(); }, ErrorCode::config);
        CHECK(server.stat(http, "token") == tokens_before);  // IMDS not tried
    }
    {  // nothing anywhere: the message lists every source tried
        test::ScopedEnv env;
        env.clear_aws(dir.path().string());
        env.set("AWS_EC2_METADATA_DISABLED", "true");
        const std::string msg = expect_error([&] { default_credentials_chain(http)->get(); }, ErrorCode::config);
        CHECK(msg.starts_with("no AWS credentials found (tried: env, profile 'default', container, IMDS)"));
    }
    {  // RELATIVE_URI means the ECS agent address
        test::ScopedEnv env;
        env.clear_aws(dir.path().string());
        env.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
        CHECK(ContainerOptions::from_env().full_uri == "http://169.254.170.2/v2/credentials/abc");
        env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token");
        CHECK(ContainerOptions::from_env().authorization_token_file == "/var/run/token");
    }
}
