// Bundle ids and client ids (see ids.hpp): the one place their rules are written.
#include "worm/ids.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "worm/error.hpp"
#include "worm/storage/keys.hpp"

namespace worm {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int number(std::string_view digits) {
    int n = 0;
    for (char c : digits) n = n * 10 + (c - '0');
    return n;
}

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

bool is_valid_bundle_id(std::string_view id) {
    // EB-YYYYMMDD-NNNN...
    if (id.size() < 16 || id.substr(0, 3) != "EB-" || id[11] != '-') return false;
    const std::string_view day = id.substr(3, 8);
    if (!all_digits(day) || !all_digits(id.substr(12))) return false;
    using namespace std::chrono;
    return year_month_day(year(number(day.substr(0, 4))), month(static_cast<unsigned>(number(day.substr(4, 2)))),
                          std::chrono::day(static_cast<unsigned>(number(day.substr(6, 2)))))
        .ok();
}

void validate_bundle_id(std::string_view id) {
    if (!is_valid_bundle_id(id))
        throw Error(ErrorCode::invalid_argument,
                    "invalid bundle id " + quote_key(id) +
                        ": must be EB-YYYYMMDD-NNNN (a real calendar day, then 4 or more digits)");
}

bool is_valid_client_id(std::string_view id) {
    if (id.empty() || id.size() > 64 || !is_alnum(id.front())) return false;
    return std::all_of(id.begin(), id.end(), [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

void validate_client_id(std::string_view id) {
    if (!is_valid_client_id(id))
        throw Error(ErrorCode::invalid_argument,
                    "invalid client id " + quote_key(id) +
                        ": must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit");
}

}  // namespace worm
