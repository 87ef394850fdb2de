// Keys and signature files: worm.Signer, worm.PublicKey, worm.generate_keys (Ed25519, .sig)
// and worm.CosignSigner, worm.CosignPublicKey (cosign's keys, X.json.bundle).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "worm/compliance/cosign.hpp"
#include "worm/ed25519.hpp"
#include "worm/signer.hpp"

namespace worm::python {

namespace fs = std::filesystem;

namespace {

// The passphrase argument, else WORM_KEY_PASSWORD (as the CLI does).
std::optional<std::string> passphrase_or_env(const std::optional<std::string>& passphrase) {
    return passphrase ? passphrase : key_password_from_env();
}

}  // namespace

void bind_signer(py::module_& m) {
    py::class_<Ed25519PublicKey>(m, "PublicKey", "An Ed25519 public key (SPKI PEM or 32 raw bytes).")
        .def_static(
            "from_file", [](const fs::path& path) {
                py::gil_scoped_release release;
                return load_public_key(path);
            },
            py::arg("path"), "Load an SPKI PEM file (public.pem).")
        .def_static(
            "from_pem", [](const std::string& pem) { return Ed25519PublicKey::from_pem(pem); }, py::arg("pem"))
        .def_static(
            "from_raw", [](const py::bytes& raw) { return Ed25519PublicKey::from_raw(std::string(raw)); },
            py::arg("raw"), "From the 32 raw key bytes (RFC 8032).")
        .def("to_pem", &Ed25519PublicKey::to_pem)
        .def(
            "raw", [](const Ed25519PublicKey& key) { return py::bytes(key.raw()); }, "The 32 raw key bytes.")
        .def(
            "verify",
            [](const Ed25519PublicKey& key, py::handle data, py::handle signature) {
                ByteInput message(data), sig(signature);
                py::gil_scoped_release release;
                return key.verify(message.view(), sig.view());
            },
            py::arg("data"), py::arg("signature"),
            "True when signature (64 raw bytes) is valid over data; never raises for a bad signature.")
        .def("__eq__", [](const Ed25519PublicKey& a, const Ed25519PublicKey& b) { return a == b; });

    // A private key is not copyable in C++; Python holds it through a shared_ptr.
    py::class_<Ed25519PrivateKey, std::shared_ptr<Ed25519PrivateKey>>(
        m, "Signer",
        "Signs with an Ed25519 private key.\n\n"
        "Signer(private_key_path, passphrase=None) loads a PKCS#8 PEM file; a file readable by\n"
        "group or others is refused (ConfigError), like ssh does. An encrypted key needs the\n"
        "passphrase (argument, else WORM_KEY_PASSWORD).")
        .def(py::init([](const fs::path& path, const std::optional<std::string>& passphrase) {
                 auto pass = passphrase_or_env(passphrase);
                 py::gil_scoped_release release;
                 return std::make_shared<Ed25519PrivateKey>(load_private_key(path, pass));
             }),
             py::arg("private_key_path"), py::arg("passphrase") = py::none())
        .def_static(
            "generate", [] { return std::make_shared<Ed25519PrivateKey>(Ed25519PrivateKey::generate()); },
            "A fresh in-memory key.")
        .def_static(
            "from_pem",
            [](const std::string& pem, const std::optional<std::string>& passphrase) {
                return std::make_shared<Ed25519PrivateKey>(Ed25519PrivateKey::from_pem(pem, passphrase));
            },
            py::arg("pem"), py::arg("passphrase") = py::none())
        .def_static(
            "from_seed",
            [](const py::bytes& seed) {
                return std::make_shared<Ed25519PrivateKey>(Ed25519PrivateKey::from_raw_seed(std::string(seed)));
            },
            py::arg("seed"), "From the 32-byte RFC 8032 private key.")
        .def(
            "sign",
            [](const Ed25519PrivateKey& key, py::handle data) {
                ByteInput message(data);
                std::string signature;
                {
                    py::gil_scoped_release release;
                    signature = key.sign(message.view());
                }
                return py::bytes(signature);
            },
            py::arg("data"), "The raw 64-byte signature over data (bytes, or str as UTF-8).")
        .def(
            "signature_line",
            [](const Ed25519PrivateKey& key, py::handle data) {
                ByteInput message(data);
                py::gil_scoped_release release;
                return make_signature_line(key, message.view());
            },
            py::arg("data"), "The whole content of a .sig file: base64 of the signature, then a newline.")
        .def(
            "sign_file",
            [](const Ed25519PrivateKey& key, const fs::path& path) {
                py::gil_scoped_release release;
                return sign_file(key, path);
            },
            py::arg("path"), "Sign the exact bytes of path; writes <path minus .json>.sig; returns its path.")
        .def("public_key", &Ed25519PrivateKey::public_key)
        .def(
            "public_key_pem", [](const Ed25519PrivateKey& key) { return key.public_key().to_pem(); })
        .def(
            "public_key_bytes", [](const Ed25519PrivateKey& key) { return py::bytes(key.public_key().raw()); },
            "The 32 raw public key bytes.")
        .def("__repr__", [](const Ed25519PrivateKey&) { return std::string("<worm.Signer Ed25519>"); });

    py::class_<KeyPaths>(m, "KeyPaths")
        .def_readonly("private_key", &KeyPaths::private_key)
        .def_readonly("public_key", &KeyPaths::public_key)
        .def("__iter__", [](const KeyPaths& k) { return py::iter(py::make_tuple(k.private_key, k.public_key)); })
        .def("__repr__", [](const KeyPaths& k) {
            return "KeyPaths(private_key='" + k.private_key.string() + "', public_key='" + k.public_key.string() + "')";
        });

    m.def(
        "generate_keys",
        [](const fs::path& dir, const std::optional<std::string>& passphrase) {
            py::gil_scoped_release release;
            return generate_key_files(dir, passphrase);
        },
        py::arg("dir"), py::arg("passphrase") = py::none(),
        "Write dir/private.pem (mode 0400) and dir/public.pem (0644); never overwrites.\n"
        "Returns KeyPaths(private_key, public_key), which also unpacks as a tuple.");

    using compliance::CosignPrivateKey;
    using compliance::CosignPublicKey;
    py::class_<CosignPublicKey>(m, "CosignPublicKey",
                                "A cosign public key (cosign.pub): ECDSA P-256 or Ed25519, SPKI PEM.")
        .def_static(
            "from_file", [](const fs::path& path) {
                py::gil_scoped_release release;
                return CosignPublicKey::load(path);
            },
            py::arg("path"))
        .def_static("from_pem", [](const std::string& pem) { return CosignPublicKey::from_pem(pem); }, py::arg("pem"))
        .def("to_pem", &CosignPublicKey::to_pem)
        .def("algorithm", &CosignPublicKey::algorithm, "\"ECDSA P-256\" or \"Ed25519\".")
        .def("hint", &CosignPublicKey::hint, "base64(SHA-256(SPKI DER)): the Sigstore bundle's publicKey.hint.")
        .def(
            "verify",
            [](const CosignPublicKey& key, py::handle data, py::handle signature) {
                ByteInput message(data), sig(signature);
                py::gil_scoped_release release;
                return key.verify(message.view(), sig.view());
            },
            py::arg("data"), py::arg("signature"),
            "True when signature (DER ECDSA, or raw Ed25519) is valid over data; never raises.");

    py::class_<CosignPrivateKey>(
        m, "CosignSigner",
        "Signs with the key cosign generate-key-pair wrote.\n\n"
        "CosignSigner(cosign_key, password=None) loads the ENCRYPTED SIGSTORE PRIVATE KEY PEM\n"
        "(mode 0400/0600, as cosign writes it); password None: COSIGN_PASSWORD. A wrong password\n"
        "raises CryptoError.")
        .def(py::init([](const fs::path& cosign_key, const std::optional<std::string>& password) {
                 py::gil_scoped_release release;
                 return CosignPrivateKey::load(cosign_key, password);
             }),
             py::arg("cosign_key"), py::arg("password") = py::none())
        .def(
            "sign",
            [](const CosignPrivateKey& key, py::handle data) {
                ByteInput message(data);
                std::string signature;
                {
                    py::gil_scoped_release release;
                    signature = key.sign(message.view());
                }
                return py::bytes(signature);
            },
            py::arg("data"), "The signature over data: DER ECDSA P-256 with SHA-256 (or raw Ed25519).")
        .def(
            "sign_file",
            [](const CosignPrivateKey& key, const fs::path& path) {
                py::gil_scoped_release release;
                return compliance::write_cosign_bundle(key, path);
            },
            py::arg("path"),
            "Write path + \".bundle\" (seed 003's X.json.bundle): a Sigstore bundle v0.3, no\n"
            "transparency-log entry. Returns its path. An existing bundle is kept when it already\n"
            "signs the file with this key, else never replaced (raises).")
        .def("public_key", &CosignPrivateKey::public_key)
        .def("__repr__", [](const CosignPrivateKey& k) {
            return "<worm.CosignSigner " + k.public_key().algorithm() + ">";
        });
}

}  // namespace worm::python
