// json_output.hpp: reading the JSON a command printed (`worm ... --json`) in tests.
#pragma once

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <string>

namespace worm::test {

// The printed text as a JSON object; fails the test when it is not one.
inline rapidjson::Document parse_json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str(), text.size());
    if (d.HasParseError() || !d.IsObject()) FAIL("not a JSON object: " << text);
    return d;
}

// v[name] as a string; fails the test when it is missing or not a string.
inline std::string str(const rapidjson::Value& v, const char* name) {
    if (!v.HasMember(name) || !v[name].IsString()) FAIL("no string member " << name);
    return v[name].GetString();
}

}  // namespace worm::test
