// key_file.hpp (private): reading private key files, shared by libworm's Ed25519 keys and
// cosign's encrypted keys (compliance/cosign_keys.cpp).
#pragma once

#include <openssl/crypto.h>

#include <filesystem>
#include <string>

namespace worm::detail {

// Wipes a string holding secret bytes when it goes out of scope.
class WipeOnExit {
public:
    explicit WipeOnExit(std::string& s) : s_(s) {}
    ~WipeOnExit() { OPENSSL_cleanse(s_.data(), s_.size()); }
    WipeOnExit(const WipeOnExit&) = delete;
    WipeOnExit& operator=(const WipeOnExit&) = delete;

private:
    std::string& s_;
};

// The text of a private key file, read the way ssh does: a regular file that group and
// others cannot access (Error(config) naming the mode and the chmod otherwise).
std::string read_private_key_file(const std::filesystem::path& path);

}  // namespace worm::detail
