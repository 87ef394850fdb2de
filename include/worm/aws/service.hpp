// aws/service.hpp: what the CloudWatch and SNS clients share: where to send (endpoint,
// region), how to sign (the S3 client's credentials chain and SigV4 signer) and the error
// an AWS query-protocol service answers with.
//
// Both services speak the AWS query protocol: a form-encoded POST of Action, Version and
// the action's parameters to the service endpoint, signed with SigV4 for the service
// ("monitoring", "sns"), answered with an XML document (or an <ErrorResponse>).
//
// Endpoints, as the AWS SDKs resolve them: AWS_ENDPOINT_URL_<SERVICE> (CLOUDWATCH, SNS),
// else AWS_ENDPOINT_URL, else https://<service>.<region>.amazonaws.com.
//
// Example:
//   worm::aws::ServiceConfig config = worm::aws::ServiceConfig::from_env("AWS_ENDPOINT_URL_SNS");
//   config.region = "eu-west-1";
//   config.validate();  // Error(config) naming what is missing
#pragma once

#include <memory>
#include <string>

#include "worm/error.hpp"
#include "worm/export.hpp"
#include "worm/http.hpp"
#include "worm/retry.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"
#include "worm/time.hpp"

namespace worm::aws {

struct WORM_API ServiceConfig {
    std::string endpoint{};  // "https://monitoring.us-east-1.amazonaws.com"; empty: AWS's for the region
    std::string region = "us-east-1";
    std::shared_ptr<s3::CredentialsProvider> credentials{};  // required
    std::shared_ptr<HttpTransport> transport{};              // empty: make_curl_transport()
    RetryPolicy retry{};                                     // the library's one policy (worm/retry.hpp)
    const Clock* clock = &system_clock();
    Sleeper sleep{};        // how retries wait; empty: the system's
    RandomSource random{};  // their jitter; empty: the system's

    // endpoint_variable: "AWS_ENDPOINT_URL_CLOUDWATCH" or "AWS_ENDPOINT_URL_SNS" (then
    // AWS_ENDPOINT_URL); AWS_REGION / AWS_DEFAULT_REGION; the default credentials chain.
    static ServiceConfig from_env(const char* endpoint_variable);
    // Throws Error(config) naming the field.
    void validate() const;
};

// An error answer of a query-protocol service: HTTP status, <Code>, <Message>, <RequestId>.
// code(): not_found for 404 / NotFound codes, config for refused credentials or access,
// s3 (an AWS server answered with an error) otherwise.
class WORM_API AwsServiceError : public Error {
public:
    AwsServiceError(std::string service, std::string action, int http_status, std::string aws_code,
                    std::string message, std::string request_id);
    int http_status() const noexcept { return http_status_; }
    const std::string& aws_code() const noexcept { return aws_code_; }
    const std::string& request_id() const noexcept { return request_id_; }

private:
    int http_status_;
    std::string aws_code_, request_id_;
};

}  // namespace worm::aws
