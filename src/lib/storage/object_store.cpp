// The parts of storage.hpp that every store shares.
#include <algorithm>
#include <cctype>

#include "worm/error.hpp"
#include "worm/storage.hpp"
#include "worm/storage/keys.hpp"

namespace worm {

std::string_view to_string(LockMode mode) noexcept {
    return mode == LockMode::compliance ? "COMPLIANCE" : "GOVERNANCE";
}

LockMode parse_lock_mode(std::string_view text) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == "COMPLIANCE") return LockMode::compliance;
    if (upper == "GOVERNANCE") return LockMode::governance;
    throw Error(ErrorCode::invalid_argument,
                "lock mode must be COMPLIANCE or GOVERNANCE, got '" + std::string(text) + "'");
}

namespace {

// RFC 7230 token characters: what an x-amz-meta-* header name may hold.
bool is_token_char(unsigned char c) {
    if (std::isalnum(c)) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

void Retention::validate(TimePoint now) const {
    if (retain_until <= RetentionDate(now))
        throw Error(ErrorCode::invalid_argument,
                    "retain-until date " + format_rfc3339_millis(retain_until) + " is not in the future");
}

void PutOptions::validate(TimePoint now) const {
    if (lock.retention) lock.retention->validate(now);
    for (const auto& [name, value] : metadata) {
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
                return is_token_char(static_cast<unsigned char>(c));
            }))
            throw Error(ErrorCode::invalid_argument, "metadata name '" + name + "' is not a valid HTTP token");
        if (std::any_of(value.begin(), value.end(), [](char c) {
                return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
            }))
            throw Error(ErrorCode::invalid_argument, "metadata value of '" + name + "' holds a control character");
    }
    if (encryption.kind != ServerSideEncryption::Kind::aws_kms && !encryption.kms_key_id.empty())
        throw Error(ErrorCode::invalid_argument, "a KMS key id needs aws:kms encryption");
    if (sha256_hex && (sha256_hex->size() != 64 ||
                       !std::all_of(sha256_hex->begin(), sha256_hex->end(), [](char c) {
                           return std::isxdigit(static_cast<unsigned char>(c));
                       })))
        throw Error(ErrorCode::invalid_argument, "sha256 must be 64 hex digits");
}

void GetOptions::validate() const {
    validate_version_id(version_id);
    if (range && range->second && *range->second < range->first)
        throw Error(ErrorCode::invalid_argument, "byte range end " + std::to_string(*range->second) +
                                                     " is before its start " + std::to_string(range->first));
}

void ListOptions::validate() const {
    if (max_keys < 1 || max_keys > 1000)
        throw Error(ErrorCode::invalid_argument, "max_keys must be from 1 to 1000, got " + std::to_string(max_keys));
}

void DeleteOptions::validate() const { validate_version_id(version_id); }

void RetentionOptions::validate() const { validate_version_id(version_id); }

// ---- the public operations: check once, then the store's hook ----------------------

PutResult ObjectStore::put(const std::string& key, const PutBody& body, const PutOptions& options) {
    validate_object_key(key);
    options.validate(clock().now());
    return do_put(key, body, options);
}

std::string ObjectStore::get(const std::string& key, const GetOptions& options) {
    validate_object_key(key);
    options.validate();
    return do_get(key, options);
}

ObjectInfo ObjectStore::get_to_file(const std::string& key, const std::filesystem::path& destination,
                                    const GetOptions& options) {
    validate_object_key(key);
    options.validate();
    if (destination.empty() || !destination.has_filename())
        throw Error(ErrorCode::invalid_argument, "download destination '" + destination.string() + "' names no file");
    return do_get_to_file(key, destination, options);
}

ObjectInfo ObjectStore::head(const std::string& key, const std::optional<std::string>& version_id) {
    validate_object_key(key);
    validate_version_id(version_id);
    return do_head(key, version_id);
}

ListPage ObjectStore::list(const ListOptions& options) {
    options.validate();
    return do_list(options);
}

void ObjectStore::remove(const std::string& key, const DeleteOptions& options) {
    validate_object_key(key);
    options.validate();
    do_remove(key, options);
}

std::optional<Retention> ObjectStore::get_retention(const std::string& key,
                                                    const std::optional<std::string>& version_id) {
    validate_object_key(key);
    validate_version_id(version_id);
    return do_get_retention(key, version_id);
}

void ObjectStore::put_retention(const std::string& key, const Retention& retention, const RetentionOptions& options) {
    validate_object_key(key);
    options.validate();
    retention.validate(clock().now());
    do_put_retention(key, retention, options);
}

bool ObjectStore::get_legal_hold(const std::string& key, const std::optional<std::string>& version_id) {
    validate_object_key(key);
    validate_version_id(version_id);
    return do_get_legal_hold(key, version_id);
}

void ObjectStore::put_legal_hold(const std::string& key, bool on, const std::optional<std::string>& version_id) {
    validate_object_key(key);
    validate_version_id(version_id);
    do_put_legal_hold(key, on, version_id);
}

std::vector<ObjectSummary> ObjectStore::list_all(const std::string& prefix) {
    std::vector<ObjectSummary> all;
    ListOptions options;
    options.prefix = prefix;
    while (true) {
        ListPage page = list(options);
        std::move(page.objects.begin(), page.objects.end(), std::back_inserter(all));
        if (page.next_continuation_token.empty()) break;
        if (page.next_continuation_token == options.continuation_token)
            throw Error(ErrorCode::storage, "listing did not advance (same continuation token twice)");
        options.continuation_token = page.next_continuation_token;
    }
    return all;
}

}  // namespace worm
