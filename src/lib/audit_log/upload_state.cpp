// state.json of the audit-log journal (upload_state.hpp).
#include "upload_state.hpp"

#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::audit_log::detail {

namespace al = worm::audit_log;

std::string state_to_json(const UploadState& s) {
    json::Writer w;
    w.begin_object()
        .member("stream", s.stream)
        .member("stored_through", s.stored_through)
        .member("previous_batch_sha256", s.previous_batch_sha256)
        .member("checkpoint_sequence", s.checkpoint_sequence)
        .member("previous_checkpoint_sha256", s.previous_checkpoint_sha256)
        .member("previous_signature", s.previous_signature);
    // The uncovered batches travel as a checkpoint document (one serializer for entries).
    al::Checkpoint holder;
    holder.stream = s.stream;
    holder.batches = s.uncovered;
    w.member("uncovered", al::serialize_checkpoint(holder));
    w.key("pending_checkpoint");
    if (s.pending_checkpoint)
        w.begin_array().value(s.pending_checkpoint->first).value(s.pending_checkpoint->second).end_array();
    else
        w.null();
    w.member("checkpointed_records", s.checkpointed_records).end_object();
    return w.take();
}

UploadState state_from_json(std::string_view text) {
    const auto doc = json::parse_strict(text, "audit log journal state.json");
    constexpr auto code = ErrorCode::parse;
    UploadState s;
    s.stream = json::require_string(doc, "stream", "", code);
    const auto& through = json::require_member(doc, "stored_through", "", code);
    if (through.IsUint64()) s.stored_through = through.GetUint64();
    s.previous_batch_sha256 = json::require_string(doc, "previous_batch_sha256", "", code);
    s.checkpoint_sequence = static_cast<std::uint64_t>(json::require_int64(doc, "checkpoint_sequence", "", code));
    s.previous_checkpoint_sha256 = json::require_string(doc, "previous_checkpoint_sha256", "", code);
    s.previous_signature = json::require_string(doc, "previous_signature", "", code);
    s.uncovered = al::parse_checkpoint(json::require_string(doc, "uncovered", "", code)).batches;
    const auto& pending = json::require_member(doc, "pending_checkpoint", "", code);
    if (pending.IsArray() && pending.Size() == 2 && pending[0].IsString() && pending[1].IsString())
        s.pending_checkpoint = std::pair{std::string(pending[0].GetString(), pending[0].GetStringLength()),
                                         std::string(pending[1].GetString(), pending[1].GetStringLength())};
    const auto* records = json::find_member(doc, "checkpointed_records");
    s.checkpointed_records = records && records->IsUint64() ? std::optional(records->GetUint64()) : std::nullopt;
    return s;
}

}  // namespace worm::audit_log::detail
