"""worm.verify_file: the auditor's check of a bundle, raising VerificationError with the reason."""

from __future__ import annotations

import os
from typing import Optional, Union

from . import _worm
from .errors import VerificationError

PathLike = Union[str, "os.PathLike[str]"]


def verification_report(bundle_path: PathLike, sig_path: Optional[PathLike], public_key_path: PathLike) -> dict:
    """Check signature, hash and schema separately; never raises for bad evidence.

    ``sig_path`` is a ``.sig``, a ``.sigstore.json`` or cosign's ``.json.bundle`` (seed
    003); None or "": the first of those beside the bundle. For a ``.json.bundle`` the key
    is cosign's public key (ECDSA P-256 or Ed25519), otherwise libworm's Ed25519 key.

    Returns {"ok", "signature_valid", "hash_valid", "schema_valid", "bundle_id",
    "evidence_bundle_hash", "problems", "summary", "signature_path", "signature_format",
    "notes"}; notes say what was present but not checked offline (a Rekor entry, a
    certificate). A missing bundle or key raises NotFoundError.
    """
    return _worm._verify_evidence(os.fspath(bundle_path), os.fspath(sig_path or ""), os.fspath(public_key_path))


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


def verify_file(bundle_path: PathLike, sig_path: Optional[PathLike], public_key_path: PathLike) -> bool:
    """Verify an evidence bundle: the signature over the file's exact bytes (a ``.sig``,
    ``.sigstore.json`` or cosign ``.json.bundle``, see verification_report), the
    evidence_bundle_hash (RFC 8785) and the bundle schema.

    Returns True, or raises ``VerificationError`` whose ``.reason`` is the first failed
    check ("signature_invalid", "hash_mismatch", "schema_invalid"), whose message names
    every problem, and whose ``.report`` holds the full report (see verification_report).
    """
    _raise_for(bundle_path, verification_report(bundle_path, sig_path, public_key_path))
    return True
