// report_wording.hpp: the words an auditor reads in report.html and certificate.pdf, in one
// place so both say the same: labels for the inventory's members, the audited date range,
// bucket check statuses, and the recommendations that follow from the findings.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace worm::compliance::detail {

// "bundles_failed" -> "Bundles with failures"; a name without a label is spelled out
// ("new_count" -> "New count").
std::string inventory_label(std::string_view member);

// The order the inventory's counts are shown in (members not listed follow).
const std::vector<std::string_view>& inventory_order();

// "all dates", "from 2026-01-01T00:00:00Z", "up to ...", or "X to Y". Empty strings mean
// no bound.
std::string date_range_text(const std::string& from, const std::string& to);

// "passed", "FAILED", "not supported by this server" for pass / fail / unsupported.
std::string check_status_text(std::string_view status);

// A failure's check id for people: "retention_short" -> "retention short".
std::string check_label(std::string_view check);

// "COMPLIANCE" -> "COMPLIANCE", "none" -> "Not locked".
std::string lock_mode_label(std::string_view mode);

// One sentence per thing to do, from the failed checks (AuditFailure::check values) and
// whether the bucket verification failed; a single "no action" sentence when clean.
std::vector<std::string> recommendations(const std::set<std::string>& failed_checks, bool bucket_failed);

}  // namespace worm::compliance::detail
