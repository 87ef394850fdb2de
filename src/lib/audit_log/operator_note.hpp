// One line on stderr for an operator: the sink has no logger of its own, it is the logger.
#pragma once

#include <cstdio>
#include <string>

namespace worm::audit_log::detail {

inline void tell_stderr(const std::string& line) { std::fprintf(stderr, "worm audit log: %s\n", line.c_str()); }

}  // namespace worm::audit_log::detail
