// storage.hpp: the ObjectStore interface every store implements.
//
// The shape follows S3 Object Lock, because that is what the evidence must end up in:
// LocalWormStore (the embedded default), S3Store (direct mode) and ProxyStore (proxy
// mode) all honour the same write-once rules, so code written against ObjectStore
// behaves the same on a laptop and against a locked bucket.
//
// Keys are S3 keys ("evidence/clinic-001/2026/11/EB-20261122-0001.json"). Bodies can
// come from memory or from a file, and reads can go to memory or to a file, so large
// objects never have to sit in memory.
//
// Example:
//   std::unique_ptr<worm::ObjectStore> store = worm::open_store("file:///var/lib/worm");
//   worm::PutOptions options;
//   options.lock.retention = worm::Retention{worm::LockMode::compliance,
//                                            std::chrono::system_clock::now() + std::chrono::days(90)};
//   store->put("evidence/clinic-001/a.json", worm::PutBody::from_bytes("{}"), options);
//   std::string body = store->get("evidence/clinic-001/a.json");
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "worm/export.hpp"
#include "worm/time.hpp"

namespace worm {

enum class LockMode { governance, compliance };

// "GOVERNANCE" / "COMPLIANCE", as S3 spells them.
WORM_API std::string_view to_string(LockMode mode) noexcept;
// Accepts either spelling in any case; throws Error(invalid_argument) otherwise.
WORM_API LockMode parse_lock_mode(std::string_view text);

// A retention: the object may not be overwritten or deleted before retain_until.
struct Retention {
    LockMode mode = LockMode::compliance;
    RetentionDate retain_until{};  // whole milliseconds up to 9999 (see time.hpp)

    // Throws Error(invalid_argument) unless retain_until is after now.
    void validate(TimePoint now) const;
};

// Object lock settings given with a put.
struct ObjectLock {
    std::optional<Retention> retention;  // none: no retention on this version
    bool legal_hold = false;
};

// Server-side encryption as S3 expresses it; stores without it ignore none silently:
// a store that cannot honour a requested encryption throws.
struct ServerSideEncryption {
    enum class Kind { none, aes256, aws_kms } kind = Kind::none;
    std::string kms_key_id;  // only with aws_kms; empty means the bucket's default key
};

// The bytes of a put: either in memory or a whole file on disk.
struct PutBody {
    std::variant<std::string, std::filesystem::path> source;

    static PutBody from_bytes(std::string bytes) { return PutBody{std::move(bytes)}; }
    static PutBody from_file(std::filesystem::path path) { return PutBody{std::move(path)}; }
    bool is_file() const { return std::holds_alternative<std::filesystem::path>(source); }
};

struct WORM_API PutOptions {
    std::string content_type = "application/octet-stream";
    std::map<std::string, std::string> metadata;  // user metadata (x-amz-meta-*), lower-case names
    ObjectLock lock;
    ServerSideEncryption encryption;
    // Hex SHA-256 of the body when the caller already knows it (saves a pass over a big file).
    std::optional<std::string> sha256_hex;
    // Refuse (Error already_exists) instead of adding a version when the key exists.
    bool if_none_match = false;
    // S3 stores: send Content-MD5 beside x-amz-checksum-sha256, at the cost of one more pass
    // over the body. S3 accepts either checksum on an Object Lock PUT and checks what it gets,
    // so a caller that sends many bodies (the audit-log sink) may leave the MD5 out.
    bool content_md5 = true;

    // Throws Error(invalid_argument) naming the bad field (retain_until in the past,
    // metadata names that are not valid HTTP tokens, kms id without aws_kms, ...).
    void validate(TimePoint now) const;
};

struct PutResult {
    std::string key;
    std::string version_id;  // empty when the store does not version
    std::string etag;
    std::string sha256_hex;  // what the store recorded or echoed; empty when it echoed none
};

struct GetOptions {
    std::optional<std::string> version_id;
    // Inclusive byte range [first, last]; last absent means to the end.
    std::optional<std::pair<std::uint64_t, std::optional<std::uint64_t>>> range;

    // Throws Error(invalid_argument): an empty version id, a range that ends before it starts.
    void validate() const;
};

struct ObjectInfo {
    std::string key;
    std::uint64_t size = 0;
    std::string etag;
    std::string sha256_hex;  // empty when the store does not know it
    std::string content_type;
    std::map<std::string, std::string> metadata;
    std::optional<Retention> retention;
    bool legal_hold = false;
    std::string version_id;
    TimePoint last_modified{};
};

struct ListOptions {
    std::string prefix;
    std::string delimiter;           // "" for a flat listing
    std::string continuation_token;  // from the previous page; "" for the first page
    int max_keys = 1000;  // 1 .. 1000, as S3 allows

    // Throws Error(invalid_argument): max_keys outside 1 .. 1000.
    void validate() const;
};

struct ObjectSummary {
    std::string key;
    std::uint64_t size = 0;
    std::string etag;
    TimePoint last_modified{};
};

struct ListPage {
    std::vector<ObjectSummary> objects;
    std::vector<std::string> common_prefixes;
    std::string next_continuation_token;  // empty when this is the last page
};

struct DeleteOptions {
    std::optional<std::string> version_id;
    bool bypass_governance = false;

    // Throws Error(invalid_argument): an empty version id.
    void validate() const;
};

struct RetentionOptions {
    std::optional<std::string> version_id;
    bool bypass_governance = false;  // needed to shorten or remove GOVERNANCE retention

    // Throws Error(invalid_argument): an empty version id.
    void validate() const;
};

// Every store has the same public operations, written once here (the shape of spdlog's
// base_sink): each checks the key (validate_object_key, storage/keys.hpp) and its options
// (PutOptions::validate, ...) and only then calls the store's protected do_* hook. So
// every store refuses the same bad input with the same Error(invalid_argument) before it
// sends or writes anything, and a store cannot forget a check. A store implements the
// hooks (no default arguments there: the defaults are the public functions').
class WORM_API ObjectStore {
public:
    virtual ~ObjectStore() = default;

    PutResult put(const std::string& key, const PutBody& body, const PutOptions& options);
    // Reads the whole object (or range) into memory.
    std::string get(const std::string& key, const GetOptions& options = {});
    // Streams the object into a file, written atomically (temp file + rename).
    ObjectInfo get_to_file(const std::string& key, const std::filesystem::path& destination,
                           const GetOptions& options = {});
    // Throws Error(not_found) when the key (or version) does not exist.
    ObjectInfo head(const std::string& key, const std::optional<std::string>& version_id = std::nullopt);
    ListPage list(const ListOptions& options);
    void remove(const std::string& key, const DeleteOptions& options = {});

    std::optional<Retention> get_retention(const std::string& key,
                                           const std::optional<std::string>& version_id = std::nullopt);
    // The retention must end in the future (Retention::validate).
    void put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options = {});
    bool get_legal_hold(const std::string& key, const std::optional<std::string>& version_id = std::nullopt);
    void put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id = std::nullopt);

    // A URI that names the object for humans and registries ("s3://bucket/key").
    virtual std::string uri(const std::string& key) const = 0;

    // Follows continuation tokens to the end.
    std::vector<ObjectSummary> list_all(const std::string& prefix = "");

protected:
    // The clock decides whether a retain-until date is in the future (borrowed: it must
    // outlive the store; see Clock in time.hpp).
    explicit ObjectStore(const Clock& clock = system_clock()) : clock_(&clock) {}
    const Clock& clock() const noexcept { return *clock_; }

    // The store's side of each operation, called only with a valid key and valid options.
    virtual PutResult do_put(const std::string& key, const PutBody& body, const PutOptions& options) = 0;
    virtual std::string do_get(const std::string& key, const GetOptions& options) = 0;
    virtual ObjectInfo do_get_to_file(const std::string& key, const std::filesystem::path& destination,
                                      const GetOptions& options) = 0;
    virtual ObjectInfo do_head(const std::string& key, const std::optional<std::string>& version_id) = 0;
    virtual ListPage do_list(const ListOptions& options) = 0;
    virtual void do_remove(const std::string& key, const DeleteOptions& options) = 0;
    virtual std::optional<Retention> do_get_retention(const std::string& key,
                                                      const std::optional<std::string>& version_id) = 0;
    virtual void do_put_retention(const std::string& key, const Retention& retention,
                                  const RetentionOptions& options) = 0;
    virtual bool do_get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) = 0;
    virtual void do_put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) = 0;

private:
    const Clock* clock_;
};

// Opens a store from a URL: file:///dir, s3://bucket[/prefix], mcp+https://host, mcp+http://host,
// or a bare bucket name as seed 002 writes them (see store_url).
// Throws Error(invalid_argument) for an unknown scheme or a malformed URL.
WORM_API std::unique_ptr<ObjectStore> open_store(std::string_view url);

// A store URL in full: a bare S3 bucket name ("firemode-evidence", "bucket/prefix": no
// scheme, a DNS-compatible bucket name first) becomes "s3://firemode-evidence"; anything
// else is returned unchanged.
WORM_API std::string store_url(std::string_view url_or_bucket);

}  // namespace worm
