// certificate_report.hpp: what issue_certificate checks in a report.json before it signs
// anything: the manifest hashes to its manifest_sha256, and the result follows from the
// report's own counts and failures (a report edited to say "clean" is refused).
#pragma once

#include <rapidjson/document.h>

#include <filesystem>
#include <string>

namespace worm::compliance::detail {

// Returns the result the report's contents imply ("clean" or "failures"). Throws
// Error(integrity) naming the first disagreement: the manifest does not hash to
// manifest_sha256, the inventory's counts differ from its lists, or the stated result
// is not the recomputed one. Error(parse) when a member has the wrong type.
std::string checked_report_result(const rapidjson::Value& report, const std::filesystem::path& path);

}  // namespace worm::compliance::detail
