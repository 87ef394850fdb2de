// json_read.hpp: terse readers for the compliance documents (reports, certificates,
// Sigstore bundles), which are written with json::Writer.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "worm/json.hpp"

namespace worm::compliance::detail {

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
