// The metadata sidecar of a LocalWormStore version: one small JSON document per version.
// Other tools may read it, so the field names are stable:
//   {"format":1,"key":..,"version_id":..,"delete_marker":false,"body":"<version>.body",
//    "size":..,"sha256":..,"content_type":..,"metadata":{..},"last_modified":RFC3339,
//    "retention":{"mode":"COMPLIANCE","retain_until":RFC3339}|null,"legal_hold":false}
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "local_store_detail.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"
#include "worm/storage/keys.hpp"

namespace worm::detail {

std::string sidecar_to_json(const Sidecar& s) {
    json::Writer w;
    w.begin_object()
        .member("format", 1)
        .member("key", s.key)
        .member("version_id", s.version_id)
        .member("delete_marker", s.delete_marker);
    if (!s.delete_marker) {
        w.member("body", s.version_id + ".body")
            .member("size", s.size)
            .member("sha256", s.sha256_hex)
            .member("content_type", s.content_type);
        w.key("metadata").begin_object();
        for (const auto& [name, value] : s.metadata) w.member(name, value);
        w.end_object();
    }
    w.member("last_modified", format_rfc3339_millis(s.last_modified));
    w.key("retention");
    if (s.retention)
        w.begin_object()
            .member("mode", to_string(s.retention->mode))
            .member("retain_until", format_rfc3339_millis(s.retention->retain_until))
            .end_object();
    else
        w.null();
    w.member("legal_hold", s.legal_hold).end_object();
    std::string text = w.take();
    text += '\n';
    return text;
}

Sidecar sidecar_from_json(std::string_view json, std::string_view key, std::string_view version_id) {
    const auto bad = [&](const std::string& why) -> Error {
        return Error(ErrorCode::integrity, "metadata sidecar of key " + quote_key(key) + " version " +
                                               std::string(version_id) + " is damaged: " + why);
    };
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
    if (doc.HasParseError())
        throw bad(std::string("not valid JSON (") + rapidjson::GetParseError_En(doc.GetParseError()) + ")");
    if (!doc.IsObject()) throw bad("not a JSON object");
    const auto str = [&](const char* name) -> std::string {
        const auto it = doc.FindMember(name);
        if (it == doc.MemberEnd() || !it->value.IsString()) throw bad(std::string("/") + name + " is not a string");
        return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    const auto boolean = [&](const char* name) {
        const auto it = doc.FindMember(name);
        if (it == doc.MemberEnd() || !it->value.IsBool()) throw bad(std::string("/") + name + " is not a boolean");
        return it->value.GetBool();
    };
    const auto time = [&](const std::string& text, const char* where) {
        try {
            return parse_rfc3339(text);
        } catch (const Error&) {
            throw bad(std::string(where) + " is not an RFC 3339 date");
        }
    };

    const auto format = doc.FindMember("format");
    if (format == doc.MemberEnd() || !format->value.IsInt() || format->value.GetInt() != 1)
        throw bad("/format is not 1");
    Sidecar s;
    s.key = str("key");
    s.version_id = str("version_id");
    // A sidecar copied or renamed from another object must not vouch for this one.
    if (s.key != key) throw bad("it belongs to key " + quote_key(s.key));
    if (s.version_id != version_id) throw bad("it belongs to version " + s.version_id);
    s.delete_marker = boolean("delete_marker");
    if (!s.delete_marker) {
        if (str("body") != s.version_id + ".body") throw bad("/body does not name this version's body");
        const auto size = doc.FindMember("size");
        if (size == doc.MemberEnd() || !size->value.IsUint64()) throw bad("/size is not an unsigned integer");
        s.size = size->value.GetUint64();
        s.sha256_hex = str("sha256");
        if (s.sha256_hex.size() != 64) throw bad("/sha256 is not 64 hex digits");
        s.content_type = str("content_type");
        const auto meta = doc.FindMember("metadata");
        if (meta == doc.MemberEnd() || !meta->value.IsObject()) throw bad("/metadata is not an object");
        for (const auto& m : meta->value.GetObject()) {
            if (!m.value.IsString()) throw bad("/metadata values must be strings");
            s.metadata.emplace(std::string(m.name.GetString(), m.name.GetStringLength()),
                               std::string(m.value.GetString(), m.value.GetStringLength()));
        }
    }
    s.last_modified = time(str("last_modified"), "/last_modified");
    const auto retention = doc.FindMember("retention");
    if (retention == doc.MemberEnd()) throw bad("/retention is missing");
    if (!retention->value.IsNull()) {
        if (!retention->value.IsObject()) throw bad("/retention is not an object or null");
        const auto mode = retention->value.FindMember("mode");
        const auto until = retention->value.FindMember("retain_until");
        if (mode == retention->value.MemberEnd() || !mode->value.IsString() ||
            until == retention->value.MemberEnd() || !until->value.IsString())
            throw bad("/retention needs string mode and retain_until");
        Retention r;
        try {
            r.mode = parse_lock_mode(mode->value.GetString());
        } catch (const Error&) {
            throw bad("/retention/mode is not COMPLIANCE or GOVERNANCE");
        }
        try {
            r.retain_until = parse_retention_date(until->value.GetString());
        } catch (const Error&) {
            throw bad("/retention/retain_until is not an RFC 3339 date from 1970 to 9999");
        }
        s.retention = r;
    }
    s.legal_hold = boolean("legal_hold");
    return s;
}

}  // namespace worm::detail
