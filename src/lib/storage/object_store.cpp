// The parts of storage.hpp that every store shares.
#include <algorithm>
#include <cctype>

#include "worm/error.hpp"
#include "worm/storage.hpp"

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

void PutOptions::validate(TimePoint now) const {
    if (lock.retention && lock.retention->retain_until <= now)
        throw Error(ErrorCode::invalid_argument,
                    "retain-until date " + format_rfc3339(lock.retention->retain_until) +
                        " is not in the future");
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
