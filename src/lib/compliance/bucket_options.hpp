// bucket_options.hpp (private to src/lib/compliance): the arithmetic the setup options and
// the rules share. bucket_options.cpp uses nothing else of the bucket files; the rules,
// setup, verify and JSON files build on it (never the other way round).
#pragma once

namespace worm::compliance::detail {

// The longest `years` can last in days (365 each, plus the leap days they may hold), so a
// lifecycle expiry computed from it never comes before a retention given in years ends.
int days_in_years(int years);

}  // namespace worm::compliance::detail
