// JSON bodies of the proxy API, written by worm-proxy and read by ProxyStore.
#include <rapidjson/document.h>

#include "worm/json.hpp"
#include "worm/proxy/protocol.hpp"
#include "worm/time.hpp"

namespace worm::proxy {

namespace {

void put_retention(json::Writer& w, const std::optional<Retention>& retention) {
    w.key("retention");
    if (!retention) {
        w.null();
        return;
    }
    w.begin_object()
        .member("mode", to_string(retention->mode))
        .member("retain_until", format_rfc3339_millis(retention->retain_until))
        .end_object();
}

rapidjson::Document parse_object(std::string_view body, std::string_view what) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject())
        throw Error(ErrorCode::parse, "proxy " + std::string(what) + " is not a JSON object");
    return doc;
}

const rapidjson::Value& member(const rapidjson::Value& v, const char* name, std::string_view what) {
    auto it = v.FindMember(name);
    if (it == v.MemberEnd())
        throw Error(ErrorCode::parse, "proxy " + std::string(what) + " has no '" + name + "'");
    return it->value;
}

std::string get_string(const rapidjson::Value& v, const char* name, std::string_view what) {
    const auto& m = member(v, name, what);
    if (!m.IsString())
        throw Error(ErrorCode::parse, "proxy " + std::string(what) + ": '" + name + "' is not a string");
    return {m.GetString(), m.GetStringLength()};
}

std::string get_string_or_empty(const rapidjson::Value& v, const char* name, std::string_view what) {
    auto it = v.FindMember(name);
    if (it == v.MemberEnd() || it->value.IsNull()) return {};
    return get_string(v, name, what);
}

bool get_bool(const rapidjson::Value& v, const char* name, std::string_view what) {
    const auto& m = member(v, name, what);
    if (!m.IsBool())
        throw Error(ErrorCode::parse, "proxy " + std::string(what) + ": '" + name + "' is not a boolean");
    return m.GetBool();
}

std::uint64_t get_u64(const rapidjson::Value& v, const char* name, std::string_view what) {
    const auto& m = member(v, name, what);
    if (!m.IsUint64())
        throw Error(ErrorCode::parse, "proxy " + std::string(what) + ": '" + name + "' is not a size");
    return m.GetUint64();
}

TimePoint get_time(const rapidjson::Value& v, const char* name, std::string_view what) {
    const std::string text = get_string(v, name, what);
    if (text.empty()) return {};
    return parse_rfc3339(text);
}

std::optional<Retention> read_retention(const rapidjson::Value& v, std::string_view what) {
    const auto& r = member(v, "retention", what);
    if (r.IsNull()) return std::nullopt;
    if (!r.IsObject())
        throw Error(ErrorCode::parse, "proxy " + std::string(what) + ": 'retention' is not an object");
    return Retention{.mode = parse_lock_mode(get_string(r, "mode", what)),
                     .retain_until = parse_retention_date(get_string(r, "retain_until", what))};
}

std::string time_text(TimePoint t) { return t == TimePoint{} ? std::string{} : format_rfc3339_millis(t); }

}  // namespace

std::string put_result_json(const PutResult& result, const ObjectLock& applied, std::string_view uri) {
    json::Writer w;
    w.begin_object()
        .member("key", result.key)
        .member("version_id", result.version_id)
        .member("etag", result.etag)
        .member("sha256", result.sha256_hex)
        .member("uri", uri);
    put_retention(w, applied.retention);
    return w.member("legal_hold", applied.legal_hold).end_object().take();
}

PutResult parse_put_result(std::string_view body, ObjectLock& applied) {
    constexpr std::string_view what = "upload answer";
    const auto doc = parse_object(body, what);
    applied.retention = read_retention(doc, what);
    applied.legal_hold = get_bool(doc, "legal_hold", what);
    return PutResult{.key = get_string(doc, "key", what),
                     .version_id = get_string_or_empty(doc, "version_id", what),
                     .etag = get_string_or_empty(doc, "etag", what),
                     .sha256_hex = get_string_or_empty(doc, "sha256", what)};
}

std::string object_info_json(const ObjectInfo& info) {
    json::Writer w;
    w.begin_object()
        .member("key", info.key)
        .member("size", info.size)
        .member("etag", info.etag)
        .member("sha256", info.sha256_hex)
        .member("content_type", info.content_type);
    w.key("metadata").begin_object();
    for (const auto& [name, value] : info.metadata) w.member(name, value);
    w.end_object();
    put_retention(w, info.retention);
    return w.member("legal_hold", info.legal_hold)
        .member("version_id", info.version_id)
        .member("last_modified", time_text(info.last_modified))
        .end_object()
        .take();
}

ObjectInfo parse_object_info(std::string_view body) {
    constexpr std::string_view what = "head answer";
    const auto doc = parse_object(body, what);
    ObjectInfo info;
    info.key = get_string(doc, "key", what);
    info.size = get_u64(doc, "size", what);
    info.etag = get_string_or_empty(doc, "etag", what);
    info.sha256_hex = get_string_or_empty(doc, "sha256", what);
    info.content_type = get_string_or_empty(doc, "content_type", what);
    const auto& meta = member(doc, "metadata", what);
    if (!meta.IsObject()) throw Error(ErrorCode::parse, "proxy head answer: 'metadata' is not an object");
    for (auto it = meta.MemberBegin(); it != meta.MemberEnd(); ++it) {
        if (!it->value.IsString()) throw Error(ErrorCode::parse, "proxy head answer: a metadata value is not a string");
        info.metadata.emplace(it->name.GetString(), std::string(it->value.GetString(), it->value.GetStringLength()));
    }
    info.retention = read_retention(doc, what);
    info.legal_hold = get_bool(doc, "legal_hold", what);
    info.version_id = get_string_or_empty(doc, "version_id", what);
    info.last_modified = get_time(doc, "last_modified", what);
    return info;
}

std::string list_page_json(const ListPage& page) {
    json::Writer w;
    w.begin_object().key("objects").begin_array();
    for (const auto& o : page.objects)
        w.begin_object()
            .member("key", o.key)
            .member("size", o.size)
            .member("etag", o.etag)
            .member("last_modified", time_text(o.last_modified))
            .end_object();
    w.end_array().key("common_prefixes").begin_array();
    for (const auto& p : page.common_prefixes) w.value(p);
    return w.end_array().member("next_continuation_token", page.next_continuation_token).end_object().take();
}

ListPage parse_list_page(std::string_view body) {
    constexpr std::string_view what = "list answer";
    const auto doc = parse_object(body, what);
    ListPage page;
    const auto& objects = member(doc, "objects", what);
    const auto& prefixes = member(doc, "common_prefixes", what);
    if (!objects.IsArray() || !prefixes.IsArray())
        throw Error(ErrorCode::parse, "proxy list answer: 'objects' and 'common_prefixes' must be arrays");
    for (const auto& o : objects.GetArray()) {
        if (!o.IsObject()) throw Error(ErrorCode::parse, "proxy list answer: an object entry is not an object");
        page.objects.push_back(ObjectSummary{.key = get_string(o, "key", what),
                                             .size = get_u64(o, "size", what),
                                             .etag = get_string_or_empty(o, "etag", what),
                                             .last_modified = get_time(o, "last_modified", what)});
    }
    for (const auto& p : prefixes.GetArray()) {
        if (!p.IsString()) throw Error(ErrorCode::parse, "proxy list answer: a common prefix is not a string");
        page.common_prefixes.emplace_back(p.GetString(), p.GetStringLength());
    }
    page.next_continuation_token = get_string_or_empty(doc, "next_continuation_token", what);
    return page;
}

std::string retention_json(const std::optional<Retention>& retention) {
    json::Writer w;
    w.begin_object();
    put_retention(w, retention);
    return w.end_object().take();
}

std::optional<Retention> parse_retention(std::string_view body) {
    return read_retention(parse_object(body, "retention answer"), "retention answer");
}

std::string retention_request_json(const Retention& retention, bool bypass_governance) {
    json::Writer w;
    return w.begin_object()
        .member("mode", to_string(retention.mode))
        .member("retain_until", format_rfc3339_millis(retention.retain_until))
        .member("bypass_governance", bypass_governance)
        .end_object()
        .take();
}

Retention parse_retention_request(std::string_view body, bool& bypass_governance) {
    constexpr std::string_view what = "retention request body";
    const auto doc = parse_object(body, what);
    bypass_governance = false;
    if (auto it = doc.FindMember("bypass_governance"); it != doc.MemberEnd())
        bypass_governance = get_bool(doc, "bypass_governance", what);
    return Retention{.mode = parse_lock_mode(get_string(doc, "mode", what)),
                     .retain_until = parse_retention_date(get_string(doc, "retain_until", what))};
}

std::string legal_hold_json(bool on) {
    return json::Writer().begin_object().member("legal_hold", on).end_object().take();
}

bool parse_legal_hold(std::string_view body) {
    const auto doc = parse_object(body, "legal hold body");
    return get_bool(doc, "legal_hold", "legal hold body");
}

}  // namespace worm::proxy
