// audit_log/verify.hpp: offline verification and reading of stored audit logs.
//
// verify_audit_log() reads every batch and checkpoint under a prefix and reports, per
// stream: a checkpoint-covered batch that is gone (missing; truncated when the stream's
// newest batches are gone), whose bytes differ (modified), that sits under another
// sequence's key (reordered), a second object for a sequence (duplicated), an object that
// no checkpoint covers and that does not continue the hash chain (extra), and checkpoints
// that are unsigned when a key is given, badly signed, or do not chain. Batches newer than
// the newest checkpoint are checked against the hash chain and counted as not yet covered.
// With witnesses (audit_log/witness.hpp), also a stream that ends before its witness's head
// (truncated), a stream a witness names that is gone (deleted), and a stream whose
// checkpoint at the witness's sequence is another one (witness mismatch: another chain).
//
// Example:
//   std::unique_ptr<worm::ObjectStore> store = worm::open_store("s3://audit-bucket");
//   worm::audit_log::VerifyOptions options;
//   options.public_key = worm::load_public_key("public.pem");
//   worm::audit_log::VerifyReport report = worm::audit_log::verify_audit_log(*store, options);
//   std::cout << worm::audit_log::format_report(report);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "worm/audit_log/witness.hpp"
#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/storage.hpp"

namespace worm::audit_log {

enum class ProblemKind {
    missing, modified, reordered, duplicated, extra, truncated, bad_signature, bad_checkpoint,
    deleted,           // a stream a witness names has no object left
    witness_mismatch,  // the stream's checkpoint at the witness's sequence is not the witness's
};
// "missing", ..., "bad checkpoint signature", ..., "deleted", "witness mismatch"
WORM_API std::string_view to_string(ProblemKind kind) noexcept;

struct WORM_API Problem {
    ProblemKind kind;
    std::string stream;
    std::string key;
    std::string detail;
};

struct WORM_API VerifyOptions {
    std::string prefix = "audit-logs";
    std::optional<Ed25519PublicKey> public_key;  // none: signatures are not checked
    std::optional<TimePoint> from, to;           // only batches whose records overlap [from, to]
    TimePoint now{};                             // for the newest checkpoint's age; {} = the system clock
    // Heads the stored streams must reach (audit_log/witness.hpp: read_witness_file,
    // read_witness_store). With public_key, each witness's checkpoint signature is checked
    // first (verify_audit_log throws Error(integrity) for a witness that fails).
    std::vector<Witness> witnesses;
};

struct WORM_API StreamSummary {
    std::string stream;
    std::uint64_t checkpoints = 0;
    std::uint64_t covered_batches = 0;
    std::uint64_t uncovered_batches = 0;  // newer than the newest checkpoint, chained
    bool signed_checkpoints = false;      // every checkpoint has a .sig
};

struct WORM_API VerifyReport {
    std::vector<Problem> problems;
    std::vector<StreamSummary> streams;
    std::uint64_t batches_verified = 0;
    std::uint64_t records_verified = 0;
    std::string first_timestamp, last_timestamp;           // of the verified records
    std::optional<std::chrono::seconds> newest_checkpoint_age;
    bool signatures_checked = false;
    std::size_t witnesses_checked = 0;  // VerifyOptions::witnesses compared
    bool valid() const { return problems.empty(); }
};

// Throws worm::Error when the store cannot be read, or (Error(integrity)) when a witness's
// checkpoint signature fails with options.public_key; everything wrong with the stored logs
// is a Problem.
WORM_API VerifyReport verify_audit_log(ObjectStore& store, const VerifyOptions& options);

// Human-readable report: one line per problem, then the summary.
WORM_API std::string format_report(const VerifyReport& report);

struct WORM_API CatOptions {
    std::string prefix = "audit-logs";
    std::optional<TimePoint> from, to;  // record timestamps
    std::string service;                // only records with this service_name; "" = all
    // Batch keys whose records are printed with "UNVERIFIED " in front (`logs cat --unverified`
    // passes those verify_audit_log names as modified, reordered, duplicated or extra).
    std::set<std::string> unverified;
};

// Calls out(line) for every stored record in order (per stream by sequence; streams
// merged by time). Returns the number of records written.
WORM_API std::uint64_t cat_audit_log(ObjectStore& store, const CatOptions& options,
                            const std::function<void(std::string_view line)>& out);

}  // namespace worm::audit_log
