// The sink's entry for a record already held as a RapidJSON value, for callers inside the
// project that build records as documents (the Python handler, the benchmark): the public
// header stays free of RapidJSON, and log_json() would parse the text again.
#pragma once

#include <rapidjson/document.h>

#include "worm/audit_log.hpp"
#include "worm/export.hpp"

namespace worm::audit_log::detail {

// AuditLogSink::log_json() for a parsed record: the same checks, filling and errors.
WORM_API bool log_value(AuditLogSink& sink, const rapidjson::Value& record);

// The sink's core for log_value (a friend of AuditLogSink).
struct SinkAccess {
    static auto& core(AuditLogSink& sink) { return *sink.core_; }
};

}  // namespace worm::audit_log::detail
