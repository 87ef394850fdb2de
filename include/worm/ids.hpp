// ids.hpp: the one definition of a bundle id and of a client id, used by the schema check,
// the builder, the id allocator, the uploader, the stores and the proxy alike.
//
// Both become parts of file names and object keys
// (evidence/{client_id}/{YYYY}/{MM}/{bundle_id}.json), so both rules are strict.
//
// Example:
//   worm::validate_bundle_id("EB-20261122-0001");  // fine
//   worm::validate_client_id("clinic-001");        // fine
//   if (!worm::is_valid_bundle_id("EB-20261399-0001")) std::cout << "no 99 December\n";
//   // worm::validate_client_id("../clinic") throws Error(invalid_argument)
#pragma once

#include <string_view>

#include "worm/export.hpp"

namespace worm {

// "EB-YYYYMMDD-NNNN": YYYYMMDD a real calendar day (EB-20261399-0001 is refused: there is
// no 99 December), then 4 or more digits (ids grow past 9999 in a day: EB-20251101-10000).
WORM_API bool is_valid_bundle_id(std::string_view id);
// Throws Error(invalid_argument) naming the id (escaped) and the rule unless it is valid.
WORM_API void validate_bundle_id(std::string_view id);

// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$: 1-64 characters, no '/', no leading '.' or '-'.
WORM_API bool is_valid_client_id(std::string_view id);
// Throws Error(invalid_argument) naming the id (escaped) and the rule unless it is valid.
WORM_API void validate_client_id(std::string_view id);

}  // namespace worm
