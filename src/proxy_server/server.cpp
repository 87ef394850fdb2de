// worm-proxy's HTTP server: connections, body spooling, answers, logging, shutdown.
#include "server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <thread>

#include "../lib/util/posix.hpp"
#include "../lib/util/url.hpp"
#include "worm/error.hpp"
#include "worm/proxy/protocol.hpp"
#include "worm/time.hpp"

namespace worm::proxy_server {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;

// Request targets are client-controlled; keep log lines single and short.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s.substr(0, 512)) {
        if (c < 0x20 || c == 0x7f) out += '?';
        else out += static_cast<char>(c);
    }
    if (s.size() > 512) out += "...";
    return out;
}

// The request target as logged. Query values may be secrets (a token sent as
// ?access_token=...): only the API's own parameters keep their values, and only once the
// client has authenticated; everything else shows as name=****.
std::string loggable_target(std::string_view target, bool authenticated) {
    static constexpr std::array<std::string_view, 6> api_parameters{"key",       "version_id",         "prefix",
                                                                    "delimiter", "continuation_token", "max_keys"};
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) return printable(target);
    const std::span<const std::string_view> keep = authenticated ? std::span(api_parameters) : std::span<const std::string_view>();
    return printable(std::string(target.substr(0, question + 1)) + worm::detail::mask_query(target.substr(question + 1), keep));
}

constexpr std::size_t read_buffer_size = 16 * 1024;  // per connection, kept for its life
constexpr std::uint64_t linger_limit = 16ull << 20;  // bytes drained after refusing a body
constexpr std::chrono::seconds linger_time{5};
// Descriptors kept free of connections: the listener, the backend store, log files, and
// the reserve descriptor; each connection may hold its socket and one spool/body file.
constexpr long long descriptor_headroom = 32;
constexpr long long descriptors_per_connection = 2;
// Each worker keeps a timer this short pending. Asio reprograms the kernel timer (a
// timerfd_settime) only when a new deadline is the earliest one; with this one pending,
// a connection's idle or I/O deadline (>= 1 s, armed for every read and write) never is.
constexpr std::chrono::milliseconds heartbeat_interval{500};
// After accept() fails (out of descriptors, ...), wait this long before the next accept.
constexpr std::chrono::milliseconds accept_pause{50};
// A failure that repeats (accept errors, a full connection table) is logged at most once
// per interval, with how often it happened.
constexpr std::chrono::seconds repeat_log_interval{10};

// What an excess connection gets before it is closed (written without waiting).
const std::string& busy_answer() {
    static const std::string answer = [] {
        const std::string body = worm::proxy::error_json(worm::proxy::error_busy, "worm-proxy has too many connections; retry");
        return "HTTP/1.1 503 Service Unavailable\r\nServer: worm-proxy\r\nContent-Type: application/json\r\n"
               "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    return answer;
}

// Sends the busy answer on a fresh socket if the kernel takes it at once, and closes it.
void refuse_busy(int fd) {
    const std::string& answer = busy_answer();
    (void)::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(fd);
}

// Logs a repeating event at most once per interval, with its count since the last line.
class RepeatedLog {
public:
    // Returns the line to log now, or "" while the interval runs.
    std::string note(const std::string& what) {
        std::lock_guard lock(mutex_);
        ++count_;
        const auto now = std::chrono::steady_clock::now();
        if (logged_once_ && now - last_ < repeat_log_interval) return {};
        std::string line = what;
        if (count_ > 1)
            line += " (" + std::to_string(count_) + " times in the last " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - last_).count()) + " s)";
        count_ = 0;
        last_ = now;
        logged_once_ = true;
        return line;
    }

private:
    std::mutex mutex_;
    std::uint64_t count_ = 0;
    bool logged_once_ = false;
    std::chrono::steady_clock::time_point last_{};
};

struct Connection {
    Connection(tcp::socket socket, std::uint64_t number) : stream(std::move(socket)), number(number) {}
    beast::tcp_stream stream;
    const std::uint64_t number;         // accept order: the oldest idle connection is closed first
    std::atomic<bool> idle{true};       // waiting for a request (read by the accept loop)
    std::atomic<bool> evicted{false};   // chosen to make room; closing
};

// How many connections to serve at once: --max-connections, lowered to what the open-file
// limit can hold (a proxy out of descriptors can accept nothing, not even /health).
std::size_t connection_limit(const Settings& settings, std::string& note) {
    rlimit files{};
    long long by_files = 1'000'000;
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
        by_files = (static_cast<long long>(files.rlim_cur) - descriptor_headroom - 2 * settings.threads) /
                   descriptors_per_connection;
    by_files = std::max(by_files, 1LL);
    if (settings.max_connections == 0) return static_cast<std::size_t>(by_files);
    if (settings.max_connections > by_files) {
        note = "--max-connections " + std::to_string(settings.max_connections) + " lowered to " +
               std::to_string(by_files) + " (open-file limit " + std::to_string(files.rlim_cur) + ")";
        return static_cast<std::size_t>(by_files);
    }
    return static_cast<std::size_t>(settings.max_connections);
}

// A per-request id for the client (X-Request-Id) and the log line that holds the details.
std::string new_request_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

// A body or head the parser rejected (answered 400), as opposed to a client that went away.
bool is_malformed(const beast::error_code& ec) {
    if (ec.category() != beast::http::make_error_code(http::error::bad_chunk).category()) return false;
    return ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::need_more &&
           ec != http::error::body_limit;
}

// The framing the proxy refuses before reading a body: a transfer coding other than
// plain "chunked" (501: the proxy would store the coded bytes), an expectation other
// than 100-continue (417).
std::optional<ApiResponse> unsupported_framing(const http::request_header<>& head) {
    std::string codings;
    for (const auto& field : head)
        if (field.name() == http::field::transfer_encoding)
            codings += (codings.empty() ? "" : ", ") + std::string(field.value());
    if (!codings.empty() && !beast::iequals(codings, "chunked"))
        return error_response(501, worm::proxy::error_not_implemented,
                              "Transfer-Encoding '" + printable(codings) + "' is not supported (only chunked)");
    const auto expect = head.find(http::field::expect);
    if (expect != head.end() && !beast::iequals(expect->value(), "100-continue"))
        return error_response(417, worm::proxy::error_expectation_failed,
                              "Expect '" + printable(std::string(expect->value().data(), expect->value().size())) + "' is not supported (only 100-continue)");
    return std::nullopt;
}

void remove_quietly(const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
}

class Server {
public:
    Server(const Settings& settings, Api& api)
        : settings_(settings), api_(api), acceptor_(accept_context_),
          reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
        for (int i = 0; i < settings.threads; ++i) {
            workers_.push_back(std::make_unique<net::io_context>(1));
            working_.push_back(net::make_work_guard(*workers_.back()));
        }
    }

    void run() {
        beast::error_code ec;
        const auto address = net::ip::make_address(settings_.listen_host, ec);
        if (ec) throw Error(ErrorCode::config, "--listen host '" + settings_.listen_host + "' is not an IP address");
        const tcp::endpoint endpoint(address, settings_.listen_port);
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (ec)
            throw Error(ErrorCode::config, "cannot listen on " + settings_.listen_host + ":" +
                                               std::to_string(settings_.listen_port) + ": " + ec.message());
        std::string note;
        limit_ = connection_limit(settings_, note);
        if (!note.empty()) log(note);
        log("worm-proxy listening on " + settings_.listen_host + ":" +
            std::to_string(acceptor_.local_endpoint().port()) + " with " + std::to_string(settings_.threads) +
            " threads, at most " + std::to_string(limit_) + " connections, idle timeout " +
            std::to_string(settings_.idle_timeout.count()) + " s");

        net::signal_set signals(accept_context_, SIGINT, SIGTERM);
        signals.async_wait([this](const beast::error_code& error, int signal) {
            if (!error) stop(signal);
        });
        net::co_spawn(accept_context_, accept_loop(), net::detached);
        for (auto& worker : workers_) {
            heartbeats_.push_back(std::make_unique<net::steady_timer>(*worker));
            net::co_spawn(*worker, heartbeat(*heartbeats_.back()), net::detached);
        }

        std::vector<std::thread> pool;
        for (auto& worker : workers_) pool.emplace_back([&worker] { worker->run(); });
        accept_context_.run();  // until stop(): the listener is closed and the signal handled
        for (auto& t : pool) t.join();
        log("worm-proxy stopped");
    }

private:
    void log(const std::string& line) {
        if (line.empty()) return;
        std::lock_guard lock(log_mutex_);
        std::fprintf(stderr, "%s %s\n", format_rfc3339_millis(std::chrono::system_clock::now()).c_str(), line.c_str());
        std::fflush(stderr);
    }

    void stop(int signal) {
        log("signal " + std::to_string(signal) + ": stopping (running requests finish)");
        stopping_ = true;
        beast::error_code ec;
        acceptor_.close(ec);
        working_.clear();  // each worker's run() returns once its connections have ended
        for (auto& timer : heartbeats_)
            net::post(timer->get_executor(), [t = timer.get()] { t->cancel(); });
        std::lock_guard lock(connections_mutex_);
        for (const auto& entry : connections_) {
            auto c = entry.second;  // a copy: clang 14 cannot capture a structured binding
            net::post(c->stream.get_executor(), [c] {
                if (c->idle) c->stream.cancel();
            });
        }
    }

    // Until stop(): keeps the worker's earliest deadline short (see heartbeat_interval).
    awaitable<void> heartbeat(net::steady_timer& timer) {
        while (!stopping_) {
            beast::error_code ec;
            timer.expires_after(heartbeat_interval);
            co_await timer.async_wait(net::redirect_error(use_awaitable, ec));
            if (ec) break;
        }
    }

    awaitable<void> accept_loop() {
        net::steady_timer pause(accept_context_);
        while (!stopping_) {
            beast::error_code ec;
            // Each connection lives on one worker's io_context, run by one thread: its reads,
            // backend call and writes never hop between threads (at one request at a time
            // the hops were a quarter of the latency).
            net::io_context& worker = *workers_[next_worker_++ % workers_.size()];
            tcp::socket socket = co_await acceptor_.async_accept(worker, net::redirect_error(use_awaitable, ec));
            if (ec) {
                if (stopping_ || ec == net::error::operation_aborted) break;
                log(accept_errors_.note("accept failed: " + ec.message()));
                const bool out_of_descriptors =
                    ec == net::error::no_descriptors || (ec.category() == beast::system_category() && ec.value() == ENFILE);
                if (out_of_descriptors) shed_waiting_connection();
                // Without a pause a listener that stays readable turns into a busy loop.
                pause.expires_after(accept_pause);
                co_await pause.async_wait(net::redirect_error(use_awaitable, ec));
                continue;
            }
            socket.set_option(tcp::no_delay(true), ec);  // answers leave at once (no Nagle wait)
            admit(std::move(socket));
        }
    }

    // Out of descriptors: the waiting connection would make accept() fail again at once.
    // Free the reserve descriptor, take the connection, answer 503, close it, re-reserve.
    void shed_waiting_connection() {
        reserve_fd_.close();
        const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) refuse_busy(fd);
        reserve_fd_ = detail::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }

    // Serves a new connection. At the limit the oldest idle connection (waiting for a
    // request) is closed to make room; with none idle the new one gets 503.
    void admit(tcp::socket socket) {
        std::shared_ptr<Connection> evict;
        std::shared_ptr<Connection> connection;
        {
            std::lock_guard lock(connections_mutex_);
            std::size_t open = 0;
            for (const auto& [number, c] : connections_)
                if (!c->evicted) ++open;
            if (open >= limit_) {
                for (const auto& [number, c] : connections_)
                    if (c->idle && !c->evicted) {
                        evict = c;
                        break;
                    }
                if (!evict) {
                    log(limit_log_.note("connection limit of " + std::to_string(limit_) +
                                        " reached with every connection busy: answered 503"));
                    refuse_busy(socket.release());
                    return;
                }
                evict->evicted = true;
            }
            connection = std::make_shared<Connection>(std::move(socket), next_connection_++);
            connections_.emplace(connection->number, connection);
        }
        if (evict) {
            log(limit_log_.note("connection limit of " + std::to_string(limit_) +
                                " reached: closing the longest-idle connection"));
            net::post(evict->stream.get_executor(), [evict] {
                if (evict->idle) evict->stream.cancel();
            });
        }
        net::co_spawn(connection->stream.get_executor(), session(connection), net::detached);
    }

    awaitable<void> session(std::shared_ptr<Connection> c) {
        try {
            co_await serve_requests(*c);
        } catch (const std::exception& e) {
            log(std::string("connection error: ") + e.what());
        }
        beast::error_code ec;
        c->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        c->stream.close();
        std::lock_guard lock(connections_mutex_);
        connections_.erase(c->number);
    }

    awaitable<void> serve_requests(Connection& c) {
        auto& stream = c.stream;
        beast::flat_buffer buffer;
        // Beast reads max(512, free capacity) bytes at a time: from an empty buffer a 4 KiB
        // upload took 9 reads, each with its own epoll round and timer re-arm. With this much
        // room the head and an evidence-sized body arrive in one read.
        buffer.reserve(read_buffer_size);
        beast::error_code ec;
        const auto remote = stream.socket().remote_endpoint(ec);
        const std::string peer = ec ? std::string("?") : remote.address().to_string();
        while (!stopping_) {
            c.idle = true;
            http::request_parser<http::empty_body> header_parser;
            header_parser.header_limit(16 * 1024);
            // Size limits are Api::prepare's decision (413 with a JSON answer), then the body parser's.
            header_parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // not boost::none: 1.74 compares it wrongly
            stream.expires_after(settings_.idle_timeout);
            co_await http::async_read_header(stream, buffer, header_parser, net::redirect_error(use_awaitable, ec));
            if (ec) {
                // A malformed head is answered; a closed, idle or cancelled connection just ends.
                if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
                    ec != net::error::operation_aborted && ec != net::error::eof && ec != net::error::connection_reset) {
                    ApiResponse bad = error_response(400, to_string(ErrorCode::invalid_argument), "malformed HTTP request: " + ec.message());
                    stream.expires_after(settings_.io_timeout);
                    co_await write_response(stream, bad, false);
                }
                co_return;
            }
            c.idle = false;
            const auto started = std::chrono::steady_clock::now();
            const auto& head = header_parser.get();

            ApiRequest request;
            request.method = std::string(head.method_string());
            request.target = std::string(head.target());
            for (const auto& field : head) request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
            if (auto length = header_parser.content_length()) request.content_length = *length;
            request.chunked = header_parser.chunked();
            request.request_id = new_request_id();
            const bool has_body = request.chunked || (request.content_length && *request.content_length > 0) ||
                                  head.find(http::field::transfer_encoding) != head.end();
            bool keep_alive = head.keep_alive();
            bool linger = false;
            std::uint64_t bytes_in = 0;

            Prepared prepared;
            if (auto refusal = unsupported_framing(head)) prepared.refusal = std::move(refusal);
            else prepared = api_.prepare(request);
            ApiResponse response;
            std::optional<fs::path> upload_file;
            if (prepared.refusal) {
                response = std::move(*prepared.refusal);
                // The body was not read; do not parse it as the next request.
                if (has_body) keep_alive = false, linger = true;
            } else {
                stream.expires_after(settings_.io_timeout);
                if (has_body && beast::iequals(head[http::field::expect], "100-continue")) {
                    http::response<http::empty_body> go_on{http::status::continue_, 11};
                    co_await http::async_write(stream, go_on, net::redirect_error(use_awaitable, ec));
                    if (ec) co_return;
                }
                std::string small_body;
                // Bodies of known, modest size are read into memory: a spool file per request
                // (create, write, reopen, unlink) was most of the proxy's CPU for evidence-sized
                // uploads. Chunked and larger bodies still go to the spool.
                const bool upload_in_memory = prepared.body == BodyKind::upload && !request.chunked &&
                                              request.content_length && *request.content_length <= memory_upload_limit;
                if (upload_in_memory) {
                    http::request_parser<http::string_body> body_parser{std::move(header_parser)};
                    body_parser.body_limit(memory_upload_limit);
                    if (!body_parser.is_done())
                        co_await http::async_read(stream, buffer, body_parser, net::redirect_error(use_awaitable, ec));
                    if (ec) {
                        log(peer + " " + prepared.client_id + " " + request.method + " " +
                            loggable_target(request.target, !prepared.client_id.empty()) +
                            " body not received: " + ec.message());
                        co_return;
                    }
                    small_body = std::move(body_parser.get().body());
                    bytes_in = small_body.size();
                    response = api_.handle(prepared, request, small_body, nullptr);
                } else if (prepared.body == BodyKind::upload) {
                    upload_file = api_.spool_path("put");
                    http::request_parser<http::file_body> body_parser{std::move(header_parser)};
                    body_parser.body_limit(api_.policy().max_body);
                    body_parser.get().body().open(upload_file->c_str(), beast::file_mode::write_new, ec);
                    if (ec) {
                        response = error_response(500, "io", "cannot create a spool file: " + ec.message());
                        keep_alive = false, linger = has_body;
                    } else {
                        if (!body_parser.is_done())
                            co_await http::async_read(stream, buffer, body_parser, net::redirect_error(use_awaitable, ec));
                        body_parser.get().body().close();
                        if (ec == http::error::body_limit) {
                            response = error_response(413, "too_large", "the body is over the limit of " +
                                                                            std::to_string(api_.policy().max_body) + " bytes");
                            keep_alive = false, linger = true;
                        } else if (is_malformed(ec)) {
                            response = error_response(400, to_string(ErrorCode::invalid_argument),
                                                      "malformed HTTP request body: " + ec.message());
                            keep_alive = false;
                        } else if (ec) {
                            log(peer + " " + prepared.client_id + " " + request.method + " " +
                            loggable_target(request.target, !prepared.client_id.empty()) +
                                " body not received: " + ec.message());
                            remove_quietly(*upload_file);
                            co_return;
                        } else {
                            bytes_in = fs::file_size(*upload_file);
                            response = api_.handle(prepared, request, small_body, &*upload_file);
                        }
                    }
                } else {
                    http::request_parser<http::string_body> body_parser{std::move(header_parser)};
                    body_parser.body_limit(small_body_limit);
                    if (!body_parser.is_done())
                        co_await http::async_read(stream, buffer, body_parser, net::redirect_error(use_awaitable, ec));
                    if (ec == http::error::body_limit) {
                        response = error_response(413, "too_large", "request bodies of this endpoint are limited to " +
                                                                        std::to_string(small_body_limit) + " bytes");
                        keep_alive = false, linger = true;
                    } else if (is_malformed(ec)) {
                        response = error_response(400, to_string(ErrorCode::invalid_argument),
                                                  "malformed HTTP request body: " + ec.message());
                        keep_alive = false;
                    } else if (ec) {
                        co_return;
                    } else {
                        small_body = std::move(body_parser.get().body());
                        bytes_in = small_body.size();
                        response = api_.handle(prepared, request, small_body, nullptr);
                    }
                }
            }
            if (upload_file) remove_quietly(*upload_file);

            keep_alive = keep_alive && !stopping_;
            response.headers.emplace_back(worm::proxy::header_request_id, request.request_id);
            stream.expires_after(settings_.io_timeout);
            const bool written = co_await write_response(stream, response, keep_alive);
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            // The details of a backend failure stay here; the client got the request id.
            log(peer + " " + (prepared.client_id.empty() ? "-" : prepared.client_id) + " " + request.method + " " +
                loggable_target(request.target, !prepared.client_id.empty()) + " " + std::to_string(response.status) +
                (response.error_name.empty() ? "" : " " + response.error_name) + " in=" + std::to_string(bytes_in) +
                " " + std::to_string(ms.count()) + "ms id=" + request.request_id +
                (response.log_detail.empty() ? "" : " detail: " + printable(response.log_detail)));
            if (!written) co_return;
            if (linger) {
                co_await drain(stream);
                co_return;
            }
            if (!keep_alive) co_return;
        }
    }

    // Returns false when the answer could not be sent (the client went away).
    awaitable<bool> write_response(beast::tcp_stream& stream, ApiResponse& response, bool keep_alive) {
        beast::error_code ec;
        auto fill = [&](auto& message) {
            message.set(http::field::server, "worm-proxy");
            for (const auto& [name, value] : response.headers) message.insert(name, value);
            message.keep_alive(keep_alive);
        };
        if (response.body_file) {
            http::response<http::file_body> message{static_cast<http::status>(response.status), 11};
            message.body().open(response.body_file->c_str(), beast::file_mode::scan, ec);
            remove_quietly(*response.body_file);  // the open descriptor keeps the bytes until sent
            if (ec) {
                ApiResponse failed = error_response(500, "io", "cannot open the spooled object: " + ec.message());
                co_return co_await write_response(stream, failed, false);
            }
            fill(message);
            message.prepare_payload();
            co_await http::async_write(stream, message, net::redirect_error(use_awaitable, ec));
        } else {
            http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
            fill(message);
            message.body() = std::move(response.body);
            message.prepare_payload();
            co_await http::async_write(stream, message, net::redirect_error(use_awaitable, ec));
        }
        co_return !ec;
    }

    // After refusing a body that is still arriving: stop sending, read and drop what the
    // client sends for a while, then close. Closing at once would reset the connection
    // and the client could lose the answer.
    awaitable<void> drain(beast::tcp_stream& stream) {
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream.expires_after(linger_time);
        std::vector<char> sink(64 * 1024);
        std::uint64_t total = 0;
        while (total < linger_limit) {
            const std::size_t n = co_await stream.async_read_some(net::buffer(sink), net::redirect_error(use_awaitable, ec));
            if (ec) break;
            total += n;
        }
    }

    const Settings& settings_;
    Api& api_;
    net::io_context accept_context_;  // the listener and the signals, on the thread that calls run()
    std::vector<std::unique_ptr<net::io_context>> workers_;  // --threads of them, one thread each
    std::vector<net::executor_work_guard<net::io_context::executor_type>> working_;  // until stop()
    std::vector<std::unique_ptr<net::steady_timer>> heartbeats_;  // one per worker, until stop()
    std::size_t next_worker_ = 0;  // round robin over workers_ (used by the accept loop only)
    tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::mutex connections_mutex_;
    std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;  // by accept order
    std::uint64_t next_connection_ = 0;
    std::size_t limit_ = 1;
    detail::UniqueFd reserve_fd_;  // closed to accept (and refuse) a connection when out of descriptors
    RepeatedLog accept_errors_;
    RepeatedLog limit_log_;
    std::mutex log_mutex_;
};

}  // namespace

void serve(const Settings& settings, Api& api) {
    Server server(settings, api);
    server.run();
}

}  // namespace worm::proxy_server
