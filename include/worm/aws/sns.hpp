// aws/sns.hpp: send a notification to an Amazon SNS topic (Publish).
//
// `worm monitor` sends seed 002's compliance alerts here (environment, failed checks,
// summary, recommended actions) to the topic WORM_ALERTS_TOPIC_ARN names.
//
// Example:
//   worm::aws::SnsClient sns(worm::aws::ServiceConfig::from_env("AWS_ENDPOINT_URL_SNS"));
//   std::string id = sns.publish({.topic_arn = "arn:aws:sns:us-east-1:123456789012:worm-alerts",
//                                 .subject = "WORM alert", .message = "2 checks failed"});
#pragma once

#include <string>

#include "worm/aws/service.hpp"
#include "worm/export.hpp"

namespace worm::aws {

struct PublishOptions {
    std::string topic_arn{};  // "arn:aws:sns:us-east-1:123456789012:firemode-worm-alerts-dev"
    std::string subject{};    // e-mail subject: at most 100 printable ASCII characters, no newline
    std::string message{};    // at most 256 KiB
};

class WORM_API SnsClient {
public:
    explicit SnsClient(ServiceConfig config);
    // Returns SNS's MessageId. Throws Error(invalid_argument) for a malformed topic ARN,
    // subject or message; AwsServiceError when SNS refuses (NotFound for a missing topic).
    std::string publish(const PublishOptions& options);

private:
    ServiceConfig config_;
};

// The region of an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME), "" when it is not one.
WORM_API std::string topic_region(const std::string& topic_arn);

}  // namespace worm::aws
