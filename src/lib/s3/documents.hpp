// documents.hpp (private to src/lib/s3): every XML document an S3 server answers with,
// read by a pure function of the response body. No I/O and no client state, so each
// server's quirks are unit-tested against recorded answers (tests/data/s3/) instead of
// only against live servers. A body that is not the expected document is Error(parse)
// naming the operation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "worm/s3/client.hpp"

namespace worm::s3::detail {

// <Error> (or <ErrorResponse><Error>): what a failed request, or a 200 that failed
// anyway (CompleteMultipartUpload), says. Fields are "" when the server left them out.
struct ErrorDocument {
    std::string code;
    std::string message;  // RGW often sends an empty or no <Message>
    std::string request_id;
};
// nullopt when `body` is empty, not XML, or not an error document.
std::optional<ErrorDocument> parse_error_document(std::string_view body);

// GetObjectLockConfiguration: <ObjectLockConfiguration>.
ObjectLockConfiguration parse_object_lock_configuration(std::string_view body);

// GetBucketVersioning: <VersioningConfiguration>; no <Status> means never versioned.
VersioningStatus parse_bucket_versioning(std::string_view body);

// GetBucketEncryption: <ServerSideEncryptionConfiguration>; nullopt without a default rule.
// A bucket listing instead (Ceph RGW 16 ignores ?encryption on GET) is Error(parse).
std::optional<BucketEncryption> parse_bucket_encryption(std::string_view body);

// GetPublicAccessBlock: <PublicAccessBlockConfiguration>, or Ceph RGW 16's
// <BlockPublicAccessBlockConfiguration> (same content, wrong root). Any other root (a
// server that lists the bucket instead) is Error(parse), never "all false".
PublicAccessBlock parse_public_access_block(std::string_view body);

// GetObjectRetention: <Retention>; nullopt when it holds neither Mode nor RetainUntilDate.
// Dates may carry up to 9 fractional digits (Ceph RGW). Not a <Retention> (moto in server
// mode sends an empty 200) is Error(parse).
std::optional<Retention> parse_object_retention(std::string_view body);

// GetObjectLegalHold: <LegalHold><Status>ON|OFF; an empty body is "off".
bool parse_object_legal_hold(std::string_view body);

// ListObjectsV2: <ListBucketResult>. Keys are percent-decoded when <EncodingType>url.
ListObjectsPage parse_list_objects_v2(std::string_view body);

// ListObjectVersions: <ListVersionsResult>, versions and delete markers in server order.
ListVersionsPage parse_list_object_versions(std::string_view body);

// CreateMultipartUpload: <InitiateMultipartUploadResult>; the UploadId (never empty).
std::string parse_create_multipart_upload(std::string_view body);

// CompleteMultipartUpload: <CompleteMultipartUploadResult>; the ETag without quotes
// ("" when the server left it empty, as Ceph RGW 16 does). An <Error> body is not handled
// here: S3Client::send turns it into an S3Error first.
std::string parse_complete_multipart_upload(std::string_view body);

}  // namespace worm::s3::detail
