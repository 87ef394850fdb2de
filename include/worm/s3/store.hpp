// s3/store.hpp: S3Store, the ObjectStore over an S3 bucket (direct mode).
//
// Keys live under an optional prefix: open_s3_store("s3://evidence/msp-a") stores
// "x.json" as "msp-a/x.json". Errors keep their S3 fields (S3Error) and are classified
// for ObjectStore callers: a missing key or version is not_found, a refused delete or
// retention change of a locked version is object_locked, a checksum mismatch is integrity.
//
// Example:
//   std::unique_ptr<worm::ObjectStore> store = worm::s3::open_s3_store("s3://evidence-bucket/agents");
//   worm::ObjectInfo info = store->head("evidence/clinic-001/2026/11/EB-20261122-0001.json");
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "worm/export.hpp"
#include "worm/s3/client.hpp"
#include "worm/storage.hpp"

namespace worm::s3 {

class WORM_API S3Store final : public ObjectStore {
public:
    // prefix: "" or "a/b" (leading and trailing '/' are ignored).
    S3Store(std::shared_ptr<S3Client> client, std::string bucket, std::string prefix = "");

    std::string uri(const std::string& key) const override;

    // put() of a file, multipart, continuing the upload `checkpoint` names (see
    // S3Client::put_object_resumable): what `worm migrate` uses so a large object resumes at
    // the part where an earlier run stopped. Same checks as put().
    PutResult put_resumable(const std::string& key, const std::filesystem::path& file, const PutOptions& options,
                            MultipartCheckpoint& checkpoint);

    S3Client& client() { return *client_; }
    const std::string& bucket() const { return bucket_; }
    const std::string& prefix() const { return prefix_; }

private:
    PutResult do_put(const std::string& key, const PutBody& body, const PutOptions& options) override;
    std::string do_get(const std::string& key, const GetOptions& options) override;
    ObjectInfo do_get_to_file(const std::string& key, const std::filesystem::path& destination,
                              const GetOptions& options) override;
    ObjectInfo do_head(const std::string& key, const std::optional<std::string>& version_id) override;
    ListPage do_list(const ListOptions& options) override;
    void do_remove(const std::string& key, const DeleteOptions& options) override;
    // Reads GetObjectRetention; when the server answers with nothing (moto), falls back to
    // the lock headers of HeadObject rather than reporting "no retention".
    std::optional<Retention> do_get_retention(const std::string& key,
                                              const std::optional<std::string>& version_id) override;
    void do_put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options) override;
    bool do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) override;
    void do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) override;

    std::string full_key(const std::string& key) const;

    std::shared_ptr<S3Client> client_;
    std::string bucket_;
    std::string prefix_;  // "" or "a/b/" (with the trailing slash)
};

// "s3://bucket[/prefix]" with the client configured from the environment
// (ClientConfig::from_env). Throws Error(invalid_argument) for a malformed URL.
WORM_API std::unique_ptr<ObjectStore> open_s3_store(std::string_view url);
// The same over a given client (tests, custom configuration).
WORM_API std::unique_ptr<ObjectStore> open_s3_store(std::string_view url, std::shared_ptr<S3Client> client);

}  // namespace worm::s3
