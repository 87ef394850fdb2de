// Scenario: HTTP load for the proxy benchmark (issue 14, target 3). A small keep-alive
// load generator: `--concurrency` threads, each with one connection, sending prebuilt
// PUT requests of a 4 KiB body and reading the answers. One write and a read or two per
// request, no TLS, no signing: cheap enough that the server, not this client, is what
// the figure measures (the harness shows the same client against the nginx sink alone).
//
//   worm_bench http-load --port P --target proxy --token T --client-id C --n N --concurrency K
//       PUT /evidence/upload?key=evidence%2FC%2Fbench%2F...  (bearer token, X-Worm-Sha256)
//   worm_bench http-load --port P --target sink --n N --concurrency K
//       PUT /bench/limit/...  with the S3 headers a locked PutObject carries (static)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"
#include "worm/crypto.hpp"

namespace bench {
namespace {

struct LoadPlan {
    int port = 0;
    bool proxy = true;
    std::string token, client_id, run_tag;
    std::string body;
    std::string body_sha256_hex;
};

std::string request_for(const LoadPlan& plan, long long i) {
    char name[48];
    std::snprintf(name, sizeof name, "EB-%s-%08lld.json", plan.run_tag.c_str(), i);
    std::string r;
    r.reserve(512 + plan.body.size());
    if (plan.proxy) {
        r += "PUT /evidence/upload?key=evidence%2F" + plan.client_id + "%2Fbench%2F" + name + " HTTP/1.1\r\n";
        r += "Authorization: Bearer " + plan.token + "\r\n";
        r += "X-Worm-Sha256: " + plan.body_sha256_hex + "\r\n";
    } else {
        r += std::string("PUT /bench/limit/") + name + " HTTP/1.1\r\n";
        r += "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/s3/aws4_request, "
             "SignedHeaders=host, Signature=" + std::string(64, '0') + "\r\n";
        r += "x-amz-object-lock-mode: COMPLIANCE\r\nx-amz-object-lock-retain-until-date: 2099-01-01T00:00:00.000Z\r\n";
        r += "x-amz-checksum-sha256: " + std::string(43, 'A') + "=\r\nx-amz-content-sha256: " + plan.body_sha256_hex + "\r\n";
    }
    r += "Host: 127.0.0.1:" + std::to_string(plan.port) + "\r\n";
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(plan.body.size()) + "\r\n\r\n";
    r += plan.body;
    return r;
}

int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        ::close(fd);
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        sent += static_cast<std::size_t>(n);
    }
}

// Reads one response (Content-Length framed); returns its status and whether the server
// keeps the connection. `pending` carries bytes read past the response.
int read_response(int fd, std::string& pending, bool& keep_alive, std::string& body) {
    std::size_t head_end;
    char buf[16384];
    while ((head_end = pending.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("the server closed the connection before answering");
        pending.append(buf, static_cast<std::size_t>(n));
    }
    std::string head = pending.substr(0, head_end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const int status = std::atoi(head.c_str() + head.find(' ') + 1);
    std::size_t length = 0;
    if (const auto at = head.find("\r\ncontent-length:"); at != std::string::npos)
        length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
    keep_alive = head.find("\r\nconnection: close") == std::string::npos;
    const std::size_t total = head_end + 4 + length;
    while (pending.size() < total) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("the server closed the connection inside a response body");
        pending.append(buf, static_cast<std::size_t>(n));
    }
    body = pending.substr(head_end + 4, length);
    pending.erase(0, total);
    return status;
}

int run_http_load(const Args& args) {
    LoadPlan plan;
    plan.port = static_cast<int>(args.get_int("port", 0));
    if (plan.port <= 0) throw std::invalid_argument("--port is required");
    const std::string target = args.get("target", "proxy");
    if (target != "proxy" && target != "sink") throw std::invalid_argument("--target must be proxy or sink");
    plan.proxy = target == "proxy";
    if (plan.proxy) {
        plan.token = args.require("token");
        plan.client_id = args.require("client-id");
    }
    const long long n = args.get_int("n", 10000);
    const int concurrency = static_cast<int>(args.get_int("concurrency", 8));
    plan.body.resize(static_cast<std::size_t>(args.get_int("size", 4096)));
    std::mt19937_64 rng(std::random_device{}());
    for (auto& c : plan.body) c = static_cast<char>('a' + rng() % 26);
    plan.body_sha256_hex = worm::sha256_hex(plan.body);
    plan.run_tag = std::to_string(rng() % 1000000000);  // keys differ between runs

    std::atomic<long long> next{0};
    std::atomic<long long> failed{0};
    std::string first_failure;
    std::atomic<bool> failure_taken{false};
    auto worker = [&] {
        int fd = -1;
        std::string pending, body;
        try {
            for (long long i = next++; i < n; i = next++) {
                if (fd < 0) fd = connect_loopback(plan.port);
                send_all(fd, request_for(plan, i));
                bool keep_alive = true;
                const int status = read_response(fd, pending, keep_alive, body);
                if (status != 200) {
                    ++failed;
                    if (!failure_taken.exchange(true)) first_failure = "HTTP " + std::to_string(status) + ": " + body;
                }
                if (!keep_alive) {
                    ::close(fd);
                    fd = -1;
                    pending.clear();
                }
            }
        } catch (const std::exception& e) {
            ++failed;
            if (!failure_taken.exchange(true)) first_failure = e.what();
        }
        if (fd >= 0) ::close(fd);
    };
    Timer timer;
    std::vector<std::thread> pool;
    for (int t = 0; t < concurrency; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    const double dt = timer.seconds();
    if (failed) {
        std::fprintf(stderr, "%lld request(s) failed; first: %s\n", failed.load(), first_failure.c_str());
        return 1;
    }
    print_figure("http_load_rps", static_cast<double>(n) / dt, "req/s");
    return 0;
}

const Register reg("http-load", "--port P [--target proxy|sink] [--token T --client-id C] [--n N] [--size B] [--concurrency K]",
                   run_http_load);

}  // namespace
}  // namespace bench
