// The audit's two sources: an ObjectStore and a local evidence directory.
#include "audit_source.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/s3/store.hpp"

#include "../s3/client_internal.hpp"
#include "../util/posix.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;

namespace {

class StoreSource final : public AuditSource {
public:
    StoreSource(std::shared_ptr<ObjectStore> store, std::string url) : store_(std::move(store)), url_(std::move(url)) {}

    // An S3 store is listed by version (one listing, as many requests as a plain one), so a
    // bundle rewritten under the same key, or deleted behind a delete marker, is seen.
    std::vector<SourceEntry> list(const std::string& prefix) override {
        std::vector<SourceEntry> out;
        auto* s3 = dynamic_cast<s3::S3Store*>(store_.get());
        if (!s3) {
            for (const auto& o : store_->list_all(prefix)) out.push_back({o.key, o.last_modified});
            return out;
        }
        s3::ListVersionsOptions listing;
        listing.bucket = s3->bucket();
        listing.prefix = s3->prefix() + prefix;
        std::map<std::string, SourceEntry> by_key;
        for (const auto& v : s3->client().list_all_object_versions(listing)) {
            if (v.key.size() <= s3->prefix().size()) continue;
            SourceEntry& e = by_key[v.key];
            e.key = v.key.substr(s3->prefix().size());
            if (v.is_latest) {
                e.deleted = v.delete_marker;
                if (!v.delete_marker) e.last_modified = v.last_modified;
            } else if (!v.delete_marker) {
                e.older_versions.push_back(v.version_id);
            }
        }
        out.reserve(by_key.size());
        for (auto& [key, entry] : by_key) out.push_back(std::move(entry));
        return out;
    }

    TimePoint last_modified(const SourceEntry& entry) override {
        return entry.last_modified ? *entry.last_modified : store_->head(entry.key).last_modified;
    }

    FetchedObject fetch(const std::string& key, const std::string& version_id) override {
        const std::optional<std::string> version = version_id.empty() ? std::nullopt : std::optional(version_id);
        if (auto* s3 = dynamic_cast<s3::S3Store*>(store_.get())) return fetch_s3(*s3, key, version);
        const ObjectInfo info = store_->head(key, version);
        FetchedObject f;
        GetOptions get;
        if (!info.version_id.empty()) get.version_id = info.version_id;
        f.bytes = store_->get(key, get);
        fill(f, info.retention, info.legal_hold, info.version_id, info.last_modified, info.sha256_hex, info.metadata);
        return f;
    }

    bool has_locks() const override { return true; }

    void describe(AuditReport& report) const override {
        report.source = url_.empty() ? uri_base() : url_;
        if (auto* s3 = dynamic_cast<s3::S3Store*>(store_.get())) {
            report.endpoint = s3->client().config().endpoint;
            report.bucket = s3->bucket();
        }
    }

    std::string uri_base() const override {
        // uri() of a probe key, minus the probe: the part every key's URI starts with.
        static constexpr std::string_view probe = "worm-audit-probe";
        try {
            const std::string u = store_->uri(std::string(probe));
            if (u.ends_with(probe)) return u.substr(0, u.size() - probe.size());
        } catch (const Error&) {
        }
        return "";
    }

private:
    static void fill(FetchedObject& f, const std::optional<Retention>& retention, bool legal_hold, const std::string& version_id,
                     TimePoint last_modified, const std::string& sha256_hex, const std::map<std::string, std::string>& metadata) {
        f.lock = {.retention = retention, .legal_hold = legal_hold, .version_id = version_id, .last_modified = last_modified};
        f.store_sha256_hex = sha256_hex;
        if (auto it = metadata.find("sha256"); it != metadata.end()) f.metadata_sha256_hex = it->second;
    }

    // One GET: its headers carry the version, lock, legal hold and checksum of the very bytes
    // it returns (no HEAD before it, no race between the two). Only a GET that shows no
    // retention is followed by a HEAD, in case the server leaves lock headers off GETs.
    static FetchedObject fetch_s3(s3::S3Store& s3, const std::string& key, const std::optional<std::string>& version) {
        s3::GetObjectOptions get;
        get.bucket = s3.bucket();
        get.key = s3.prefix() + key;
        get.version_id = version;
        s3::GetObjectResult r = s3.client().get_object(get);
        FetchedObject f;
        f.bytes = std::move(r.body);
        if (!r.head.retention) {
            const ObjectInfo info = s3.head(key, r.head.version_id.empty() ? version : std::optional(r.head.version_id));
            r.head.retention = info.retention;
            r.head.legal_hold = info.legal_hold;
        }
        fill(f, r.head.retention, r.head.legal_hold, r.head.version_id, r.head.last_modified,
             s3::detail::checksum_base64_to_hex(r.head.checksum_sha256.empty() ? std::nullopt : std::optional(r.head.checksum_sha256)),
             r.head.metadata);
        return f;
    }

    std::shared_ptr<ObjectStore> store_;
    std::string url_;
};

class DirectorySource final : public AuditSource {
public:
    explicit DirectorySource(fs::path dir) : dir_(std::move(dir)) {
        if (!fs::is_directory(dir_)) throw Error(ErrorCode::not_found, "evidence directory " + dir_.string() + " does not exist");
    }

    std::vector<SourceEntry> list(const std::string& prefix) override {
        std::vector<SourceEntry> out;
        list_below(dir_.string(), "", prefix, out);
        return out;
    }

    TimePoint last_modified(const SourceEntry& entry) override {
        struct ::stat st {};
        const fs::path path = dir_ / entry.key;
        if (::stat(path.c_str(), &st) != 0) worm::detail::io_error("cannot read the time of", path, errno);
        const auto mtime = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                 std::chrono::nanoseconds(st.st_mtim.tv_nsec));
        return std::chrono::time_point_cast<TimePoint::duration>(mtime);
    }

    FetchedObject fetch(const std::string& key, const std::string& /*version_id: a directory keeps none*/) override {
        FetchedObject f;
        f.bytes = read_file(dir_ / key);
        return f;
    }

    bool has_locks() const override { return false; }
    void describe(AuditReport& report) const override { report.source = dir_.string(); }
    std::string uri_base() const override { return ""; }

private:
    // DT_REG, DT_DIR or DT_LNK for a name readdir gave no type, or (following a link:
    // one to a file is a file, as fs::is_regular_file says; one to a directory is not
    // walked, nor was it by the directory iterator) DT_REG or DT_UNKNOWN. DT_UNKNOWN too
    // for a file gone since it was listed.
    static unsigned char type_of(const std::string& path, bool is_link) {
        struct ::stat st {};
        if (!is_link) {
            if (::lstat(path.c_str(), &st) != 0) return DT_UNKNOWN;
            if (S_ISREG(st.st_mode)) return DT_REG;
            if (S_ISDIR(st.st_mode)) return DT_DIR;
            if (!S_ISLNK(st.st_mode)) return DT_UNKNOWN;
        }
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }

    // Appends the regular files below `path` (whose key starts with `key_base`) to out. A
    // plain readdir walk: the file type comes with the name (d_type), so a file costs no
    // stat and no fs::path parsing; a listing of 100,000 files was a serial part of every
    // audit that the workers waited for.
    static void list_below(const std::string& path, const std::string& key_base, const std::string& prefix,
                           std::vector<SourceEntry>& out) {
        DIR* d = ::opendir(path.c_str());
        if (!d) worm::detail::io_error("cannot list", path, errno);
        const std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
        std::vector<std::string> subdirectories;
        while (const dirent* e = ::readdir(d)) {
            const std::string_view name = e->d_name;
            // Hidden files are the directory's own bookkeeping (registry, id counter), and
            // "." and "..".
            if (name.starts_with(".")) continue;
            std::string key = key_base;
            key += name;
            // A subdirectory's keys may still start with prefix even when its own name is
            // shorter than prefix: only a key already past the prefix's length can rule it out.
            const bool may_match = key.size() >= prefix.size() ? key.starts_with(prefix) : prefix.starts_with(key);
            if (!may_match) continue;
            unsigned char type = e->d_type;
            if (type == DT_UNKNOWN || type == DT_LNK) type = type_of(path + "/" + std::string(name), type == DT_LNK);
            if (type == DT_DIR) subdirectories.push_back(std::move(key));
            else if (type == DT_REG && key.starts_with(prefix)) out.push_back({std::move(key), std::nullopt});
        }
        for (const std::string& sub : subdirectories)
            list_below(path + "/" + sub.substr(key_base.size()), sub + "/", prefix, out);
    }

    fs::path dir_;
};

}  // namespace

std::unique_ptr<AuditSource> make_store_source(std::shared_ptr<ObjectStore> store, std::string url) {
    return std::make_unique<StoreSource>(std::move(store), std::move(url));
}

std::unique_ptr<AuditSource> make_directory_source(const fs::path& dir) {
    return std::make_unique<DirectorySource>(dir);
}

}  // namespace worm::compliance
