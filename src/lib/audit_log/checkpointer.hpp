// The sink's checkpoints: builds and signs the next checkpoint over the batches stored since
// the last one, puts it and its signature, then the witness of it (audit_log/witness.hpp).
// It keeps no state of its own (the uploader's UploadState says what comes next), so it
// needs no lock; only the uploader thread calls it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "object_writer.hpp"
#include "upload_state.hpp"
#include "worm/audit_log.hpp"

namespace worm::audit_log::detail {

class Checkpointer {
public:
    // journal_dir: where witness.json goes (empty in memory mode: no local witness).
    Checkpointer(ObjectWriter& writer, const AuditLogOptions& options, std::filesystem::path journal_dir);

    // The next checkpoint over state.uncovered: its JSON text and .sig line ("" unsigned).
    std::pair<std::string, std::string> build(const UploadState& state) const;
    // Puts checkpoint `sequence` of `stream` and its signature, create-only (a retry after a
    // failure or a restart sends the same bytes). Throws as the store does.
    void store(const std::string& stream, std::uint64_t sequence, const std::string& text,
               const std::string& signature) const;
    // Writes the witness of a stored checkpoint to the journal directory and the witness
    // store. A write that fails is passed to on_failure(where, error) and left: the next
    // checkpoint's witness supersedes it, and no record waits for it. Returns the records
    // in the checkpoints through this one (records_before plus its own; nullopt if unknown).
    std::optional<std::uint64_t> write_witness(
        const std::string& text, const std::string& signature, std::optional<std::uint64_t> records_before,
        const std::function<void(const std::string& where, const std::exception& error)>& on_failure) const;

private:
    ObjectWriter& writer_;
    std::string prefix_;
    std::shared_ptr<const Ed25519PrivateKey> signing_key_;
    std::shared_ptr<ObjectStore> witness_store_;
    std::filesystem::path journal_dir_;
    const Clock* clock_;
};

}  // namespace worm::audit_log::detail
