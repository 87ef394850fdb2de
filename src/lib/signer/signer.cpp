// Key files and .sig files (see signer.hpp for the formats).
#include "../util/posix.hpp"
#include "../util/env.hpp"
#include "key_file.hpp"
#include "worm/signer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "worm/crypto.hpp"
#include "worm/error.hpp"
#include "worm/fs.hpp"

namespace worm {

namespace fs = std::filesystem;

namespace detail {

namespace {
std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}
}  // namespace

// Reads a key file the way ssh does: open (without waiting on a FIFO), then check the opened file (not the name,
// so a swap between check and read cannot slip through), refuse group/other access.
std::string read_private_key_file(const fs::path& path) {
    const detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) {
        const int err = errno;
        if (err == ENOENT) throw Error(ErrorCode::config, "private key " + path.string() + " does not exist");
        throw Error(ErrorCode::config, "cannot open private key " + path.string() + ": " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw Error(ErrorCode::io, "cannot stat private key " + path.string() + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::config, "private key " + path.string() + " is not a regular file");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        const bool readable = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
        const bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
        const std::string access = readable && writable ? "readable and writable"
                                   : readable           ? "readable"
                                   : writable           ? "writable"
                                                        : "accessible";
        throw Error(ErrorCode::config, "private key " + path.string() + " is " + access +
                                           " by group or others (mode " + octal_mode(st.st_mode) +
                                           "); run chmod 400 " + path.string());
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_key_file_bytes)
        throw Error(ErrorCode::config, "private key " + path.string() + " is too large to be a PEM key");
    // Sized once, so no reallocation leaves unwiped copies of the key behind.
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            OPENSSL_cleanse(text.data(), text.size());
            throw Error(ErrorCode::io, "cannot read private key " + path.string() + ": " + std::strerror(err));
        }
        got += static_cast<size_t>(n);
    }
    return text;
}

}  // namespace detail

using detail::WipeOnExit;
using detail::read_private_key_file;

namespace {

constexpr const char* private_key_name = "private.pem";
constexpr const char* public_key_name = "public.pem";

std::string read_data_file(const fs::path& path, const char* what) {
    try {
        return read_file(path);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found)
            throw Error(ErrorCode::not_found, std::string(what) + " " + path.string() + " does not exist");
        throw;
    }
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

}  // namespace

KeyPaths generate_key_files(const fs::path& dir, std::optional<std::string> passphrase) {
    struct WipePass {
        std::optional<std::string>& p;
        ~WipePass() {
            if (p) OPENSSL_cleanse(p->data(), p->size());
        }
    } wipe_pass{passphrase};

    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec) throw Error(ErrorCode::io, "cannot create key directory " + dir.string() + ": " + ec.message());
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
        if (ec) throw Error(ErrorCode::io, "cannot set mode 0700 on " + dir.string() + ": " + ec.message());
    } else if (!fs::is_directory(dir, ec)) {
        throw Error(ErrorCode::io, "key directory " + dir.string() + " is not a directory");
    }
    const KeyPaths paths{.private_key = dir / private_key_name, .public_key = dir / public_key_name};
    for (const auto& p : {paths.private_key, paths.public_key})
        if (fs::exists(fs::symlink_status(p, ec)))
            throw Error(ErrorCode::already_exists,
                        "key file " + p.string() + " already exists; refusing to overwrite a key");

    const auto key = Ed25519PrivateKey::generate();
    std::string private_pem = key.to_pem(passphrase);
    WipeOnExit wipe_pem(private_pem);
    const std::string public_pem = key.public_key().to_pem();

    write_file_atomic(paths.private_key, private_pem,
                      {.mode = fs::perms::owner_read, .durable = true, .no_overwrite = true});
    try {
        write_file_atomic(paths.public_key, public_pem,
                          {.mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                   fs::perms::others_read,
                           .durable = true,
                           .no_overwrite = true});
    } catch (...) {
        // Half a key pair is useless and confusing: take back the private key we wrote.
        fs::remove(paths.private_key, ec);
        throw;
    }
    return paths;
}

Ed25519PrivateKey load_private_key(const fs::path& path, const std::optional<std::string>& passphrase) {
    std::string pem = read_private_key_file(path);
    WipeOnExit wipe(pem);
    try {
        return Ed25519PrivateKey::from_pem(pem, passphrase);
    } catch (const Error& e) {
        std::string msg = "private key " + path.string() + ": " + e.what();
        if (e.code() == ErrorCode::config && !passphrase) msg += " (set WORM_KEY_PASSWORD)";
        throw Error(e.code(), msg);
    }
}

Ed25519PublicKey load_public_key(const fs::path& path) {
    std::string pem;
    try {
        pem = read_file(path, max_key_file_bytes);  // a PEM key is < 1 KiB; refuse anything odd
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found)
            throw Error(ErrorCode::config, "public key " + path.string() + " does not exist");
        throw;
    }
    try {
        return Ed25519PublicKey::from_pem(pem);
    } catch (const Error& e) {
        throw Error(e.code(), "public key " + path.string() + ": " + e.what());
    }
}

std::optional<std::string> key_password_from_env() {
    std::string v = detail::env_or_empty("WORM_KEY_PASSWORD");
    if (v.empty()) return std::nullopt;
    return v;
}

std::string public_key_fingerprint(const Ed25519PublicKey& key) {
    // An Ed25519 SPKI is a fixed 12-byte header (RFC 8410) followed by the raw key.
    static const std::string spki_header = from_hex("302a300506032b6570032100");
    return "sha256:" + sha256_hex(spki_header + key.raw());
}

fs::path signature_path_for(const fs::path& data_path) {
    fs::path out = data_path;
    if (out.extension() == ".json") return out.replace_extension(".sig");
    out += ".sig";
    return out;
}

std::string make_signature_line(const Ed25519PrivateKey& key, std::string_view bytes) {
    return base64_encode(key.sign(bytes)) + "\n";
}

fs::path sign_file(const Ed25519PrivateKey& key, const fs::path& data_path) {
    const std::string bytes = read_data_file(data_path, "file to sign");
    const std::string line = make_signature_line(key, bytes);
    const fs::path sig_path = signature_path_for(data_path);
    try {
        write_file_atomic(sig_path, line,
                          {.mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                   fs::perms::others_read,
                           .durable = true,
                           .no_overwrite = true});
    } catch (const Error& e) {
        if (e.code() != ErrorCode::already_exists) throw;
        // Same key, same bytes -> same signature: a re-run after a crash is fine.
        if (read_file(sig_path) == line) return sig_path;
        throw Error(ErrorCode::already_exists,
                    "signature " + sig_path.string() + " already exists with a different signature; refusing to replace it");
    }
    return sig_path;
}

SignatureCheck check_signature_line(const Ed25519PublicKey& key, std::string_view bytes,
                                    std::string_view sig_file_text) {
    std::string_view line = sig_file_text;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.empty()) return {.valid = false, .reason = "signature file is empty"};
    for (const char c : line) {
        if (c == '\n') return {.valid = false, .reason = "signature file has more than one line"};
        if (!is_base64_char(c))
            return {.valid = false, .reason = "signature file has a character outside base64 (whitespace or CR?)"};
    }
    std::string raw;
    try {
        raw = base64_decode(line);
    } catch (const Error& e) {
        return {.valid = false, .reason = std::string("signature is not valid base64: ") + e.what()};
    }
    if (raw.size() != ed25519_signature_size)
        return {.valid = false,
                .reason = "signature decodes to " + std::to_string(raw.size()) + " bytes, expected 64"};
    if (!key.verify(bytes, raw))
        return {.valid = false,
                .reason = "signature does not match: the file was changed after signing, or it was signed by another key"};
    return {.valid = true, .reason = {}};
}

bool verify_signature_line(const Ed25519PublicKey& key, std::string_view bytes, std::string_view sig_file_text) {
    return check_signature_line(key, bytes, sig_file_text).valid;
}

SignatureCheck verify_file_signature(const Ed25519PublicKey& key, const fs::path& data_path,
                                     const fs::path& sig_path) {
    return verify_file_signature(key, read_data_file(data_path, "signed file"), data_path, sig_path);
}

SignatureCheck verify_file_signature(const Ed25519PublicKey& key, std::string_view bytes, const fs::path& data_path,
                                     const fs::path& sig_path) {
    const fs::path sig = sig_path.empty() ? signature_path_for(data_path) : sig_path;
    std::string sig_text;
    try {
        sig_text = read_file(sig);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::not_found)
            return {.valid = false, .reason = "signature file " + sig.string() + " does not exist"};
        throw;
    }
    auto check = check_signature_line(key, bytes, sig_text);
    if (!check.valid) check.reason = sig.string() + ": " + check.reason;
    return check;
}

}  // namespace worm
