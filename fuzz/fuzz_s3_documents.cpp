// Every S3 XML document parser over the same input: error documents, listings (objects and
// versions), Object Lock configuration, retention, legal hold, bucket settings, multipart
// answers, lifecycle and replication. A hostile server controls these bytes: each parser
// returns a value or throws a typed error (parse, s3, ...), never anything else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "s3/bucket_documents.hpp"
#include "s3/documents.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    using namespace worm::s3::detail;
    using worm::fuzz::expect_typed;
    expect_typed([&] { (void)parse_error_document(body); });
    expect_typed([&] { (void)parse_object_lock_configuration(body); });
    expect_typed([&] { (void)parse_bucket_versioning(body); });
    expect_typed([&] { (void)parse_bucket_encryption(body); });
    expect_typed([&] { (void)parse_public_access_block(body); });
    expect_typed([&] { (void)parse_object_retention(body); });
    expect_typed([&] { (void)parse_object_legal_hold(body); });
    expect_typed([&] { (void)parse_list_objects_v2(body); });
    expect_typed([&] { (void)parse_list_object_versions(body); });
    expect_typed([&] { (void)parse_create_multipart_upload(body); });
    expect_typed([&] { (void)parse_complete_multipart_upload(body); });
    expect_typed([&] { (void)parse_lifecycle_configuration(body); });
    expect_typed([&] { (void)parse_replication_configuration(body); });
    return 0;
}
