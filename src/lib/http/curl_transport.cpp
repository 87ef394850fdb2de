// libcurl implementation of HttpTransport.
//
// One easy handle per thread, reused for every request on that thread so libcurl keeps
// the connection alive (curl_easy_reset clears options but keeps the connection cache).
// Bodies stream: request bodies from a file slice through a read callback, 2xx response
// bodies into a temp file beside the destination that is renamed into place only when the
// transfer completed. Error bodies always stay in memory so S3 errors can be parsed.
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/http.hpp"
#include "../util/text.hpp"

namespace worm {

namespace {

using worm::detail::to_lower;

using worm::detail::trim;

namespace fs = std::filesystem;

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw Error(ErrorCode::internal, "curl_global_init failed");
    });
}

// Bodies at least this big are read and sent in large_body_buffer pieces.
constexpr std::uint64_t large_body = 1 << 20;
constexpr long large_body_buffer = 512 * 1024;
// In-memory bodies up to this size are sent with the head (libcurl's MAX_INITIAL_POST_SIZE).
constexpr std::size_t small_body = 64 * 1024;

// The per-thread handle; cleaned up when the thread ends.
struct EasyHandle {
    CURL* curl = nullptr;
    EasyHandle() {
        global_init_once();
        curl = curl_easy_init();
        if (!curl) throw Error(ErrorCode::internal, "curl_easy_init failed");
    }
    ~EasyHandle() {
        if (curl) curl_easy_cleanup(curl);
    }
    EasyHandle(const EasyHandle&) = delete;
    EasyHandle& operator=(const EasyHandle&) = delete;
};

CURL* thread_handle() {
    thread_local EasyHandle handle;
    curl_easy_reset(handle.curl);
    return handle.curl;
}

struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// "host[:port]" of an absolute URL: what error messages name (never the query, which may
// carry a presigned session token, and never headers).
std::string url_host(const std::string& url) {
    size_t start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    size_t end = url.find_first_of("/?#", start);
    std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (const size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
    return authority;
}

// Request body source: memory or a slice of a file read with pread.
struct BodyReader {
    const std::string* buffer = nullptr;
    int fd = -1;
    std::uint64_t base = 0;    // file offset where the slice starts
    std::uint64_t length = 0;  // bytes to send
    std::uint64_t sent = 0;
    std::string path;          // for messages
    std::exception_ptr error;

    ~BodyReader() {
        if (fd >= 0) ::close(fd);
    }

    static size_t read(char* out, size_t size, size_t nitems, void* user) {
        auto* self = static_cast<BodyReader*>(user);
        const std::uint64_t want = std::min<std::uint64_t>(size * nitems, self->length - self->sent);
        if (want == 0) return 0;
        if (self->buffer) {
            std::memcpy(out, self->buffer->data() + self->sent, want);
            self->sent += want;
            return want;
        }
        ssize_t n;
        do {
            n = ::pread(self->fd, out, want, static_cast<off_t>(self->base + self->sent));
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            // A file that shrank under us must not be sent short: abort the request.
            self->error = std::make_exception_ptr(Error(
                ErrorCode::io, n == 0 ? "request body file " + self->path + " is shorter than the slice sent"
                                      : "cannot read request body file " + self->path + ": " +
                                            std::strerror(errno)));
            return CURL_READFUNC_ABORT;
        }
        self->sent += static_cast<std::uint64_t>(n);
        return static_cast<size_t>(n);
    }

    // libcurl rewinds when it must resend the body (e.g. after a redirect or auth retry).
    static int seek(void* user, curl_off_t offset, int origin) {
        auto* self = static_cast<BodyReader*>(user);
        if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > self->length)
            return CURL_SEEKFUNC_CANTSEEK;
        self->sent = static_cast<std::uint64_t>(offset);
        return CURL_SEEKFUNC_OK;
    }
};

// Response sink: decides on the first body byte whether it goes to the file (2xx with a
// response_file), to memory, or nowhere (2xx not kept), and shows a 2xx body to the
// request's observer on the way.
struct BodyWriter {
    CURL* curl = nullptr;
    const std::optional<fs::path>* destination = nullptr;
    ResponseObserver* observer = nullptr;
    const HttpHeaders* headers = nullptr;  // the collector's, complete before the first body byte
    bool keep = true;
    std::string host;  // for messages
    std::uint64_t max_error_body = 0, max_memory_body = 0;
    long status = 0;
    std::string memory;
    fs::path temp_path;
    int fd = -1;
    bool decided = false;
    std::exception_ptr error;

    ~BodyWriter() { discard(); }

    static bool is_2xx(long status) { return status >= 200 && status < 300; }

    void open_temp() {
        const fs::path& dest = **destination;
        std::random_device rd;
        for (int attempt = 0; attempt < 50; ++attempt) {
            temp_path = dest;
            temp_path += ".part-" + std::to_string(rd());
            fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd >= 0) return;
            if (errno != EEXIST) break;
        }
        throw Error(ErrorCode::io, "cannot create download file beside " + dest.string() + ": " +
                                       std::strerror(errno));
    }

    void decide() {
        if (decided) return;
        decided = true;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (!is_2xx(status)) return;
        if (observer) observer->begin(*headers);
        if (keep && destination && *destination) open_temp();
    }

    static size_t write(char* data, size_t size, size_t nmemb, void* user) {
        auto* self = static_cast<BodyWriter*>(user);
        const size_t n = size * nmemb;
        try {
            self->decide();
            const bool ok = is_2xx(self->status);
            if (ok && self->observer) self->observer->piece(std::string_view(data, n));
            if (ok && !self->keep) return n;
            if (self->fd < 0) {
                const std::uint64_t limit = ok ? self->max_memory_body : self->max_error_body;
                if (self->memory.size() + n > limit)
                    throw Error(ErrorCode::storage, "HTTP " + std::string(ok ? "response" : "error response") +
                                                        " body from " + self->host + " exceeds " +
                                                        std::to_string(limit) + " bytes; transfer stopped");
                self->memory.append(data, n);
                return n;
            }
            size_t done = 0;
            while (done < n) {
                const ssize_t w = ::write(self->fd, data + done, n - done);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    throw Error(ErrorCode::io, "cannot write download file " + self->temp_path.string() + ": " +
                                                   std::strerror(errno));
                }
                done += static_cast<size_t>(w);
            }
            return n;
        } catch (...) {
            self->error = std::current_exception();
            return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
        }
    }

    // After a successful transfer: make the file durable and move it into place. A 2xx
    // with an empty body never called write(), so the (empty) file is created here.
    void commit(long status) {
        if (!is_2xx(status)) return;
        if (!decided && observer) observer->begin(*headers);
        decided = true;
        if (!keep || !destination || !*destination) return;
        if (fd < 0) open_temp();
        if (::fsync(fd) != 0 || ::close(fd) != 0) {
            fd = -1;
            throw Error(ErrorCode::io, "cannot flush download file " + temp_path.string() + ": " +
                                           std::strerror(errno));
        }
        fd = -1;
        std::error_code ec;
        fs::rename(temp_path, **destination, ec);
        if (ec)
            throw Error(ErrorCode::io, "cannot move download into " + (*destination)->string() + ": " + ec.message());
        temp_path.clear();
        fsync_directory((*destination)->parent_path().empty() ? fs::path(".") : (*destination)->parent_path());
    }

    void discard() {
        if (fd >= 0) ::close(fd);
        fd = -1;
        if (!temp_path.empty()) {
            std::error_code ec;
            fs::remove(temp_path, ec);
            temp_path.clear();
        }
    }
};

// Collects response headers; a new status line (100 Continue, a redirect) starts over.
struct HeaderCollector {
    HttpHeaders headers;

    static size_t on_header(char* data, size_t size, size_t nitems, void* user) {
        auto* self = static_cast<HeaderCollector*>(user);
        const size_t n = size * nitems;
        const std::string_view line(data, n);
        if (line.rfind("HTTP/", 0) == 0) {
            self->headers.clear();
        } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
            self->headers.emplace_back(to_lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
        }
        return n;
    }
};

class CurlTransport final : public HttpTransport {
public:
    explicit CurlTransport(HttpOptions options) : options_(std::move(options)) { global_init_once(); }

    HttpResponse send(const HttpRequest& request) override {
        CURL* curl = thread_handle();
        const std::string host = url_host(request.url);
        char errbuf[CURL_ERROR_SIZE] = {0};

        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        // Never follow redirects (S3 redirects carry an error body we report; following one to
        // another host would hand it the signed request), and speak nothing but HTTP(S).
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        // Send the path exactly as given: S3 keys may hold "/../" or "/./", which are signed
        // as they are and must not be squashed by URL normalisation.
        curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
        if (!options_.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
        curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
        curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
        // Proxies: libcurl reads http_proxy / https_proxy / no_proxy itself when no
        // CURLOPT_PROXY is set, which is what we want.

        // Headers as given; "Expect:" switches off libcurl's 100-continue wait on uploads.
        Slist header_list;
        auto append = [&](const std::string& line) {
            curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
            if (!next) throw Error(ErrorCode::internal, "out of memory building request headers");
            (void)header_list.release();
            header_list.reset(next);
        };
        for (const auto& [name, value] : request.headers)
            append(value.empty() ? name + ";" : name + ": " + value);  // "Name;" sends an empty value
        if (!find_header(request.headers, "expect")) append("Expect:");
        const bool has_body = request.body_file || !request.body.empty() || request.method == "PUT" ||
                              request.method == "POST";
        const bool body_with_head = has_body && request.method != "HEAD" && !request.body_file &&
                                    !request.body.empty() && request.body.size() <= small_body;
        // libcurl would add a form Content-Type to a POSTFIELDS body; absent stays absent.
        if (body_with_head && !find_header(request.headers, "content-type")) append("Content-Type:");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());

        // Body.
        BodyReader reader;
        if (request.body_file) {
            reader.path = request.body_file->path.string();
            reader.fd = ::open(request.body_file->path.c_str(), O_RDONLY | O_CLOEXEC);
            if (reader.fd < 0)
                throw Error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                            "cannot open request body file " + reader.path + ": " + std::strerror(errno));
            reader.base = request.body_file->offset;
            reader.length = request.body_file->length;
        } else {
            reader.buffer = &request.body;
            reader.length = request.body.size();
        }
        if (request.method == "HEAD") {
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        } else if (body_with_head) {
            // A small body in memory goes out with the head in one send: libcurl does that for
            // POSTFIELDS only, while an UPLOAD sends head and body apart (twice the sends and
            // the peer's wake-ups per request). The method stays the request's own.
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        } else if (has_body) {
            // UPLOAD sends exactly `length` bytes with a Content-Length (never chunked).
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, &BodyReader::read);
            curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
            curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &BodyReader::seek);
            curl_easy_setopt(curl, CURLOPT_SEEKDATA, &reader);
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(reader.length));
            // Big bodies (multipart parts): 512 KiB reads and sends instead of libcurl's 64 KiB,
            // an eighth of the syscalls and read callbacks.
            if (reader.length >= large_body) curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, large_body_buffer);
            if (request.method != "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        } else if (request.method != "GET") {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        }

        HeaderCollector collector;
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &HeaderCollector::on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &collector);
        BodyWriter writer;
        writer.curl = curl;
        writer.destination = &request.response_file;
        writer.observer = request.response_observer;
        writer.headers = &collector.headers;
        writer.keep = request.keep_response_body;
        writer.host = host;
        writer.max_error_body = options_.max_error_body;
        writer.max_memory_body = options_.max_memory_body;
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &BodyWriter::write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &writer);

        const CURLcode rc = curl_easy_perform(curl);
        // Options point into this stack frame; drop them before it goes away.
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);

        if (reader.error) std::rethrow_exception(reader.error);
        if (writer.error) std::rethrow_exception(writer.error);
        if (rc != CURLE_OK) {
            const std::string reason = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
            const bool timed_out = rc == CURLE_OPERATION_TIMEDOUT;
            throw Error(timed_out ? ErrorCode::timeout : ErrorCode::network,
                        "HTTP " + request.method + " to " + host + (timed_out ? " timed out: " : " failed: ") +
                            reason);
        }

        HttpResponse response;
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        response.status = static_cast<int>(status);
        writer.commit(status);
        response.headers = std::move(collector.headers);
        response.body = std::move(writer.memory);
        return response;
    }

private:
    HttpOptions options_;
};

}  // namespace

std::shared_ptr<HttpTransport> make_curl_transport(const HttpOptions& options) {
    return std::make_shared<CurlTransport>(options);
}

}  // namespace worm
