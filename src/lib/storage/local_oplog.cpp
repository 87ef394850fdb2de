// The operation log of a LocalWormStore (see local_oplog.hpp).
#include "local_oplog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <cerrno>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"
#include "worm/json.hpp"
#include "worm/storage/keys.hpp"

namespace worm::detail {

namespace fs = std::filesystem;

namespace {

const std::string genesis(64, '0');

std::string record_line(std::uint64_t seq, const std::string& prev, std::string_view op, const std::string& key,
                        const std::string& version_id, const std::string* sidecar) {
    json::Writer w;
    w.begin_object()
        .member("seq", seq)
        .member("prev", prev)
        .member("op", op)
        .member("key", key)
        .member("version_id", version_id);
    if (sidecar) w.member("sidecar_sha256", sha256_hex(*sidecar)).member("sidecar", *sidecar);
    w.end_object();
    return w.take();
}

}  // namespace

OperationLog::OperationLog(fs::path root) : path_(std::move(root) / file_name), prev_(genesis) {}

bool OperationLog::exists() const {
    struct stat st {};
    return ::lstat(path_.c_str(), &st) == 0;
}

void OperationLog::create(const std::vector<Adopted>& versions, bool durable) {
    std::string text;
    std::string prev = genesis;
    std::uint64_t seq = 0;
    for (const auto& v : versions) {
        const std::string line = record_line(++seq, prev, "adopt", v.key, v.version_id, &v.sidecar);
        prev = sha256_hex(line);
        text += line + "\n";
    }
    write_file_atomic(path_, text,
                      WriteOptions{.mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                           fs::perms::others_read,
                                   .durable = durable,
                                   .no_overwrite = true});
}

void OperationLog::open_for_append() {
    if (fd_) return;
    fd_ = UniqueFd(::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
    if (!fd_) {
        if (errno == ENOENT)
            throw Error(ErrorCode::integrity, "the operation log " + path_.string() +
                                                  " of the local store is missing (deleted?); `worm store verify` "
                                                  "reports what the store holds");
        io_error("cannot open", path_, errno);
    }
}

void OperationLog::refresh() {
    open_for_append();
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) io_error("cannot stat", path_, errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < offset_)
        throw Error(ErrorCode::integrity, "the operation log " + path_.string() + " shrank from " +
                                              std::to_string(offset_) + " to " + std::to_string(size) +
                                              " bytes: records were removed");
    if (size == offset_) return;
    std::string data(size - offset_, '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        const ssize_t n = ::pread(fd_.get(), data.data() + got, data.size() - got, static_cast<off_t>(offset_ + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) io_error("cannot read", path_, errno);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    data.resize(got);
    std::size_t start = 0;
    for (std::size_t end; (end = data.find('\n', start)) != std::string::npos; start = end + 1) {
        apply_line(std::string_view(data).substr(start, end - start), seq_ + 1);
        offset_ += end + 1 - start;
    }
    // What follows the last newline is an append cut short by a crash: not a record.
}

void OperationLog::apply_line(std::string_view line, std::uint64_t line_number) {
    const auto bad = [&](const std::string& why) {
        return Error(ErrorCode::integrity, "the operation log " + path_.string() + " is damaged at record " +
                                               std::to_string(line_number) + ": " + why);
    };
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) throw bad("not a JSON object");
    const auto str = [&](const char* name) -> std::string {
        const auto it = doc.FindMember(name);
        if (it == doc.MemberEnd() || !it->value.IsString()) throw bad(std::string("/") + name + " is not a string");
        return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    const auto seq = doc.FindMember("seq");
    if (seq == doc.MemberEnd() || !seq->value.IsUint64() || seq->value.GetUint64() != seq_ + 1)
        throw bad("/seq is not " + std::to_string(seq_ + 1) + " (a record was removed or reordered)");
    if (str("prev") != prev_) throw bad("/prev does not match the previous record (the log was edited)");
    const std::string op = str("op");
    const std::string key = str("key");
    const std::string version_id = str("version_id");
    if (op == "remove") {
        auto it = index_.find(key);
        if (it == index_.end() || it->second.erase(version_id) == 0)
            throw bad("it removes version " + version_id + " of key " + quote_key(key) + ", which the log does not hold");
        if (it->second.empty()) index_.erase(it);
    } else if (op == "put" || op == "delete_marker" || op == "retention" || op == "legal_hold" || op == "adopt") {
        std::string sidecar = str("sidecar");
        if (str("sidecar_sha256") != sha256_hex(sidecar)) throw bad("/sidecar_sha256 does not match /sidecar");
        index_[key][version_id] = std::move(sidecar);
    } else {
        throw bad("unknown operation '" + op + "'");
    }
    seq_ += 1;
    prev_ = sha256_hex(line);
}

const std::string* OperationLog::sidecar(const std::string& key, const std::string& version_id) const {
    const auto k = index_.find(key);
    if (k == index_.end()) return nullptr;
    const auto v = k->second.find(version_id);
    return v == k->second.end() ? nullptr : &v->second;
}

std::vector<std::string> OperationLog::versions(const std::string& key) const {
    std::vector<std::string> out;
    if (const auto k = index_.find(key); k != index_.end())
        for (const auto& [version, sidecar] : k->second) out.push_back(version);
    return out;
}

void OperationLog::append(std::string_view op, const std::string& key, const std::string& version_id,
                          const std::string* sidecar, bool durable) {
    open_for_append();
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) io_error("cannot stat", path_, errno);
    // A torn last line (a crash during an append) goes before the next record is written.
    if (static_cast<std::uint64_t>(st.st_size) > offset_ && ::ftruncate(fd_.get(), static_cast<off_t>(offset_)) != 0)
        io_error("cannot cut the unfinished last record of", path_, errno);
    const std::string line = record_line(seq_ + 1, prev_, op, key, version_id, sidecar);
    const std::string text = line + "\n";
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd_.get(), text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            // Leave no partial record behind: the next reader would stop at it.
            (void)::ftruncate(fd_.get(), static_cast<off_t>(offset_));
            io_error("cannot append to", path_, err);
        }
        written += static_cast<std::size_t>(n);
    }
    if (durable && ::fdatasync(fd_.get()) != 0) io_error("cannot fsync", path_, errno);
    offset_ += text.size();
    seq_ += 1;
    prev_ = sha256_hex(line);
    if (op == "remove") {
        auto it = index_.find(key);
        if (it != index_.end()) {
            it->second.erase(version_id);
            if (it->second.empty()) index_.erase(it);
        }
    } else {
        index_[key][version_id] = *sidecar;
    }
}

}  // namespace worm::detail
