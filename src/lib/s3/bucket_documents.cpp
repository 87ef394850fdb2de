// bucket_documents.cpp: lifecycle and replication configuration documents, parsed.
#include "bucket_documents.hpp"

#include <charconv>

#include "worm/time.hpp"
#include "xml.hpp"

namespace worm::s3::detail {

namespace {

std::optional<int> days_of(const pugi::xml_node& parent, const char* name) {
    const pugi::xml_node n = parent.child(name);
    if (!n) return std::nullopt;
    const std::string text = n.text().as_string();
    int v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || v < 0)
        throw Error(ErrorCode::parse, std::string("lifecycle/replication document has a non-numeric <") + name + "> '" +
                                          text + "'");
    return v;
}

// <Filter><Prefix>, <Filter><And><Prefix>, or the legacy <Prefix> directly in the rule.
std::string rule_prefix(const pugi::xml_node& rule) {
    const pugi::xml_node filter = rule.child("Filter");
    if (filter) {
        if (filter.child("Prefix")) return text_of(filter, "Prefix");
        return text_of(filter.child("And"), "Prefix");
    }
    return text_of(rule, "Prefix");
}

}  // namespace

std::vector<LifecycleRule> parse_lifecycle_configuration(const std::string& body) {
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, "GetBucketLifecycleConfiguration", {"LifecycleConfiguration"});
    std::vector<LifecycleRule> rules;
    for (const pugi::xml_node n : root.children("Rule")) {
        LifecycleRule r;
        r.id = text_of(n, "ID");
        r.prefix = rule_prefix(n);
        r.enabled = text_of(n, "Status") == "Enabled";
        if (const pugi::xml_node e = n.child("Expiration")) {
            r.expiration_days = days_of(e, "Days");
            if (e.child("Date")) r.expiration_date = parse_rfc3339(text_of(e, "Date"));
        }
        for (const pugi::xml_node t : n.children("Transition")) {
            // A transition on a date (<Date>) has no day count: not one this library writes or judges.
            if (const std::optional<int> days = days_of(t, "Days"))
                r.transitions.push_back({*days, text_of(t, "StorageClass")});
        }
        if (const pugi::xml_node nc = n.child("NoncurrentVersionExpiration"))
            r.noncurrent_version_expiration_days = days_of(nc, "NoncurrentDays");
        if (const pugi::xml_node a = n.child("AbortIncompleteMultipartUpload"))
            r.abort_incomplete_multipart_days = days_of(a, "DaysAfterInitiation");
        rules.push_back(std::move(r));
    }
    return rules;
}

ReplicationConfiguration parse_replication_configuration(const std::string& body) {
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, "GetBucketReplication", {"ReplicationConfiguration"});
    ReplicationConfiguration c;
    c.role = text_of(root, "Role");
    for (const pugi::xml_node n : root.children("Rule")) {
        ReplicationRule r;
        r.id = text_of(n, "ID");
        r.prefix = rule_prefix(n);
        r.enabled = text_of(n, "Status") == "Enabled";
        r.destination_bucket_arn = text_of(n.child("Destination"), "Bucket");
        r.destination_storage_class = text_of(n.child("Destination"), "StorageClass");
        c.rules.push_back(std::move(r));
    }
    return c;
}

std::string bucket_from_arn(std::string_view arn) {
    // arn:PARTITION:s3:::NAME
    if (!arn.starts_with("arn:")) return "";
    const size_t marker = arn.find(":s3:::");
    if (marker == std::string_view::npos) return "";
    std::string_view name = arn.substr(marker + 6);
    if (name.empty() || name.find('/') != std::string_view::npos) return "";
    return std::string(name);
}

}  // namespace worm::s3::detail
