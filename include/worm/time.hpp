// time.hpp: UTC timestamps as the formats need them, and an injectable clock.
//
// Bundles, S3 lock dates and registry rows all speak RFC 3339 in UTC ("Z").
// Parsing accepts 0-9 fractional digits and numeric offsets (RGW sends 9 digits).
//
// TimePoint counts nanoseconds in 64 bits, so it ends on 2262-04-11; parse_rfc3339 refuses
// later dates. Retention dates run much further (S3 accepts any four-digit year), so they
// are a RetentionDate: whole milliseconds (S3's precision) from 1970-01-01T00:00:00.000Z to
// 9999-12-31T23:59:59.999Z, which every store, header, document and the Python API carry
// exactly; anything outside is refused, naming the value.
//
// Example:
//   worm::TimePoint t = worm::parse_rfc3339("2026-11-22T10:00:00.5Z");
//   std::string amz = worm::format_amz_date(t);  // "20261122T100000Z"
//   worm::RetentionDate far = worm::parse_retention_date("2614-06-01T00:00:00Z");
//   bool later = far > worm::RetentionDate(t);                   // true
//   std::string text = worm::format_rfc3339_millis(far);         // "2614-06-01T00:00:00.000Z"
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "worm/export.hpp"

namespace worm {

using TimePoint = std::chrono::system_clock::time_point;

// Tests replace the clock to make ids, dates and retention reproducible.
//
// How the library holds a clock (one convention everywhere): a clock is borrowed, never
// owned. Its owner keeps it alive as long as anything uses it (system_clock() lives for
// the whole program; a test keeps its FixedClock on the stack). A constructor takes
// `const Clock& clock = system_clock()` (a reference cannot be null); wherever a clock is
// stored, in a class or an options struct, it is a `const Clock*` that is never null and
// defaults to `&system_clock()` (a pointer keeps structs assignable and usable with
// designated initializers). Why not shared_ptr: nothing is gained by shared ownership of
// a stateless service, and the static system clock would need a no-op deleter.
class WORM_API Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

class WORM_API SystemClock final : public Clock {
public:
    TimePoint now() const override { return std::chrono::system_clock::now(); }
};

class WORM_API FixedClock final : public Clock {
public:
    explicit FixedClock(TimePoint t) : now_(t) {}
    TimePoint now() const override { return now_; }
    void set(TimePoint t) { now_ = t; }
    void advance(std::chrono::seconds s) { now_ += s; }

private:
    TimePoint now_;
};

WORM_API const Clock& system_clock();

// "2026-11-22T18:14:37Z" (whole seconds; what bundles and lock dates carry).
WORM_API std::string format_rfc3339(TimePoint t);
// "2026-11-22T18:14:37.123Z" (milliseconds; what S3 returns for retain-until).
WORM_API std::string format_rfc3339_millis(TimePoint t);
// "20261122T181437Z" and "20261122" (SigV4).
WORM_API std::string format_amz_date(TimePoint t);
WORM_API std::string format_amz_day(TimePoint t);
// "Sun, 22 Nov 2026 18:14:37 GMT" (HTTP Date).
WORM_API std::string format_http_date(TimePoint t);

// Throws Error(invalid_argument) naming the text when it is not RFC 3339 or lies outside
// what a TimePoint holds (1677-09-21T00:12:44Z .. 2262-04-11T23:47:16Z).
WORM_API TimePoint parse_rfc3339(std::string_view text);

// A retention date (see the top of this header): whole milliseconds in
// [retention_date_min, retention_date_max]. Built from a TimePoint (rounded down to the
// millisecond, as stores record it), from milliseconds, or parsed; every constructor throws
// Error(invalid_argument) naming the value when it lies outside the range.
class WORM_API RetentionDate {
public:
    using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

    constexpr RetentionDate() = default;  // 1970-01-01T00:00:00.000Z
    // Implicit on purpose: `now + days(90)` is a retention date. Rounds down to the millisecond.
    template <class Duration>
    RetentionDate(std::chrono::sys_time<Duration> t) : t_(checked(std::chrono::floor<std::chrono::milliseconds>(t))) {}

    Millis millis() const noexcept { return t_; }
    // Whether it fits a TimePoint (up to 2262-04-11), and the TimePoint when it does.
    bool fits_time_point() const noexcept;
    TimePoint time_point() const;  // throws Error(invalid_argument) when it does not fit

    friend bool operator==(const RetentionDate&, const RetentionDate&) = default;
    friend auto operator<=>(const RetentionDate&, const RetentionDate&) = default;

private:
    static Millis checked(Millis t);  // throws Error(invalid_argument) outside the range
    Millis t_{};
};

inline constexpr std::string_view retention_date_min = "1970-01-01T00:00:00.000Z";
inline constexpr std::string_view retention_date_max = "9999-12-31T23:59:59.999Z";

// RFC 3339 like parse_rfc3339 (fraction cut to milliseconds) over the whole retention
// range; throws Error(invalid_argument) naming the text and the range.
WORM_API RetentionDate parse_retention_date(std::string_view text);
WORM_API std::string format_rfc3339(RetentionDate t);         // whole seconds, rounded down
WORM_API std::string format_rfc3339_millis(RetentionDate t);
// Parses an IMF-fixdate HTTP Date header; throws Error(invalid_argument).
WORM_API TimePoint parse_http_date(std::string_view text);

}  // namespace worm
