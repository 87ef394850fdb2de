// file_store_path: the directory a file: store URL names. Core (LocalWormStore's URL form);
// open_store() in worm::s3 uses it for file: URLs.
#include "../util/percent_encoding.hpp"
#include "../util/text.hpp"
#include "../util/url.hpp"
#include "worm/error.hpp"
#include "worm/storage/local.hpp"

namespace worm {

namespace {

// A store URL as messages show it: password masked.
std::string shown(std::string_view url) { return detail::mask_url_password(url); }

}  // namespace

// file:///abs/dir, file://localhost/abs/dir, file:/abs/dir, or file:relative/dir.
std::filesystem::path file_store_path(std::string_view url) {
    if (detail::to_lower(url.substr(0, 5)) != "file:")
        throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' is not a file: URL (file:///dir)");
    std::string_view rest = url.substr(5);  // after "file:"
    if (rest.find_first_of("?#") != std::string_view::npos)
        throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' must not have a query or fragment");
    if (rest.starts_with("//")) {
        rest.remove_prefix(2);
        const std::size_t slash = rest.find('/');
        const std::string_view host = rest.substr(0, slash);
        if (!host.empty() && host != "localhost")
            throw Error(ErrorCode::invalid_argument,
                        "store URL '" + shown(url) + "' names host '" + shown(host) +
                            "'; a file: store must be local (file:///dir)");
        if (slash == std::string_view::npos)
            throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' has no directory");
        rest = rest.substr(slash);
    }
    const std::string path = detail::percent_decode(rest, false, "store URL '" + shown(url) + "'");
    if (path.empty() || path == "/")
        throw Error(ErrorCode::invalid_argument, "store URL '" + shown(url) + "' has no directory");
    return path;
}

}  // namespace worm
