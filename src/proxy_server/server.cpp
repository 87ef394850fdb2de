// worm-proxy's HTTP server: connections, body spooling, answers, logging, shutdown.
#include "server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "worm/error.hpp"
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

constexpr std::uint64_t linger_limit = 16ull << 20;  // bytes drained after refusing a body
constexpr std::chrono::seconds linger_time{5};

struct Connection {
    explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    bool idle = true;  // touched only on the connection's strand
};

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

void remove_quietly(const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
}

class Server {
public:
    Server(const Settings& settings, Api& api) : settings_(settings), api_(api), ioc_(settings.threads), acceptor_(ioc_) {}

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
        log("worm-proxy listening on " + settings_.listen_host + ":" +
            std::to_string(acceptor_.local_endpoint().port()) + " with " + std::to_string(settings_.threads) +
            " threads");

        net::signal_set signals(ioc_, SIGINT, SIGTERM);
        signals.async_wait([this](const beast::error_code& error, int signal) {
            if (!error) stop(signal);
        });
        net::co_spawn(ioc_, accept_loop(), net::detached);

        std::vector<std::thread> pool;
        for (int i = 1; i < settings_.threads; ++i) pool.emplace_back([this] { ioc_.run(); });
        ioc_.run();
        for (auto& t : pool) t.join();
        log("worm-proxy stopped");
    }

private:
    void log(const std::string& line) {
        std::lock_guard lock(log_mutex_);
        std::fprintf(stderr, "%s %s\n", format_rfc3339_millis(std::chrono::system_clock::now()).c_str(), line.c_str());
        std::fflush(stderr);
    }

    void stop(int signal) {
        log("signal " + std::to_string(signal) + ": stopping (running requests finish)");
        stopping_ = true;
        beast::error_code ec;
        acceptor_.close(ec);
        std::lock_guard lock(connections_mutex_);
        for (const auto& c : connections_)
            net::post(c->stream.get_executor(), [c] {
                if (c->idle) c->stream.cancel();
            });
    }

    awaitable<void> accept_loop() {
        while (!stopping_) {
            beast::error_code ec;
            tcp::socket socket = co_await acceptor_.async_accept(net::make_strand(ioc_), net::redirect_error(use_awaitable, ec));
            if (ec) {
                if (stopping_ || ec == net::error::operation_aborted) break;
                log("accept failed: " + ec.message());
                continue;
            }
            auto connection = std::make_shared<Connection>(std::move(socket));
            {
                std::lock_guard lock(connections_mutex_);
                connections_.insert(connection);
            }
            net::co_spawn(connection->stream.get_executor(), session(connection), net::detached);
        }
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
        connections_.erase(c);
    }

    awaitable<void> serve_requests(Connection& c) {
        auto& stream = c.stream;
        beast::flat_buffer buffer;
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
            const bool has_body = request.chunked || (request.content_length && *request.content_length > 0);
            bool keep_alive = head.keep_alive();
            bool linger = false;
            std::uint64_t bytes_in = 0;

            Prepared prepared = api_.prepare(request);
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
                        log(peer + " " + prepared.client_id + " " + request.method + " " + printable(request.target) +
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
                        } else if (ec) {
                            log(peer + " " + prepared.client_id + " " + request.method + " " + printable(request.target) +
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
            stream.expires_after(settings_.io_timeout);
            const bool written = co_await write_response(stream, response, keep_alive);
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            log(peer + " " + (prepared.client_id.empty() ? "-" : prepared.client_id) + " " + request.method + " " +
                printable(request.target) + " " + std::to_string(response.status) +
                (response.error_name.empty() ? "" : " " + response.error_name) + " in=" + std::to_string(bytes_in) +
                " " + std::to_string(ms.count()) + "ms");
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
    net::io_context ioc_;
    tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::mutex connections_mutex_;
    std::set<std::shared_ptr<Connection>> connections_;
    std::mutex log_mutex_;
};

}  // namespace

void serve(const Settings& settings, Api& api) {
    Server server(settings, api);
    server.run();
}

}  // namespace worm::proxy_server
