// fuzz_support.hpp: what every fuzz target treats as a finding besides a sanitizer report.
// Bad input must end in a typed worm::Error (not internal: that is a libworm bug); any other
// exception escaping, or a broken invariant, aborts so libFuzzer saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "worm/error.hpp"

namespace worm::fuzz {

[[noreturn]] inline void finding(std::string_view what) {
    std::fprintf(stderr, "fuzz finding: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

inline void check(bool condition, std::string_view what) {
    if (!condition) finding(what);
}

// Runs fn; a worm::Error other than internal is the expected answer to bad input.
template <typename Fn>
void expect_typed(Fn&& fn) {
    try {
        fn();
    } catch (const worm::Error& e) {
        if (e.code() == worm::ErrorCode::internal) finding(e.what());
    } catch (const std::exception& e) {
        finding(e.what());
    }
}

}  // namespace worm::fuzz
