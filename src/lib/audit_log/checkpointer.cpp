// Checkpoints and their witnesses (checkpointer.hpp).
#include "checkpointer.hpp"

#include "worm/audit_log/format.hpp"
#include "worm/audit_log/witness.hpp"
#include "worm/crypto.hpp"
#include "worm/fs.hpp"
#include "worm/signer.hpp"

namespace worm::audit_log::detail {

Checkpointer::Checkpointer(ObjectWriter& writer, const AuditLogOptions& options, std::filesystem::path journal_dir)
    : writer_(writer),
      prefix_(options.prefix),
      signing_key_(options.signing_key),
      witness_store_(options.witness_store),
      journal_dir_(std::move(journal_dir)),
      clock_(options.clock) {}

std::pair<std::string, std::string> Checkpointer::build(const UploadState& state) const {
    Checkpoint c;
    c.stream = state.stream;
    c.sequence = state.checkpoint_sequence;
    c.created_at = format_rfc3339_millis(clock_->now());
    c.previous_checkpoint_sha256 = state.previous_checkpoint_sha256;
    c.previous_signature = state.previous_signature;
    c.batches = state.uncovered;
    std::string text = serialize_checkpoint(c);
    std::string signature = signing_key_ ? make_signature_line(*signing_key_, text) : std::string();
    return {std::move(text), std::move(signature)};
}

void Checkpointer::store(const std::string& stream, std::uint64_t sequence, const std::string& text,
                         const std::string& signature) const {
    const std::string key = checkpoint_key(prefix_, stream, sequence);
    PutOptions o = writer_.put_options("application/json", sha256_hex(text));
    o.metadata = {{"stream", stream},
                  {"checkpoint-sequence", std::to_string(sequence)},
                  {"worm_handler_version", std::string(handler_version)}};
    writer_.put_create_only(key, PutBody::from_bytes(text), std::move(o));
    if (!signature.empty()) {
        PutOptions so = writer_.put_options("text/plain", sha256_hex(signature));
        writer_.put_create_only(key.substr(0, key.size() - 5) + ".sig", PutBody::from_bytes(signature), std::move(so));
    }
}

std::optional<std::uint64_t> Checkpointer::write_witness(
    const std::string& text, const std::string& signature, std::optional<std::uint64_t> records_before,
    const std::function<void(const std::string& where, const std::exception& error)>& on_failure) const {
    // Written after the checkpoint is stored, so that a witness never names a checkpoint the
    // store may not hold (a false truncation).
    const Witness w = make_witness(text, signature, records_before);
    const std::string json_text = serialize_witness(w);
    if (!journal_dir_.empty()) {
        try {
            WriteOptions o;
            o.mode = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
            write_file_atomic(journal_dir_ / witness_file_name, json_text, o);
        } catch (const std::exception& e) {
            on_failure("the journal directory", e);
        }
    }
    if (witness_store_) {
        try {
            PutOptions o = writer_.put_options("application/json", sha256_hex(json_text));
            o.metadata = {{"stream", w.stream},
                          {"checkpoint-sequence", std::to_string(w.checkpoint_sequence)},
                          {"worm_handler_version", std::string(handler_version)}};
            writer_.put_create_only(*witness_store_, witness_key(prefix_, w.stream, w.checkpoint_sequence),
                                    PutBody::from_bytes(json_text), std::move(o));
        } catch (const std::exception& e) {
            on_failure("the witness store", e);
        }
    }
    return w.records;
}

}  // namespace worm::audit_log::detail
