// worm_proxy.hpp: one worm-proxy process over a fresh backend (a LocalWormStore by default,
// or the store URL given, e.g. s3://bucket with the peer's credentials in `env`), on a free
// loopback port, stopped by PID when the fixture goes. Tokens: alice and bob.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/test_env.hpp"
#include "worm/http.hpp"
#include "worm/proxy/store.hpp"

namespace worm::test {

inline const std::string alice_token = "alice-token-0123456789abcdef";
inline const std::string bob_token = "bob-token-0123456789abcdef-0001";

inline std::string proxy_bin() { return env_or("WORM_PROXY_BIN", "worm-proxy"); }

// One worm-proxy over a fresh backend, stopped by PID when the fixture goes.
struct ProxyProcess {
    // launcher: a command the proxy runs under (e.g. prlimit), before worm-proxy's own argv.
    explicit ProxyProcess(std::vector<std::string> extra_flags = {}, std::string store_url = "",
                          std::vector<std::string> env = {}, std::vector<std::string> launcher = {}) {
        tokens = dir / "tokens";
        write_file(tokens, "# client token\nalice " + alice_token + "\nbob " + bob_token + "\n");
        fs::permissions(tokens, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
        store_dir = dir / "store";
        if (store_url.empty()) store_url = "file://" + store_dir.string();
        port = free_port();
        std::vector<std::string> argv{proxy_bin(), "--listen", "127.0.0.1:" + std::to_string(port), "--tokens",
                                      tokens.string(), "--store", store_url, "--threads", "2"};
        argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
        argv.insert(argv.begin(), launcher.begin(), launcher.end());
        log = dir / "proxy.log";
        server = std::make_unique<ServerProcess>(argv, env, log);
        server->wait_for_port(port);
    }

    std::string url() const { return "mcp+http://127.0.0.1:" + std::to_string(port); }
    std::string http_url() const { return "http://127.0.0.1:" + std::to_string(port); }

    std::unique_ptr<ProxyStore> store(const std::string& token) const { return open_proxy_store(url(), token); }

    // A request exactly as given (for what ProxyStore would never send).
    HttpResponse raw(const std::string& method, const std::string& target, HttpHeaders headers = {},
                     std::string body = "", const std::string& token = alice_token) const {
        HttpRequest r;
        r.method = method;
        r.url = http_url() + target;
        if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
        r.headers = std::move(headers);
        r.body = std::move(body);
        return transport->send(r);
    }

    TempDir dir{"worm-proxy-test"};
    fs::path tokens, store_dir, log;
    int port = 0;
    std::unique_ptr<ServerProcess> server;
    std::shared_ptr<HttpTransport> transport = make_curl_transport();
};

}  // namespace worm::test
