// What the store has confirmed of a sink's stream, as the journal's state.json keeps it
// (disk mode). Written by the uploader thread only; see sink.cpp for who reads it when.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worm/audit_log/format.hpp"

namespace worm::audit_log::detail {

struct UploadState {
    std::string stream;
    std::optional<std::uint64_t> stored_through;
    std::string previous_batch_sha256;
    std::uint64_t checkpoint_sequence = 0;
    std::string previous_checkpoint_sha256;
    std::string previous_signature;
    std::vector<CheckpointEntry> uncovered;  // stored, not in a checkpoint yet
    // A checkpoint built but not confirmed stored: retried with the same bytes.
    std::optional<std::pair<std::string, std::string>> pending_checkpoint;  // json, .sig line ("" unsigned)
    // Records in the stored checkpoints, for the witness; unknown for a state file written
    // before the sink counted them.
    std::optional<std::uint64_t> checkpointed_records = 0;
};

std::string state_to_json(const UploadState& state);
// Throws Error(parse) naming what is missing or malformed.
UploadState state_from_json(std::string_view text);

}  // namespace worm::audit_log::detail
