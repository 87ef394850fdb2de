// s3/credentials.hpp: where S3 credentials come from, in the order the AWS SDKs use.
//
//   env        AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   profile    AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), AWS_CONFIG_FILE
//              (~/.aws/config, "[profile x]" sections), AWS_PROFILE (default "default")
//   container  ECS/EKS: AWS_CONTAINER_CREDENTIALS_FULL_URI, or http://169.254.170.2 +
//              AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
//   IMDS       EC2 instance metadata, IMDSv2 only (token first); AWS_EC2_METADATA_SERVICE_ENDPOINT,
//              AWS_EC2_METADATA_DISABLED=true skips it
//
// Contract for every provider: get() is thread-safe and returns usable credentials, or
// throws worm::Error. Error(not_found) means "this source is not configured here" and
// lets a chain try the next source; any other code (a half-configured source, a
// malformed file, an endpoint that is configured but fails) stops the chain, so libworm
// never silently falls back to other credentials than the ones the user set up.
// No message ever contains a secret key, session token or authorization token.
//
// Example:
//   std::shared_ptr<worm::s3::CredentialsProvider> chain =
//       worm::s3::default_credentials_chain(worm::make_curl_transport());
//   worm::s3::Credentials credentials = chain->get();  // env, profile, container, IMDS
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "worm/export.hpp"
#include "worm/http.hpp"
#include "worm/s3/sigv4.hpp"
#include "worm/time.hpp"

namespace worm::s3 {

class WORM_API CredentialsProvider {
public:
    virtual ~CredentialsProvider() = default;
    virtual Credentials get() = 0;
    // For messages: "env", "profile 'x'", "container", "IMDS", "static", "chain".
    virtual std::string name() const = 0;
};

// Fixed credentials (tests, or keys handed over by the caller). Throws
// Error(invalid_argument) when the access key id or secret is empty.
class WORM_API StaticProvider final : public CredentialsProvider {
public:
    explicit StaticProvider(Credentials credentials);
    Credentials get() override { return credentials_; }
    std::string name() const override { return "static"; }

private:
    Credentials credentials_;
};

// Reads the environment on every get(), so a changed environment is seen.
class WORM_API EnvProvider final : public CredentialsProvider {
public:
    Credentials get() override;
    std::string name() const override { return "env"; }
};

struct WORM_API ProfileOptions {
    std::string profile = "default";
    std::filesystem::path credentials_file{};  // empty: no credentials file
    std::filesystem::path config_file{};       // empty: no config file
    // The profile was named explicitly (AWS_PROFILE): if it is missing that is
    // Error(config), not "try the next source".
    bool required = false;

    // AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, with the ~/.aws defaults.
    static ProfileOptions from_env();
};

// Static keys from the shared files. The credentials file wins over the config file for
// a profile that has keys in both. role_arn, sso_* and credential_process profiles are
// not supported and give Error(config) rather than a silent fallback.
class WORM_API ProfileProvider final : public CredentialsProvider {
public:
    explicit ProfileProvider(ProfileOptions options = ProfileOptions::from_env());
    Credentials get() override;  // read once, then cached
    std::string name() const override { return "profile '" + options_.profile + "'"; }

private:
    ProfileOptions options_;
    std::mutex mutex_;
    std::optional<Credentials> cached_;
};

// Base of providers whose credentials expire: caches them and fetches new ones
// `refresh_before` (5 minutes) ahead of the expiration. When a refresh fails while the
// cached credentials have not expired yet, they are returned (a metadata hiccup must not
// stop uploads); once expired, the failure is thrown. One fetch at a time.
class WORM_API RefreshingProvider : public CredentialsProvider {
public:
    Credentials get() final;

protected:
    explicit RefreshingProvider(const Clock& clock = system_clock(),
                                std::chrono::seconds refresh_before = std::chrono::minutes(5))
        : clock_(&clock), refresh_before_(refresh_before) {}
    virtual Credentials fetch() = 0;
    const Clock& clock() const noexcept { return *clock_; }

private:
    bool usable(const Credentials& c, std::chrono::seconds margin) const;

    const Clock* clock_;  // borrowed (see Clock in time.hpp)
    std::chrono::seconds refresh_before_;
    std::mutex mutex_;
    std::optional<Credentials> cached_;
};

struct WORM_API ContainerOptions {
    std::string full_uri{};             // the endpoint; empty: not in a container
    std::string authorization_token{};  // sent as Authorization when set
    std::filesystem::path authorization_token_file{};  // read on each fetch; wins over the token

    // AWS_CONTAINER_CREDENTIALS_FULL_URI, or "http://169.254.170.2" +
    // AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
    static ContainerOptions from_env();
};

// ECS task role / EKS Pod Identity. A plain-http full URI must point at a loopback or the
// ECS/EKS link-local agent address, so the authorization token never crosses a network
// in clear text (else Error(config)).
class WORM_API ContainerProvider final : public RefreshingProvider {
public:
    ContainerProvider(std::shared_ptr<HttpTransport> transport, ContainerOptions options = ContainerOptions::from_env(),
                      const Clock& clock = system_clock());
    std::string name() const override { return "container"; }

protected:
    Credentials fetch() override;

private:
    std::shared_ptr<HttpTransport> transport_;
    ContainerOptions options_;
};

struct WORM_API ImdsOptions {
    std::string endpoint = "http://169.254.169.254";  // AWS_EC2_METADATA_SERVICE_ENDPOINT
    bool disabled = false;                             // AWS_EC2_METADATA_DISABLED=true
    std::chrono::seconds token_ttl{21600};             // X-aws-ec2-metadata-token-ttl-seconds

    static ImdsOptions from_env();
};

// EC2 instance role through IMDSv2: PUT /latest/api/token, then GET
// /latest/meta-data/iam/security-credentials/ (the role name) and .../<role>, both with
// the token. There is no IMDSv1 fallback. An unreachable endpoint (not on EC2) is
// Error(not_found). Give it a transport with a short connect timeout: off EC2 the
// connect to 169.254.169.254 waits for it.
class WORM_API ImdsProvider final : public RefreshingProvider {
public:
    ImdsProvider(std::shared_ptr<HttpTransport> transport, ImdsOptions options = ImdsOptions::from_env(),
                 const Clock& clock = system_clock());
    std::string name() const override { return "IMDS"; }

protected:
    Credentials fetch() override;

private:
    std::shared_ptr<HttpTransport> transport_;
    ImdsOptions options_;
};

// Tries its providers in order; the first that has credentials is remembered and used
// for every later get() (so its refreshes keep working). When all say not_found:
// Error(config) "no AWS credentials found (tried: env, profile 'x', container, IMDS)".
class WORM_API ChainProvider final : public CredentialsProvider {
public:
    explicit ChainProvider(std::vector<std::shared_ptr<CredentialsProvider>> providers);
    Credentials get() override;
    std::string name() const override { return "chain"; }

private:
    std::vector<std::shared_ptr<CredentialsProvider>> providers_;
    std::mutex mutex_;
    std::shared_ptr<CredentialsProvider> chosen_;
};

// env, profile, container, IMDS, configured from the environment. Container and IMDS
// send through `transport`; when it is null they are left out.
WORM_API std::shared_ptr<CredentialsProvider> default_credentials_chain(std::shared_ptr<HttpTransport> transport);

}  // namespace worm::s3
