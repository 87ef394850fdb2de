// evidence_db_check.hpp (private): `worm audit --database`: every evidence row compared with
// the store both ways, after the audit's own checks.
#pragma once

#include "worm/compliance/audit.hpp"
#include "worm/compliance/evidence_db.hpp"

namespace worm::compliance::detail {

// Rows in scope (object_key under options.prefix, created_at in the audit's range) and
// store objects in scope (under the prefix, last modified in the range; .sig and
// .sigstore.json files are signatures, not evidence) are matched by key. Adds a failure per
// row without its object (db_missing_object), object without a row (db_missing_row), and
// disagreeing SHA-256 (db_sha256, from the bytes: the audit's hash of a bundle, else a
// download) or retain-until date (db_retention, to the second); marks bundles they name as
// failed, keeps the failures sorted and the inventory's counts right, and fills
// report.database. Objects are read on options.workers threads.
void compare_evidence_database(EvidenceDatabase& db, ObjectStore& store, const AuditOptions& options,
                               AuditReport& report);

}  // namespace worm::compliance::detail
