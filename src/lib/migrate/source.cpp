// source.cpp: where a migration reads from: a local directory or an S3 bucket/prefix.
#include <algorithm>

#include "../s3/client_internal.hpp"
#include "state.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/migrate.hpp"
#include "worm/s3/client.hpp"
#include "worm/s3/credentials.hpp"

namespace worm {

namespace fs = std::filesystem;

namespace {

// Every regular file below root except dot files and dot directories (the agents'
// registries, libworm's own state and registry files, editor droppings).
class DirectorySource final : public MigrationSource {
public:
    explicit DirectorySource(fs::path root) : root_(std::move(root)) {
        if (!fs::is_directory(root_)) throw Error(ErrorCode::not_found, "migration source " + root_.string() + " is not a directory");
    }
    std::string describe() const override { return root_.string(); }
    std::string bucket() const override { return ""; }
    std::string full_key(const std::string& key) const override { return key; }
    fs::path directory() const override { return root_; }

    std::vector<SourceObject> list() override {
        std::vector<SourceObject> out;
        for (auto it = fs::recursive_directory_iterator(root_); it != fs::recursive_directory_iterator(); ++it) {
            const std::string name = it->path().filename().string();
            if (!name.empty() && name[0] == '.') {
                if (it->is_directory()) it.disable_recursion_pending();
                continue;
            }
            if (!it->is_regular_file()) continue;
            out.push_back({.key = fs::relative(it->path(), root_).generic_string(), .size = it->file_size(), .etag = "",
                           .version_id = ""});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
        return out;
    }

    SourceRead read(const SourceObject& object, const fs::path& scratch_file) override {
        const fs::path path = existing_file(object);
        // A large file is read where it is.
        return SourceRead{.body = scratch_file.empty() ? read_file(path) : "", .file = scratch_file.empty() ? fs::path() : path,
                          .etag = "", .version_id = "", .retention = std::nullopt, .recorded_sha256 = "",
                          .checksum_sha256 = "", .sha256 = ""};
    }

    SourceRead digest(const SourceObject& object) override {
        SourceRead out;
        out.sha256 = to_hex(sha256_file(existing_file(object)));
        return out;
    }

private:
    fs::path existing_file(const SourceObject& object) const {
        fs::path path = root_ / object.key;
        if (!fs::exists(path)) throw Error(ErrorCode::not_found, "source file " + path.string() + " is gone");
        return path;
    }

    fs::path root_;
};

class BucketSource final : public MigrationSource {
public:
    BucketSource(std::shared_ptr<s3::S3Client> client, std::string bucket, std::string prefix)
        : client_(std::move(client)), bucket_(std::move(bucket)), prefix_(std::move(prefix)) {}

    std::string describe() const override { return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_); }
    std::string bucket() const override { return bucket_; }
    std::string full_key(const std::string& key) const override { return root() + key; }
    std::string endpoint() const override { return detail::endpoint_identity(client_->config().endpoint); }

    std::vector<SourceObject> list() override {
        std::vector<SourceObject> out;
        const std::string root_prefix = root();
        s3::ListObjectsOptions listing;
        listing.bucket = bucket_;
        listing.prefix = root_prefix;
        for (const auto& o : client_->list_all_objects(listing)) {
            if (o.key.size() <= root_prefix.size() || o.key.back() == '/') continue;  // folder markers
            out.push_back({.key = o.key.substr(root_prefix.size()), .size = o.size, .etag = o.etag, .version_id = ""});
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
        return out;
    }

    s3::S3Client* s3_client() override { return client_.get(); }

    SourceRead stat(const SourceObject& object) override {
        return facts(client_->head_object({.bucket = bucket_, .key = full_key(object.key), .version_id = std::nullopt}), "", {});
    }

    SourceRead read(const SourceObject& object, const fs::path& scratch_file) override {
        s3::GetObjectOptions get;
        get.bucket = bucket_;
        get.key = full_key(object.key);
        if (!scratch_file.empty()) get.to_file = scratch_file;
        s3::GetObjectResult r = client_->get_object(get);
        SourceRead out = facts(r.head, std::move(r.body), scratch_file);
        out.sha256 = std::move(r.body_sha256_hex);
        return out;
    }

    SourceRead digest(const SourceObject& object) override {
        s3::GetObjectOptions get;
        get.bucket = bucket_;
        get.key = full_key(object.key);
        get.keep_body = false;
        s3::GetObjectResult r = client_->get_object(get);
        SourceRead out = facts(r.head, "", {});
        out.sha256 = std::move(r.body_sha256_hex);
        return out;
    }

private:
    // The SHA-256 the source recorded: x-amz-meta-sha256, else its full-object checksum.
    static SourceRead facts(const s3::ObjectHead& head, std::string body, const fs::path& file) {
        SourceRead out{.body = std::move(body), .file = file, .etag = head.etag, .version_id = head.version_id,
                       .retention = head.retention, .recorded_sha256 = "", .checksum_sha256 = "", .sha256 = ""};
        out.checksum_sha256 = s3::detail::checksum_base64_to_hex(
            head.checksum_sha256.empty() ? std::nullopt : std::optional(head.checksum_sha256));
        const auto it = head.metadata.find("sha256");
        out.recorded_sha256 = it != head.metadata.end() ? it->second : out.checksum_sha256;
        return out;
    }

    std::string root() const { return prefix_.empty() ? "" : prefix_ + "/"; }

    std::shared_ptr<s3::S3Client> client_;
    std::string bucket_;
    std::string prefix_;  // without slashes at either end
};

}  // namespace

SourceRead MigrationSource::digest(const SourceObject& object) {
    SourceRead out = read(object);
    if (out.sha256.empty()) out.sha256 = out.file.empty() ? sha256_hex(out.body) : to_hex(sha256_file(out.file));
    out.body.clear();
    out.body.shrink_to_fit();
    out.file.clear();
    return out;
}

std::unique_ptr<MigrationSource> open_migration_source(const std::string& from, std::shared_ptr<s3::S3Client> client) {
    if (from.rfind("s3://", 0) != 0)
        throw Error(ErrorCode::invalid_argument, "migration source '" + from + "' is not an s3://bucket[/prefix] URL");
    if (!client) throw Error(ErrorCode::invalid_argument, "migration source '" + from + "' needs a client");
    std::string rest = from.substr(5);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const std::size_t slash = rest.find('/');
    const std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
    if (bucket.empty()) throw Error(ErrorCode::invalid_argument, "migration source '" + from + "' has no bucket");
    return std::make_unique<BucketSource>(std::move(client), bucket, prefix);
}

std::unique_ptr<MigrationSource> open_migration_source(const std::string& from, const std::string& endpoint,
                                                       const std::string& profile) {
    if (from.rfind("s3://", 0) != 0) {
        if (!endpoint.empty() || !profile.empty())
            throw Error(ErrorCode::invalid_argument, "a source endpoint or profile only applies to an s3:// source");
        return std::make_unique<DirectorySource>(from.rfind("file://", 0) == 0 ? from.substr(7) : from);
    }
    s3::ClientConfig config = s3::ClientConfig::from_env();
    if (!endpoint.empty()) config.endpoint = endpoint;
    if (!profile.empty()) {
        s3::ProfileOptions p = s3::ProfileOptions::from_env();
        p.profile = profile;
        p.required = true;
        config.credentials = std::make_shared<s3::ProfileProvider>(p);
    }
    return open_migration_source(from, std::make_shared<s3::S3Client>(std::move(config)));
}

}  // namespace worm
