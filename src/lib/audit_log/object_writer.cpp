// Create-only, locked puts of the sink's objects (object_writer.hpp).
#include "object_writer.hpp"

#include <map>

#include "operator_note.hpp"
#include "worm/audit_log/format.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/s3/store.hpp"

namespace worm::audit_log::detail {

namespace {

// The seed's metadata names spelled with '-'. True when a name changed.
bool hyphenate(PutOptions& o) {
    bool changed = false;
    std::map<std::string, std::string> renamed;
    for (auto& [name, value] : o.metadata) {
        std::string n = seed_metadata_name(name, true);
        changed = changed || n != name;
        renamed.emplace(std::move(n), std::move(value));
    }
    o.metadata = std::move(renamed);
    return changed;
}

}  // namespace

ObjectWriter::ObjectWriter(std::shared_ptr<ObjectStore> store, const AuditLogOptions& options)
    : store_(std::move(store)),
      create_only_(options.advanced.create_only),
      lock_mode_(options.lock_mode),
      retention_days_(options.retention_days),
      clock_(options.clock) {}

PutOptions ObjectWriter::put_options(std::string content_type, std::string sha256) const {
    PutOptions o;
    o.content_type = std::move(content_type);
    o.if_none_match = create_only_;
    o.sha256_hex = std::move(sha256);
    // The SHA-256 goes out as x-amz-checksum-sha256, which S3 checks and accepts for Object
    // Lock; an MD5 pass as well would cost the uploader CPU for nothing (docs/audit-log-journal.md).
    o.content_md5 = false;
    if (retention_days_ > 0)
        o.lock.retention = Retention{lock_mode_, clock_->now() + std::chrono::hours(24) * retention_days_};
    return o;
}

// A put with the seed's metadata names. An endpoint that drops header names holding '_'
// (werkzeug, nginx's default) breaks the signature: SignatureDoesNotMatch. Then the names
// are spelled with '-' from here on (readers take either), said once on stderr.
void ObjectWriter::put_named(ObjectStore& to, const std::string& key, const PutBody& body, PutOptions& o) {
    const bool seed_names = !hyphenated_metadata_;  // another thread may find out meanwhile
    if (!seed_names) hyphenate(o);
    try {
        to.put(key, body, o);
    } catch (const S3Error& e) {
        if (!seed_names || e.s3_code() != "SignatureDoesNotMatch" || !hyphenate(o)) throw;
        to.put(key, body, o);
        if (!hyphenated_metadata_.exchange(true))
            tell_stderr("the endpoint refuses metadata names with '_' (SignatureDoesNotMatch); writing service-name, "
                        "request-id, log-level, worm-handler-version instead of the seed's service_name, ...");
    }
}

void ObjectWriter::put_create_only(ObjectStore& to, const std::string& key, const PutBody& body, PutOptions o) {
    try {
        put_named(to, key, body, o);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::already_exists) throw;
        std::string existing;
        try {
            existing = to.head(key).sha256_hex;
        } catch (const Error&) {
        }
        if (existing.empty()) existing = sha256_hex(to.get(key));
        if (existing != *o.sha256_hex)
            throw Error(ErrorCode::integrity, "audit log: " + key + " already exists with other content");
    }
}

}  // namespace worm::audit_log::detail
