// Uses a few public headers of an installed libworm and checks one known answer.
#include <worm/worm.hpp>  // every public header must compile from the install tree

#include <iostream>

int main() {
    // SHA-256("abc"), FIPS 180-2 appendix B.1
    const std::string expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    if (worm::sha256_hex("abc") != expected) return 1;
    if (worm::to_string(worm::parse_lock_mode("compliance")) != "COMPLIANCE") return 1;
    // RFC 8785 through the installed library (canonical_json.hpp: JSON text in and out).
    if (worm::json::canonicalize(std::string_view(R"({"b":1,"a":[1E2,"x"]})")) != R"({"a":[100,"x"],"b":1})") return 1;
    std::cout << "consumer ok\n";
    return 0;
}
