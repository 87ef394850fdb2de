// Small helpers for reading JSON inputs with messages that name the JSON pointer.
#include <string>

#include "worm/json.hpp"

namespace worm::json {

std::string pointer_append(std::string_view pointer, std::string_view token) {
    std::string out(pointer);
    out += '/';
    for (const char c : token) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

std::string pointer_append(std::string_view pointer, std::size_t index) {
    return std::string(pointer) + "/" + std::to_string(index);
}

std::string_view type_name(const rapidjson::Value& value) {
    switch (value.GetType()) {
        case rapidjson::kNullType: return "null";
        case rapidjson::kFalseType:
        case rapidjson::kTrueType: return "boolean";
        case rapidjson::kNumberType: return value.IsDouble() ? "number" : "integer";
        case rapidjson::kStringType: return "string";
        case rapidjson::kArrayType: return "array";
        case rapidjson::kObjectType: return "object";
    }
    return "unknown";
}

const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name) {
    if (!object.IsObject()) return nullptr;
    const auto it = object.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
    return it == object.MemberEnd() ? nullptr : &it->value;
}

namespace {

[[noreturn]] void wrong(ErrorCode code, std::string_view pointer, std::string_view name, const std::string& why) {
    throw Error(code, pointer_append(pointer, name) + ": " + why);
}

}  // namespace

const rapidjson::Value& require_member(const rapidjson::Value& object, std::string_view name,
                                       std::string_view pointer, ErrorCode code) {
    if (!object.IsObject())
        throw Error(code, std::string(pointer.empty() ? "/" : pointer) + ": must be an object, got " +
                              std::string(type_name(object)));
    const rapidjson::Value* v = find_member(object, name);
    if (!v) wrong(code, pointer, name, "missing");
    return *v;
}

const rapidjson::Value& require_object(const rapidjson::Value& object, std::string_view name,
                                       std::string_view pointer, ErrorCode code) {
    const rapidjson::Value& v = require_member(object, name, pointer, code);
    if (!v.IsObject()) wrong(code, pointer, name, "must be an object, got " + std::string(type_name(v)));
    return v;
}

const rapidjson::Value& require_array(const rapidjson::Value& object, std::string_view name,
                                      std::string_view pointer, ErrorCode code) {
    const rapidjson::Value& v = require_member(object, name, pointer, code);
    if (!v.IsArray()) wrong(code, pointer, name, "must be an array, got " + std::string(type_name(v)));
    return v;
}

std::string require_string(const rapidjson::Value& object, std::string_view name, std::string_view pointer,
                           ErrorCode code) {
    const rapidjson::Value& v = require_member(object, name, pointer, code);
    if (!v.IsString()) wrong(code, pointer, name, "must be a string, got " + std::string(type_name(v)));
    return std::string(v.GetString(), v.GetStringLength());
}

std::int64_t require_int64(const rapidjson::Value& object, std::string_view name, std::string_view pointer,
                           ErrorCode code) {
    const rapidjson::Value& v = require_member(object, name, pointer, code);
    if (!v.IsInt64()) wrong(code, pointer, name, "must be an integer, got " + std::string(type_name(v)));
    return v.GetInt64();
}

rapidjson::Value make_string(std::string_view text, rapidjson::Document::AllocatorType& allocator) {
    return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

}  // namespace worm::json
