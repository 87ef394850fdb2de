// audit_log/format.hpp: the stored shape of audit logs, shared by the sink and the verifier.
//
// Batch object (JSON Lines, one record per line, each line ends with "\n"):
//   {prefix}/YYYY/MM/DD/{request_id}-{stream}-{sequence}.jsonl
//   date and request_id of the first record; request_id made key-safe ("none" when absent);
//   stream: 16 lower-case hex digits; sequence: 10 decimal digits, from 0.
//   metadata: the seed's service_name, request_id, log_level (highest in the batch),
//   timestamp (first record), worm_handler_version; then stream, sequence, record-count,
//   first-timestamp, last-timestamp, previous-batch-sha256 (hex; "" for the stream's first
//   batch). An endpoint that drops header names with '_' (moto's werkzeug, nginx by default)
//   answers SignatureDoesNotMatch: the sink then spells the seed's five with '-'
//   (service-name, ...) and says so once on stderr. Readers take either spelling.
// Per-record layout (AuditLogLayout::per_record): each record is a batch of one, stored as
//   the seed's {prefix}/YYYY/MM/DD/{request_id}-{uuid4}.json holding the record's JSON (no
//   newline), with the same metadata. The uuid4 is derived from stream and sequence
//   (record_uuid), so a retry sends the same key; a reader finds stream and sequence in
//   the object's metadata.
// Checkpoint object (JSON) and its signature (the bundle .sig format, over the JSON bytes):
//   {prefix}/checkpoints/{stream}/{sequence}.json and .sig
//   {"format": "worm-audit-checkpoint/1", "stream", "sequence", "created_at",
//    "previous_checkpoint_sha256", "previous_signature" (base64, "" when none or unsigned),
//    "batches": [{"sequence", "key", "sha256", "records", "first_timestamp", "last_timestamp"}]}
//   Checkpoint k covers the batches stored after checkpoint k-1, in sequence order.
//
// Example:
//   std::string key = worm::audit_log::batch_key("audit-logs", "2026-11-22T10:30:00.123Z", "req-1",
//                                                "0123456789abcdef", 7);
//   // "audit-logs/2026/11/22/req-1-0123456789abcdef-0000000007.jsonl"
//   std::optional<worm::audit_log::BatchName> name = worm::audit_log::parse_batch_key(key);  // stream, 7
//   worm::audit_log::Checkpoint checkpoint = worm::audit_log::parse_checkpoint(worm::read_file("0000000003.json"));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/export.hpp"

namespace worm::audit_log {

inline constexpr std::string_view handler_version = "2.0.0";
inline constexpr std::string_view checkpoint_format = "worm-audit-checkpoint/1";
// A record field JSON cannot hold (a lone surrogate, NaN, Infinity: Python's logging meets
// them in file names and measurements) is stored as the text json.dumps writes for it
// ("\udcff" escapes, bare NaN), and the record lists the field under this member:
//   {"message": "\"rm \\udcff\"", ..., "worm_escaped": ["message"]}
// json.loads(record[name]) gives the value back. A listed name with "\uXXXX" escapes held
// a lone surrogate itself: json.loads('"' + name + '"') gives it back. The sink counts such
// records (AuditLogStats::escaped) and says so on stderr, one line each.
inline constexpr std::string_view escaped_member = "worm_escaped";

// "audit-logs" / "audit-logs/" -> "audit-logs/"; "" stays "" (the whole store).
WORM_API std::string prefix_dir(std::string_view prefix);

// Key-safe request id: [A-Za-z0-9._-] kept, anything else becomes '_', at most 64 bytes.
WORM_API std::string key_safe_request_id(std::string_view request_id);

WORM_API std::string batch_key(std::string_view prefix, std::string_view first_timestamp, std::string_view request_id,
                      std::string_view stream, std::uint64_t sequence);
// The seed's per-record key; the uuid4 is record_uuid(stream, sequence).
WORM_API std::string record_key(std::string_view prefix, std::string_view timestamp, std::string_view request_id,
                       std::string_view stream, std::uint64_t sequence);
// A version-4-shaped UUID (8-4-4-4-12 lower-case hex) made from SHA-256 of stream and sequence.
WORM_API std::string record_uuid(std::string_view stream, std::uint64_t sequence);
// Whether a key's file name ends in "-{uuid4}.json" (a per-record object; not a checkpoint).
WORM_API bool is_record_key(std::string_view key);
// Metadata value under the seed's name ("service_name") or its '-' spelling ("service-name").
WORM_API std::string seed_metadata_name(std::string_view seed_name, bool hyphenated);
WORM_API std::string checkpoint_key(std::string_view prefix, std::string_view stream, std::uint64_t sequence);

// Stream and sequence from a batch key's file name, or nullopt when the key is not one.
struct WORM_API BatchName {
    std::string stream;
    std::uint64_t sequence = 0;
};
WORM_API std::optional<BatchName> parse_batch_key(std::string_view key);
// Stream and sequence of a checkpoint .json key, or nullopt.
WORM_API std::optional<BatchName> parse_checkpoint_key(std::string_view prefix, std::string_view key);

struct WORM_API CheckpointEntry {
    std::uint64_t sequence = 0;
    std::string key;
    std::string sha256_hex;
    std::uint64_t records = 0;
    std::string first_timestamp;
    std::string last_timestamp;
};

struct WORM_API Checkpoint {
    std::string stream;
    std::uint64_t sequence = 0;
    std::string created_at;
    std::string previous_checkpoint_sha256;
    std::string previous_signature;  // base64
    std::vector<CheckpointEntry> batches;
};

// Compact JSON, members in the order above (the signed bytes).
WORM_API std::string serialize_checkpoint(const Checkpoint& checkpoint);
// Throws Error(parse) naming what is missing or malformed.
WORM_API Checkpoint parse_checkpoint(std::string_view json);

}  // namespace worm::audit_log
