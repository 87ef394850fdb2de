// evidence_db_impl.hpp (private): the two evidence database backends behind
// open_evidence_database, and what they share (the schema's column list, row checks).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "worm/compliance/evidence_db.hpp"

namespace worm::compliance::detail {

// The one table (its columns: compliance/evidence_db.hpp).
inline constexpr const char* kEvidenceTable = "worm_evidence";

// Throws Error(invalid_argument) naming what is wrong with a row about to be inserted.
void validate_evidence_row(const EvidenceRow& row);

std::unique_ptr<EvidenceDatabase> open_sqlite_evidence_database(const std::filesystem::path& path,
                                                                const std::string& url);
std::unique_ptr<EvidenceDatabase> open_postgres_evidence_database(const std::string& url, const std::string& masked_url);

}  // namespace worm::compliance::detail
