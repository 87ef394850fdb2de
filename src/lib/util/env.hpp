// env.hpp (private): reading the process environment, one way.
#pragma once

#include <cstdlib>
#include <string>

namespace worm::detail {

// The value of environment variable `name`, "" when it is unset. Callers treat "" as unset,
// as the AWS SDKs do (AWS_PROFILE= means the default profile).
inline std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

}  // namespace worm::detail
