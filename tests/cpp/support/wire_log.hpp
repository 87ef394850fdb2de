// wire_log.hpp: a transport decorator for tests that remembers every exchange (request
// and the server's answer), and can tamper with one in flight. (It replaces the
// RecordingTransport that used to sit in the public http.hpp.)
//
// Fault injection only, as DESIGN.md asks: the requests still go to a real server. Tests
// use it to see what the server really said (RGW's RequestTimeTooSkewed, a PUT answer
// without x-amz-checksum-sha256) and to play a corrupting network.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "worm/http.hpp"

namespace worm::test {

struct Exchange {
    HttpRequest request;
    HttpResponse response;  // status 0: the transport threw
};

class WireLog final : public HttpTransport {
public:
    explicit WireLog(std::shared_ptr<HttpTransport> next) : next_(std::move(next)) {}

    // Called before sending; may change the request (e.g. flip a body byte).
    std::function<void(HttpRequest&)> tamper_request;
    // Called on each answer before the client sees it; may change it.
    std::function<void(const HttpRequest&, HttpResponse&)> tamper_response;

    HttpResponse send(const HttpRequest& original) override {
        HttpRequest request = original;
        if (tamper_request) tamper_request(request);
        Exchange x{request, {}};
        try {
            x.response = next_->send(request);
        } catch (...) {
            record(std::move(x));
            throw;
        }
        if (tamper_response) tamper_response(request, x.response);
        record(x);
        return x.response;
    }

    std::vector<Exchange> exchanges() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    // Just the requests, in send order.
    std::vector<HttpRequest> requests() const {
        std::lock_guard lock(mutex_);
        std::vector<HttpRequest> out;
        for (const Exchange& x : log_) out.push_back(x.request);
        return out;
    }
    void clear() {
        std::lock_guard lock(mutex_);
        log_.clear();
    }

private:
    void record(Exchange x) {
        std::lock_guard lock(mutex_);
        log_.push_back(std::move(x));
    }

    std::shared_ptr<HttpTransport> next_;
    mutable std::mutex mutex_;
    std::vector<Exchange> log_;
};

// "GET" + "/bucket/key?..." matcher helpers.
inline bool url_has(const HttpRequest& r, const std::string& part) { return r.url.find(part) != std::string::npos; }

}  // namespace worm::test
