"""worm.verify_file: check a bundle and its .sig, raising VerificationError with the reason."""

from __future__ import annotations

import os
from typing import Union

from . import _worm
from .errors import VerificationError

PathLike = Union[str, "os.PathLike[str]"]


def verify_file(bundle_path: PathLike, sig_path: PathLike, public_key_path: PathLike) -> bool:
    """Verify an evidence bundle: the Ed25519 signature over the file's exact bytes.

    Returns True, or raises ``VerificationError`` whose ``.reason`` is
    "signature_invalid" and whose message says what failed. A missing bundle raises
    NotFoundError; an unreadable key ConfigError or InputError.
    """
    valid, reason = _worm._check_signature_file(os.fspath(bundle_path), os.fspath(sig_path),
                                                os.fspath(public_key_path))
    if not valid:
        raise VerificationError(f"{os.fspath(bundle_path)}: signature invalid: {reason}",
                                reason="signature_invalid")
    return True
