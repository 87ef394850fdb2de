// fault_server.hpp: starts tests/python/fault_server.py on a free loopback port and stops
// it by PID. See that script for the paths it answers (/echo, /blob, /status/N, /reset,
// /stall, /__fail, /__log).
#pragma once

#include <memory>
#include <string>

#include "support/test_env.hpp"

namespace worm::test {

class FaultServer {
public:
    explicit FaultServer(const fs::path& log_dir) : port_(free_port()) {
        const fs::path script = source_dir() / "tests" / "python" / "fault_server.py";
        process_ = std::make_unique<ServerProcess>(
            std::vector<std::string>{python3(), script.string(), std::to_string(port_)},
            std::vector<std::string>{}, log_dir / ("fault-server-" + std::to_string(port_) + ".log"));
        process_->wait_for_port(port_);
    }

    int port() const { return port_; }
    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& path) const { return base_url() + path; }

private:
    int port_;
    std::unique_ptr<ServerProcess> process_;
};

}  // namespace worm::test
