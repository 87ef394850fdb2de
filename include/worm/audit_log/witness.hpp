// audit_log/witness.hpp: the head of a stream kept apart from the stream, so that deleting
// the stream's tail (or all of it) shows.
//
// A stream's checkpoints chain, but the newest one is chained to by nothing: whoever may
// delete locked objects (GOVERNANCE with bypass, or an expired retention) can delete the
// newest checkpoints and the batches they cover, or a whole stream, and leave a shorter
// stream that verifies. After each stored checkpoint the sink writes a witness of it:
//   - in its journal directory, as witness.json (written atomically: temp, fsync, rename);
//   - when AuditLogOptions::witness_store is set ($WORM_LOG_WITNESS_STORE for the Python
//     handler), as a locked, create-only object {prefix}/witness/{stream}/{sequence}.json.
// verify_audit_log() with VerifyOptions::witnesses reports a stream that ends before its
// witness's head as truncated, a named stream that is gone as deleted, and a stream whose
// checkpoint at the witness's sequence is not the witness's as witness_mismatch.
//
// Witness object (compact JSON):
//   {"format": "worm-audit-witness/1", "stream", "checkpoint_sequence", "checkpoint_sha256",
//    "last_batch_sequence", "last_batch_sha256", "records" (records in all checkpoints through
//    this one; null when unknown), "created_at" (the checkpoint's), "checkpoint" (its JSON text),
//    "signature" (its .sig line; "" when unsigned)}
// The head fields repeat what the embedded checkpoint says, so that a reader needs nothing
// else; parse_witness() refuses a witness whose fields and checkpoint disagree, and
// check_witness_signature() checks the embedded checkpoint's signature.
//
// Example:
//   std::vector<worm::audit_log::Witness> heads = {worm::audit_log::read_witness_file("/var/lib/journal")};
//   worm::audit_log::VerifyOptions options;
//   options.witnesses = heads;  // verify_audit_log(store, options) now sees a deleted tail
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worm/ed25519.hpp"
#include "worm/export.hpp"
#include "worm/storage.hpp"

namespace worm::audit_log {

inline constexpr std::string_view witness_format = "worm-audit-witness/1";
inline constexpr std::string_view witness_file_name = "witness.json";

struct WORM_API Witness {
    std::string stream;
    std::uint64_t checkpoint_sequence = 0;
    std::string checkpoint_sha256;        // hex, of the checkpoint's JSON bytes: the chain head
    std::uint64_t last_batch_sequence = 0;
    std::string last_batch_sha256;
    std::optional<std::uint64_t> records;  // in checkpoints 0..checkpoint_sequence
    std::string created_at;
    std::string checkpoint;  // the checkpoint's JSON text
    std::string signature;   // its .sig line, "" when unsigned
};

// The witness of a stored checkpoint (text and .sig line as stored); records_before: the
// records in the stream's earlier checkpoints (nullopt: unknown), to which this one's are
// added. Throws Error(parse) when the text is not a checkpoint or covers no batch.
WORM_API Witness make_witness(std::string_view checkpoint_json, std::string_view signature_line,
                              std::optional<std::uint64_t> records_before);
WORM_API std::string serialize_witness(const Witness& witness);
// Throws Error(parse) for text that is not a witness, and Error(integrity) when its head
// fields disagree with its embedded checkpoint (an edited witness).
WORM_API Witness parse_witness(std::string_view json);
// Throws Error(integrity) when the embedded checkpoint is unsigned or its signature does not
// verify with the key.
WORM_API void check_witness_signature(const Witness& witness, const Ed25519PublicKey& key);

// {prefix}/witness/{stream}/{checkpoint sequence, 10 digits}.json
WORM_API std::string witness_key(std::string_view prefix, std::string_view stream, std::uint64_t checkpoint_sequence);

// A witness file, or a journal directory holding one. Throws Error(not_found) when there is
// none, Error(parse)/Error(integrity) as parse_witness.
WORM_API Witness read_witness_file(const std::filesystem::path& file_or_journal_dir);
// The newest witness of each stream under {prefix}/witness/ in a witness store. Throws as
// parse_witness; an empty list when the store holds none.
WORM_API std::vector<Witness> read_witness_store(ObjectStore& store, std::string_view prefix);
// `logs verify --witness`: a path that exists is read_witness_file; a URL ("scheme://") is
// opened and read_witness_store. Throws Error(invalid_argument) for anything else and
// Error(not_found) when the store holds no witness.
WORM_API std::vector<Witness> read_witnesses(const std::string& path_or_url, std::string_view prefix);

}  // namespace worm::audit_log
