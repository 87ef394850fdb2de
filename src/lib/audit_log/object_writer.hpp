// How the sink writes an object (a batch, a checkpoint, its signature, a witness): create-only
// with the Object Lock the options ask for, with the seed's metadata names or, once the
// endpoint has refused them, their '-' spelling. Safe to use from every sink thread: its one
// changing field is atomic.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "worm/audit_log.hpp"
#include "worm/storage.hpp"

namespace worm::audit_log::detail {

class ObjectWriter {
public:
    ObjectWriter(std::shared_ptr<ObjectStore> store, const AuditLogOptions& options);

    ObjectStore& store() const { return *store_; }
    // Content type, SHA-256 checksum, If-None-Match (create_only) and the retention.
    PutOptions put_options(std::string content_type, std::string sha256) const;
    // Create-only put into the sink's store (or another one: the witness store). An object
    // already there with the same bytes is ours (a retry after a lost response, or after a
    // restart) and counts as stored; with other bytes it is Error(integrity).
    void put_create_only(const std::string& key, const PutBody& body, PutOptions o) {
        put_create_only(*store_, key, body, std::move(o));
    }
    void put_create_only(ObjectStore& to, const std::string& key, const PutBody& body, PutOptions o);

private:
    void put_named(ObjectStore& to, const std::string& key, const PutBody& body, PutOptions& o);

    std::shared_ptr<ObjectStore> store_;
    bool create_only_;
    LockMode lock_mode_;
    int retention_days_;
    const Clock* clock_;
    // Metadata names spelled with '-' (the endpoint drops '_' names): set by whichever put
    // finds out, read by all.
    std::atomic<bool> hyphenated_metadata_{false};
};

}  // namespace worm::audit_log::detail
