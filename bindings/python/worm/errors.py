"""The exceptions worm raises, one class per family of worm::ErrorCode.

Every exception is a ``WormError`` with ``.code``: the C++ ErrorCode name
("config", "not_found", "object_locked", ...). ``S3Error`` is the exception whose
``.code`` is what the S3 server said ("AccessDenied"); its family is in ``.worm_code``
("s3") like every other error's.

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
        └── S3Error              s3  (.status, .code, .request_id, .resource)
            S3NotFoundError, S3ObjectLockedError, S3IntegrityError: an S3 answer the
            client classified; each is also the matching StorageError subclass.

``internal`` (a bug in libworm) is raised as WormError itself.
"""

from __future__ import annotations

__all__ = [
    "WormError", "ConfigError", "InputError", "VerificationError", "CryptoError",
    "StorageError", "NotFoundError", "ObjectLockedError", "IntegrityError",
    "NetworkError", "S3Error", "S3NotFoundError", "S3ObjectLockedError", "S3IntegrityError",
]


class WormError(Exception):
    """Base of every error libworm raises. ``.code`` names the worm::ErrorCode."""

    def __init__(self, message: str, code: str = "internal"):
        super().__init__(message)
        self.message = message
        self.code = code
        self.worm_code = code


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

    ``.status`` is the HTTP status, ``.code`` the S3 error code ("AccessDenied",
    "SignatureDoesNotMatch"), ``.request_id`` and ``.resource`` what the server said,
    ``.server_message`` its message, ``.retryable`` whether resending may succeed."""

    def __init__(self, message: str, status: int = 0, code: str = "", request_id: str = "",
                 resource: str = "", server_message: str = "", method: str = "",
                 retryable: bool = False):
        super().__init__(message, "s3")
        self.code = code  # the S3 error code; worm_code names the family
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


_S3_BY_CODE = {
    "not_found": S3NotFoundError,
    "object_locked": S3ObjectLockedError,
    "integrity": S3IntegrityError,
}

_BY_CODE = {
    "config": ConfigError,
    "invalid_argument": InputError,
    "parse": InputError,
    "schema": InputError,
    "verification": VerificationError,
    "crypto": CryptoError,
    "io": StorageError,
    "storage": StorageError,
    "already_exists": StorageError,
    "not_found": NotFoundError,
    "object_locked": ObjectLockedError,
    "integrity": IntegrityError,
    "network": NetworkError,
    "timeout": NetworkError,
}


def _from_code(code: str, message: str) -> WormError:
    """The exception for a C++ worm::Error (called by the module's translator)."""
    return _BY_CODE.get(code, WormError)(message, code)


def _from_s3(worm_code: str, message: str, **fields) -> S3Error:
    """The exception for a C++ worm::S3Error. The client may classify an S3 answer
    (NoSuchKey -> not_found): the exception is then both an S3Error and a NotFoundError."""
    exc = _S3_BY_CODE.get(worm_code, S3Error)(message, **fields)
    exc.worm_code = worm_code
    return exc
