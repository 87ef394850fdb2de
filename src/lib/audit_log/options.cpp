// AuditLogOptions, log levels and the sink's settings from the environment (audit_log.hpp).
#include <algorithm>

#include "log_level.hpp"
#include "worm/audit_log.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/signer.hpp"

#include "../util/env.hpp"

namespace worm {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
namespace al = audit_log;
using al::detail::try_parse_log_level;

std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO";
        case LogLevel::warning: return "WARNING";
        case LogLevel::error: return "ERROR";
        case LogLevel::critical: return "CRITICAL";
    }
    return "INFO";
}


LogLevel parse_log_level(std::string_view text) {
    if (auto level = try_parse_log_level(text)) return *level;
    throw Error(ErrorCode::invalid_argument,
                "unknown log level '" + std::string(text.substr(0, 32)) + "' (DEBUG, INFO, WARNING, ERROR, CRITICAL)");
}

AuditLogOptions AuditLogOptions::compliance(std::string service_name) {
    AuditLogOptions o;
    o.service_name = std::move(service_name);
    o.max_records = 5;
    o.max_interval = milliseconds(15'000);
    return o;
}

AuditLogOptions AuditLogOptions::high_volume(std::string service_name) {
    AuditLogOptions o;
    o.service_name = std::move(service_name);
    o.max_records = 50;
    o.max_interval = milliseconds(60'000);
    o.min_level = LogLevel::warning;
    return o;
}

namespace {
constexpr std::uint64_t min_journal_cap = 64 * 1024;
}  // namespace

void AuditLogOptions::validate() const {
    auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "AuditLogOptions: " + what); };
    if (service_name.empty()) bad("service_name is empty");
    if (max_records == 0) bad("max_records must be at least 1");
    if (max_bytes == 0) bad("max_bytes must be at least 1");
    if (max_interval.count() <= 0) bad("max_interval must be positive");
    if (retention_days < 0) bad("retention_days must not be negative");
    if (fsync_interval.count() < 0) bad("fsync_interval must not be negative");
    if (advanced.journal_segment_bytes == 0) bad("advanced.journal_segment_bytes must be at least 1");
    if (advanced.journal_ring_bytes < 64 * 1024) bad("advanced.journal_ring_bytes must be at least 64 KiB");
    if (clock == nullptr) bad("clock is null");
    if (max_journal_bytes < min_journal_cap)
        bad("max_journal_bytes must be at least 64 KiB (the journal frees disk a segment at a time, and a segment "
            "holds a quarter of the cap)");
    if (checkpoint_batches == 0) bad("checkpoint_batches must be at least 1");
    if (checkpoint_interval.count() <= 0) bad("checkpoint_interval must be positive");
    if (retry_initial.count() <= 0 || retry_max < retry_initial) bad("retry_initial must be positive and <= retry_max");
    if (block_timeout.count() < 0 || close_timeout.count() < 0 || close_max_wait.count() < 0)
        bad("timeouts must not be negative");
    if (max_retries < 1) bad("max_retries must be at least 1");
    if (max_in_flight < 1 || max_in_flight > 64) bad("max_in_flight must be 1 to 64");
    if (prefix.find("//") != std::string::npos || (!prefix.empty() && prefix.front() == '/'))
        bad("prefix must be a relative key prefix without empty segments");
}

fs::path default_journal_dir(std::string_view service_name, std::string_view store_uri, std::string_view prefix) {
    fs::path base;
    if (const std::string dir = detail::env_or_empty("WORM_LOG_JOURNAL_DIR"); !dir.empty()) {
        base = dir;
    } else if (const std::string state = detail::env_or_empty("XDG_STATE_HOME"); !state.empty()) {
        base = fs::path(state) / "worm" / "audit-journal";
    } else {
        const std::string home = detail::env_or_empty("HOME");
        base = fs::path(home.empty() ? "/tmp" : home) / ".local" / "state" / "worm" / "audit-journal";
    }
    const std::string digest = sha256_hex(std::string(store_uri) + "\n" + std::string(prefix)).substr(0, 12);
    return base / (al::key_safe_request_id(service_name) + "-" + digest);
}

std::shared_ptr<ObjectStore> witness_store_from_env() {
    const std::string url = detail::env_or_empty("WORM_LOG_WITNESS_STORE");
    if (url.empty()) return nullptr;
    return open_store(url);
}

std::shared_ptr<const Ed25519PrivateKey> signing_key_from_env() {
    const std::string path = detail::env_or_empty("WORM_LOG_SIGNING_KEY");
    if (path.empty()) return nullptr;
    return std::make_shared<const Ed25519PrivateKey>(load_private_key(path, key_password_from_env()));
}

}  // namespace worm
