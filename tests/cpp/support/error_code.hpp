// error_code.hpp: which worm::Error a call throws, for CHECKs on error codes.
#pragma once

#include <doctest/doctest.h>

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

}  // namespace worm::test
