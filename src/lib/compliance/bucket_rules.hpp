// bucket_rules.hpp (private to src/lib/compliance): what setup writes and verify judges,
// defined once: the bucket policy statements and the tests for them, the lifecycle rule,
// which server answers mean "not implemented", and how configurations are described in
// reports. bucket_policy.cpp and bucket_rules.cpp define it on top of bucket_options.cpp;
// setup, verify and the JSON forms use it, and it uses none of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bucket_options.hpp"
#include "worm/compliance/bucket.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"
#include "worm/s3/client.hpp"

namespace worm::compliance::detail {

// A default retention period in days (years through days_in_years).
int period_days(const s3::DefaultRetention& retention);

// ---- bucket policy (bucket_policy.cpp) -------------------------------------------------

// Whether `policy_json` has a Deny statement for every principal, conditioned on
// aws:SecureTransport false, covering the bucket and its objects (s3:* or *).
// A policy that is not JSON is not one.
bool denies_insecure_transport(const std::string& policy_json, const std::string& bucket);
// Whether `policy_json` has an unconditional Deny statement for every principal covering
// s3:DeleteObject and s3:DeleteObjectVersion (listed, or s3:Delete*, s3:*, *) on the
// bucket's objects.
bool denies_object_deletion(const std::string& policy_json, const std::string& bucket);

// The statements setup adds, each written into `w` as one object.
void tls_deny_statement(json::Writer& w, const std::string& bucket);
void delete_deny_statement(json::Writer& w, const std::string& bucket);

// Whether `policy` holds every statement the options ask for (no policy holds none).
bool has_wanted_statements(const std::optional<std::string>& policy, const BucketSetupOptions& options);
// `existing` (or, when absent, a new policy) with the wanted statements it lacks appended;
// other statements are kept. Throws Error(parse) when `existing` is not a JSON object.
std::string with_wanted_statements(const std::optional<std::string>& existing, const BucketSetupOptions& options);

// ---- lifecycle, errors, descriptions (bucket_rules.cpp) --------------------------------

// The lifecycle rule setup wants for these options.
s3::LifecycleRule wanted_lifecycle_rule(const BucketSetupOptions& options);
bool same_lifecycle_rule(const s3::LifecycleRule& a, const s3::LifecycleRule& b);

// Whether an error says the server does not implement the operation (rather than refusing
// it): 501 / NotImplemented / MethodNotAllowed, or an answer that is not the document
// asked for (Error(parse): RGW 16 answers GET ?encryption with a bucket listing).
bool not_implemented(const Error& error);
// "HTTP 501 NotImplemented" or the parse message, for reports.
std::string describe_error(const Error& error);

std::string describe(const s3::DefaultRetention& retention);
std::string describe(const s3::PublicAccessBlock& block);
std::string describe(const ServerSideEncryption& sse);
std::string describe(const s3::LifecycleTransition& transition);  // "STANDARD_IA after 31 days"
std::string describe(const s3::LifecycleRule& rule);

}  // namespace worm::compliance::detail
