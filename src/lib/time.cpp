#include "worm/time.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "worm/error.hpp"

namespace worm {

const Clock& system_clock() {
    static const SystemClock clock;
    return clock;
}

namespace {

std::tm to_utc_tm(TimePoint t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(
        std::chrono::floor<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return tm;
}

std::string strftime_utc(TimePoint t, const char* fmt) {
    const std::tm tm = to_utc_tm(t);
    std::array<char, 64> buf{};
    const size_t n = std::strftime(buf.data(), buf.size(), fmt, &tm);
    return std::string(buf.data(), n);
}

// Whether whole seconds fit a TimePoint (int64 nanoseconds: 1677-09-21 .. 2262-04-11), so
// the conversion cannot overflow (found by fuzz_s3_documents: a RetainUntilDate in 1013).
bool representable(std::chrono::sys_seconds tp) {
    using namespace std::chrono;
    return tp > floor<seconds>(TimePoint::min()) && tp < floor<seconds>(TimePoint::max());
}

[[noreturn]] void bad_time(std::string_view what, std::string_view text) {
    throw Error(ErrorCode::invalid_argument,
                std::string("not a valid ") + std::string(what) + ": '" + std::string(text) + "'");
}

bool read_digits(std::string_view s, size_t& pos, size_t count, int& out) {
    if (pos + count > s.size()) return false;
    int v = 0;
    for (size_t i = 0; i < count; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    pos += count;
    out = v;
    return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::string format_rfc3339(TimePoint t) { return strftime_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

namespace {

void put_digits(std::string& out, std::size_t at, unsigned value, std::size_t digits) {
    for (std::size_t i = digits; i-- > 0; value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
}

}  // namespace

// Audit-log records (one per log call) and SigV4 (one per request) format these, and strftime
// (with gmtime's time-zone lock) was a visible share of both, so they are written digit by digit.
std::string format_rfc3339_millis(TimePoint t) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const int year = static_cast<int>(ymd.year());
    if (year < 0 || year > 9999) {  // no real clock says so
        char frac[8];
        std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>((ms - floor<seconds>(ms)).count()));
        return strftime_utc(t, "%Y-%m-%dT%H:%M:%S") + frac;
    }
    const hh_mm_ss hms{ms - day};
    std::string out = "0000-00-00T00:00:00.000Z";
    put_digits(out, 0, static_cast<unsigned>(year), 4);
    put_digits(out, 5, static_cast<unsigned>(ymd.month()), 2);
    put_digits(out, 8, static_cast<unsigned>(ymd.day()), 2);
    put_digits(out, 11, static_cast<unsigned>(hms.hours().count()), 2);
    put_digits(out, 14, static_cast<unsigned>(hms.minutes().count()), 2);
    put_digits(out, 17, static_cast<unsigned>(hms.seconds().count()), 2);
    put_digits(out, 20, static_cast<unsigned>(hms.subseconds().count()), 3);
    return out;
}

std::string format_amz_date(TimePoint t) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const int year = static_cast<int>(ymd.year());
    if (year < 0 || year > 9999) return strftime_utc(t, "%Y%m%dT%H%M%SZ");  // no real clock says so
    const hh_mm_ss hms{secs - day};
    std::string out(16, '\0');  // "20261122T181437Z"
    put_digits(out, 0, static_cast<unsigned>(year), 4);
    put_digits(out, 4, static_cast<unsigned>(ymd.month()), 2);
    put_digits(out, 6, static_cast<unsigned>(ymd.day()), 2);
    out[8] = 'T';
    put_digits(out, 9, static_cast<unsigned>(hms.hours().count()), 2);
    put_digits(out, 11, static_cast<unsigned>(hms.minutes().count()), 2);
    put_digits(out, 13, static_cast<unsigned>(hms.seconds().count()), 2);
    out[15] = 'Z';
    return out;
}
std::string format_amz_day(TimePoint t) { return strftime_utc(t, "%Y%m%d"); }
std::string format_http_date(TimePoint t) { return strftime_utc(t, "%a, %d %b %Y %H:%M:%S GMT"); }

namespace {

// An RFC 3339 instant as whole seconds since the epoch (64 bits: no year overflows) and
// the fraction in nanoseconds, so each caller checks its own range before converting.
struct ParsedInstant {
    std::chrono::sys_seconds seconds;
    std::chrono::nanoseconds fraction;
};

ParsedInstant parse_instant(std::string_view s) {
    using namespace std::chrono;
    size_t pos = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-') || !read_digits(s, pos, 2, mo) ||
        !expect(s, pos, '-') || !read_digits(s, pos, 2, d))
        bad_time("RFC 3339 timestamp (four-digit year 0000-9999)", s);
    if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
        bad_time("RFC 3339 timestamp", s);
    ++pos;
    if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mi) ||
        !expect(s, pos, ':') || !read_digits(s, pos, 2, sec))
        bad_time("RFC 3339 timestamp", s);
    nanoseconds frac{0};
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int64_t value = 0;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 9) {
                value = value * 10 + (s[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        if (digits == 0) bad_time("RFC 3339 timestamp", s);
        for (int i = digits; i < 9; ++i) value *= 10;
        frac = nanoseconds(value);
    }
    seconds offset{0};
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        const int sign = s[pos] == '+' ? 1 : -1;
        ++pos;
        int oh, om;
        if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, om) ||
            oh > 23 || om > 59)
            bad_time("RFC 3339 timestamp", s);
        offset = seconds(sign * (oh * 3600 + om * 60));
    } else {
        bad_time("RFC 3339 timestamp (missing time zone)", s);
    }
    if (pos != s.size()) bad_time("RFC 3339 timestamp", s);
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) bad_time("RFC 3339 timestamp", s);
    return {sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} - offset, frac};
}

// TimePoint's range in whole seconds (int64 nanoseconds: 1677-09-21T00:12:44Z .. 2262-04-11T23:47:16Z).
constexpr std::chrono::sys_seconds time_point_min =
    std::chrono::ceil<std::chrono::seconds>(TimePoint::min());
constexpr std::chrono::sys_seconds time_point_max = std::chrono::floor<std::chrono::seconds>(TimePoint::max());

constexpr RetentionDate::Millis retention_min{};
constexpr RetentionDate::Millis retention_max =
    std::chrono::sys_days{std::chrono::year{10000} / 1 / 1} - std::chrono::milliseconds(1);

[[noreturn]] void retention_out_of_range(std::string_view value) {
    throw Error(ErrorCode::invalid_argument,
                "retention date " + std::string(value) + " is outside the supported range " +
                    std::string(retention_date_min) + " to " + std::string(retention_date_max));
}

std::string format_millis_since_epoch(std::chrono::milliseconds ms) {
    return std::to_string(ms.count()) + " ms since 1970-01-01";
}

}  // namespace

TimePoint parse_rfc3339(std::string_view s) {
    using namespace std::chrono;
    const ParsedInstant p = parse_instant(s);
    if (p.seconds < time_point_min || p.seconds > time_point_max ||
        (p.seconds == time_point_max && p.fraction > TimePoint::max() - time_point_max))
        throw Error(ErrorCode::invalid_argument,
                    "timestamp '" + std::string(s) + "' is outside 1677-09-21T00:12:44Z..2262-04-11T23:47:16Z, the range of a time point");
    return time_point_cast<system_clock::duration>(p.seconds) + duration_cast<system_clock::duration>(p.fraction);
}

RetentionDate::Millis RetentionDate::checked(Millis t) {
    if (t < retention_min || t > retention_max) {
        const bool fits = t >= std::chrono::ceil<std::chrono::milliseconds>(TimePoint::min()) &&
                          t <= std::chrono::floor<std::chrono::milliseconds>(TimePoint::max());
        retention_out_of_range(fits ? format_rfc3339_millis(TimePoint(t)) : format_millis_since_epoch(t.time_since_epoch()));
    }
    return t;
}

bool RetentionDate::fits_time_point() const noexcept {
    return t_ <= std::chrono::floor<std::chrono::milliseconds>(TimePoint::max());
}

TimePoint RetentionDate::time_point() const {
    if (!fits_time_point())
        throw Error(ErrorCode::invalid_argument,
                    "retention date " + format_rfc3339_millis(*this) + " is after 2262-04-11, the end of a time point");
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(t_.time_since_epoch()));
}

RetentionDate parse_retention_date(std::string_view s) {
    using namespace std::chrono;
    // A five-digit year is well-formed but out of range: say so rather than "not RFC 3339".
    if (s.size() > 4 && std::all_of(s.begin(), s.begin() + 5, [](char c) { return c >= '0' && c <= '9'; }))
        retention_out_of_range("'" + std::string(s) + "'");
    const ParsedInstant p = parse_instant(s);
    const auto ms = time_point_cast<milliseconds>(p.seconds) + duration_cast<milliseconds>(p.fraction);
    if (ms < retention_min || ms > retention_max) retention_out_of_range("'" + std::string(s) + "'");
    return RetentionDate(ms);
}

std::string format_rfc3339_millis(RetentionDate t) {
    using namespace std::chrono;
    const auto ms = t.millis();
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    return out;
}

std::string format_rfc3339(RetentionDate t) {
    const std::string millis = format_rfc3339_millis(t);
    return millis.substr(0, 19) + "Z";
}

TimePoint parse_http_date(std::string_view s) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    static constexpr std::array<std::string_view, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    using namespace std::chrono;
    if (s.size() != 29 || s.substr(3, 2) != ", " || s.substr(25) != " GMT") bad_time("HTTP date", s);
    size_t pos = 5;
    int d, y, h, mi, sec;
    if (!read_digits(s, pos, 2, d) || !expect(s, pos, ' ')) bad_time("HTTP date", s);
    unsigned mo = 0;
    for (unsigned i = 0; i < months.size(); ++i)
        if (s.substr(pos, 3) == months[i]) mo = i + 1;
    if (mo == 0) bad_time("HTTP date", s);
    pos += 3;
    if (!expect(s, pos, ' ') || !read_digits(s, pos, 4, y) || !expect(s, pos, ' ') ||
        !read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mi) ||
        !expect(s, pos, ':') || !read_digits(s, pos, 2, sec))
        bad_time("HTTP date", s);
    const year_month_day ymd{year{y}, month{mo}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) bad_time("HTTP date", s);
    const sys_seconds tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
    if (!representable(tp)) bad_time("HTTP date (outside the range of a time point)", s);
    return tp;
}

}  // namespace worm
