// open_evidence_database: the URL names the backend (see compliance/evidence_db.hpp).
#include "evidence_db_impl.hpp"

#include <cctype>

#include "../util/url.hpp"
#include "worm/error.hpp"

namespace worm::compliance {

namespace detail {

void validate_evidence_row(const EvidenceRow& row) {
    if (row.evidence_id.empty()) throw Error(ErrorCode::invalid_argument, "evidence row: evidence_id is empty");
    if (row.object_key.empty())
        throw Error(ErrorCode::invalid_argument, "evidence row " + row.evidence_id + ": object_key is empty");
    bool hex = row.sha256.size() == 64;
    for (const char c : row.sha256) hex = hex && std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c));
    if (!hex)
        throw Error(ErrorCode::invalid_argument,
                    "evidence row " + row.evidence_id + ": sha256 must be 64 lower-case hex digits");
    if (!row.lock_mode.empty() && row.lock_mode != "COMPLIANCE" && row.lock_mode != "GOVERNANCE")
        throw Error(ErrorCode::invalid_argument,
                    "evidence row " + row.evidence_id + ": lock_mode must be COMPLIANCE or GOVERNANCE, got '" + row.lock_mode + "'");
}

}  // namespace detail

std::unique_ptr<EvidenceDatabase> open_evidence_database(const std::string& url) {
    if (url.starts_with("sqlite://")) {
        // sqlite:///abs/path (three slashes) or sqlite://relative/path.
        const std::filesystem::path path = url.substr(std::string_view("sqlite://").size());
        if (path.empty()) throw Error(ErrorCode::invalid_argument, "evidence database URL " + url + " names no file");
        return detail::open_sqlite_evidence_database(path, url);
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        const std::string masked = worm::detail::Url::parse(url, "evidence database URL", ErrorCode::invalid_argument).to_string();
        return detail::open_postgres_evidence_database(url, masked);
    }
    throw Error(ErrorCode::invalid_argument, "evidence database URL must start with postgresql:// or sqlite:///, got '" +
                                                 worm::detail::mask_url_password(url) + "'");
}

}  // namespace worm::compliance
