"""worm: write-once compliance evidence on libworm's C++ core.

Evidence bundles, RFC 8785 canonical hashing, Ed25519 signatures, a local WORM store,
a SigV4 S3 client with Object Lock, and the uploader with its durable registry. The
names follow the Python agents' API, so an agent swaps its own code for ``import worm``.

Every blocking call releases the GIL; ``EvidenceGenerator``'s coroutines run the C++
work on a thread, so they never block the event loop.
"""

from __future__ import annotations

from .errors import (ConfigError, CryptoError, InputError, IntegrityError, NetworkError,
                     NotFoundError, ObjectLockedError, S3Error, S3IntegrityError,
                     S3NotFoundError, S3ObjectLockedError, StorageError, VerificationError,
                     WormError)
from . import _worm
from ._worm import (KeyPaths, LocalWormStore, ObjectStore, ProxyStore, PublicKey, S3Client, Signer, WormConfig,
                    canonical_json, canonical_json_text, compute_bundle_hash, generate_keys,
                    open_store, parse_json, validate_bundle)
from ._worm import (AuditFailure, AuditReport, audit, issue_certificate, verify_certificate,
                    write_sigstore_bundle, EvidenceDatabase, open_evidence_database)
from ._sigv4 import presign_object_url, presign_url, sigv4_sign
from ._verify import verification_report, verify_file
from ._agent import EvidenceGenerator, EvidencePipeline, EvidenceUploader, WormUploader
from ._worm import (BucketCheck, BucketSetupReport, BucketVerification, ResourceOutcome, ServerAnswer,
                    setup_bucket, verify_bucket)
from ._worm import CosignPublicKey, CosignSigner
from ._seed003 import EvidenceConfig, MockDataGenerator
from ._worm import migrate, rollback_migration, verify_migration

__version__ = "0.1.0"

__all__ = [
    "WormError", "ConfigError", "InputError", "VerificationError", "CryptoError",
    "StorageError", "NotFoundError", "ObjectLockedError", "IntegrityError", "NetworkError",
    "S3Error", "S3NotFoundError", "S3ObjectLockedError", "S3IntegrityError",
    "canonical_json", "canonical_json_text", "parse_json", "compute_bundle_hash", "validate_bundle",
    "Signer", "PublicKey", "KeyPaths", "generate_keys", "verify_file", "verification_report",
    "sigv4_sign", "presign_url", "presign_object_url",
    "ObjectStore", "LocalWormStore", "ProxyStore", "open_store", "S3Client",
    "WormConfig", "WormUploader", "EvidenceUploader", "EvidencePipeline", "EvidenceGenerator",
    "audit", "AuditReport", "AuditFailure", "issue_certificate", "verify_certificate", "write_sigstore_bundle",
    "EvidenceDatabase", "open_evidence_database",
    "setup_bucket", "verify_bucket", "BucketSetupReport", "ResourceOutcome", "BucketVerification",
    "BucketCheck", "ServerAnswer",
    "CosignSigner", "CosignPublicKey", "EvidenceConfig", "MockDataGenerator",
    "migrate", "rollback_migration", "verify_migration",
]
