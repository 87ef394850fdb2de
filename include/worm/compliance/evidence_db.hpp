// compliance/evidence_db.hpp: the evidence metadata database (seed 002 keeps evidence
// metadata in PostgreSQL and checks its integrity), and its comparison with the store.
//
// One table, worm_evidence, the same in both databases (docs/compliance.md):
//   evidence_id    TEXT PRIMARY KEY      the id the API hands out ("ev-...")
//   object_key     TEXT NOT NULL UNIQUE  the object's key, relative to the store URL audited
//   sha256         TEXT NOT NULL         hex SHA-256 of the object's bytes
//   retain_until   TIMESTAMPTZ / TEXT    the Object Lock retain-until date set at upload (UTC)
//   lock_mode      TEXT                  COMPLIANCE or GOVERNANCE
//   version_id     TEXT                  the stored version ("" unversioned)
//   session_id     TEXT                  seed 002's submission fields
//   evidence_type  TEXT
//   metadata       TEXT                  the submitted metadata JSON, as sent
//   created_at     TIMESTAMPTZ / TEXT    when the row was written (UTC)
// URLs: postgresql://user:password@host:port/dbname (libpq; also postgres://), or
// sqlite:///absolute/path.sqlite3 (embedded; sqlite://relative/path works too).
//
// Example:
//   auto db = worm::compliance::open_evidence_database("sqlite:///var/lib/worm/evidence.sqlite3");
//   db->create_schema();
//   db->insert({.evidence_id = "ev-1", .object_key = "evidence/ev-1", .sha256 = std::string(64, 'a'),
//               .retain_until = worm::parse_retention_date("2033-01-01T00:00:00Z"), .lock_mode = "COMPLIANCE"});
//   for (const worm::compliance::EvidenceRow& row : db->rows("evidence/")) std::cout << row.evidence_id << "\n";
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "worm/export.hpp"
#include "worm/time.hpp"

namespace worm::compliance {

struct WORM_API EvidenceRow {
    std::string evidence_id;
    std::string object_key;
    std::string sha256;  // lower-case hex
    std::optional<RetentionDate> retain_until;
    std::string lock_mode;
    std::string version_id;
    std::string session_id;
    std::string evidence_type;
    std::string metadata;
    TimePoint created_at{};  // insert: the epoch means now
};

class WORM_API EvidenceDatabase {
public:
    virtual ~EvidenceDatabase() = default;
    // CREATE TABLE IF NOT EXISTS worm_evidence (...) and its index.
    virtual void create_schema() = 0;
    // Throws Error(already_exists) for an evidence id or object key already recorded,
    // Error(invalid_argument) for an empty id/key or a sha256 that is not 64 hex digits.
    virtual void insert(const EvidenceRow& row) = 0;
    virtual std::optional<EvidenceRow> find(const std::string& evidence_id) = 0;
    // Every row whose object_key starts with key_prefix, sorted by object_key.
    virtual std::vector<EvidenceRow> rows(const std::string& key_prefix) = 0;
    // The URL with its password masked.
    virtual std::string url() const = 0;
};

// Opens (connects to) the database a URL names. Throws Error(invalid_argument) for another
// scheme, Error(io) when it cannot connect (the message never carries the password).
// Safe to share between threads (calls are serialised).
WORM_API std::unique_ptr<EvidenceDatabase> open_evidence_database(const std::string& url);

// What comparing the database with the store found (AuditReport::database).
struct WORM_API DatabaseComparison {
    std::string url;  // password masked
    std::int64_t rows = 0;                  // rows in scope (prefix, date range)
    std::int64_t objects = 0;               // store objects in scope (signatures excluded)
    std::int64_t matched = 0;               // rows whose object exists with the same hash and date
    std::int64_t rows_without_objects = 0;  // check db_missing_object
    std::int64_t objects_without_rows = 0;  // check db_missing_row
    std::int64_t sha256_mismatches = 0;     // check db_sha256
    std::int64_t retention_mismatches = 0;  // check db_retention
};

}  // namespace worm::compliance
