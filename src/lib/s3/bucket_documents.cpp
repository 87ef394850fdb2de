// bucket_documents.cpp: lifecycle and replication configuration documents, parsed.
#include "bucket_documents.hpp"

#include <charconv>

#include "worm/time.hpp"
#include "xml.hpp"

namespace worm::s3::detail {

namespace {

// The document's root, which must be `expected`: anything else (RGW answers some reads it
// does not implement with a bucket listing) did not answer the question.
pugi::xml_node expect_root(pugi::xml_document& doc, const std::string& body, const char* expected,
                           std::string_view operation) {
    parse_xml(doc, body, operation);
    pugi::xml_node root = doc.document_element();
    if (std::string_view(root.name()) != expected)
        throw Error(ErrorCode::parse, std::string(operation) + " was answered with <" + root.name() + "> instead of <" +
                                          expected + "> (the server does not support it)");
    return root;
}

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
        if (filter.child("Prefix")) return child_text(filter, "Prefix");
        return child_text(filter.child("And"), "Prefix");
    }
    return child_text(rule, "Prefix");
}

}  // namespace

std::vector<LifecycleRule> parse_lifecycle_configuration(const std::string& body) {
    pugi::xml_document doc;
    const pugi::xml_node root = expect_root(doc, body, "LifecycleConfiguration", "GetBucketLifecycleConfiguration");
    std::vector<LifecycleRule> rules;
    for (const pugi::xml_node n : root.children("Rule")) {
        LifecycleRule r;
        r.id = child_text(n, "ID");
        r.prefix = rule_prefix(n);
        r.enabled = child_text(n, "Status") == "Enabled";
        if (const pugi::xml_node e = n.child("Expiration")) {
            r.expiration_days = days_of(e, "Days");
            if (e.child("Date")) r.expiration_date = parse_rfc3339(child_text(e, "Date"));
        }
        if (const pugi::xml_node t = n.child("Transition")) {
            r.transition_days = days_of(t, "Days");
            r.transition_storage_class = child_text(t, "StorageClass");
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
    const pugi::xml_node root = expect_root(doc, body, "ReplicationConfiguration", "GetBucketReplication");
    ReplicationConfiguration c;
    c.role = child_text(root, "Role");
    for (const pugi::xml_node n : root.children("Rule")) {
        ReplicationRule r;
        r.id = child_text(n, "ID");
        r.prefix = rule_prefix(n);
        r.enabled = child_text(n, "Status") == "Enabled";
        r.destination_bucket_arn = child_text(n.child("Destination"), "Bucket");
        r.destination_storage_class = child_text(n.child("Destination"), "StorageClass");
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
