// The witness of a stream's newest stored checkpoint (audit_log/witness.hpp).
#include "worm/audit_log/witness.hpp"

#include <map>

#include "worm/audit_log/format.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/signer.hpp"

namespace worm::audit_log {

namespace fs = std::filesystem;

namespace {

// The head fields a checkpoint's text fixes.
Witness head_of(std::string_view checkpoint_json) {
    const Checkpoint cp = parse_checkpoint(checkpoint_json);
    if (cp.batches.empty())
        throw Error(ErrorCode::parse, "audit log witness: checkpoint " + std::to_string(cp.sequence) + " of stream " +
                                          cp.stream + " covers no batch");
    Witness w;
    w.stream = cp.stream;
    w.checkpoint_sequence = cp.sequence;
    w.checkpoint_sha256 = sha256_hex(checkpoint_json);
    w.last_batch_sequence = cp.batches.back().sequence;
    w.last_batch_sha256 = cp.batches.back().sha256_hex;
    w.created_at = cp.created_at;
    w.checkpoint = std::string(checkpoint_json);
    return w;
}

}  // namespace

Witness make_witness(std::string_view checkpoint_json, std::string_view signature_line,
                     std::optional<std::uint64_t> records_before) {
    Witness w = head_of(checkpoint_json);
    w.signature = std::string(signature_line);
    if (records_before) {
        std::uint64_t records = *records_before;
        for (const auto& e : parse_checkpoint(checkpoint_json).batches) records += e.records;
        w.records = records;
    }
    return w;
}

std::string serialize_witness(const Witness& w) {
    json::Writer out;
    out.begin_object()
        .member("format", witness_format)
        .member("stream", w.stream)
        .member("checkpoint_sequence", w.checkpoint_sequence)
        .member("checkpoint_sha256", w.checkpoint_sha256)
        .member("last_batch_sequence", w.last_batch_sequence)
        .member("last_batch_sha256", w.last_batch_sha256)
        .member("records", w.records)
        .member("created_at", w.created_at)
        .member("checkpoint", w.checkpoint)
        .member("signature", w.signature)
        .end_object();
    return out.take();
}

Witness parse_witness(std::string_view json_text) {
    const auto doc = json::parse_strict(json_text, "audit log witness");
    constexpr auto code = ErrorCode::parse;
    if (!doc.IsObject()) throw Error(code, "audit log witness: not a JSON object");
    if (json::require_string(doc, "format", "", code) != witness_format)
        throw Error(code, "audit log witness: format is not " + std::string(witness_format));
    auto uint_member = [&](const char* name) {
        const auto& v = json::require_member(doc, name, "", code);
        if (!v.IsUint64()) throw Error(code, std::string("audit log witness: ") + name + " is not a whole number");
        return v.GetUint64();
    };
    Witness w;
    w.stream = json::require_string(doc, "stream", "", code);
    w.checkpoint_sequence = uint_member("checkpoint_sequence");
    w.checkpoint_sha256 = json::require_string(doc, "checkpoint_sha256", "", code);
    w.last_batch_sequence = uint_member("last_batch_sequence");
    w.last_batch_sha256 = json::require_string(doc, "last_batch_sha256", "", code);
    if (const auto& records = json::require_member(doc, "records", "", code); records.IsUint64())
        w.records = records.GetUint64();
    else if (!records.IsNull())
        throw Error(code, "audit log witness: records is not a whole number or null");
    w.created_at = json::require_string(doc, "created_at", "", code);
    w.checkpoint = json::require_string(doc, "checkpoint", "", code);
    w.signature = json::require_string(doc, "signature", "", code);

    // The head fields must be the embedded checkpoint's: an edit of either shows here.
    const Witness head = head_of(w.checkpoint);
    const std::string where = "audit log witness of stream " + w.stream + " checkpoint " + std::to_string(w.checkpoint_sequence);
    auto differs = [&](const char* field, const std::string& stated, const std::string& actual) {
        if (stated != actual)
            throw Error(ErrorCode::integrity, where + " was altered: its " + field + " is " + stated +
                                                  " but its embedded checkpoint says " + actual);
    };
    differs("stream", w.stream, head.stream);
    differs("checkpoint_sequence", std::to_string(w.checkpoint_sequence), std::to_string(head.checkpoint_sequence));
    differs("checkpoint_sha256", w.checkpoint_sha256, head.checkpoint_sha256);
    differs("last_batch_sequence", std::to_string(w.last_batch_sequence), std::to_string(head.last_batch_sequence));
    differs("last_batch_sha256", w.last_batch_sha256, head.last_batch_sha256);
    differs("created_at", w.created_at, head.created_at);
    return w;
}

void check_witness_signature(const Witness& w, const Ed25519PublicKey& key) {
    const std::string where = "audit log witness of stream " + w.stream + " checkpoint " + std::to_string(w.checkpoint_sequence);
    if (w.signature.empty()) throw Error(ErrorCode::integrity, where + " holds an unsigned checkpoint");
    if (const auto check = check_signature_line(key, w.checkpoint, w.signature); !check)
        throw Error(ErrorCode::integrity, where + ": the checkpoint's signature does not verify (" + check.reason + ")");
}

std::string witness_key(std::string_view prefix, std::string_view stream, std::uint64_t checkpoint_sequence) {
    // The checkpoint's own key with "witness/" for "checkpoints/": one spelling of stream and sequence.
    constexpr std::string_view checkpoints = "checkpoints/";
    return prefix_dir(prefix) + "witness/" + checkpoint_key("", stream, checkpoint_sequence).substr(checkpoints.size());
}

Witness read_witness_file(const fs::path& file_or_journal_dir) {
    const fs::path file = fs::is_directory(file_or_journal_dir) ? file_or_journal_dir / witness_file_name : file_or_journal_dir;
    if (!fs::is_regular_file(file))
        throw Error(ErrorCode::not_found, "audit log witness: no witness file " + file.string() +
                                              " (the sink writes one after its first stored checkpoint)");
    try {
        return parse_witness(read_file(file));
    } catch (const Error& e) {
        throw Error(e.code(), file.string() + ": " + e.what());
    }
}

std::vector<Witness> read_witness_store(ObjectStore& store, std::string_view prefix) {
    // Keys sort by sequence (10 digits), so the last key of a stream is its newest witness.
    const std::string under = prefix_dir(prefix) + "witness/";
    std::map<std::string, std::string> newest;  // stream -> key
    // Listed by the log prefix alone, and filtered: moto refuses the signature of a listing
    // whose prefix holds a '/' (the witness store is meant to hold witnesses only).
    std::string asked = prefix_dir(prefix);
    if (!asked.empty()) asked.pop_back();
    for (const auto& o : store.list_all(asked)) {
        if (o.key.rfind(under, 0) != 0) continue;
        const std::string rest = o.key.substr(under.size());
        const auto slash = rest.find('/');
        if (slash == std::string::npos || rest.size() < 5 || rest.substr(rest.size() - 5) != ".json") continue;
        std::string& key = newest[rest.substr(0, slash)];
        if (o.key > key) key = o.key;
    }
    std::vector<Witness> out;
    for (const auto& [stream, key] : newest) {
        try {
            out.push_back(parse_witness(store.get(key)));
        } catch (const Error& e) {
            throw Error(e.code(), key + ": " + e.what());
        }
        if (out.back().stream != stream)
            throw Error(ErrorCode::integrity, key + ": audit log witness names stream " + out.back().stream);
    }
    return out;
}

std::vector<Witness> read_witnesses(const std::string& path_or_url, std::string_view prefix) {
    if (fs::exists(path_or_url)) return {read_witness_file(path_or_url)};
    if (path_or_url.find("://") == std::string::npos)
        throw Error(ErrorCode::invalid_argument, "audit log witness: '" + path_or_url +
                                                     "' is neither an existing witness file or journal directory nor a store URL");
    auto witnesses = read_witness_store(*open_store(path_or_url), prefix);
    if (witnesses.empty())
        throw Error(ErrorCode::not_found, "no audit log witness under " + prefix_dir(prefix) + "witness/ in " + path_or_url);
    return witnesses;
}

}  // namespace worm::audit_log
