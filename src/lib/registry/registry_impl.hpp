// registry_impl.hpp (private): UploadRegistry's state, shared by registry.cpp and
// registry_json.cpp. One connection per UploadRegistry, its calls serialised by mutex
// (the uploader's worker threads share one registry).
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "sqlite.hpp"
#include "worm/registry.hpp"

namespace worm {

namespace detail {

extern const char* const record_columns;
RegistryRecord read_record(const SqliteQuery& q);

struct RegistryImpl {
    RegistryImpl(const std::filesystem::path& db_path, RegistryOptions options);

    RegistryOptions options;
    const Clock* clock;
    SqliteDb db;
    std::mutex mutex;

    std::int64_t user_version();
    void migrate();
    std::string now_text() const;
    std::optional<RegistryRecord> get(const std::string& bundle_id);
    RegistryRecord require(const std::string& bundle_id);
    void check_new_record(const RegistryRecord& r) const;
    bool insert_or_check(const RegistryRecord& r, UploadStatus status);
    void set_meta(const std::string& key, const std::string& value);
    std::optional<std::string> meta(const std::string& key);
    RegistryCounts counts();
    std::optional<TimePoint> oldest_backlog();
};

}  // namespace detail

struct UploadRegistry::Impl : detail::RegistryImpl {
    using detail::RegistryImpl::RegistryImpl;
};

}  // namespace worm
