// test_env.hpp: what every test needs from its surroundings: the shared test vectors,
// scratch directories, running a program, and starting/stopping a local server by PID.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace worm::test {

namespace fs = std::filesystem;

inline std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

// ../shared (test vectors, peers). ctest passes WORM_SHARED_DIR.
inline fs::path shared_dir() { return env_or("WORM_SHARED_DIR", "../shared"); }
inline fs::path testdata_dir() { return shared_dir() / "testdata"; }
inline fs::path source_dir() { return env_or("WORM_SOURCE_DIR", "."); }
inline std::string cli_path() { return env_or("WORM_CLI", "worm"); }
inline std::string python3() { return env_or("PYTHON3", "python3"); }

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// size bytes of a repeatable pseudo-random pattern (xorshift from seed): test bodies that
// are not compressible and differ per seed.
inline std::string pattern_bytes(size_t size, unsigned seed) {
    std::string out(size, '\0');
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < size; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = static_cast<char>(x);
    }
    return out;
}

inline void write_file(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// A scratch directory removed (with everything in it, read-only files too) at scope exit.
class TempDir {
public:
    explicit TempDir(const std::string& tag = "worm-test") {
        std::random_device rd;
        for (int i = 0; i < 100; ++i) {
            path_ = fs::temp_directory_path() / (tag + "-" + std::to_string(rd()));
            if (fs::create_directory(path_)) return;
        }
        throw std::runtime_error("cannot create temp dir");
    }
    ~TempDir() {
        std::error_code ec;
        // WORM stores make files read-only; restore write permission so cleanup works.
        for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it); it.increment(ec))
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& rel) const { return path_ / rel; }

private:
    fs::path path_;
};

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs argv (no shell) with extra environment entries, capturing stdout and stderr.
inline CommandResult run_command(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env = {},
                                 const std::string& stdin_data = "") {
    TempDir tmp("worm-cmd");
    const fs::path out_path = tmp / "out", err_path = tmp / "err", in_path = tmp / "in";
    write_file(in_path, stdin_data);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int in = open(in_path.c_str(), O_RDONLY);
        int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        for (const auto& e : extra_env) putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

// A free TCP port on 127.0.0.1 (bind to 0, read it back, close).
inline int free_port() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    close(s);
    return port;
}

// Whether 127.0.0.1:port can be bound now (nothing listens on it and no connection uses it).
inline bool port_bindable(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(s);
    return ok;
}

inline bool port_open(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(s);
    return ok;
}

// A child process started by a test and stopped by its PID (never by name).
class ServerProcess {
public:
    ServerProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                  const fs::path& log_file) {
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            setpgid(0, 0);  // its own group, so stop() also reaches its children
            int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int devnull = open("/dev/null", O_RDONLY);
            dup2(devnull, 0);
            dup2(log, 1);
            dup2(log, 2);
            for (const auto& e : extra_env) putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
    }
    ~ServerProcess() { stop(); }
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    pid_t pid() const { return pid_; }

    // Waits until the port accepts connections; throws if the process died or time ran out.
    void wait_for_port(int port, std::chrono::seconds limit = std::chrono::seconds(30)) const {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (port_open(port)) return;
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_)
                throw std::runtime_error("server exited before listening on port " + std::to_string(port));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("server did not listen on port " + std::to_string(port));
    }

    void kill_hard() {
        if (pid_ > 0) {
            kill(-pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

    void stop() {
        if (pid_ <= 0) return;
        kill(-pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill_hard();
    }

private:
    pid_t pid_ = -1;
};

}  // namespace worm::test
