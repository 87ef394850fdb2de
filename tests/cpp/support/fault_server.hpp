// fault_server.hpp: starts tests/python/fault_server.py on a free loopback port and stops
// it by PID. See that script for the paths it answers (/echo, /blob, /status/N, /reset,
// /stall, /__fail, /__log), and for upstream mode: a faulty forwarder in front of a real
// S3 server, with fault rules set through /__rule.
#pragma once

#include <memory>
#include <string>

#include "support/test_env.hpp"
#include "worm/http.hpp"

namespace worm::test {

class FaultServer {
public:
    explicit FaultServer(const fs::path& log_dir) : FaultServer(log_dir, "", free_port()) {}

    // Upstream mode on `port` (0: a free one): every request not under /__ goes to `upstream`
    // ("http://127.0.0.1:P") unless a rule says otherwise. Starting a second server on the
    // port of a stopped one brings "the same server" back after an outage.
    FaultServer(const fs::path& log_dir, const std::string& upstream, int port = 0)
        : port_(port ? port : free_port()) {
        const fs::path script = source_dir() / "tests" / "python" / "fault_server.py";
        std::vector<std::string> argv{python3(), script.string(), std::to_string(port_)};
        if (!upstream.empty()) {
            argv.push_back("--upstream");
            argv.push_back(upstream);
        }
        process_ = std::make_unique<ServerProcess>(argv, std::vector<std::string>{},
                                                   log_dir / ("fault-server-" + std::to_string(port_) + ".log"));
        process_->wait_for_port(port_);
    }

    int port() const { return port_; }
    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& path) const { return base_url() + path; }

    // Stops the server now (by PID): the port refuses connections from here on.
    void stop() { process_->stop(); }

    // Upstream mode: adds a rule, e.g. rule("action=status&status=503&code=SlowDown&method=PUT&count=2").
    void rule(const std::string& query) { control("POST", "/__rule?" + query); }
    void clear_rules() { control("POST", "/__rules_clear"); }
    // The requests seen, as JSON: [{"method", "path", "fault", "headers", "body_length"}, ...].
    std::string log() { return control("GET", "/__log"); }
    void clear_log() { control("POST", "/__clear"); }

private:
    std::string control(const std::string& method, const std::string& path) {
        HttpRequest r;
        r.method = method;
        r.url = url(path);
        const HttpResponse resp = make_curl_transport(HttpOptions{})->send(r);
        if (resp.status != 200) throw std::runtime_error("fault server " + path + ": HTTP " + std::to_string(resp.status));
        return resp.body;
    }

    int port_;
    std::unique_ptr<ServerProcess> process_;
};

}  // namespace worm::test
