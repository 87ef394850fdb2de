# Type stub for the worm package (the C++ core in worm._worm plus the Python shell).
import datetime
import os
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import (ConfigError as ConfigError, CryptoError as CryptoError, InputError as InputError,
                     IntegrityError as IntegrityError, NetworkError as NetworkError,
                     NotFoundError as NotFoundError, ObjectLockedError as ObjectLockedError,
                     S3Error as S3Error, S3IntegrityError as S3IntegrityError,
                     S3NotFoundError as S3NotFoundError, S3ObjectLockedError as S3ObjectLockedError,
                     StorageError as StorageError, VerificationError as VerificationError,
                     WormError as WormError)

# Errors (classes in worm/errors.py): ``.code`` is the worm error code on every exception,
# S3Error included ("not_found" for a missing object in any store); ``S3Error.s3_code`` is
# what the S3 server said ("NoSuchKey"). worm.errors.ERROR_CODES lists every code.
# Deprecated: ``.worm_code`` (an alias of ``.code`` that warns; S3Error.code used to be the
# S3 code, read it as ``.s3_code`` now).

__version__: str
PathLike = Union[str, os.PathLike[str]]
Json = Union[None, bool, int, float, str, List[Any], Tuple[Any, ...], Dict[str, Any]]
When = Union[datetime.datetime, str]

# ---- canonical JSON and bundles -------------------------------------------------------
def canonical_json(obj: Json) -> str:
    """RFC 8785 canonical JSON of a Python value; InputError for NaN/Infinity, non-str keys,
    lone surrogates; TypeError for other types."""
def canonical_json_text(text: Union[str, bytes]) -> str:
    """RFC 8785 canonical form of JSON text; InputError for duplicate keys, invalid UTF-8."""
def parse_json(text: Union[str, bytes]) -> Json:
    """Strict JSON parse (duplicate keys, invalid UTF-8 -> InputError)."""
def compute_bundle_hash(bundle: Mapping[str, Any]) -> str:
    """"sha256:" + hex SHA-256 of the canonical bundle without evidence_bundle_hash,
    signatures and storage_locations."""
def validate_bundle(bundle: Mapping[str, Any]) -> None:
    """InputError (code "schema") naming the JSON pointer and the rule that failed."""

# ---- keys and signatures ----------------------------------------------------------------
class PublicKey:
    @staticmethod
    def from_file(path: PathLike) -> PublicKey: ...
    @staticmethod
    def from_pem(pem: str) -> PublicKey: ...
    @staticmethod
    def from_raw(raw: bytes) -> PublicKey: ...
    def to_pem(self) -> str: ...
    def raw(self) -> bytes: ...
    def verify(self, data: Union[bytes, str], signature: bytes) -> bool: ...

class Signer:
    """Ed25519 signing key. Signer(path) refuses a key file readable by group or others."""
    def __init__(self, private_key_path: PathLike, passphrase: Optional[str] = None) -> None: ...
    @staticmethod
    def generate() -> Signer: ...
    @staticmethod
    def from_pem(pem: str, passphrase: Optional[str] = None) -> Signer: ...
    @staticmethod
    def from_seed(seed: bytes) -> Signer: ...
    def sign(self, data: Union[bytes, str]) -> bytes:
        """The raw 64-byte signature."""
    def signature_line(self, data: Union[bytes, str]) -> str:
        """base64 signature + newline: the content of a .sig file."""
    def sign_file(self, path: PathLike) -> Path:
        """Writes <path minus .json>.sig over the file's exact bytes; returns its path."""
    def public_key(self) -> PublicKey: ...
    def public_key_pem(self) -> str: ...
    def public_key_bytes(self) -> bytes: ...

class KeyPaths:
    private_key: Path
    public_key: Path
    def __iter__(self) -> Iterator[Path]: ...

def generate_keys(dir: PathLike, passphrase: Optional[str] = None) -> KeyPaths:
    """dir/private.pem (0400) and dir/public.pem (0644); never overwrites."""
def verify_file(bundle_path: PathLike, sig_path: Optional[PathLike], public_key_path: PathLike) -> bool:
    """True, or VerificationError with .reason signature_invalid | hash_mismatch | schema_invalid."""
def verification_report(bundle_path: PathLike, sig_path: Optional[PathLike], public_key_path: PathLike) -> Dict[str, Any]:
    """{ok, signature_valid, hash_valid, schema_valid, bundle_id, evidence_bundle_hash, problems, summary,
    signature_path, signature_format, notes}. sig_path: .sig, .sigstore.json or cosign .json.bundle."""

# ---- SigV4 ----------------------------------------------------------------------------
def sigv4_sign(method: str, url: str, headers: Union[Mapping[str, Any], Sequence[Tuple[str, Any]], None],
               payload: Union[bytes, str, None], access_key: str, secret_key: str, region: str,
               service: str = "s3", amz_date: Optional[When] = None, session_token: Optional[str] = None,
               unsigned_payload: bool = False) -> Dict[str, str]:
    """Headers to add: Authorization, X-Amz-Date, X-Amz-Content-SHA256[, X-Amz-Security-Token]."""
def presign_url(method: str, url: str, access_key: str, secret_key: str, region: str, expires: int = 3600,
                amz_date: Optional[When] = None, session_token: Optional[str] = None, service: str = "s3") -> str: ...
def presign_object_url(bucket: str, key: str, expires: int = 3600, method: str = "GET") -> str:
    """Presigned s3://bucket/key with the endpoint, region and default credentials chain every S3 store uses."""

# ---- stores -----------------------------------------------------------------------------
class ObjectStore:
    def put(self, key: str, data: Union[bytes, str, None] = None, *, file: Optional[PathLike] = None,
            content_type: str = "application/octet-stream", metadata: Optional[Mapping[str, str]] = None,
            lock_mode: Optional[str] = None, retain_until: Optional[When] = None, legal_hold: bool = False,
            sse: Optional[str] = None, kms_key_id: str = "", sha256: Optional[str] = None,
            if_none_match: bool = False) -> Dict[str, str]:
        """{key, version_id, etag, sha256}."""
    def get(self, key: str, version_id: Optional[str] = None,
            range: Optional[Tuple[int, Optional[int]]] = None) -> bytes: ...
    def get_to_file(self, key: str, path: PathLike, version_id: Optional[str] = None) -> Dict[str, Any]: ...
    def head(self, key: str, version_id: Optional[str] = None) -> Dict[str, Any]:
        """{key, size, etag, sha256, content_type, metadata, retention, lock_mode, retain_until,
        legal_hold, version_id, last_modified}."""
    def list(self, prefix: str = "", delimiter: str = "", continuation_token: str = "",
             max_keys: int = 1000) -> Dict[str, Any]: ...
    def list_all(self, prefix: str = "") -> List[Dict[str, Any]]: ...
    def remove(self, key: str, version_id: Optional[str] = None, bypass_governance: bool = False) -> None: ...
    def get_retention(self, key: str, version_id: Optional[str] = None) -> Optional[Dict[str, Any]]: ...
    def put_retention(self, key: str, mode: str, retain_until: When, version_id: Optional[str] = None,
                      bypass_governance: bool = False) -> None: ...
    def get_legal_hold(self, key: str, version_id: Optional[str] = None) -> bool: ...
    def put_legal_hold(self, key: str, on: bool, version_id: Optional[str] = None) -> None: ...
    def uri(self, key: str) -> str: ...

class LocalWormStore(ObjectStore):
    def __init__(self, root: PathLike) -> None: ...
    @property
    def root(self) -> Path: ...
    def list_versions(self, key: str) -> List[Dict[str, Any]]: ...

class ProxyStore(ObjectStore):
    """The store behind a worm-proxy (mcp+http(s)://host) with a per-client bearer token."""
    def __init__(self, url: str, api_key: str) -> None: ...
    @property
    def base_url(self) -> str: ...

def open_store(url: str) -> ObjectStore:
    """file:///dir, s3://bucket[/prefix] (endpoint and credentials from the environment)."""

class S3Client:
    def __init__(self, *, endpoint: Optional[str] = None, region: Optional[str] = None,
                 access_key: Optional[str] = None, secret_key: Optional[str] = None,
                 session_token: Optional[str] = None, addressing: Optional[str] = None) -> None: ...
    def create_bucket(self, bucket: str, object_lock: bool = False, region: str = "") -> None: ...
    def bucket_exists(self, bucket: str) -> bool: ...
    def store(self, bucket: str, prefix: str = "") -> ObjectStore: ...

# ---- configuration, uploader, pipeline -------------------------------------------------------
class WormConfig:
    enabled: bool
    mode: str  # "proxy" | "direct"
    s3_bucket: str
    s3_region: str
    s3_prefix: str
    s3_endpoint: str
    retention_days: int
    allow_short_retention: bool
    lock_mode: str  # "COMPLIANCE" | "GOVERNANCE"
    auto_upload: bool
    upload_attempts: int
    sync_concurrency: int
    sse: Optional[str]  # None | "AES256" | "aws:kms"
    kms_key_id: str
    mcp_url: str
    mcp_upload_endpoint: str  # the seed's name for mcp_url
    mcp_api_key: str
    problems: List[str]
    sources: Dict[str, str]
    def __copy__(self) -> WormConfig: ...
    def __deepcopy__(self, memo: Dict[int, Any]) -> WormConfig: ...
    def __init__(self, *, enabled: bool = False, mode: str = "proxy", s3_bucket: str = "",
                 s3_region: str = "us-east-1", retention_days: int = 90, auto_upload: bool = True,
                 mcp_url: str = "", mcp_upload_endpoint: Optional[str] = None, mcp_api_key: str = "",
                 s3_prefix: str = "", s3_endpoint: str = "", lock_mode: str = "COMPLIANCE",
                 allow_short_retention: bool = False, upload_attempts: int = 3, sync_concurrency: int = 4,
                 sse: Optional[str] = None, kms_key_id: str = "") -> None: ...
    @staticmethod
    def from_env(env: Optional[Mapping[str, str]] = None) -> WormConfig: ...
    def validate(self) -> None: ...
    def check(self) -> List[str]: ...
    def describe(self) -> Dict[str, Any]: ...

class WormUploader:
    config: WormConfig
    evidence_dir: Path
    client_id: str
    def __init__(self, config: WormConfig, evidence_dir: PathLike, client_id: str,
                 store: Optional[ObjectStore] = None, mcp_api_key: Optional[str] = None,
                 client_cert: Optional[PathLike] = None, client_key: Optional[PathLike] = None) -> None: ...
    def upload_bundle(self, bundle_path: PathLike, signature_path: PathLike,
                      client_id: Optional[str] = None) -> Tuple[str, str]: ...
    def enqueue(self, bundle_path: PathLike, signature_path: PathLike, client_id: Optional[str] = None) -> str: ...
    def sync(self) -> Dict[str, Any]: ...
    def get_pending_count(self) -> int: ...
    def get_stats(self) -> Dict[str, Any]: ...
    def download_bundle(self, bundle_id: str, client_id: Optional[str] = None,
                        output_dir: Optional[PathLike] = None) -> Tuple[Path, Path]: ...
    def list_bundles(self, client_id: Optional[str] = None, year: Optional[int] = None,
                     month: Optional[int] = None) -> List[Dict[str, Any]]: ...
    async def upload_bundle_async(self, bundle_path: PathLike, signature_path: PathLike,
                                  client_id: Optional[str] = None) -> Tuple[str, str]: ...
    async def sync_async(self) -> Dict[str, Any]: ...

class EvidenceUploader(WormUploader):
    def __init__(self, bucket_name: Optional[str] = None, region: Optional[str] = None,
                 retention_days: Optional[int] = None, evidence_dir: Optional[PathLike] = None,
                 store: Optional[ObjectStore] = None, config: Optional[WormConfig] = None) -> None: ...
    @property
    def bucket_name(self) -> str: ...

class EvidencePipeline:
    client_id: str
    evidence_dir: Path
    config: WormConfig
    private_key_path: Path
    public_key_path: Path
    uploader: Optional[WormUploader]
    last_result: Dict[str, Any]
    last_results: List[Dict[str, Any]]
    def __init__(self, client_id: str, evidence_dir: Optional[PathLike] = None,
                 private_key: Optional[PathLike] = None, config: Optional[WormConfig] = None,
                 store: Optional[ObjectStore] = None, passphrase: Optional[str] = None,
                 durable: bool = True, enable_worm: Optional[bool] = None) -> None: ...
    def process_incidents(self, incidents: Iterable[Mapping[str, Any]]) -> List[Tuple[Path, Path]]: ...
    def process_incident(self, incident: Mapping[str, Any], runbook: Optional[Mapping[str, Any]] = None,
                         execution: Optional[Mapping[str, Any]] = None,
                         actions: Optional[Sequence[Mapping[str, Any]]] = None,
                         artifacts: Optional[Mapping[str, Any]] = None) -> Tuple[Path, Path]: ...
    def verify(self, bundle_path: PathLike, sig_path: Optional[PathLike] = None) -> bool: ...

class EvidenceGenerator:
    client_id: str
    evidence_dir: Path
    config: WormConfig
    pipeline: EvidencePipeline
    def __init__(self, client_id: str, evidence_dir: Optional[PathLike] = None,
                 private_key: Optional[PathLike] = None, config: Optional[WormConfig] = None,
                 store: Optional[ObjectStore] = None, passphrase: Optional[str] = None) -> None: ...
    async def store_evidence(self, bundle: Mapping[str, Any]) -> Tuple[Path, Path, Optional[str]]: ...
    async def verify_evidence(self, bundle_path: PathLike, sig_path: Optional[PathLike] = None) -> bool: ...
    async def sync_to_worm(self) -> Dict[str, Any]: ...
    def get_worm_stats(self) -> Dict[str, Any]: ...

# ---- compliance: evidence audit, certificates, Sigstore bundles ----------------------
class AuditFailure:
    key: str
    check: str    # signature, hash, schema, missing_signature, orphan_signature, retention_short, ...
    reason: str

class AuditReport:
    clean: bool
    failures: List[AuditFailure]
    manifest_sha256: str
    bundles: int
    bundles_ok: int
    def to_json(self) -> str: ...
    def to_html(self) -> str: ...
    def report(self) -> Dict[str, Any]:
        """report.json as a dict."""
    def write(self, out_dir: PathLike) -> Path:
        """Writes out_dir/report.json and report.html."""

def audit(public_key: PublicKey, store: Union[None, str, ObjectStore] = None, directory: Optional[PathLike] = None,
          prefix: str = "", from_: Optional[When] = None, to: Optional[When] = None,
          registry_dir: Optional[PathLike] = None, workers: int = 4, min_retention_days: int = 90,
          mode: Optional[str] = "COMPLIANCE", verify_bucket: bool = True,
          cosign_public_key: Optional[CosignPublicKey] = None, database: Optional[str] = None) -> AuditReport:
    """Audits a store (URL or ObjectStore) or a local evidence directory; cosign_public_key
    checks cosign's X.json.bundle signatures; database: an evidence database URL
    (postgresql://..., sqlite:///path) compared with the store both ways."""
def issue_certificate(report: PathLike, signer: Signer, out_dir: PathLike, validity_days: int = 365, *,
                      signing_cert: Optional[PathLike] = None, signing_key: Optional[PathLike] = None,
                      evidence: Optional[Sequence[Mapping[str, Any]]] = None) -> Dict[str, Any]:
    """certificate.json/.sig and certificate.pdf/.pdf.sig from an audit's report.json; the PDF is signed
    inside (CMS) with signing_cert/signing_key or a new self-signed P-256 certificate."""
def verify_certificate(directory: PathLike, public_key: PublicKey) -> Dict[str, Any]:
    """{ok, certificate_id, json_signature_valid, pdf_signature_valid, pdf_matches_json,
    pdf_embedded_signature_valid, pdf_signer_subject, problems}."""
class EvidenceDatabase:
    """The evidence metadata database (table worm_evidence)."""
    @property
    def url(self) -> str: ...
    def create_schema(self) -> None: ...
    def insert(self, *, evidence_id: str, object_key: str, sha256: str, retain_until: Optional[When] = None,
               lock_mode: str = "", version_id: str = "", session_id: str = "", evidence_type: str = "",
               metadata: str = "") -> None: ...
    def find(self, evidence_id: str) -> Optional[Dict[str, Any]]: ...
    def rows(self, prefix: str = "") -> List[Dict[str, Any]]: ...
def open_evidence_database(url: str) -> EvidenceDatabase:
    """postgresql://user:password@host:port/db (libpq) or sqlite:///path."""
def write_sigstore_bundle(signer: Signer, path: PathLike) -> Path:
    """Writes <path minus .json>.sigstore.json, a Sigstore bundle v0.3 (message signature)."""
# ---- compliance: bucket setup and verification ------------------------------------------------
SetupAction = str  # "created", "already right", "changed", "not supported by this server", "planned", "printed", "skipped"
CheckStatus = str  # "pass", "fail", "unsupported"

class ResourceOutcome:
    resource: str
    action: SetupAction
    detail: str

class BucketSetupReport:
    bucket: str
    dry_run: bool
    resources: List[ResourceOutcome]
    unchanged: bool
    has_unsupported: bool
    def to_json(self) -> str: ...

class ServerAnswer:
    request: str
    http_status: int
    sha256: str

class BucketCheck:
    id: str
    title: str
    cross_reference: str
    observed: str
    expected: str
    status: CheckStatus
    answers: List[ServerAnswer]

class BucketVerification:
    endpoint: str
    bucket: str
    checked_at: datetime.datetime
    checks: List[BucketCheck]
    passed: bool
    failed_ids: List[str]
    def find(self, id: str) -> Optional[BucketCheck]: ...
    def to_json(self) -> str: ...

def setup_bucket(bucket: str, *, client: Optional[S3Client] = None, profile: str = "evidence",
                 retention_days: Optional[int] = None, retention_years: Optional[int] = None,
                 mode: Optional[str] = None, sse: str = "AES256", kms_key: Optional[str] = None,
                 prefix: Optional[str] = None, transition_days: Optional[int] = None,
                 storage_class: Optional[str] = None, transitions: Optional[List[Tuple[int, str]]] = None,
                 expire_grace_days: Optional[int] = None, tls_only_policy: bool = True,
                 deny_delete_policy: Optional[bool] = None, dry_run: bool = False,
                 region: str = "") -> BucketSetupReport: ...
def verify_bucket(bucket: str, *, client: Optional[S3Client] = None, profile: str = "evidence",
                  min_retention_days: Optional[int] = None, mode: Optional[str] = None, require_kms: bool = False,
                  require_replica: bool = False, prefix: Optional[str] = None,
                  sample: int = 10) -> BucketVerification: ...


# ---- migration (worm/migrate.hpp) ----
def migrate(source: str, destination: Union[str, ObjectStore], *, retain_days: Optional[int] = None,
            retain_until: Optional[datetime.datetime] = None, state_file: Optional[PathLike] = None,
            lock_mode: str = "COMPLIANCE", prefix: str = "", include: Sequence[str] = (),
            exclude: Sequence[str] = (), workers: int = 8, batch_size: int = 1000,
            retain_from_source: bool = False, legal_hold: bool = False, dry_run: bool = False,
            verify_signatures: bool = False, public_key: Optional[PathLike] = None, copy_invalid: bool = False,
            keep_paths: bool = False, dest_prefix: str = "", source_endpoint: str = "", source_profile: str = "",
            part_size: int = 0, large_object_bytes: Optional[int] = None,
            report: Optional[PathLike] = None, client_copy: bool = False, put_back_up_to: Optional[int] = None,
            trust_listing: bool = False) -> Dict[str, Any]: ...
def verify_migration(source: str, destination: Union[str, ObjectStore], *, prefix: str = "", dest_prefix: str = "",
                     keep_paths: bool = False, workers: int = 8, source_endpoint: str = "",
                     source_profile: str = "") -> Dict[str, Any]: ...


class CosignPublicKey:
    """A cosign public key (cosign.pub): ECDSA P-256 or Ed25519, SPKI PEM."""
    @staticmethod
    def from_file(path: PathLike) -> CosignPublicKey: ...
    @staticmethod
    def from_pem(pem: str) -> CosignPublicKey: ...
    def to_pem(self) -> str: ...
    def algorithm(self) -> str: ...
    def hint(self) -> str: ...
    def verify(self, data: Union[bytes, str], signature: bytes) -> bool: ...

class CosignSigner:
    """cosign's ENCRYPTED SIGSTORE PRIVATE KEY; password None: COSIGN_PASSWORD."""
    def __init__(self, cosign_key: PathLike, password: Optional[str] = None) -> None: ...
    def sign(self, data: Union[bytes, str]) -> bytes: ...
    def sign_file(self, path: PathLike) -> Path: ...
    def public_key(self) -> CosignPublicKey: ...

class EvidenceConfig:
    """Seed 003's config: EVIDENCE_DIR, PRIVATE_KEY, PUBLIC_KEY, SCHEMA_PATH, COSIGN_PASSWORD."""
    EVIDENCE_DIR: Path
    PRIVATE_KEY: Path
    PUBLIC_KEY: Path
    SCHEMA_PATH: Path
    COSIGN_PASSWORD: Optional[str]
    @classmethod
    def problems(cls) -> List[str]: ...
    @classmethod
    def validate(cls) -> bool: ...
    @classmethod
    def as_dict(cls) -> Dict[str, Any]: ...
    @classmethod
    def print_config(cls) -> None: ...

class MockDataGenerator:
    @staticmethod
    def create_mock_incident(rng: Optional[Any] = None) -> Dict[str, Any]: ...
    @staticmethod
    def create_mock_runbook(rng: Optional[Any] = None) -> Dict[str, Any]: ...
    @staticmethod
    def create_mock_execution(success: bool = True, rng: Optional[Any] = None) -> Dict[str, Any]: ...
    @staticmethod
    def create_mock_actions(success: bool = True, rng: Optional[Any] = None) -> List[Dict[str, Any]]: ...
    @staticmethod
    def create_mock_artifacts(rng: Optional[Any] = None) -> Dict[str, Any]: ...
def rollback_migration(destination: Union[str, ObjectStore], report: PathLike, *, bypass_governance: bool = True,
                       dry_run: bool = False, workers: int = 8) -> List[Dict[str, Any]]: ...
