// server.hpp: the network side of worm-proxy (Boost.Beast over Asio, C++20 coroutines).
//
// The listener has its own io_context (the thread that calls serve()); connections are
// dealt round robin to --threads worker io_contexts, each run by one thread, so a
// connection's coroutine never changes threads. Request headers are read first and given to Api::prepare(), so a refused
// upload (token, prefix, size) is answered before its body is read: with
// "Expect: 100-continue" the body is never sent; without it, the proxy answers, stops
// reading and closes after draining a little, so the client sees the answer, not a reset.
// SIGTERM/SIGINT: stop accepting, close idle connections, let running requests finish.
#pragma once

#include "api.hpp"
#include "settings.hpp"

namespace worm::proxy_server {

// Serves until SIGTERM or SIGINT; returns when every connection is closed.
// Throws Error(config) when the address cannot be bound.
void serve(const Settings& settings, Api& api);

}  // namespace worm::proxy_server
