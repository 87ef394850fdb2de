// Log levels as the sink reads them from records (log_level.hpp): log() parses every
// record's level, so the parser is inline.
#pragma once

#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "worm/audit_log.hpp"

namespace worm::audit_log::detail {

// The names parse_log_level() takes; nullopt for any other text.
inline std::optional<LogLevel> try_parse_log_level(std::string_view text) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "DEBUG") return LogLevel::debug;
    if (upper == "INFO") return LogLevel::info;
    if (upper == "WARNING" || upper == "WARN") return LogLevel::warning;
    if (upper == "ERROR") return LogLevel::error;
    if (upper == "CRITICAL" || upper == "FATAL") return LogLevel::critical;
    return std::nullopt;
}

}  // namespace worm::audit_log::detail
