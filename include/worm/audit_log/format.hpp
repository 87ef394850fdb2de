// audit_log/format.hpp: the stored shape of audit logs, shared by the sink and the verifier.
//
// Batch object (JSON Lines, one record per line, each line ends with "\n"):
//   {prefix}/YYYY/MM/DD/{request_id}-{stream}-{sequence}.jsonl
//   date and request_id of the first record; request_id made key-safe ("none" when absent);
//   stream: 16 lower-case hex digits; sequence: 10 decimal digits, from 0.
//   metadata (the seed's names, '_' spelled '-' because werkzeug, nginx and other proxies
//   drop or rewrite header names with underscores): service-name, request-id, log-level
//   (highest in the batch), timestamp (first record), worm-handler-version, stream, sequence,
//   record-count, first-timestamp, last-timestamp, previous-batch-sha256 (hex; "" for the
//   stream's first batch).
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

// "audit-logs" / "audit-logs/" -> "audit-logs/"; "" stays "" (the whole store).
WORM_API std::string prefix_dir(std::string_view prefix);

// Key-safe request id: [A-Za-z0-9._-] kept, anything else becomes '_', at most 64 bytes.
WORM_API std::string key_safe_request_id(std::string_view request_id);

WORM_API std::string batch_key(std::string_view prefix, std::string_view first_timestamp, std::string_view request_id,
                      std::string_view stream, std::uint64_t sequence);
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
