// documents.cpp: the S3 response documents as pure functions of the body (see documents.hpp).
// Each function names the roots it accepts: AWS's documented one, and the variants real
// servers send (moto wraps some answers in <...Response>), recorded in tests/data/s3/.
#include "documents.hpp"

#include <pugixml.hpp>

#include <charconv>
#include <initializer_list>

#include "../util/percent_encoding.hpp"
#include "client_internal.hpp"
#include "xml.hpp"
#include "worm/time.hpp"

namespace worm::s3::detail {

namespace {

bool xml_true(const std::string& s) { return s == "true" || s == "TRUE" || s == "True"; }

template <typename Int>
Int number(const std::string& s, std::string_view operation, const char* field) {
    Int v{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size())
        throw Error(ErrorCode::parse,
                    std::string(operation) + " has a non-numeric " + field + " '" + s + "'");
    return v;
}

TimePoint time_or_epoch(const std::string& s) { return s.empty() ? TimePoint{} : parse_rfc3339(s); }

// Keys listed with encoding-type=url are percent-encoded only when the server says so
// (moto ignores encoding-type on ListObjectVersions); AWS writes a space as '+'.
struct KeyDecoder {
    bool encoded;
    std::string_view operation;
    std::string operator()(const std::string& s) const {
        if (!encoded) return s;
        try {
            return worm::detail::percent_decode(s, /*plus_is_space=*/true, std::string(operation) + " key");
        } catch (const Error& e) {
            throw Error(ErrorCode::parse, e.what());  // the server's answer is malformed, not our argument
        }
    }
};

}  // namespace

std::optional<ErrorDocument> parse_error_document(std::string_view body) {
    if (body.empty()) return std::nullopt;
    pugi::xml_document doc;
    if (load_s3_xml(doc, body)) return std::nullopt;  // the caller reports the HTTP status alone
    // <Error> is the root for S3; some servers wrap it (<ErrorResponse><Error>).
    pugi::xml_node e = doc.document_element();
    if (std::string_view(e.name()) != "Error") e = e.child("Error");
    if (!e) return std::nullopt;
    return ErrorDocument{.code = text_of(e, "Code"), .message = text_of(e, "Message"),
                         .request_id = text_of(e, "RequestId")};
}

ObjectLockConfiguration parse_object_lock_configuration(std::string_view body) {
    constexpr std::string_view op = "GetObjectLockConfiguration";
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, op, {"ObjectLockConfiguration"});
    ObjectLockConfiguration c;
    c.enabled = text_of(root, "ObjectLockEnabled") == "Enabled";
    if (const pugi::xml_node d = root.child("Rule").child("DefaultRetention")) {
        DefaultRetention dr;
        dr.mode = parse_lock_mode(text_of(d, "Mode"));
        // moto writes the unused one of Days / Years as 0: only a positive period counts.
        const auto period = [&](const char* field) -> std::optional<int> {
            if (!d.child(field)) return std::nullopt;
            const int v = number<int>(text_of(d, field), op, field);
            return v > 0 ? std::optional<int>(v) : std::nullopt;
        };
        dr.days = period("Days");
        dr.years = period("Years");
        if (dr.days.has_value() == dr.years.has_value())
            throw Error(ErrorCode::parse, std::string(op) + " has a default retention without exactly one of Days or Years");
        c.default_retention = dr;
    }
    return c;
}

VersioningStatus parse_bucket_versioning(std::string_view body) {
    pugi::xml_document doc;
    // moto answers <GetBucketVersioningResponse>.
    const pugi::xml_node root =
        root_of(doc, body, "GetBucketVersioning", {"VersioningConfiguration", "GetBucketVersioningResponse"});
    const std::string status = text_of(root, "Status");
    if (status == "Enabled") return VersioningStatus::enabled;
    if (status == "Suspended") return VersioningStatus::suspended;
    if (status.empty()) return VersioningStatus::unversioned;
    throw Error(ErrorCode::parse, "GetBucketVersioning has an unknown Status '" + status + "'");
}

std::optional<BucketEncryption> parse_bucket_encryption(std::string_view body) {
    constexpr std::string_view op = "GetBucketEncryption";
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, op, {"ServerSideEncryptionConfiguration"});
    const pugi::xml_node rule = root.child("Rule");
    const pugi::xml_node def = rule.child("ApplyServerSideEncryptionByDefault");
    if (!def) return std::nullopt;
    BucketEncryption e;
    const std::string algorithm = text_of(def, "SSEAlgorithm");
    if (algorithm == "AES256") e.sse.kind = ServerSideEncryption::Kind::aes256;
    else if (algorithm.starts_with("aws:kms")) e.sse.kind = ServerSideEncryption::Kind::aws_kms;
    else throw Error(ErrorCode::parse, std::string(op) + " names an unknown encryption '" + algorithm + "'");
    e.sse.kms_key_id = text_of(def, "KMSMasterKeyID");
    e.bucket_key_enabled = xml_true(text_of(rule, "BucketKeyEnabled"));
    return e;
}

PublicAccessBlock parse_public_access_block(std::string_view body) {
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, "GetPublicAccessBlock",
                                        {"PublicAccessBlockConfiguration", "BlockPublicAccessBlockConfiguration"});
    PublicAccessBlock b;
    b.block_public_acls = xml_true(text_of(root, "BlockPublicAcls"));
    b.ignore_public_acls = xml_true(text_of(root, "IgnorePublicAcls"));
    b.block_public_policy = xml_true(text_of(root, "BlockPublicPolicy"));
    b.restrict_public_buckets = xml_true(text_of(root, "RestrictPublicBuckets"));
    return b;
}

std::optional<Retention> parse_object_retention(std::string_view body) {
    constexpr std::string_view op = "GetObjectRetention";
    pugi::xml_document doc;
    const bool parsed = !load_s3_xml(doc, body);
    const pugi::xml_node root = doc.document_element();
    // A 200 that is not a <Retention> did not answer the question: say so rather than guess
    // "no retention" (moto in server mode answers "{}").
    if (!parsed || std::string_view(root.name()) != "Retention")
        throw Error(ErrorCode::parse, std::string(op) + " answered without a Retention document");
    const std::string mode = text_of(root, "Mode"), until = text_of(root, "RetainUntilDate");
    if (mode.empty() && until.empty()) return std::nullopt;
    if (mode.empty() || until.empty())
        throw Error(ErrorCode::parse, std::string(op) + " has a Mode or RetainUntilDate without the other");
    return Retention{parse_lock_mode(mode), parse_retention_date(until)};
}

bool parse_object_legal_hold(std::string_view body) {
    if (body.empty()) return false;
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, "GetObjectLegalHold", {"LegalHold"});
    const std::string status = text_of(root, "Status");
    if (status == "ON") return true;
    if (status == "OFF" || status.empty()) return false;
    throw Error(ErrorCode::parse, "GetObjectLegalHold has an unknown Status '" + status + "'");
}

ListObjectsPage parse_list_objects_v2(std::string_view body) {
    constexpr std::string_view op = "ListObjectsV2";
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, op, {"ListBucketResult"});
    const KeyDecoder key_of{text_of(root, "EncodingType") == "url", op};
    ListObjectsPage page;
    for (const pugi::xml_node c : root.children("Contents")) {
        ListedObject o;
        o.key = key_of(text_of(c, "Key"));
        o.size = number<std::uint64_t>(text_of(c, "Size"), op, "Size");
        o.etag = strip_quotes(text_of(c, "ETag"));
        o.last_modified = time_or_epoch(text_of(c, "LastModified"));
        o.storage_class = text_of(c, "StorageClass");
        page.objects.push_back(std::move(o));
    }
    for (const pugi::xml_node p : root.children("CommonPrefixes")) page.common_prefixes.push_back(key_of(text_of(p, "Prefix")));
    page.is_truncated = xml_true(text_of(root, "IsTruncated"));
    page.next_continuation_token = text_of(root, "NextContinuationToken");
    if (page.is_truncated && page.next_continuation_token.empty())
        throw Error(ErrorCode::parse, std::string(op) + " is truncated but has no NextContinuationToken");
    if (!page.is_truncated) page.next_continuation_token.clear();
    return page;
}

ListVersionsPage parse_list_object_versions(std::string_view body) {
    constexpr std::string_view op = "ListObjectVersions";
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, op, {"ListVersionsResult"});
    const KeyDecoder key_of{text_of(root, "EncodingType") == "url", op};
    ListVersionsPage page;
    for (const pugi::xml_node n : root.children()) {
        const std::string_view name = n.name();
        if (name != "Version" && name != "DeleteMarker") continue;
        ListedVersion v;
        v.key = key_of(text_of(n, "Key"));
        v.version_id = text_of(n, "VersionId");
        v.is_latest = xml_true(text_of(n, "IsLatest"));
        v.delete_marker = name == "DeleteMarker";
        if (!v.delete_marker) {
            v.size = number<std::uint64_t>(text_of(n, "Size"), op, "Size");
            v.etag = strip_quotes(text_of(n, "ETag"));
        }
        v.last_modified = time_or_epoch(text_of(n, "LastModified"));
        page.versions.push_back(std::move(v));
    }
    for (const pugi::xml_node p : root.children("CommonPrefixes")) page.common_prefixes.push_back(key_of(text_of(p, "Prefix")));
    page.is_truncated = xml_true(text_of(root, "IsTruncated"));
    page.next_key_marker = key_of(text_of(root, "NextKeyMarker"));
    page.next_version_id_marker = text_of(root, "NextVersionIdMarker");
    if (page.is_truncated && page.next_key_marker.empty())
        throw Error(ErrorCode::parse, std::string(op) + " is truncated but has no NextKeyMarker");
    return page;
}

std::string parse_create_multipart_upload(std::string_view body) {
    constexpr std::string_view op = "CreateMultipartUpload";
    pugi::xml_document doc;
    const pugi::xml_node root = root_of(doc, body, op, {"InitiateMultipartUploadResult"});
    std::string upload_id = text_of(root, "UploadId");
    if (upload_id.empty()) throw Error(ErrorCode::parse, std::string(op) + " returned no UploadId");
    return upload_id;
}

std::string parse_complete_multipart_upload(std::string_view body) {
    pugi::xml_document doc;
    // moto answers <CompleteMultipartUploadResponse>.
    const pugi::xml_node root = root_of(doc, body, "CompleteMultipartUpload",
                                        {"CompleteMultipartUploadResult", "CompleteMultipartUploadResponse"});
    return strip_quotes(text_of(root, "ETag"));
}

}  // namespace worm::s3::detail
