// worm-proxy's flags and token file.
#include "settings.hpp"

#include <sys/stat.h>

#include <rapidjson/document.h>

#include <charconv>
#include <iostream>
#include <set>
#include <sstream>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/storage/keys.hpp"
#include "../lib/util/env.hpp"

namespace worm::proxy_server {

namespace {

constexpr const char* usage = R"(usage: worm-proxy --tokens FILE --store URL [options]

Accepts evidence from agents over HTTP (bearer tokens, one per client) and stores it
under evidence/{client_id}/ in the backend store with the proxy's own object lock.

  --listen HOST:PORT        address to listen on (default 127.0.0.1:8080)
  --tokens FILE             "client_id token" lines or a JSON object {"client_id": "token"};
                            must not be readable by others (chmod 600)
  --store URL               backend: s3://bucket[/prefix] or file:///dir
  --retention-days N        minimum retention applied to every upload (default 90; 0: none)
  --lock-mode MODE          COMPLIANCE (default) or GOVERNANCE
  --max-body BYTES          largest upload accepted (default 268435456); larger: 413
  --sse AES256|aws:kms      server-side encryption for every upload (overrides clients)
  --sse-kms-key-id ID       KMS key for --sse aws:kms
  --allow-delete            forward DELETE to the backend (lock rules still apply)
  --allow-legal-hold-release  let clients turn a legal hold off
  --threads N               worker threads (default 4)
  --idle-timeout SECONDS    close connections that send no request for this long (default 30;
                            env WORM_PROXY_IDLE_TIMEOUT)
  --max-connections N       connections served at once (default: what the open-file limit allows;
                            env WORM_PROXY_MAX_CONNECTIONS); at the limit the longest-idle
                            connection is closed for a new one, or the new one gets 503
  --io-timeout SECONDS      limit for reading one body or writing one response (default 300)
  --spool-dir DIR           where request bodies wait while they are checked (default: private temp dir)
)";
static_assert(default_retention_days == 90, "the usage text above states the default of --retention-days");

constexpr long long max_connections_limit = 1'000'000;

long long parse_number(const std::string& flag, const std::string& text, long long min, long long max) {
    long long v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || v < min || v > max)
        throw Error(ErrorCode::invalid_argument, flag + " must be an integer from " + std::to_string(min) + " to " +
                                                     std::to_string(max) + ", got '" + text + "'");
    return v;
}

}  // namespace

std::optional<Settings> parse_command_line(int argc, char** argv) {
    Settings s;
    if (const std::string v = detail::env_or_empty("WORM_PROXY_MAX_CONNECTIONS"); !v.empty())
        s.max_connections = static_cast<int>(parse_number("WORM_PROXY_MAX_CONNECTIONS", v, 1, max_connections_limit));
    if (const std::string v = detail::env_or_empty("WORM_PROXY_IDLE_TIMEOUT"); !v.empty())
        s.idle_timeout = std::chrono::seconds(parse_number("WORM_PROXY_IDLE_TIMEOUT", v, 1, 86400));
    std::string sse, kms_key;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw Error(ErrorCode::invalid_argument, flag + " needs a value");
            return argv[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::cout << usage;
            return std::nullopt;
        } else if (flag == "--listen") {
            const std::string v = value();
            const std::size_t colon = v.rfind(':');
            if (colon == std::string::npos || colon == 0)
                throw Error(ErrorCode::invalid_argument, "--listen must be HOST:PORT, got '" + v + "'");
            s.listen_host = v.substr(0, colon);
            if (s.listen_host.size() > 2 && s.listen_host.front() == '[' && s.listen_host.back() == ']')
                s.listen_host = s.listen_host.substr(1, s.listen_host.size() - 2);
            s.listen_port = static_cast<unsigned short>(parse_number("--listen port", v.substr(colon + 1), 0, 65535));
        } else if (flag == "--tokens") {
            s.tokens_file = value();
        } else if (flag == "--store") {
            s.store_url = value();
        } else if (flag == "--retention-days") {
            s.policy.retention_days = static_cast<int>(parse_number(flag, value(), 0, 36500));
        } else if (flag == "--lock-mode") {
            s.policy.lock_mode = parse_lock_mode(value());
        } else if (flag == "--max-body") {
            s.policy.max_body = static_cast<std::uint64_t>(parse_number(flag, value(), 0, 5LL << 40));
        } else if (flag == "--sse") {
            sse = value();
        } else if (flag == "--sse-kms-key-id") {
            kms_key = value();
        } else if (flag == "--allow-delete") {
            s.policy.allow_delete = true;
        } else if (flag == "--allow-legal-hold-release") {
            s.policy.allow_legal_hold_release = true;
        } else if (flag == "--threads") {
            s.threads = static_cast<int>(parse_number(flag, value(), 1, 256));
        } else if (flag == "--idle-timeout") {
            s.idle_timeout = std::chrono::seconds(parse_number(flag, value(), 1, 86400));
        } else if (flag == "--max-connections") {
            s.max_connections = static_cast<int>(parse_number(flag, value(), 1, max_connections_limit));
        } else if (flag == "--io-timeout") {
            s.io_timeout = std::chrono::seconds(parse_number(flag, value(), 1, 86400));
        } else if (flag == "--spool-dir") {
            s.spool_dir = value();
        } else {
            throw Error(ErrorCode::invalid_argument, "unknown option '" + flag + "' (see --help)");
        }
    }
    if (s.tokens_file.empty()) throw Error(ErrorCode::invalid_argument, "--tokens FILE is required");
    if (s.store_url.empty()) throw Error(ErrorCode::invalid_argument, "--store URL is required");
    if (!sse.empty()) {
        ServerSideEncryption e;
        if (sse == "AES256") e.kind = ServerSideEncryption::Kind::aes256;
        else if (sse == "aws:kms") e.kind = ServerSideEncryption::Kind::aws_kms;
        else throw Error(ErrorCode::invalid_argument, "--sse must be AES256 or aws:kms, got '" + sse + "'");
        e.kms_key_id = kms_key;
        s.policy.encryption = e;
    }
    if (!kms_key.empty() && sse != "aws:kms")
        throw Error(ErrorCode::invalid_argument, "--sse-kms-key-id needs --sse aws:kms");
    return s;
}

std::vector<TokenEntry> load_tokens(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw Error(ErrorCode::config, "cannot read token file " + path.string());
    if (st.st_mode & (S_IROTH | S_IWOTH))
        throw Error(ErrorCode::config, "token file " + path.string() +
                                           " is accessible by others; chmod 600 it (it holds client secrets)");
    const std::string text = read_file(path);

    std::vector<std::pair<std::string, std::string>> pairs;  // (client_id, token), where (line or member)
    std::vector<std::string> where;
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') {
        rapidjson::Document doc;
        doc.Parse(text.data(), text.size());
        if (doc.HasParseError() || !doc.IsObject())
            throw Error(ErrorCode::config, "token file " + path.string() + " is not a JSON object");
        for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
            const std::string id = it->name.GetString();
            if (!it->value.IsString())
                throw Error(ErrorCode::config, "token file " + path.string() + ": the token of '" + id + "' is not a string");
            pairs.emplace_back(id, std::string(it->value.GetString(), it->value.GetStringLength()));
            where.push_back("client '" + id + "'");
        }
    } else {
        std::istringstream in(text);
        std::string line;
        for (int number = 1; std::getline(in, line); ++number) {
            std::istringstream fields(line);
            std::string id, token, extra;
            fields >> id;
            if (id.empty() || id[0] == '#') continue;
            fields >> token >> extra;
            if (token.empty() || !extra.empty())
                throw Error(ErrorCode::config, "token file " + path.string() + " line " + std::to_string(number) +
                                                   ": expected 'client_id token'");
            pairs.emplace_back(id, token);
            where.push_back("line " + std::to_string(number));
        }
    }

    std::vector<TokenEntry> out;
    std::set<std::string> ids, hashes;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto& [id, token] = pairs[i];
        const std::string at = "token file " + path.string() + " " + where[i] + ": ";
        try {
            validate_client_id(id);
        } catch (const Error& e) {
            throw Error(ErrorCode::config, at + e.what());
        }
        if (token.size() < 16) throw Error(ErrorCode::config, at + "token is shorter than 16 characters");
        const std::string hash = sha256(token);
        if (!ids.insert(id).second) throw Error(ErrorCode::config, at + "client id '" + id + "' appears twice");
        if (!hashes.insert(hash).second) throw Error(ErrorCode::config, at + "token is also used by another client");
        out.push_back(TokenEntry{.client_id = id, .token_sha256 = hash});
    }
    if (out.empty()) throw Error(ErrorCode::config, "token file " + path.string() + " lists no clients");
    return out;
}

}  // namespace worm::proxy_server
