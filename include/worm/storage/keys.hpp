// storage/keys.hpp: what an object key may look like, for every store (client ids: ids.hpp).
//
// Keys are S3 keys, but every store also has to be safe to mirror onto a file system
// (the local store does, and tools copy buckets to disk), so the rules are stricter than
// S3's: no way to name a parent directory, an absolute path, or a Windows separator.
//
// Example:
//   worm::validate_object_key("evidence/clinic-001/2026/11/EB-20261122-0001.json");  // fine
//   worm::validate_client_id("clinic-001");                                            // fine
//   // worm::validate_object_key("../etc/passwd") throws Error(invalid_argument)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "worm/export.hpp"
#include "worm/ids.hpp"

namespace worm {

inline constexpr std::size_t max_object_key_bytes = 1024;

// Throws Error(invalid_argument) naming the (escaped) key unless it is:
// non-empty, at most 1024 bytes, valid UTF-8, free of NUL and control characters
// (C0, DEL, C1), not absolute ("/..."), without backslashes, and without empty, "."
// or ".." segments ("a//b", "./a", "a/../b", "a/" are all refused).
WORM_API void validate_object_key(std::string_view key);

// Client ids (validate_client_id) have their one rule in worm/ids.hpp.

// Throws Error(invalid_argument) when a version id is given but empty (leave it unset
// for the latest version) or holds control characters; version ids are otherwise opaque.
WORM_API void validate_version_id(const std::optional<std::string>& version_id);

// The key quoted for an error message: control characters, quotes, backslashes and
// bytes of invalid UTF-8 become \xNN escapes; very long keys are cut with "...".
WORM_API std::string quote_key(std::string_view key);

}  // namespace worm
