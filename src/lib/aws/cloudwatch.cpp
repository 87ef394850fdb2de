// cloudwatch.cpp: PutMetricData over the query protocol (see aws/cloudwatch.hpp).
#include "worm/aws/cloudwatch.hpp"

#include <charconv>
#include <cmath>

#include "../util/env.hpp"
#include "query_client.hpp"

namespace worm::aws {

namespace {

// The shortest text that reads back as the same double ("3", "0.25", "1e+20").
std::string number(double v) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

}  // namespace

CloudWatchClient::CloudWatchClient(ServiceConfig config) : config_(std::move(config)) { config_.validate(); }

void CloudWatchClient::put_metric_data(const std::string& metric_namespace, const std::vector<MetricDatum>& data) {
    if (metric_namespace.empty()) throw Error(ErrorCode::invalid_argument, "CloudWatch namespace is empty");
    if (metric_namespace.starts_with("AWS/"))
        throw Error(ErrorCode::invalid_argument, "CloudWatch namespace '" + metric_namespace + "' is reserved for AWS");
    if (data.empty() || data.size() > 1000)
        throw Error(ErrorCode::invalid_argument, "PutMetricData takes 1 to 1000 data, got " + std::to_string(data.size()));
    detail::QueryCall call{.service = "monitoring", .display_name = "CloudWatch", .action = "PutMetricData",
                           .version = "2010-08-01", .params = {{"Namespace", metric_namespace}}};
    for (std::size_t i = 0; i < data.size(); ++i) {
        const MetricDatum& d = data[i];
        if (d.name.empty()) throw Error(ErrorCode::invalid_argument, "a CloudWatch metric has no name");
        if (!std::isfinite(d.value))
            throw Error(ErrorCode::invalid_argument, "CloudWatch metric " + d.name + " has a value that is not finite");
        if (d.dimensions.size() > 30)
            throw Error(ErrorCode::invalid_argument, "CloudWatch metric " + d.name + " has more than 30 dimensions");
        const std::string m = "MetricData.member." + std::to_string(i + 1) + ".";
        call.params.emplace_back(m + "MetricName", d.name);
        call.params.emplace_back(m + "Value", number(d.value));
        if (!d.unit.empty()) call.params.emplace_back(m + "Unit", d.unit);
        if (d.timestamp) call.params.emplace_back(m + "Timestamp", format_rfc3339(*d.timestamp));
        for (std::size_t j = 0; j < d.dimensions.size(); ++j) {
            const std::string dim = m + "Dimensions.member." + std::to_string(j + 1) + ".";
            call.params.emplace_back(dim + "Name", d.dimensions[j].first);
            call.params.emplace_back(dim + "Value", d.dimensions[j].second);
        }
    }
    (void)detail::send_query(config_, call);
}

std::optional<std::string> metric_namespace_from_env() {
    std::string ns = worm::detail::env_or_empty("WORM_CLOUDWATCH_NAMESPACE");
    if (ns.empty()) return std::nullopt;
    return ns;
}

void publish_migration_failures(std::int64_t failures, const std::string& environment,
                                const std::string& metric_namespace) {
    CloudWatchClient client(ServiceConfig::from_env("AWS_ENDPOINT_URL_CLOUDWATCH"));
    client.put_metric_data(metric_namespace, {{.name = "MigrationFailures",
                                               .value = static_cast<double>(failures),
                                               .dimensions = {{"Environment", environment}}}});
}

}  // namespace worm::aws
