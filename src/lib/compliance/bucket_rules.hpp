// bucket_rules.hpp (private to src/lib/compliance): what setup writes and verify judges,
// defined once: the TLS-only policy test, the lifecycle rule, which server answers mean
// "not implemented", and how configurations are described in reports.
#pragma once

#include <string>
#include <string_view>

#include "worm/compliance/bucket.hpp"
#include "worm/error.hpp"
#include "worm/s3/client.hpp"

namespace worm::compliance::detail {

// The id of the lifecycle rule setup writes (other rules are left as they are).
inline constexpr std::string_view lifecycle_rule_id = "worm-evidence-retention";

// The longest `years` can last in days (365 each, plus the leap days they may hold), so a
// lifecycle expiry computed from it never comes before a retention given in years ends.
int days_in_years(int years);
// A default retention period in days (years through days_in_years).
int period_days(const s3::DefaultRetention& retention);

// Whether `policy_json` has a Deny statement for every principal, conditioned on
// aws:SecureTransport false, covering the bucket and its objects (s3:* or *).
// A policy that is not JSON is not one.
bool denies_insecure_transport(const std::string& policy_json, const std::string& bucket);

// The statement setup adds (a JSON object).
std::string tls_deny_statement(const std::string& bucket);

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
std::string describe(const s3::LifecycleRule& rule);

}  // namespace worm::compliance::detail
