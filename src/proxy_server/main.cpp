// worm-proxy: the proxy-mode server. Agents send evidence with a per-client bearer token;
// the proxy confines each client to evidence/{client_id}/ and stores with its own
// credentials and object lock. See docs/proxy-api.md and `worm-proxy --help`.
#include <signal.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "api.hpp"
#include "server.hpp"
#include "settings.hpp"
#include "worm/error.hpp"
#include "worm/storage.hpp"

namespace {

namespace fs = std::filesystem;
using namespace worm;

std::unique_ptr<ObjectStore> open_backend(const std::string& url) {
    if (url.starts_with("mcp+") || url.starts_with("http"))
        throw Error(ErrorCode::invalid_argument, "--store must be s3://bucket[/prefix] or file:///dir, not a proxy URL");
    return open_store(url);
}

// The spool holds bodies of other clients while they are checked: owner-only.
fs::path make_spool(const fs::path& wanted, bool& owned) {
    if (!wanted.empty()) {
        fs::create_directories(wanted);
        fs::permissions(wanted, fs::perms::owner_all, fs::perm_options::replace);
        owned = false;
        return wanted;
    }
    std::string pattern = (fs::temp_directory_path() / "worm-proxy-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw Error(ErrorCode::io, "cannot create a spool directory in " + fs::temp_directory_path().string() + ": " +
                                       std::strerror(errno));
    owned = true;
    return pattern;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    std::optional<proxy_server::Settings> settings;
    try {
        settings = proxy_server::parse_command_line(argc, argv);
        if (!settings) return 0;
    } catch (const Error& e) {
        std::cerr << "worm-proxy: " << e.what() << "\n";
        return 2;
    }
    bool owned_spool = false;
    fs::path spool;
    int status = 0;
    try {
        auto tokens = proxy_server::load_tokens(settings->tokens_file);
        auto store = open_backend(settings->store_url);
        spool = make_spool(settings->spool_dir, owned_spool);
        std::cerr << "worm-proxy: " << tokens.size() << " clients, backend " << settings->store_url << ", "
                  << to_string(settings->policy.lock_mode) << " retention >= " << settings->policy.retention_days
                  << " days, max body " << settings->policy.max_body << " bytes\n";
        proxy_server::Api api(*store, std::move(tokens), settings->policy, spool);
        proxy_server::serve(*settings, api);
    } catch (const Error& e) {
        std::cerr << "worm-proxy: " << e.what() << "\n";
        status = e.code() == ErrorCode::invalid_argument || e.code() == ErrorCode::config ? 2 : 1;
    } catch (const std::exception& e) {
        std::cerr << "worm-proxy: " << e.what() << "\n";
        status = 1;
    }
    if (owned_spool) {
        std::error_code ec;
        fs::remove_all(spool, ec);
    }
    return status;
}
