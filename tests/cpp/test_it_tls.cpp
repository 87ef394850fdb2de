// peers: moto
// TLS for the `worm` CLI (issue 15): plain http only to this machine unless WORM_ALLOW_HTTP=1
// (exit 2 naming the endpoint, never a secret); certificate verification against a local
// HTTPS server with a self-signed certificate (openssl makes it, tests/python/fault_server.py
// serves it on loopback, forwarding to the S3 peer or to worm-proxy): refused by default,
// trusted when AWS_CA_BUNDLE points to it. The same for worm-proxy clients (MCP_URL).
#include <doctest/doctest.h>

#include "support/fault_server.hpp"
#include "support/s3_peer.hpp"
#include "support/test_env.hpp"

namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

t::S3Peer& peer() { return t::S3Peer::shared(); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A self-signed certificate for 127.0.0.1 and localhost.
struct SelfSigned {
    t::TempDir dir{"worm-tls-cert"};
    fs::path cert = dir / "cert.pem", key = dir / "key.pem";
    SelfSigned() {
        const auto made = t::run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                          "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                                          "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                          "-keyout", key.string(), "-out", cert.string()});
        REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    }
};

// An HTTPS front (TLS terminated by fault_server.py) relaying to `upstream` ("http://127.0.0.1:P").
struct TlsFront {
    TlsFront(const SelfSigned& certificate, const std::string& upstream) : port(t::free_port()) {
        const fs::path script = t::source_dir() / "tests" / "python" / "fault_server.py";
        process = std::make_unique<t::ServerProcess>(
            std::vector<std::string>{t::python3(), script.string(), std::to_string(port), "--upstream", upstream,
                                     certificate.cert.string(), certificate.key.string()},
            std::vector<std::string>{}, logs / "tls-front.log");
        process->wait_for_port(port);
    }
    std::string url(const std::string& scheme = "https") const {
        return scheme + "://127.0.0.1:" + std::to_string(port);
    }
    t::TempDir logs{"worm-tls-front"};
    int port;
    std::unique_ptr<t::ServerProcess> process;
};

std::vector<std::string> s3_env(const std::string& endpoint, std::vector<std::string> extra = {}) {
    std::vector<std::string> env{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ENDPOINT_URL_S3=",
                                 "AWS_ACCESS_KEY_ID=" + peer().credentials().access_key_id,
                                 "AWS_SECRET_ACCESS_KEY=" + peer().credentials().secret_access_key,
                                 "AWS_REGION=" + peer().region(), "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
                                 "AWS_CA_BUNDLE=", "WORM_ALLOW_HTTP=", "WORM_S3_ENDPOINT=", "WORM_S3_ADDRESSING=path",
                                 "WORM_HTTP_TIMEOUT_MS=20000"};
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

t::CommandResult run_worm(std::vector<std::string> args, const std::vector<std::string>& env) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args, env);
}

// Loopback peers are addressed by IP; 0.0.0.0 reaches this machine too, but is not a loopback
// name, so it stands for "a host on the network" without leaving the machine.
std::string as_remote(const std::string& loopback_url) {
    std::string out = loopback_url;
    out.replace(out.find("127.0.0.1"), 9, "0.0.0.0");
    return out;
}

}  // namespace

TEST_CASE("S3 over plain http: loopback and localhost allowed, another host refused unless WORM_ALLOW_HTTP=1") {
    t::TempDir tmp("worm-tls-http");
    t::write_file(tmp / "in.json", "{}");
    const std::string bucket = peer().create_bucket("tls-http", false);
    const std::string put_file = (tmp / "in.json").string();

    CHECK(run_worm({"put", "--store", "s3://" + bucket, "a.json", put_file}, s3_env(peer().endpoint())).exit_code == 0);
    std::string via_localhost = peer().endpoint();
    via_localhost.replace(via_localhost.find("127.0.0.1"), 9, "localhost");
    const auto local = run_worm({"put", "--store", "s3://" + bucket, "b.json", put_file}, s3_env(via_localhost));
    CHECK_MESSAGE(local.exit_code == 0, local.err);

    const std::string remote = as_remote(peer().endpoint());
    const auto refused = run_worm({"put", "--store", "s3://" + bucket, "c.json", put_file}, s3_env(remote));
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, remote));
    CHECK(contains(refused.err, "WORM_ALLOW_HTTP"));
    CHECK_FALSE(contains(refused.err, peer().credentials().secret_access_key));
    CHECK_FALSE(contains(refused.out + refused.err, "Authorization"));

    const auto allowed = run_worm({"put", "--store", "s3://" + bucket, "c.json", put_file}, s3_env(remote, {"WORM_ALLOW_HTTP=1"}));
    CHECK_MESSAGE(allowed.exit_code == 0, allowed.err);
}

TEST_CASE("S3 over https with a self-signed certificate: refused by default, trusted through AWS_CA_BUNDLE") {
    SelfSigned certificate;
    TlsFront front(certificate, peer().endpoint());
    t::TempDir tmp("worm-tls-s3");
    t::write_file(tmp / "in.json", "{\"tls\":true}");
    const std::string bucket = peer().create_bucket("tls", false);
    const std::vector<std::string> put{"put", "--store", "s3://" + bucket, "tls.json", (tmp / "in.json").string()};

    const auto untrusted = run_worm(put, s3_env(front.url()));
    CHECK(untrusted.exit_code == 3);
    CHECK(contains(untrusted.err, "127.0.0.1:" + std::to_string(front.port)));
    CHECK((contains(untrusted.err, "certificate") || contains(untrusted.err, "SSL")));
    CHECK_FALSE(contains(untrusted.err, peer().credentials().secret_access_key));

    const auto trusted = run_worm(put, s3_env(front.url(), {"AWS_CA_BUNDLE=" + certificate.cert.string()}));
    CHECK_MESSAGE(trusted.exit_code == 0, trusted.err);
    const auto head = run_worm({"head", "--store", "s3://" + bucket, "tls.json"},
                           s3_env(front.url(), {"AWS_CA_BUNDLE=" + certificate.cert.string()}));
    CHECK_MESSAGE(head.exit_code == 0, head.err);
    // A CA bundle that is not the server's certificate does not help.
    SelfSigned other;
    CHECK(run_worm(put, s3_env(front.url(), {"AWS_CA_BUNDLE=" + other.cert.string()})).exit_code == 3);
}

TEST_CASE("worm-proxy clients (MCP_URL): plain http only to this machine, https verified against AWS_CA_BUNDLE") {
    t::TempDir dir("worm-tls-proxy");
    const std::string token = "tls-token-0123456789abcdef";
    t::write_file(dir / "tokens", "clinic-tls " + token + "\n");
    fs::permissions(dir / "tokens", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    const int port = t::free_port();
    t::ServerProcess proxy({t::env_or("WORM_PROXY_BIN", "worm-proxy"), "--listen", "127.0.0.1:" + std::to_string(port),
                            "--tokens", (dir / "tokens").string(), "--store", "file://" + (dir / "store").string(),
                            "--threads", "1"},
                           {}, dir / "proxy.log");
    proxy.wait_for_port(port);
    const std::string plain = "http://127.0.0.1:" + std::to_string(port);
    t::write_file(dir / "in.json", "{}");
    const std::string key = "evidence/clinic-tls/2026/11/EB-20261126-0001.json";
    auto put = [&](const std::string& store_url, const std::vector<std::string>& extra, const std::string& k) {
        std::vector<std::string> env{"MCP_API_KEY=" + token, "AWS_CA_BUNDLE=", "WORM_ALLOW_HTTP="};
        env.insert(env.end(), extra.begin(), extra.end());
        return run_worm({"put", "--store", store_url, k, (dir / "in.json").string()}, env);
    };

    const auto local = put("mcp+" + plain, {}, key);
    CHECK_MESSAGE(local.exit_code == 0, local.err);
    const auto refused = put("mcp+" + as_remote(plain), {}, "evidence/clinic-tls/2026/11/EB-20261126-0002.json");
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "WORM_ALLOW_HTTP"));
    CHECK_FALSE(contains(refused.err, token));
    const auto allowed = put("mcp+" + as_remote(plain), {"WORM_ALLOW_HTTP=1"}, "evidence/clinic-tls/2026/11/EB-20261126-0002.json");
    CHECK_MESSAGE(allowed.exit_code == 0, allowed.err);

    SelfSigned certificate;
    TlsFront front(certificate, plain);
    const auto untrusted = put("mcp+" + front.url(), {}, "evidence/clinic-tls/2026/11/EB-20261126-0003.json");
    CHECK(untrusted.exit_code == 3);
    CHECK_FALSE(contains(untrusted.err, token));
    const auto trusted = put("mcp+" + front.url(), {"AWS_CA_BUNDLE=" + certificate.cert.string()}, "evidence/clinic-tls/2026/11/EB-20261126-0003.json");
    CHECK_MESSAGE(trusted.exit_code == 0, trusted.err);
}
