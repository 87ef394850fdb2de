// settings.hpp: worm-proxy's command line and token file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "worm/config.hpp"
#include "worm/storage.hpp"

namespace worm::proxy_server {

// What the proxy enforces on every client, whatever the client asks for.
struct Policy {
    LockMode lock_mode = LockMode::compliance;
    int retention_days = default_retention_days;  // minimum retention from the time of upload; 0: none imposed
    std::uint64_t max_body = 256ull << 20;  // bytes per upload
    bool allow_delete = false;            // forward DELETE to the backend (its lock rules still apply)
    bool allow_legal_hold_release = false;
    std::optional<ServerSideEncryption> encryption;  // overrides what clients ask for
};

struct Settings {
    std::string listen_host = "127.0.0.1";
    unsigned short listen_port = 8080;
    std::filesystem::path tokens_file;
    std::string store_url;
    std::filesystem::path spool_dir;  // empty: a private directory under $TMPDIR
    int threads = 4;
    std::chrono::seconds idle_timeout{30};  // a connection waiting for a request is closed after this
    // Connections served at once; 0: as many as the open-file limit allows (see server.hpp).
    int max_connections = 0;
    std::chrono::seconds io_timeout{300};  // one request's body, or one response, at most this long
    Policy policy;
};

// Throws Error(invalid_argument) naming the flag; returns nullopt after printing --help.
// WORM_PROXY_MAX_CONNECTIONS and WORM_PROXY_IDLE_TIMEOUT give defaults that the flags
// --max-connections and --idle-timeout override.
std::optional<Settings> parse_command_line(int argc, char** argv);

struct TokenEntry {
    std::string client_id;
    std::string token_sha256;  // raw SHA-256 of the token; tokens are compared by hash
};

// Reads "client_id token" lines ('#' comments, blank lines) or a JSON object
// {"client_id": "token", ...}. Throws Error(config) when the file is readable by others,
// a client id is invalid, a token is shorter than 16 characters, or a token or client id
// repeats. Messages name the file and line, never a token.
std::vector<TokenEntry> load_tokens(const std::filesystem::path& path);

}  // namespace worm::proxy_server
