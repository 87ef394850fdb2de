// json_build.hpp: terse helpers for building the compliance documents (reports,
// certificates, Sigstore bundles) as RapidJSON values, written with json::to_pretty.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "worm/json.hpp"
#include "worm/time.hpp"

namespace worm::compliance::detail {

using Alloc = rapidjson::Document::AllocatorType;

inline rapidjson::Value str(std::string_view s, Alloc& a) { return json::make_string(s, a); }

inline void put(rapidjson::Value& obj, std::string_view name, rapidjson::Value value, Alloc& a) {
    obj.AddMember(json::make_string(name, a), value, a);
}
inline void put(rapidjson::Value& obj, std::string_view name, std::string_view text, Alloc& a) {
    put(obj, name, str(text, a), a);
}
inline void put(rapidjson::Value& obj, std::string_view name, const char* text, Alloc& a) {
    put(obj, name, str(text, a), a);
}
inline void put(rapidjson::Value& obj, std::string_view name, const std::string& text, Alloc& a) {
    put(obj, name, str(text, a), a);
}
inline void put_int(rapidjson::Value& obj, std::string_view name, std::int64_t n, Alloc& a) {
    put(obj, name, rapidjson::Value(static_cast<int64_t>(n)), a);
}
inline void put_bool(rapidjson::Value& obj, std::string_view name, bool b, Alloc& a) {
    put(obj, name, rapidjson::Value(b), a);
}
// An RFC 3339 time, or null when absent.
inline void put_time(rapidjson::Value& obj, std::string_view name, const std::optional<TimePoint>& t, Alloc& a) {
    put(obj, name, t ? str(format_rfc3339(*t), a) : rapidjson::Value(rapidjson::kNullType), a);
}
inline void put_retention_date(rapidjson::Value& obj, std::string_view name, const std::optional<RetentionDate>& t,
                               Alloc& a) {
    put(obj, name, t ? str(format_rfc3339(*t), a) : rapidjson::Value(rapidjson::kNullType), a);
}

// Optional readers for documents this library wrote (missing or mistyped: fallback).
inline std::string get_string(const rapidjson::Value& obj, std::string_view name, std::string fallback = "") {
    const auto* v = json::find_member(obj, name);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : fallback;
}
inline std::int64_t get_int(const rapidjson::Value& obj, std::string_view name, std::int64_t fallback = 0) {
    const auto* v = json::find_member(obj, name);
    return v && v->IsInt64() ? v->GetInt64() : fallback;
}

}  // namespace worm::compliance::detail
