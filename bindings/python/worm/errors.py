"""The exceptions worm raises, one class per family of worm::ErrorCode.

Every exception is a ``WormError`` whose ``.code`` is the C++ ErrorCode name
("config", "not_found", "object_locked", ...), S3 errors included, so
``e.code == "not_found"`` catches a missing object from every store. What an S3 server
said is on ``S3Error``: ``.s3_code`` ("NoSuchKey", "AccessDenied"), ``.status``,
``.request_id``, ``.resource``. ``ERROR_CODES`` lists every code; the list and the
code-to-class mapping come from the C++ module (error.hpp's table), not from here.

    WormError
    ├── ConfigError          config
    ├── InputError           invalid_argument, parse, schema  (also a ValueError)
    ├── VerificationError    verification                      (.reason)
    ├── CryptoError          crypto
    └── StorageError         storage, io, already_exists
        ├── NotFoundError        not_found
        ├── ObjectLockedError    object_locked
        ├── IntegrityError       integrity
        ├── NetworkError         network, timeout
        └── S3Error              s3  (.status, .s3_code, .request_id, .resource)
            S3NotFoundError, S3ObjectLockedError, S3IntegrityError: an S3 answer the
            client classified (.code not_found, object_locked, integrity); each is also
            the matching StorageError subclass.

``internal`` (a bug in libworm) is raised as WormError itself.

Deprecated: ``.worm_code`` (use ``.code``, which is now the worm code on S3Error too).
"""

from __future__ import annotations

import warnings

from . import _worm

__all__ = [
    "ERROR_CODES",
    "WormError", "ConfigError", "InputError", "VerificationError", "CryptoError",
    "StorageError", "NotFoundError", "ObjectLockedError", "IntegrityError",
    "NetworkError", "S3Error", "S3NotFoundError", "S3ObjectLockedError", "S3IntegrityError",
]

#: Every worm error code name, as ``WormError.code`` spells it.
ERROR_CODES: tuple[str, ...] = tuple(_worm.error_codes())


class WormError(Exception):
    """Base of every error libworm raises. ``.code`` names the worm::ErrorCode."""

    def __init__(self, message: str, code: str = "internal"):
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def worm_code(self) -> str:
        """Deprecated spelling of ``.code``."""
        warnings.warn("WormError.worm_code is deprecated: use .code", DeprecationWarning, stacklevel=2)
        return self.code


class ConfigError(WormError):
    """Configuration missing or invalid (environment, key files and their permissions)."""


class InputError(WormError, ValueError):
    """Malformed input: a bad argument, unparsable JSON/PEM, a document failing its schema."""


class VerificationError(WormError):
    """Evidence does not verify. ``.reason`` says which check failed:
    "signature_invalid", "hash_mismatch", "schema_invalid" or "verification"."""

    def __init__(self, message: str, code: str = "verification", reason: str = "verification"):
        super().__init__(message, code)
        self.reason = reason


class CryptoError(WormError):
    """OpenSSL failed or a key is unusable (e.g. not an Ed25519 key)."""


class StorageError(WormError):
    """A store (local, S3, proxy) or the local file system failed."""


class NotFoundError(StorageError):
    """The object, version, key or file does not exist."""


class ObjectLockedError(StorageError):
    """Refused by WORM rules: retention, legal hold, COMPLIANCE mode."""


class IntegrityError(StorageError):
    """Stored bytes do not match their checksum, or a conflicting duplicate exists."""


class NetworkError(StorageError):
    """Connection refused or reset, DNS, TLS, or a timeout (``.code`` "timeout")."""


class S3Error(StorageError):
    """An S3 (or S3-shaped) server answered with an error.

    ``.code`` is the worm code like every WormError's ("s3", or "not_found" /
    "object_locked" / "integrity" when the client classified the answer); ``.s3_code``
    is what the server said ("AccessDenied", "SignatureDoesNotMatch"). ``.status`` is the
    HTTP status, ``.request_id`` and ``.resource`` what the server said, ``.server_message``
    its message, ``.retryable`` whether resending may succeed."""

    def __init__(self, message: str, status: int = 0, s3_code: str = "", request_id: str = "",
                 resource: str = "", server_message: str = "", method: str = "",
                 retryable: bool = False, code: str = "s3"):
        super().__init__(message, code)
        self.s3_code = s3_code
        self.status = status
        self.request_id = request_id
        self.resource = resource
        self.server_message = server_message
        self.method = method
        self.retryable = retryable


class S3NotFoundError(S3Error, NotFoundError):
    """S3 said the key, version or bucket does not exist (NoSuchKey, 404)."""


class S3ObjectLockedError(S3Error, ObjectLockedError):
    """S3 refused because of Object Lock (a locked version cannot be deleted)."""


class S3IntegrityError(S3Error, IntegrityError):
    """S3 found the body did not match its checksum (BadDigest, XAmzContentSHA256Mismatch)."""
