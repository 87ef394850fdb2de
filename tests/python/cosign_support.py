"""Test helpers for cosign evidence, independent of libworm:

- ``write_cosign_key_pair``: a key pair in cosign's format (what ``cosign generate-key-pair``
  writes): ECDSA P-256 from ``cryptography``, scrypt (N=32768, r=8, p=1) from
  ``cryptography``, and NaCl secretbox (XSalsa20-Poly1305) implemented here in pure Python
  (PyNaCl is not installed), so libworm's libsodium path is checked against another
  implementation.
- ``cosign_v2_bundle`` / ``cosign_v3_bundle``: the two X.json.bundle forms, signed with
  ``cryptography``.
- ``SigstoreVerifyJs``: the npm package @sigstore/verify 3.0.0, installed once into the
  build tree, verifying a bundle with a public key.
"""

import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MASK32 = 0xFFFFFFFF


def _rotl(v, c):
    return ((v << c) & MASK32) | (v >> (32 - c))


def _quarter(x, a, b, c, d):
    x[b] ^= _rotl((x[a] + x[d]) & MASK32, 7)
    x[c] ^= _rotl((x[b] + x[a]) & MASK32, 9)
    x[d] ^= _rotl((x[c] + x[b]) & MASK32, 13)
    x[a] ^= _rotl((x[d] + x[c]) & MASK32, 18)


def _salsa_rounds(state):
    x = list(state)
    for _ in range(10):
        _quarter(x, 0, 4, 8, 12); _quarter(x, 5, 9, 13, 1); _quarter(x, 10, 14, 2, 6); _quarter(x, 15, 3, 7, 11)
        _quarter(x, 0, 1, 2, 3); _quarter(x, 5, 6, 7, 4); _quarter(x, 10, 11, 8, 9); _quarter(x, 15, 12, 13, 14)
    return x


_SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _state(key, nonce16):
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", nonce16)
    return [_SIGMA[0], k[0], k[1], k[2], k[3], _SIGMA[1], n[0], n[1], n[2], n[3], _SIGMA[2],
            k[4], k[5], k[6], k[7], _SIGMA[3]]


def _hsalsa20(key, nonce16):
    x = _salsa_rounds(_state(key, nonce16))
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def _salsa20_stream(key, nonce8, length):
    out = bytearray()
    counter = 0
    while len(out) < length:
        state = _state(key, nonce8 + struct.pack("<Q", counter))
        x = _salsa_rounds(state)
        out += struct.pack("<16I", *[(x[i] + state[i]) & MASK32 for i in range(16)])
        counter += 1
    return bytes(out[:length])


def _poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def secretbox_seal(key, nonce, message):
    """NaCl crypto_secretbox (XSalsa20-Poly1305): tag || ciphertext, as Go's secretbox.Seal."""
    subkey = _hsalsa20(key, nonce[:16])
    stream = _salsa20_stream(subkey, nonce[16:], 32 + len(message))
    ciphertext = bytes(m ^ s for m, s in zip(message, stream[32:]))
    return _poly1305(stream[:32], ciphertext) + ciphertext


def secretbox_open(key, nonce, box):
    subkey = _hsalsa20(key, nonce[:16])
    stream = _salsa20_stream(subkey, nonce[16:], 32 + len(box) - 16)
    tag, ciphertext = box[:16], box[16:]
    if _poly1305(stream[:32], ciphertext) != tag:
        raise ValueError("secretbox: authentication failed")
    return bytes(c ^ s for c, s in zip(ciphertext, stream[32:]))


def encrypt_cosign_private_key(private_key, password, pem_type="ENCRYPTED SIGSTORE PRIVATE KEY"):
    """The PEM text cosign writes for private_key under password."""
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    salt, nonce = os.urandom(32), os.urandom(24)
    box_key = Scrypt(salt=salt, length=32, n=32768, r=8, p=1).derive(password.encode())
    envelope = {
        "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1},
                "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(secretbox_seal(box_key, nonce, der)).decode(),
    }
    body = base64.b64encode(json.dumps(envelope).encode()).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {pem_type}-----\n" + "\n".join(lines) + f"\n-----END {pem_type}-----\n"


def write_cosign_key_pair(directory, password, name="private-key"):
    """<dir>/<name>.key (0600, encrypted) and <dir>/<name>.pub, as seed 003 names them.
    Returns (key_path, pub_path, private_key object)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private_key = ec.generate_private_key(ec.SECP256R1())
    key_path, pub_path = directory / f"{name}.key", directory / f"{name}.pub"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(encrypt_cosign_private_key(private_key, password))
    pub_path.write_bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path, private_key


def key_hint(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def cosign_v2_bundle(private_key, data, with_rekor=True):
    """cosign 2's --bundle JSON: base64Signature, cert, rekorBundle."""
    signature = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    out = {"base64Signature": base64.b64encode(signature).decode(), "cert": ""}
    if with_rekor:
        out["rekorBundle"] = {"SignedEntryTimestamp": base64.b64encode(b"set").decode(),
                              "Payload": {"body": base64.b64encode(b"{}").decode(), "integratedTime": 1761989658,
                                          "logIndex": 123456, "logID": "c0d23d6ad406973f9559f3ba2d1ca01f"}}
    return json.dumps(out)


def cosign_v3_bundle(private_key, data, tlog_entries=1):
    """cosign 3's Sigstore bundle v0.3 with a messageSignature (and a Rekor entry, as
    cosign sign-blob uploads one by default)."""
    signature = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    entry = {"logIndex": "123456", "logId": {"keyId": base64.b64encode(b"log").decode()},
             "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"}, "integratedTime": "1761989658",
             "inclusionPromise": {"signedEntryTimestamp": base64.b64encode(b"set").decode()},
             "canonicalizedBody": base64.b64encode(b"{}").decode()}
    return json.dumps({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": key_hint(private_key.public_key())},
                                 "tlogEntries": [entry] * tlog_entries},
        "messageSignature": {"messageDigest": {"algorithm": "SHA2_256",
                                               "digest": base64.b64encode(hashlib.sha256(data).digest()).decode()},
                             "signature": base64.b64encode(signature).decode()},
    }, indent=2)


_VERIFY_JS = r"""
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { crypto } = require('@sigstore/core');
const [bundlePath, artifactPath, pemPath] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const keys = (hint) => ({ publicKey: crypto.createPublicKey(fs.readFileSync(pemPath, 'utf8')), validFor: () => true });
const trust = toTrustMaterial({ certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] }, keys);
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 });
try {
  verifier.verify(toSignedEntity(bundle, fs.readFileSync(artifactPath)));
  console.log('verified');
} catch (e) {
  console.log('FAILED: ' + e.message);
  process.exit(1);
}
"""


class SigstoreVerifyJs:
    """@sigstore/verify 3.0.0 from npm, installed once under the build tree (WORM_BINARY_DIR).
    ``available`` is False (with ``why``) only when npm cannot install it."""

    def __init__(self):
        import fcntl
        base = Path(os.environ.get("WORM_BINARY_DIR", "/tmp"))
        # Its own directory (the C++ test installs into npm-sigstore-verify-3.0.0), locked, so
        # tests that ctest runs at the same time never install into one directory together.
        self.npm_dir = base / "npm-sigstore-verify-3.0.0-py"
        self.npm_dir.mkdir(parents=True, exist_ok=True)
        self.why = ""
        package = self.npm_dir / "node_modules" / "@sigstore" / "verify" / "package.json"
        self.script = self.npm_dir / "verify-with-key.js"
        with open(self.npm_dir / ".install-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._install(package)
            if not self.why and (not self.script.exists() or self.script.read_text() != _VERIFY_JS):
                self.script.write_text(_VERIFY_JS)
        self.available = not self.why

    def _install(self, package):
        if not package.exists():
            if not shutil.which("npm"):
                self.why = "npm is not installed"
            else:
                r = subprocess.run(["npm", "install", "--prefix", str(self.npm_dir), "--no-audit", "--no-fund",
                                    "--no-save", "@sigstore/verify@3.0.0"], capture_output=True, text=True,
                                   timeout=300)
                if r.returncode != 0:
                    self.why = "npm install @sigstore/verify@3.0.0 failed (registry unreachable?): " + r.stderr[-300:]

    def verify(self, bundle_path, artifact_path, public_key_path):
        """(ok, output) from node."""
        env = dict(os.environ, NODE_PATH=str(self.npm_dir / "node_modules"))
        r = subprocess.run(["node", str(self.script), str(bundle_path), str(artifact_path), str(public_key_path)],
                           capture_output=True, text=True, env=env, timeout=120)
        return r.returncode == 0, (r.stdout + r.stderr).strip()
