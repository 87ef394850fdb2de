// Import and export of the Python agents' `.upload_registry.json`: an object mapping a
// bundle id to a record. Fields libworm knows map to columns; everything else (and a
// known field whose type libworm does not use, e.g. `attempts` as a list or `uploaded_at`
// as epoch seconds) is kept verbatim in extra_json and written back on export, until
// libworm itself changes that field. Times are kept as the agent spelled them too.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>
#include <optional>
#include <set>

#include "registry_impl.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"

namespace worm {

namespace {

using rapidjson::Value;

const std::set<std::string, std::less<>> string_fields = {
    "client_id", "bundle_path", "sig_path", "bundle_sha256", "sig_sha256", "bundle_uri",
    "sig_uri", "bundle_version_id", "sig_version_id", "last_error"};
const std::set<std::string, std::less<>> time_fields = {"created_at", "updated_at", "uploaded_at"};

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& pointer, const std::string& what) {
    throw Error(ErrorCode::parse, file.string() + ": " + pointer + " " + what);
}

std::string* string_member(RegistryRecord& r, std::string_view name) {
    if (name == "client_id") return &r.client_id;
    if (name == "bundle_path") return &r.bundle_path;
    if (name == "sig_path") return &r.sig_path;
    if (name == "bundle_sha256") return &r.bundle_sha256;
    if (name == "sig_sha256") return &r.sig_sha256;
    if (name == "bundle_uri") return &r.bundle_uri;
    if (name == "sig_uri") return &r.sig_uri;
    if (name == "bundle_version_id") return &r.bundle_version_id;
    if (name == "sig_version_id") return &r.sig_version_id;
    if (name == "last_error") return &r.last_error;
    return nullptr;
}

// Epoch seconds as a TimePoint; nullopt outside what one holds (int64 nanoseconds, 1677 to
// 2262), where the conversion would overflow (found by fuzz_registry_import).
std::optional<TimePoint> from_epoch_seconds(double s) {
    using namespace std::chrono;
    const double limit = static_cast<double>(floor<seconds>(TimePoint::max()).time_since_epoch().count());
    if (!(std::abs(s) < limit)) return std::nullopt;
    return TimePoint(duration_cast<TimePoint::duration>(duration<double>(s)));
}

// "evidence/{client_id}/..." inside a URI: the client id when the agent did not store one.
std::string client_from_uri(const std::string& uri) {
    const auto at = uri.find("evidence/");
    if (at == std::string::npos) return {};
    const auto start = at + 9, end = uri.find('/', start);
    return end == std::string::npos ? std::string() : uri.substr(start, end - start);
}

RegistryRecord record_from_json(const std::filesystem::path& file, const std::string& id, const Value& v,
                                TimePoint now) {
    const std::string pointer = "/" + id;
    if (!v.IsObject()) bad(file, pointer, "is not an object");
    RegistryRecord r;
    r.bundle_id = id;
    json::Writer extra;
    extra.begin_object();
    auto keep = [&](const Value& name, const Value& value) {
        extra.key(std::string_view(name.GetString(), name.GetStringLength())).value(value);
    };
    std::optional<std::string> status_text;
    for (const auto& m : v.GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        const Value& value = m.value;
        if (std::string* field = string_member(r, name); field && value.IsString()) {
            *field = value.GetString();
        } else if (name == "status" && value.IsString()) {
            status_text = value.GetString();
        } else if (time_fields.count(name) && value.IsString()) {
            TimePoint t;
            try {
                t = parse_rfc3339(value.GetString());
            } catch (const Error&) {
                bad(file, pointer + "/" + std::string(name), "is not an RFC 3339 time: '" + std::string(value.GetString()) + "'");
            }
            if (name == "created_at") r.created_at = t;
            else if (name == "updated_at") r.updated_at = t;
            else r.uploaded_at = t;
            keep(m.name, value);  // the agent's spelling ("+00:00", microseconds) comes back as written
        } else if (time_fields.count(name) && value.IsNumber() && std::isfinite(value.GetDouble())) {
            // Epoch seconds (Python's time.time()): understood, and kept as written.
            const std::optional<TimePoint> seconds = from_epoch_seconds(value.GetDouble());
            if (!seconds) bad(file, pointer + "/" + std::string(name), "is epoch seconds outside the years 1677 to 2262");
            const TimePoint t = *seconds;
            if (name == "created_at") r.created_at = t;
            else if (name == "updated_at") r.updated_at = t;
            else r.uploaded_at = t;
            keep(m.name, value);
        } else if (name == "attempts" && value.IsInt64() && value.GetInt64() >= 0) {
            r.attempts = value.GetInt64();
        } else if (name == "attempts" && value.IsArray()) {
            r.attempts = value.Size();
            keep(m.name, value);
        } else {
            if (name == "bundle_id" && (!value.IsString() || id != value.GetString()))
                bad(file, pointer + "/bundle_id", "does not match its key");
            // Aliases older agents used; kept as they are, and understood.
            if (name == "s3_uri" && value.IsString() && !v.HasMember("bundle_uri")) r.bundle_uri = value.GetString();
            if (name == "sha256" && value.IsString() && !v.HasMember("bundle_sha256")) r.bundle_sha256 = value.GetString();
            keep(m.name, value);
        }
    }
    if (status_text) {
        try {
            r.status = parse_upload_status(*status_text);
        } catch (const Error&) {
            bad(file, pointer + "/status", "must be pending, uploading, uploaded or failed, got '" + *status_text + "'");
        }
    } else {
        r.status = r.bundle_uri.empty() ? UploadStatus::pending : UploadStatus::uploaded;
    }
    if (r.status == UploadStatus::uploaded && !r.uploaded_at) r.uploaded_at = r.updated_at != TimePoint{} ? r.updated_at : now;
    if (r.created_at == TimePoint{}) r.created_at = r.uploaded_at.value_or(now);
    if (r.client_id.empty()) r.client_id = client_from_uri(r.bundle_uri);
    // Hashes the agent did not record: take them from the files when they are still there.
    std::error_code ec;
    if (r.bundle_sha256.empty() && !r.bundle_path.empty() && std::filesystem::is_regular_file(r.bundle_path, ec))
        r.bundle_sha256 = to_hex(sha256_file(r.bundle_path));
    if (r.sig_sha256.empty() && !r.sig_path.empty() && std::filesystem::is_regular_file(r.sig_path, ec))
        r.sig_sha256 = to_hex(sha256_file(r.sig_path));
    r.extra_json = extra.end_object().take();
    return r;
}

}  // namespace

ImportResult UploadRegistry::import_json(const std::filesystem::path& json_path) {
    const std::string text = read_file(json_path);
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError())
        throw Error(ErrorCode::parse, json_path.string() + ": invalid JSON at offset " +
                                          std::to_string(doc.GetErrorOffset()) + ": " +
                                          rapidjson::GetParseError_En(doc.GetParseError()));
    if (!doc.IsObject()) throw Error(ErrorCode::parse, json_path.string() + ": the top level is not an object");

    std::vector<RegistryRecord> records;
    const TimePoint now = impl_->clock->now();
    for (const auto& m : doc.GetObject())
        records.push_back(record_from_json(json_path, std::string(m.name.GetString(), m.name.GetStringLength()),
                                           m.value, now));

    ImportResult result;
    std::lock_guard lock(impl_->mutex);
    detail::WriteTransaction tx(impl_->db);
    for (const auto& r : records) {
        const auto existing = impl_->get(r.bundle_id);
        if (!existing) {
            impl_->insert_or_check(r, r.status);
            ++result.imported;
            continue;
        }
        impl_->insert_or_check(r, r.status);  // throws Error(integrity) on a different sha256
        if (r.status == UploadStatus::uploaded && existing->status != UploadStatus::uploaded) {
            auto q = impl_->db.query(
                "UPDATE bundles SET status = 'uploaded', bundle_uri = ?2, sig_uri = ?3, bundle_version_id = ?4, "
                "sig_version_id = ?5, uploaded_at = ?6, updated_at = ?7 WHERE bundle_id = ?1");
            q.bind(1, r.bundle_id).bind(2, r.bundle_uri).bind(3, r.sig_uri).bind(4, r.bundle_version_id);
            q.bind(5, r.sig_version_id).bind(6, format_rfc3339_millis(r.uploaded_at.value_or(now)));
            q.bind(7, impl_->now_text()).run();
            ++result.updated;
        } else {
            ++result.unchanged;
        }
    }
    tx.commit();
    return result;
}

void UploadRegistry::export_json(const std::filesystem::path& json_path) {
    json::Writer w(json::Writer::Style::pretty);
    w.begin_object();
    {
        std::lock_guard lock(impl_->mutex);
        // One read transaction: a consistent snapshot even while other processes write.
        impl_->db.exec("BEGIN");
        try {
            auto q = impl_->db.query(std::string("SELECT ") + detail::record_columns +
                                     " FROM bundles ORDER BY bundle_id");
            while (q.step()) {
                const RegistryRecord r = detail::read_record(q);
                rapidjson::Document extra;
                extra.Parse(r.extra_json.c_str());
                if (extra.HasParseError() || !extra.IsObject())
                    throw Error(ErrorCode::integrity, "upload registry row " + r.bundle_id + " has malformed extra_json");
                auto put_string = [&](const char* name, std::string_view value) {
                    if (extra.HasMember(name)) return;  // the agent's own form wins until libworm changes it
                    w.member(name, value);
                };
                w.key(r.bundle_id).begin_object();
                put_string("client_id", r.client_id);
                put_string("bundle_path", r.bundle_path);
                put_string("sig_path", r.sig_path);
                put_string("bundle_sha256", r.bundle_sha256);
                put_string("sig_sha256", r.sig_sha256);
                put_string("status", to_string(r.status));
                put_string("bundle_uri", r.bundle_uri);
                put_string("sig_uri", r.sig_uri);
                put_string("bundle_version_id", r.bundle_version_id);
                put_string("sig_version_id", r.sig_version_id);
                put_string("created_at", format_rfc3339_millis(r.created_at));
                put_string("updated_at", format_rfc3339_millis(r.updated_at));
                if (r.uploaded_at) put_string("uploaded_at", format_rfc3339_millis(*r.uploaded_at));
                if (!extra.HasMember("attempts")) w.member("attempts", r.attempts);
                put_string("last_error", r.last_error);
                for (const auto& m : extra.GetObject())
                    w.key(std::string_view(m.name.GetString(), m.name.GetStringLength())).value(m.value);
                w.end_object();
            }
            impl_->db.exec("COMMIT");
        } catch (...) {
            try {
                impl_->db.exec("ROLLBACK");
            } catch (...) {
            }
            throw;
        }
    }
    write_file_atomic(json_path, w.end_object().take());
}

}  // namespace worm
