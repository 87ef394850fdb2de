// Retention dates past 2262 (where an int64 nanosecond TimePoint ends) are kept exactly:
// RetentionDate's parse/format round trip, and `worm put` / `worm retention get|set` on a
// local store (file://) print exactly what was set. Dates the library cannot represent
// (after 9999, before 1970) are refused with exit 2, naming the value. The S3 and proxy
// versions of these checks are in test_it_cli_s3.cpp and test_it_proxy.cpp.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/error_code.hpp"
#include "support/json_output.hpp"
#include "support/test_env.hpp"
#include "worm/error.hpp"
#include "worm/time.hpp"

using namespace worm;
namespace t = worm::test;
namespace fs = std::filesystem;

namespace {

// Boundary dates: the last whole second of TimePoint, the day after, years beyond, the last instant of 9999.
const std::vector<std::pair<std::string, std::string>> far_dates = {
    {"2262-04-11T23:47:16Z", "2262-04-11T23:47:16.000Z"},
    {"2262-04-12T00:00:00Z", "2262-04-12T00:00:00.000Z"},
    {"2263-01-01T00:00:00Z", "2263-01-01T00:00:00.000Z"},
    {"2614-06-01T00:00:00Z", "2614-06-01T00:00:00.000Z"},
    {"9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000Z"},
    {"9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"},
};

const std::vector<std::string> unrepresentable = {"10000-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00",
                                                  "1969-12-31T23:59:59Z"};

t::CommandResult worm_cli(std::vector<std::string> args) {
    args.insert(args.begin(), t::cli_path());
    return t::run_command(args);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("RetentionDate keeps every date up to 9999-12-31 to the millisecond") {
    for (const auto& [text, millis] : far_dates) {
        CAPTURE(text);
        const RetentionDate d = parse_retention_date(text);
        CHECK(format_rfc3339_millis(d) == millis);
        CHECK(parse_retention_date(format_rfc3339_millis(d)) == d);
        CHECK(d > RetentionDate(std::chrono::system_clock::now()));
    }
    CHECK(parse_retention_date("2614-06-01T02:00:00+02:00") == parse_retention_date("2614-06-01T00:00:00Z"));
    CHECK(format_rfc3339(parse_retention_date("2614-06-01T00:00:00.750Z")) == "2614-06-01T00:00:00Z");
    // A TimePoint converts exactly (whole milliseconds) and compares across the 2262 edge.
    const TimePoint now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    CHECK(RetentionDate(now).time_point() == now);
    CHECK(RetentionDate(now) < parse_retention_date("2263-01-01T00:00:00Z"));
    CHECK_FALSE(parse_retention_date("2263-01-01T00:00:00Z").fits_time_point());
    CHECK(t::code_of([] { (void)parse_retention_date("2263-01-01T00:00:00Z").time_point(); }) ==
          ErrorCode::invalid_argument);
}

TEST_CASE("dates a RetentionDate or a TimePoint cannot hold are refused, naming the value, never wrapped") {
    for (const auto& text : unrepresentable) {
        CAPTURE(text);
        try {
            (void)parse_retention_date(text);
            FAIL("accepted " << text);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::invalid_argument);
            CHECK(contains(e.what(), text));
            CHECK(contains(e.what(), "9999-12-31T23:59:59.999Z"));
        }
    }
    // A TimePoint (int64 nanoseconds) ends on 2262-04-11: later text is refused, not wrapped to 1678.
    CHECK(t::code_of([] { (void)parse_rfc3339("2263-01-01T00:00:00Z"); }) == ErrorCode::invalid_argument);
    CHECK(t::code_of([] { (void)parse_rfc3339("2262-04-12T00:00:00Z"); }) == ErrorCode::invalid_argument);
    CHECK(format_rfc3339(parse_rfc3339("2262-04-11T23:47:16Z")) == "2262-04-11T23:47:16Z");
}

TEST_CASE("worm put and retention get/set on file:// keep far retention dates exactly; unrepresentable ones exit 2") {
    t::TempDir tmp("worm-retention-dates");
    const std::string store = "file://" + (tmp / "store").string();
    fs::create_directories(tmp / "store");
    t::write_file(tmp / "body", "evidence");

    int n = 0;
    for (const auto& [text, millis] : far_dates) {
        CAPTURE(text);
        const std::string key = "far/" + std::to_string(n++);
        const t::CommandResult put = worm_cli({"put", "--store", store, key, (tmp / "body").string(), "--lock-mode",
                                               "COMPLIANCE", "--retain-until", text});
        REQUIRE_MESSAGE(put.exit_code == 0, put.err);
        const t::CommandResult got = worm_cli({"retention", "get", "--store", store, key});
        REQUIRE_MESSAGE(got.exit_code == 0, got.err);
        const auto doc = t::parse_json(got.out);
        CHECK(t::str(doc, "retain_until") == millis);
        CHECK(t::str(doc, "lock_mode") == "COMPLIANCE");
    }

    // Extending to the very last millisecond of 9999 works and reads back exactly.
    const t::CommandResult set = worm_cli({"retention", "set", "--store", store, "far/3", "--lock-mode", "COMPLIANCE",
                                           "--retain-until", "9999-12-31T23:59:59.999Z"});
    REQUIRE_MESSAGE(set.exit_code == 0, set.err);
    CHECK(t::str(t::parse_json(worm_cli({"retention", "get", "--store", store, "far/3"}).out), "retain_until") ==
          "9999-12-31T23:59:59.999Z");
    // Shortening COMPLIANCE across the 2262 edge is refused (the dates compare as dates).
    const t::CommandResult shorten = worm_cli({"retention", "set", "--store", store, "far/3", "--lock-mode",
                                               "COMPLIANCE", "--retain-until", "2262-04-11T00:00:00Z"});
    CHECK(shorten.exit_code == 3);

    for (const auto& text : unrepresentable) {
        CAPTURE(text);
        const t::CommandResult put = worm_cli({"put", "--store", store, "bad/" + std::to_string(n++),
                                               (tmp / "body").string(), "--lock-mode", "COMPLIANCE", "--retain-until",
                                               text});
        CHECK(put.exit_code == 2);
        CHECK(contains(put.err, text));
        const t::CommandResult set_bad = worm_cli(
            {"retention", "set", "--store", store, "far/0", "--lock-mode", "COMPLIANCE", "--retain-until", text});
        CHECK(set_bad.exit_code == 2);
        CHECK(contains(set_bad.err, text));
    }
    CHECK(worm_cli({"ls", "--store", store, "--prefix", "bad/"}).out.find("bad/") == std::string::npos);
}
