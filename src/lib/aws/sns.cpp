// sns.cpp: Publish over the query protocol (see aws/sns.hpp).
#include "worm/aws/sns.hpp"

#include <algorithm>

#include "query_client.hpp"

namespace worm::aws {

std::string topic_region(const std::string& topic_arn) {
    // arn:PARTITION:sns:REGION:ACCOUNT:NAME
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t colon; (colon = topic_arn.find(':', start)) != std::string::npos; start = colon + 1)
        parts.push_back(topic_arn.substr(start, colon - start));
    parts.push_back(topic_arn.substr(start));
    if (parts.size() != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[3].empty() || parts[4].empty() ||
        parts[5].empty())
        return "";
    return parts[3];
}

SnsClient::SnsClient(ServiceConfig config) : config_(std::move(config)) { config_.validate(); }

std::string SnsClient::publish(const PublishOptions& o) {
    if (topic_region(o.topic_arn).empty())
        throw Error(ErrorCode::invalid_argument,
                    "'" + o.topic_arn + "' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)");
    if (o.message.empty()) throw Error(ErrorCode::invalid_argument, "an SNS message must not be empty");
    if (o.message.size() > 256 * 1024) throw Error(ErrorCode::invalid_argument, "an SNS message is at most 256 KiB");
    const bool printable = std::all_of(o.subject.begin(), o.subject.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    if (o.subject.size() > 100 || !printable)
        throw Error(ErrorCode::invalid_argument, "an SNS subject is at most 100 printable ASCII characters on one line");
    detail::QueryCall call{.service = "sns", .display_name = "SNS", .action = "Publish", .version = "2010-03-31",
                           .params = {{"TopicArn", o.topic_arn}, {"Message", o.message}}};
    if (!o.subject.empty()) call.params.emplace_back("Subject", o.subject);
    const std::string body = detail::send_query(config_, call);
    std::string id = detail::xml_text(body, "MessageId");
    if (id.empty()) throw Error(ErrorCode::parse, "SNS Publish answered without a MessageId");
    return id;
}

}  // namespace worm::aws
