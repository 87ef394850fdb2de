// credentials.cpp: static, env and shared-file providers, the refresh logic and the chain.
// (Container and IMDS, which talk HTTP, are in credentials_http.cpp.)
//
// Messages name variables, files, profiles and keys, never their secret values.
#include "worm/s3/credentials.hpp"

#include <cstdlib>
#include <map>
#include <sstream>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "../util/env.hpp"
#include "../util/text.hpp"

namespace worm::s3 {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t max_aws_shared_file_bytes = 1024 * 1024;  // ~/.aws/credentials and config

using worm::detail::to_lower;

using worm::detail::env_or_empty;
using worm::detail::trim;

fs::path expand_home(const std::string& path) {
    if (path.starts_with("~/")) return fs::path(env_or_empty("HOME")) / path.substr(2);
    return path;
}

// ---- shared config/credentials files (INI) -----------------------------------------------

using IniSection = std::map<std::string, std::string>;  // lower-case key -> value
using IniFile = std::map<std::string, IniSection>;      // section name as written, trimmed

// Full-line comments start with '#' or ';'; a value may end in a comment after whitespace.
// Indented lines are sub-properties (e.g. "s3 =\n  addressing_style = path") and skipped.
// Parse errors name the file and line, never the line's text (it may hold a key).
IniFile parse_ini(const std::string& text, const fs::path& file) {
    IniFile out;
    IniSection* section = nullptr;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';') continue;
        if (line[0] == ' ' || line[0] == '\t') continue;
        const auto where = [&] { return file.string() + " line " + std::to_string(number); };
        if (t[0] == '[') {
            const auto close = t.find(']');
            if (close == std::string::npos) throw Error(ErrorCode::parse, where() + ": section header without ']'");
            section = &out[trim(std::string_view(t).substr(1, close - 1))];
            continue;
        }
        const auto eq = t.find('=');
        if (eq == std::string::npos) throw Error(ErrorCode::parse, where() + ": expected 'key = value'");
        if (!section) throw Error(ErrorCode::parse, where() + ": setting outside any [section]");
        std::string value = trim(std::string_view(t).substr(eq + 1));
        for (const char* comment : {" #", "\t#", " ;", "\t;"})
            if (const auto c = value.find(comment); c != std::string::npos) value = trim(value.substr(0, c));
        (*section)[to_lower(trim(std::string_view(t).substr(0, eq)))] = value;
    }
    return out;
}

std::optional<IniFile> read_ini(const fs::path& file) {
    if (file.empty()) return std::nullopt;
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    try {
        return parse_ini(read_file(file, max_aws_shared_file_bytes), file);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::parse) throw;
        throw Error(ErrorCode::config, "cannot read AWS shared file: " + std::string(e.what()));
    }
}

std::string value_of(const IniSection& s, const std::string& key) {
    const auto it = s.find(key);
    return it == s.end() ? std::string() : it->second;
}

// Static keys of one profile section, or nullopt when it has none. A half-set pair or an
// unsupported credential source is a configuration error.
std::optional<Credentials> keys_of(const IniSection& section, const std::string& profile, const fs::path& file) {
    Credentials c;
    c.access_key_id = value_of(section, "aws_access_key_id");
    c.secret_access_key = value_of(section, "aws_secret_access_key");
    c.session_token = value_of(section, "aws_session_token");
    if (c.session_token.empty()) c.session_token = value_of(section, "aws_security_token");  // legacy name
    const std::string where = "profile '" + profile + "' in " + file.string();
    if (!c.access_key_id.empty() && !c.secret_access_key.empty()) return c;
    if (!c.access_key_id.empty()) throw Error(ErrorCode::config, where + " has aws_access_key_id but no aws_secret_access_key");
    if (!c.secret_access_key.empty()) throw Error(ErrorCode::config, where + " has aws_secret_access_key but no aws_access_key_id");
    for (const char* key : {"role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"})
        if (section.contains(key))
            throw Error(ErrorCode::config, where + " uses " + key + ", which libworm does not support; use static keys, "
                                                              "environment variables, container or instance credentials");
    return std::nullopt;
}

// The config file names profiles "[profile x]"; "[default]" may be written either way.
const IniSection* config_section(const IniFile& ini, const std::string& profile) {
    for (const auto& [name, section] : ini) {
        if (name == profile && profile == "default") return &section;
        if (name.starts_with("profile ") && trim(std::string_view(name).substr(8)) == profile) return &section;
    }
    return nullptr;
}

}  // namespace

// ---- static and env ---------------------------------------------------------------------

StaticProvider::StaticProvider(Credentials credentials) : credentials_(std::move(credentials)) {
    if (credentials_.access_key_id.empty() || credentials_.secret_access_key.empty())
        throw Error(ErrorCode::invalid_argument, "static credentials need an access key id and a secret access key");
}

Credentials EnvProvider::get() {
    Credentials c;
    c.access_key_id = env_or_empty("AWS_ACCESS_KEY_ID");
    c.secret_access_key = env_or_empty("AWS_SECRET_ACCESS_KEY");
    c.session_token = env_or_empty("AWS_SESSION_TOKEN");
    if (c.access_key_id.empty() && c.secret_access_key.empty())
        throw Error(ErrorCode::not_found, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    // Half a key pair is a mistake to report, not a reason to use other credentials.
    if (c.secret_access_key.empty())
        throw Error(ErrorCode::config, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    if (c.access_key_id.empty())
        throw Error(ErrorCode::config, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    return c;
}

// ---- shared files -----------------------------------------------------------------------

ProfileOptions ProfileOptions::from_env() {
    ProfileOptions o;
    const std::string profile = env_or_empty("AWS_PROFILE");
    if (!profile.empty()) {
        o.profile = profile;
        o.required = true;
    }
    const std::string home = env_or_empty("HOME");
    const std::string creds = env_or_empty("AWS_SHARED_CREDENTIALS_FILE");
    const std::string config = env_or_empty("AWS_CONFIG_FILE");
    if (!creds.empty()) o.credentials_file = expand_home(creds);
    else if (!home.empty()) o.credentials_file = fs::path(home) / ".aws" / "credentials";
    if (!config.empty()) o.config_file = expand_home(config);
    else if (!home.empty()) o.config_file = fs::path(home) / ".aws" / "config";
    return o;
}

ProfileProvider::ProfileProvider(ProfileOptions options) : options_(std::move(options)) {}

Credentials ProfileProvider::get() {
    std::lock_guard lock(mutex_);
    if (cached_) return *cached_;
    const std::string& profile = options_.profile;
    bool seen = false;
    if (const auto ini = read_ini(options_.credentials_file)) {
        if (const auto it = ini->find(profile); it != ini->end()) {
            seen = true;
            if (auto c = keys_of(it->second, profile, options_.credentials_file)) return *(cached_ = std::move(c));
        }
    }
    if (const auto ini = read_ini(options_.config_file)) {
        if (const IniSection* section = config_section(*ini, profile)) {
            seen = true;
            if (auto c = keys_of(*section, profile, options_.config_file)) return *(cached_ = std::move(c));
        }
    }
    const std::string files = options_.credentials_file.string() + " or " + options_.config_file.string();
    if (options_.required && !seen)
        throw Error(ErrorCode::config, "AWS_PROFILE names profile '" + profile + "', which is not in " + files);
    throw Error(ErrorCode::not_found, seen ? "profile '" + profile + "' has no keys in " + files
                                           : "no profile '" + profile + "' in " + files);
}

// ---- refreshing providers ---------------------------------------------------------------

bool RefreshingProvider::usable(const Credentials& c, std::chrono::seconds margin) const {
    return !c.expiration || clock_->now() + margin < *c.expiration;
}

Credentials RefreshingProvider::get() {
    std::lock_guard lock(mutex_);  // one fetch at a time; the others wait and reuse it
    if (cached_ && usable(*cached_, refresh_before_)) return *cached_;
    try {
        cached_ = fetch();
        return *cached_;
    } catch (const Error&) {
        if (cached_ && usable(*cached_, std::chrono::seconds(0))) return *cached_;
        throw;
    }
}

// ---- the chain --------------------------------------------------------------------------

ChainProvider::ChainProvider(std::vector<std::shared_ptr<CredentialsProvider>> providers)
    : providers_(std::move(providers)) {
    for (const auto& p : providers_)
        if (!p) throw Error(ErrorCode::invalid_argument, "credentials chain: null provider");
}

Credentials ChainProvider::get() {
    std::shared_ptr<CredentialsProvider> chosen;
    {
        std::lock_guard lock(mutex_);
        chosen = chosen_;
    }
    if (chosen) return chosen->get();

    std::string tried, reasons;
    for (const auto& provider : providers_) {
        try {
            Credentials c = provider->get();
            std::lock_guard lock(mutex_);
            if (!chosen_) chosen_ = provider;
            return c;
        } catch (const Error& e) {
            if (e.code() != ErrorCode::not_found) throw;  // configured but broken: say so
            tried += (tried.empty() ? "" : ", ") + provider->name();
            reasons += "; " + provider->name() + ": " + e.what();
        }
    }
    throw Error(ErrorCode::config, "no AWS credentials found (tried: " + tried + ")" + reasons);
}

std::shared_ptr<CredentialsProvider> default_credentials_chain(std::shared_ptr<HttpTransport> transport) {
    std::vector<std::shared_ptr<CredentialsProvider>> providers{
        std::make_shared<EnvProvider>(),
        std::make_shared<ProfileProvider>(ProfileOptions::from_env()),
    };
    if (transport) {
        providers.push_back(std::make_shared<ContainerProvider>(transport, ContainerOptions::from_env()));
        providers.push_back(std::make_shared<ImdsProvider>(transport, ImdsOptions::from_env()));
    }
    return std::make_shared<ChainProvider>(std::move(providers));
}

}  // namespace worm::s3
