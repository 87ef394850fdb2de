// s3_peer.hpp: a real S3 server for integration tests, chosen by WORM_TEST_PEER.
//
//   WORM_TEST_PEER=moto (default)  moto_server on a free loopback port with
//       INITIAL_NO_AUTH_ACTION_COUNT=3, so after the IAM user and key are created every
//       request's SigV4 signature is verified. Lenient about Object Lock (see DESIGN.md).
//   WORM_TEST_PEER=rgw             Ceph RGW via ../shared/peers/ceph-rgw.sh (strict), started
//       on a free port P (P+1 is its monitor) and stopped with `ceph-rgw.sh stop`, which kills
//       only the PIDs it recorded. About 15 s to start.
//       WORM_TEST_RGW_DIR=DIR reuses an RGW already started with `ceph-rgw.sh start DIR PORT`
//       (reads DIR/env, never stops it): quicker while working on one test.
//
// One peer per test binary (started on first use, stopped at exit by PID / by the script).
// Tests ask peer.strict() before asserting what only a strict server does.
#pragma once

#include <fstream>
#include <map>
#include <optional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_env.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"

namespace worm::test {

class S3Peer {
public:
    static S3Peer& shared() {
        // A peer that failed to start fails every later test at once, not after another start.
        static std::string failure;
        if (!failure.empty()) throw std::runtime_error("the S3 peer did not start: " + failure);
        try {
            static S3Peer peer(env_or("WORM_TEST_PEER", "moto"));
            return peer;
        } catch (const std::exception& e) {
            failure = e.what();
            throw;
        }
    }

    // The peer for keys and query values that need percent-encoding (unicode, + = & ~ % ...).
    // moto 5.2.1 checks signatures against werkzeug's re-decoded URL, so it refuses even
    // botocore's correct signatures for such requests (measured: PutObject of
    // "a+b", ListObjectsV2 with prefix "x/"). For moto this is a second moto_server
    // without signature checks; the signatures themselves are proven against botocore in
    // test_sigv4. For rgw (which verifies them correctly) it is the shared peer.
    static S3Peer& for_encoded_names() {
        if (shared().kind() != "moto") return shared();
        static S3Peer open("moto-open");
        return open;
    }

    ~S3Peer() {
        if (kind_ == "rgw" && !rgw_dir_path_.empty() && fs::exists(rgw_dir_path_ / "pids"))
            run_command({"bash", rgw_script().string(), "stop", rgw_dir_path_.string()});
        // moto: ServerProcess stops it by PID.
    }
    S3Peer(const S3Peer&) = delete;
    S3Peer& operator=(const S3Peer&) = delete;

    const std::string& kind() const { return kind_; }
    bool strict() const { return kind_ == "rgw"; }
    bool verifies_signatures() const { return kind_ != "moto-open"; }
    const std::string& endpoint() const { return endpoint_; }
    const std::string& region() const { return region_; }
    const s3::Credentials& credentials() const { return credentials_; }

    // A client for this peer; `transport` lets a test record what went on the wire.
    s3::ClientConfig client_config(std::shared_ptr<HttpTransport> transport = {}) const {
        s3::ClientConfig c;
        c.endpoint = endpoint_;
        c.region = region_;
        c.credentials = std::make_shared<s3::StaticProvider>(credentials_);
        c.transport = transport ? transport : make_curl_transport();
        c.retry.base_delay = std::chrono::milliseconds(20);
        return c;
    }

    // Environment for the boto3 reference tool (tests/python/s3_peer_tool.py).
    std::vector<std::string> boto_env() const {
        return {"AWS_ENDPOINT_URL=" + endpoint_, "AWS_ACCESS_KEY_ID=" + credentials_.access_key_id,
                "AWS_SECRET_ACCESS_KEY=" + credentials_.secret_access_key, "AWS_REGION=" + region_,
                "AWS_REQUEST_CHECKSUM_CALCULATION=when_required", "AWS_RESPONSE_CHECKSUM_VALIDATION=when_required"};
    }

    // Runs the boto3 tool; throws with its stderr when it fails.
    std::string boto(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{python3(), (source_dir() / "tests" / "python" / "s3_peer_tool.py").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        const CommandResult r = run_command(argv, boto_env());
        if (r.exit_code != 0) throw std::runtime_error("s3_peer_tool " + args.at(0) + " failed: " + r.err);
        return r.out;
    }

    // A fresh bucket name for one test ("worm-<tag>-<random>").
    static std::string unique_bucket(const std::string& tag) {
        std::random_device rd;
        return "worm-" + tag + "-" + std::to_string(rd() % 1'000'000'000);
    }

    // Creates a fresh bucket on this peer (with or without Object Lock) and returns its name.
    std::string create_bucket(const std::string& tag, bool object_lock) const {
        std::string b = unique_bucket(tag);
        s3::S3Client(client_config()).create_bucket({.bucket = b, .object_lock = object_lock, .region = ""});
        return b;
    }

private:
    explicit S3Peer(std::string kind) : kind_(std::move(kind)) {
        if (kind_ == "moto") start_moto(true);
        else if (kind_ == "moto-open") start_moto(false);
        else if (kind_ == "rgw") start_rgw();
        else throw std::runtime_error("WORM_TEST_PEER must be moto or rgw, got '" + kind_ + "'");
    }

    static fs::path rgw_script() { return shared_dir() / "peers" / "ceph-rgw.sh"; }

    void start_moto(bool verify_signatures) {
        log_dir_ = std::make_unique<TempDir>("worm-moto");
        const int port = free_port();
        // Exactly the three IAM calls of `s3_peer_tool.py moto-setup` go unauthenticated.
        std::vector<std::string> env;
        if (verify_signatures) env.push_back("INITIAL_NO_AUTH_ACTION_COUNT=3");
        moto_ = std::make_unique<ServerProcess>(
            std::vector<std::string>{"moto_server", "-H", "127.0.0.1", "-p", std::to_string(port)}, env,
            log_dir_->path() / "moto.log");
        moto_->wait_for_port(port);
        endpoint_ = "http://127.0.0.1:" + std::to_string(port);
        credentials_ = {"setup", "setup", "", std::nullopt};
        if (!verify_signatures) return;
        const std::string out = boto({"moto-setup"});
        credentials_.access_key_id = json_string(out, "access_key_id");
        credentials_.secret_access_key = json_string(out, "secret_access_key");
    }

    // A port P that can be bound, whose neighbour P+1 (the RGW monitor's) can be bound too.
    // Both come from below the kernel's ephemeral range: a port from inside it (what bind(0)
    // hands out) can be taken a moment later as the local end of one of the many loopback
    // connections the other tests open, and the monitor then fails with EADDRINUSE.
    static int free_port_pair() {
        int ephemeral_low = 32768;
        std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
        const int low = 10000, high = std::max(low + 100, ephemeral_low - 2);
        std::mt19937 rng(std::random_device{}());
        for (int i = 0; i < 200; ++i) {
            const int port = std::uniform_int_distribution<int>(low, high)(rng);
            if (port_bindable(port) && port_bindable(port + 1)) return port;
        }
        throw std::runtime_error("no free pair of loopback ports for RGW");
    }

    void start_rgw() {
        fs::path dir;
        if (const std::string reuse = env_or("WORM_TEST_RGW_DIR", ""); !reuse.empty()) {
            dir = reuse;  // started by hand: not ours to stop
        } else {
            rgw_dir_ = std::make_unique<TempDir>("worm-rgw");
            dir = rgw_dir_->path() / "peer";
            // On a loaded machine the monitor can miss the script's 30 s deadline: stop
            // what was started (a constructor that throws runs no destructor) and try
            // once more on fresh ports before failing with the daemons' own words.
            std::string errors;
            for (int attempt = 1; attempt <= 2; ++attempt) {
                const int port = free_port_pair();
                const CommandResult r =
                    run_command({"bash", rgw_script().string(), "start", dir.string(), std::to_string(port)});
                if (r.exit_code == 0) {
                    rgw_dir_path_ = dir;
                    break;
                }
                errors += "attempt " + std::to_string(attempt) + ": " + r.err + log_tail(dir / "log" / "mon.a.log") +
                          log_tail(dir / "log" / "rgw.stderr") + "\n";
                if (fs::exists(dir / "pids")) run_command({"bash", rgw_script().string(), "stop", dir.string()});
                if (attempt == 2) throw std::runtime_error("ceph-rgw.sh start failed twice:\n" + errors);
            }
        }
        std::map<std::string, std::string> vars;
        std::istringstream in(read_file(dir / "env"));
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("export ", 0) == 0) line.erase(0, 7);
            const size_t eq = line.find('=');
            if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
        }
        endpoint_ = vars.at("S3_ENDPOINT");
        credentials_ = {vars.at("AWS_ACCESS_KEY_ID"), vars.at("AWS_SECRET_ACCESS_KEY"), "", std::nullopt};
        if (vars.count("AWS_DEFAULT_REGION")) region_ = vars["AWS_DEFAULT_REGION"];
    }

    // The last lines of a daemon log, for a failure message ("" when there is none).
    static std::string log_tail(const fs::path& file) {
        std::error_code ec;
        if (!fs::exists(file, ec)) return "";
        const std::string text = read_file(file);
        return "\n--- " + file.filename().string() + " (end) ---\n" +
               text.substr(text.size() > 1500 ? text.size() - 1500 : 0);
    }

    static std::string json_string(const std::string& json, const std::string& key) {
        const std::string needle = "\"" + key + "\": \"";
        const size_t at = json.find(needle);
        if (at == std::string::npos) throw std::runtime_error("no " + key + " in " + json);
        const size_t start = at + needle.size();
        return json.substr(start, json.find('"', start) - start);
    }

    std::string kind_;
    std::string endpoint_;
    std::string region_ = "us-east-1";
    s3::Credentials credentials_;
    std::unique_ptr<TempDir> log_dir_;
    std::unique_ptr<ServerProcess> moto_;
    std::unique_ptr<TempDir> rgw_dir_;
    fs::path rgw_dir_path_;
};

// A plain PutObject of `body` (with metadata and a retention when given): the tests' way to
// lay out source objects.
inline s3::PutObjectResult put_bytes(s3::S3Client& client, const std::string& bucket, const std::string& key,
                                     const std::string& body, std::map<std::string, std::string> metadata = {},
                                     std::optional<Retention> retention = std::nullopt) {
    s3::PutObjectOptions o;
    o.bucket = bucket;
    o.key = key;
    o.body = s3::S3Body::bytes(body);
    o.metadata = std::move(metadata);
    if (retention) o.lock.retention = retention;
    return client.put_object(o);
}

}  // namespace worm::test
