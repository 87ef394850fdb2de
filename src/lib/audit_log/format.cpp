// The stored shape of audit-log batches and checkpoints (audit_log/format.hpp).
#include "worm/audit_log/format.hpp"

#include <algorithm>
#include <cstdio>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::audit_log {

namespace {

bool is_key_safe(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

bool all_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::string padded(std::uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%010llu", static_cast<unsigned long long>(value));
    return buf;
}

}  // namespace

std::string prefix_dir(std::string_view prefix) {
    std::string p(prefix);
    while (!p.empty() && p.back() == '/') p.pop_back();
    return p.empty() ? p : p + "/";
}

std::string key_safe_request_id(std::string_view request_id) {
    if (request_id.empty()) return "none";
    std::string out;
    for (char c : request_id.substr(0, 64)) out += is_key_safe(c) ? c : '_';
    if (out == "." || out == "..") out = "_";
    return out;
}

namespace {
// "2025-06-12T..." -> "prefix/2025/06/12/"
std::string day_dir(std::string_view prefix, std::string_view first_timestamp) {
    if (first_timestamp.size() < 10 || first_timestamp[4] != '-' || first_timestamp[7] != '-')
        throw Error(ErrorCode::invalid_argument, "audit log: record timestamp is not RFC 3339: " +
                                                     std::string(first_timestamp.substr(0, 40)));
    std::string key = prefix_dir(prefix);
    key.append(first_timestamp.substr(0, 4)).append("/");
    key.append(first_timestamp.substr(5, 2)).append("/");
    key.append(first_timestamp.substr(8, 2)).append("/");
    return key;
}
}  // namespace

std::string batch_key(std::string_view prefix, std::string_view first_timestamp, std::string_view request_id,
                      std::string_view stream, std::uint64_t sequence) {
    std::string key = day_dir(prefix, first_timestamp);
    key += key_safe_request_id(request_id) + "-" + std::string(stream) + "-" + padded(sequence) + ".jsonl";
    return key;
}


std::string record_uuid(std::string_view stream, std::uint64_t sequence) {
    std::string hex = sha256_hex("worm-audit-record\n" + std::string(stream) + "\n" + std::to_string(sequence)).substr(0, 32);
    hex[12] = '4';                                           // version 4
    hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
           hex.substr(20);
}

std::string record_key(std::string_view prefix, std::string_view timestamp, std::string_view request_id,
                       std::string_view stream, std::uint64_t sequence) {
    return day_dir(prefix, timestamp) + key_safe_request_id(request_id) + "-" + record_uuid(stream, sequence) + ".json";
}

bool is_record_key(std::string_view key) {
    constexpr std::string_view ext = ".json";
    constexpr std::size_t uuid_size = 36;
    if (key.size() < ext.size() + uuid_size + 2 || key.substr(key.size() - ext.size()) != ext) return false;
    const std::string_view uuid = key.substr(key.size() - ext.size() - uuid_size, uuid_size);
    if (key[key.size() - ext.size() - uuid_size - 1] != '-') return false;
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? uuid[i] != '-' : !all_hex(uuid.substr(i, 1))) return false;
    }
    return uuid[14] == '4';
}

std::string seed_metadata_name(std::string_view seed_name, bool hyphenated) {
    std::string name(seed_name);
    if (hyphenated) std::replace(name.begin(), name.end(), '_', '-');
    return name;
}

std::string checkpoint_key(std::string_view prefix, std::string_view stream, std::uint64_t sequence) {
    return prefix_dir(prefix) + "checkpoints/" + std::string(stream) + "/" + padded(sequence) + ".json";
}

std::optional<BatchName> parse_batch_key(std::string_view key) {
    constexpr std::string_view ext = ".jsonl";
    if (key.size() < ext.size() || key.substr(key.size() - ext.size()) != ext) return std::nullopt;
    std::string_view name = key.substr(0, key.size() - ext.size());
    if (const auto slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
    // ...-{16 hex}-{10 digits}
    if (name.size() < 1 + 1 + 16 + 1 + 10) return std::nullopt;
    const auto seq = name.substr(name.size() - 10);
    const auto stream = name.substr(name.size() - 10 - 1 - 16, 16);
    if (name[name.size() - 11] != '-' || name[name.size() - 28] != '-' || !all_digits(seq) || !all_hex(stream))
        return std::nullopt;
    return BatchName{std::string(stream), std::stoull(std::string(seq))};
}

std::optional<BatchName> parse_checkpoint_key(std::string_view prefix, std::string_view key) {
    const std::string head = prefix_dir(prefix) + "checkpoints/";
    if (key.substr(0, head.size()) != head) return std::nullopt;
    std::string_view rest = key.substr(head.size());  // {stream}/{seq}.json
    if (rest.size() != 16 + 1 + 10 + 5 || rest[16] != '/' || rest.substr(27) != ".json") return std::nullopt;
    const auto stream = rest.substr(0, 16), seq = rest.substr(17, 10);
    if (!all_hex(stream) || !all_digits(seq)) return std::nullopt;
    return BatchName{std::string(stream), std::stoull(std::string(seq))};
}

std::string serialize_checkpoint(const Checkpoint& c) {
    json::Writer w;
    w.begin_object()
        .member("format", checkpoint_format)
        .member("stream", c.stream)
        .member("sequence", c.sequence)
        .member("created_at", c.created_at)
        .member("previous_checkpoint_sha256", c.previous_checkpoint_sha256)
        .member("previous_signature", c.previous_signature);
    w.key("batches").begin_array();
    for (const auto& b : c.batches) {
        w.begin_object()
            .member("sequence", b.sequence)
            .member("key", b.key)
            .member("sha256", b.sha256_hex)
            .member("records", b.records)
            .member("first_timestamp", b.first_timestamp)
            .member("last_timestamp", b.last_timestamp)
            .end_object();
    }
    w.end_array().end_object();
    return w.take();
}

Checkpoint parse_checkpoint(std::string_view text) {
    const auto doc = json::parse_strict(text, "audit-log checkpoint");
    if (!doc.IsObject()) throw Error(ErrorCode::parse, "audit-log checkpoint: not a JSON object");
    constexpr auto code = ErrorCode::parse;
    if (json::require_string(doc, "format", "", code) != checkpoint_format)
        throw Error(code, "audit-log checkpoint: unknown format (expected " + std::string(checkpoint_format) + ")");
    Checkpoint c;
    c.stream = json::require_string(doc, "stream", "", code);
    c.sequence = static_cast<std::uint64_t>(json::require_int64(doc, "sequence", "", code));
    c.created_at = json::require_string(doc, "created_at", "", code);
    c.previous_checkpoint_sha256 = json::require_string(doc, "previous_checkpoint_sha256", "", code);
    c.previous_signature = json::require_string(doc, "previous_signature", "", code);
    const auto& batches = json::require_array(doc, "batches", "", code);
    for (rapidjson::SizeType i = 0; i < batches.Size(); ++i) {
        const auto pointer = json::pointer_append("/batches", i);
        const auto& b = batches[i];
        if (!b.IsObject()) throw Error(code, "audit-log checkpoint: " + pointer + " is not an object");
        CheckpointEntry e;
        e.sequence = static_cast<std::uint64_t>(json::require_int64(b, "sequence", pointer, code));
        e.key = json::require_string(b, "key", pointer, code);
        e.sha256_hex = json::require_string(b, "sha256", pointer, code);
        e.records = static_cast<std::uint64_t>(json::require_int64(b, "records", pointer, code));
        e.first_timestamp = json::require_string(b, "first_timestamp", pointer, code);
        e.last_timestamp = json::require_string(b, "last_timestamp", pointer, code);
        c.batches.push_back(std::move(e));
    }
    return c;
}

}  // namespace worm::audit_log
