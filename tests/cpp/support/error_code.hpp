// error_code.hpp: which worm::Error a call throws, for CHECKs on error codes and messages.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "worm/error.hpp"

namespace worm::test {

// The code of the worm::Error that f() throws; fails the test when it throws none.
template <class F>
ErrorCode code_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    FAIL("expected a worm::Error");
    return ErrorCode::internal;
}

// Runs f, checks that it throws worm::Error with `code`, and returns the message.
template <class F>
std::string error_of(F&& f, ErrorCode code) {
    try {
        f();
    } catch (const Error& e) {
        CHECK_MESSAGE(e.code() == code, "code was " << to_string(e.code()) << ": " << e.what());
        return e.what();
    }
    FAIL("expected worm::Error(" << to_string(code) << ")");
    return {};
}

}  // namespace worm::test
