// s3/credentials.hpp: PLACEHOLDER until Task D's credentials chain is merged (branch sigv4).
// Only the part of D's API the S3 client uses: the provider interface and a static provider.
// On merge, take D's file (it is a superset).
#pragma once

#include <cstdlib>
#include <memory>
#include <utility>

#include "worm/error.hpp"
#include "worm/http.hpp"

#include "worm/s3/sigv4.hpp"

namespace worm::s3 {

class CredentialsProvider {
public:
    virtual ~CredentialsProvider() = default;
    virtual Credentials get() = 0;
};

class StaticProvider final : public CredentialsProvider {
public:
    explicit StaticProvider(Credentials credentials) : credentials_(std::move(credentials)) {}
    Credentials get() override { return credentials_; }

private:
    Credentials credentials_;
};

// Placeholder chain: the environment only (D's chain adds profiles, container, IMDS).
inline std::shared_ptr<CredentialsProvider> default_credentials_chain(std::shared_ptr<HttpTransport> = {}) {
    const char* id = std::getenv("AWS_ACCESS_KEY_ID");
    const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    if (!id || !*id || !secret || !*secret)
        throw Error(ErrorCode::config, "no AWS credentials found (tried: env)");
    const char* token = std::getenv("AWS_SESSION_TOKEN");
    return std::make_shared<StaticProvider>(Credentials{id, secret, token ? token : "", std::nullopt});
}

}  // namespace worm::s3
