"""worm.verify_file: the auditor's check of a bundle, raising VerificationError with the reason."""

from __future__ import annotations

import os
from typing import Union

from . import _worm
from .errors import VerificationError

PathLike = Union[str, "os.PathLike[str]"]


def verification_report(bundle_path: PathLike, sig_path: PathLike, public_key_path: PathLike) -> dict:
    """Check signature, hash and schema separately; never raises for bad evidence.

    Returns {"ok", "signature_valid", "hash_valid", "schema_valid", "bundle_id",
    "evidence_bundle_hash", "problems", "summary"}. A missing bundle raises NotFoundError.
    """
    key = _worm.PublicKey.from_file(os.fspath(public_key_path))
    return _worm._verify_report(os.fspath(bundle_path), os.fspath(sig_path or ""), key)


def _raise_for(bundle_path: PathLike, report: dict) -> None:
    if report["ok"]:
        return
    if not report["signature_valid"]:
        reason = "signature_invalid"
    elif not report["hash_valid"]:
        reason = "hash_mismatch"
    else:
        reason = "schema_invalid"
    error = VerificationError(f"{os.fspath(bundle_path)}: {report['summary']}", reason=reason)
    error.report = report
    raise error


def verify_file(bundle_path: PathLike, sig_path: PathLike, public_key_path: PathLike) -> bool:
    """Verify an evidence bundle: the Ed25519 signature over the file's exact bytes, the
    evidence_bundle_hash (RFC 8785) and the bundle schema.

    Returns True, or raises ``VerificationError`` whose ``.reason`` is the first failed
    check ("signature_invalid", "hash_mismatch", "schema_invalid"), whose message names
    every problem, and whose ``.report`` holds the full report (see verification_report).
    """
    _raise_for(bundle_path, verification_report(bundle_path, sig_path, public_key_path))
    return True
