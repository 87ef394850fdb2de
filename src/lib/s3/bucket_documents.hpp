// bucket_documents.hpp (private to src/lib/s3): pure parsers for the bucket configuration
// documents the compliance checks read (lifecycle, replication), so they are tested on
// recorded server answers without a server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "worm/s3/client.hpp"

namespace worm::s3::detail {

// GetBucketLifecycleConfiguration's body. Reads the rule's prefix from <Filter><Prefix>,
// <Filter><And><Prefix> or the legacy <Prefix>, the first <Transition>, <Expiration>
// (Days or Date) and <NoncurrentVersionExpiration>. Throws Error(parse) when the body is
// not a LifecycleConfiguration (a server that does not implement the read).
std::vector<LifecycleRule> parse_lifecycle_configuration(const std::string& body);

// GetBucketReplication's body: role and rules (prefix from <Filter> or legacy <Prefix>).
ReplicationConfiguration parse_replication_configuration(const std::string& body);

// "arn:aws:s3:::name" (or any partition) -> "name"; "" when it is not an S3 bucket ARN.
std::string bucket_from_arn(std::string_view arn);

}  // namespace worm::s3::detail
