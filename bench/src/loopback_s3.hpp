// The S3 client configuration every benchmark uses for its loopback peers (moto, the nginx
// sink, a latency proxy, a closed port): path-style addressing, us-east-1, and AWS's example
// credentials, which none of those peers checks.
#pragma once

#include <memory>
#include <string>

#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"

namespace bench {

inline worm::s3::ClientConfig loopback_s3_config(std::string endpoint) {
    worm::s3::ClientConfig config;
    config.endpoint = std::move(endpoint);
    config.region = "us-east-1";
    config.addressing = worm::s3::AddressingStyle::path;
    config.credentials = std::make_shared<worm::s3::StaticProvider>(worm::s3::Credentials{
        .access_key_id = "AKIDEXAMPLE", .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"});
    return config;
}

}  // namespace bench
