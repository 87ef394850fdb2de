// aws/cloudwatch.hpp: publish custom metrics to Amazon CloudWatch (PutMetricData).
//
// `worm monitor` publishes its checks here in seed 002's namespace `FireMode/WORM`
// (ComplianceCheckFailures, RetentionViolations, plus PendingUploads, OldestPendingAgeSeconds,
// ExpiringObjects), `worm migrate` its MigrationFailures, each with the dimension
// Environment=<name>, so the alarms of examples/cloudformation/ see them.
//
// Example:
//   worm::aws::CloudWatchClient cw(worm::aws::ServiceConfig::from_env("AWS_ENDPOINT_URL_CLOUDWATCH"));
//   cw.put_metric_data("FireMode/WORM", {{.name = "ComplianceCheckFailures", .value = 2,
//                                         .dimensions = {{"Environment", "dev"}}}});
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worm/aws/service.hpp"
#include "worm/export.hpp"
#include "worm/time.hpp"

namespace worm::aws {

// Seed 002's namespace for its custom metrics.
inline constexpr std::string_view default_metric_namespace = "FireMode/WORM";

struct MetricDatum {
    std::string name{};
    double value = 0;
    std::string unit = "Count";  // CloudWatch's unit names: Count, Seconds, Bytes, None, ...
    std::vector<std::pair<std::string, std::string>> dimensions{};
    std::optional<TimePoint> timestamp{};  // unset: the time CloudWatch receives it
};

class WORM_API CloudWatchClient {
public:
    explicit CloudWatchClient(ServiceConfig config);
    // One PutMetricData request (at most 1000 data). Throws Error(invalid_argument) for an
    // empty namespace or name, a value that is not finite, or too many data; AwsServiceError
    // when CloudWatch refuses; Error(network/timeout) when it cannot be reached.
    void put_metric_data(const std::string& metric_namespace, const std::vector<MetricDatum>& data);

private:
    ServiceConfig config_;
};

// The namespace publishing is turned on with: WORM_CLOUDWATCH_NAMESPACE, or nullopt when
// it is unset (nothing is published).
WORM_API std::optional<std::string> metric_namespace_from_env();

// Publishes MigrationFailures=failures (dimension Environment=environment) in `metric_namespace`
// with a client from the environment. For `worm migrate` and other tools' end of run.
WORM_API void publish_migration_failures(std::int64_t failures, const std::string& environment,
                                         const std::string& metric_namespace = std::string(default_metric_namespace));

}  // namespace worm::aws
