// query_client.hpp (private to src/lib/aws): one signed AWS query-protocol call, the way
// CloudWatch and SNS both need it: form-encode Action, Version and the parameters, sign
// for the service with SigV4, send with the S3 client's retry policy, and turn an
// <ErrorResponse> into AwsServiceError.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worm/aws/service.hpp"

namespace worm::aws::detail {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct QueryCall {
    std::string_view service;       // signing name: "monitoring", "sns"
    std::string_view display_name;  // for messages: "CloudWatch", "SNS"
    std::string_view action;        // "PutMetricData"
    std::string_view version;       // "2010-08-01"
    QueryParams params;
};

// The body as sent: Action, Version, then params, each name=value percent-encoded.
std::string form_body(const QueryCall& call);

// Sends the call; returns the 2xx response body (an XML document). Throttling and 503s are
// retried; a failure the service may have applied (500, a dropped connection) is not sent
// again, so a metric is never counted twice nor an alert sent twice.
std::string send_query(const ServiceConfig& config, const QueryCall& call);

// The text of the first element named `name` anywhere in `xml` ("" when absent or not XML).
std::string xml_text(const std::string& xml, const char* name);

}  // namespace worm::aws::detail
