// The audit's two sources: an ObjectStore and a local evidence directory.
#include "audit_source.hpp"

#include <sys/stat.h>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/s3/store.hpp"

namespace worm::compliance {

namespace fs = std::filesystem;

namespace {

class StoreSource final : public AuditSource {
public:
    StoreSource(std::shared_ptr<ObjectStore> store, std::string url) : store_(std::move(store)), url_(std::move(url)) {}

    std::vector<SourceEntry> list(const std::string& prefix) override {
        std::vector<SourceEntry> out;
        for (const auto& o : store_->list_all(prefix)) out.push_back({o.key, o.size, o.last_modified});
        return out;
    }

    FetchedObject fetch(const std::string& key) override {
        const ObjectInfo info = store_->head(key);
        FetchedObject f;
        GetOptions get;
        if (!info.version_id.empty()) get.version_id = info.version_id;
        f.bytes = store_->get(key, get);
        f.lock = {.retention = info.retention,
                  .legal_hold = info.legal_hold,
                  .version_id = info.version_id,
                  .last_modified = info.last_modified};
        f.store_sha256_hex = info.sha256_hex;
        if (auto it = info.metadata.find("sha256"); it != info.metadata.end()) f.metadata_sha256_hex = it->second;
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
        // The iterator's paths all start with dir_ + '/': cutting that is the key (fs::relative
        // would resolve both paths with a readlink per component, for every file).
        const std::size_t cut = (dir_ / "").generic_string().size();
        for (auto it = fs::recursive_directory_iterator(dir_); it != fs::recursive_directory_iterator(); ++it) {
            const std::string path = it->path().generic_string();
            const std::string_view name = std::string_view(path).substr(path.rfind('/') + 1);
            // Hidden files are the directory's own bookkeeping (registry, id counter).
            if (name.starts_with(".")) {
                if (it->is_directory()) it.disable_recursion_pending();
                continue;
            }
            if (!it->is_regular_file()) continue;
            std::string key = path.substr(cut);
            if (!key.starts_with(prefix)) continue;
            struct ::stat st {};  // one stat for size and time
            if (::stat(path.c_str(), &st) != 0) continue;  // gone since listed: not an object any more
            const auto mtime = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                     std::chrono::nanoseconds(st.st_mtim.tv_nsec));
            out.push_back({std::move(key), static_cast<std::uint64_t>(st.st_size),
                           std::chrono::time_point_cast<TimePoint::duration>(mtime)});
        }
        return out;
    }

    FetchedObject fetch(const std::string& key) override {
        FetchedObject f;
        f.bytes = read_file(dir_ / key);
        return f;
    }

    bool has_locks() const override { return false; }
    void describe(AuditReport& report) const override { report.source = dir_.string(); }
    std::string uri_base() const override { return ""; }

private:
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
