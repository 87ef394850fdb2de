// File-system helpers of LocalWormStore: no symlink is ever followed below the root.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>

#include "local_store_detail.hpp"
#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/storage/keys.hpp"

namespace worm::detail {

namespace {

constexpr std::size_t chunk_size = 1 << 16;

}  // namespace

EntryType entry_type(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return EntryType::missing;
        io_error("cannot stat", path, errno);
    }
    if (S_ISLNK(st.st_mode)) return EntryType::symlink;
    if (S_ISDIR(st.st_mode)) return EntryType::directory;
    if (S_ISREG(st.st_mode)) return EntryType::file;
    return EntryType::other;
}

std::optional<fs::path> walk_dirs(const fs::path& base, const std::vector<std::string>& names, bool create,
                                  std::string_view key, bool durable) {
    fs::path path = base;
    for (const auto& name : names) {
        const fs::path parent = path;
        path /= name;
        EntryType type = entry_type(path);
        if (type == EntryType::missing) {
            if (!create) return std::nullopt;
            if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) io_error("cannot create directory", path, errno);
            if (durable) fsync_directory(parent);
            type = entry_type(path);
        }
        if (type == EntryType::symlink)
            throw Error(ErrorCode::storage, "refusing to follow symbolic link " + path.string() +
                                                " in the store (key " + quote_key(key) + ")");
        if (type != EntryType::directory)
            throw Error(ErrorCode::already_exists, "key " + quote_key(key) + " needs " + path.string() +
                                                       " to be a directory, but an object or file is there");
    }
    return path;
}

int open_nofollow(const fs::path& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW); }

std::optional<std::string> read_file_nofollow(const fs::path& path) {
    const int fd = open_nofollow(path);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        io_error("cannot open", path, errno);
    }
    std::string data;
    char buf[chunk_size];
    while (true) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            io_error("cannot read", path, err);
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
}

std::vector<std::string> list_directory(const fs::path& dir) {
    std::vector<std::string> names;
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return names;
        io_error("cannot open directory", dir, errno);
    }
    DIR* d = ::fdopendir(fd);
    if (!d) {
        const int err = errno;
        ::close(fd);
        io_error("cannot read directory", dir, err);
    }
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
}

StreamResult stream_fd(int fd, std::uint64_t first, std::uint64_t last,
                       const std::function<void(std::string_view)>& sink) {
    Sha256Stream hash;
    StreamResult result;
    static thread_local char buf[chunk_size];
    while (true) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(ErrorCode::io, std::string("cannot read object body: ") + std::strerror(errno));
        }
        if (n == 0) break;
        const std::string_view piece(buf, static_cast<std::size_t>(n));
        hash.update(piece);
        // The part of this chunk inside [first, last].
        const std::uint64_t begin = result.size, end = result.size + piece.size();  // [begin, end)
        const std::uint64_t from = std::max(begin, first);
        const std::uint64_t to = last == UINT64_MAX ? end : std::min(end, last + 1);
        if (from < to) sink(piece.substr(from - begin, to - from));
        result.size = end;
    }
    result.sha256_hex = to_hex(hash.finish());
    return result;
}

StagedBody stage_body(const fs::path& dir, const PutBody& body, bool durable) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    StagedBody staged;
    staged.path = dir / ("body-" + std::to_string(::getpid()) + "-" + std::to_string(rng()));
    const int out = ::open(staged.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) io_error("cannot create", staged.path, errno);
    int in = -1;
    auto fail = [&](const std::string& what, const fs::path& path, int err) {
        ::close(out);
        if (in >= 0) ::close(in);
        ::unlink(staged.path.c_str());
        io_error(what, path, err);
    };
    auto write_all = [&](std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::write(out, data.data(), data.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                fail("cannot write", staged.path, errno);
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    };
    if (body.is_file()) {
        // Streams the caller's file: big bodies never sit in memory.
        const auto& source = std::get<std::filesystem::path>(body.source);
        in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
        if (in < 0) {
            const int err = errno;
            ::close(out);
            ::unlink(staged.path.c_str());
            if (err == ENOENT) throw Error(ErrorCode::not_found, "body file " + source.string() + " does not exist");
            io_error("cannot open body file", source, err);
        }
        StreamResult r;
        try {
            r = stream_fd(in, 0, UINT64_MAX, write_all);
        } catch (const Error& e) {
            ::close(out);
            ::close(in);
            ::unlink(staged.path.c_str());
            throw Error(e.code(), std::string(e.what()) + " (body file " + source.string() + ")");
        }
        ::close(in);
        in = -1;
        staged.size = r.size;
        staged.sha256_hex = r.sha256_hex;
    } else {
        const auto& bytes = std::get<std::string>(body.source);
        write_all(bytes);
        staged.size = bytes.size();
        staged.sha256_hex = sha256_hex(bytes);
    }
    if (durable && ::fsync(out) != 0) fail("cannot fsync", staged.path, errno);
    if (::fchmod(out, 0444) != 0) fail("cannot set mode of", staged.path, errno);
    if (::close(out) != 0) {
        const int err = errno;
        ::unlink(staged.path.c_str());
        io_error("cannot close", staged.path, err);
    }
    return staged;
}

}  // namespace worm::detail
