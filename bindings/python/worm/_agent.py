"""The agents' API: WormUploader (and seed 001's EvidenceUploader), EvidencePipeline and
the async EvidenceGenerator.

Each class is a thin shell over the C++ core (_worm._Uploader, _worm._Pipeline): the
work happens in C++ with the GIL released; this file maps the agents' names and
calling conventions onto it and runs blocking calls on a thread for asyncio.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _worm
from ._verify import _raise_for, verification_report
from .errors import ConfigError, InputError, IntegrityError, NotFoundError, WormError

logger = logging.getLogger("worm")

PathLike = Union[str, "os.PathLike[str]"]
WormConfig = _worm.WormConfig


def _default_evidence_dir(evidence_dir: Optional[PathLike]) -> Path:
    return Path(evidence_dir or os.environ.get("WORM_EVIDENCE_DIR") or "evidence")


class WormUploader:
    """Uploads signed bundles to WORM storage exactly once, verified, with a durable
    registry (SQLite, in evidence_dir) so nothing is lost across outages and crashes.

    The store is the one ``config`` names (direct mode: S3 bucket, endpoint and region,
    credentials from the AWS chain; proxy mode: the worm-proxy at mcp_url with the bearer
    token mcp_api_key), or ``store`` when given (any ObjectStore, e.g.
    ``worm.open_store("file:///srv/worm")``). ``mcp_api_key`` overrides config.mcp_api_key.

    Constructing one and reading counts and stats needs no store: the configured store is
    opened at the first upload or sync. A configuration problem then ("endpoint not
    configured", "bucket not configured", uploads not enabled) is that upload's ConfigError,
    logged once on the ``worm`` logger, recorded as ``last_error`` (also in ``worm status``),
    and the bundle stays in the backlog for a later sync.
    """

    def __init__(self, config: WormConfig, evidence_dir: PathLike, client_id: str,
                 store: Optional[_worm.ObjectStore] = None, mcp_api_key: Optional[str] = None,
                 client_cert: Optional[PathLike] = None, client_key: Optional[PathLike] = None):
        if client_cert is not None or client_key is not None:
            raise ConfigError("client certificates (mTLS) are not supported by libworm's uploader",
                              "config")
        if mcp_api_key is not None:
            config.mcp_api_key = mcp_api_key
        self.config = config
        self.evidence_dir = Path(evidence_dir)
        self.client_id = client_id
        self._core = _worm._Uploader(config, store, os.fspath(self.evidence_dir))

    @classmethod
    def _over(cls, core: "_worm._Uploader", config: WormConfig, evidence_dir: Path,
              client_id: str) -> "WormUploader":
        """This API over an uploader the C++ pipeline already made and attached."""
        uploader = cls.__new__(cls)
        uploader.config, uploader.evidence_dir, uploader.client_id = config, evidence_dir, client_id
        uploader._core = core
        return uploader

    def upload_bundle(self, bundle_path: PathLike, signature_path: PathLike,
                      client_id: Optional[str] = None) -> Tuple[str, str]:
        """Register and upload one bundle; returns (bundle_uri, signature_uri).

        Raises the last error when it could not be stored; the bundle then stays in the
        registry (failed, with the error) for sync() to retry."""
        result = self._core.upload_bundle(os.fspath(bundle_path), os.fspath(signature_path),
                                          client_id or self.client_id)
        return result["bundle_uri"], result["sig_uri"]

    def enqueue(self, bundle_path: PathLike, signature_path: PathLike,
                client_id: Optional[str] = None) -> str:
        """Register a bundle as pending without sending it; returns its bundle id."""
        return self._core.enqueue(os.fspath(bundle_path), os.fspath(signature_path),
                                  client_id or self.client_id)

    def sync(self) -> Dict[str, Any]:
        """Upload every pending or failed bundle: {"uploaded", "failed", "pending", "errors"}."""
        return self._core.sync()

    def get_pending_count(self) -> int:
        """Bundles not yet stored (pending, interrupted or failed)."""
        stats = self._core.stats()
        return stats["pending_count"] + stats["failed_count"]

    def get_stats(self) -> Dict[str, Any]:
        """{"enabled", "mode", "total_uploaded", "pending_count", "failed_count", "last_error",
        "last_error_at", "last_error_current", "oldest_pending_age_s", "consecutive_failures",
        "upload_success_rate", "pending_queue_depth", "upload_latency", "upload_latency_max",
        "retry_count", "health": {...}}. last_error stays on record; last_error_current is
        False once every bundle registered before it has been uploaded. The seed's metrics:
        upload_success_rate is the percent of bundles tried that are stored (None before any
        was tried), pending_queue_depth the bundles not yet stored, upload_latency the mean
        seconds from creation to stored (upload_latency_max the longest), retry_count the
        bundles that needed more than one attempt."""
        return self._core.stats()

    def _object_key(self, client_id: str, bundle_id: str, extension: str) -> str:
        return _worm._Uploader.object_key(self.config.s3_prefix, client_id, bundle_id, extension)

    def download_bundle(self, bundle_id: str, client_id: Optional[str] = None,
                        output_dir: Optional[PathLike] = None) -> Tuple[Path, Path]:
        """Download a stored bundle and its signature into output_dir (default: the current
        directory); returns (bundle_path, signature_path). Each file's SHA-256 is checked
        against the one recorded at upload (IntegrityError when they differ). The signature
        is the ``.sig``, or seed 001's cosign ``.json.bundle`` when there is no ``.sig``."""
        client_id = client_id or self.client_id
        out = Path(output_dir if output_dir is not None else ".")
        out.mkdir(parents=True, exist_ok=True)
        store = self._core.store()
        paths = []
        for extensions in ((".json",), (".sig", ".json.bundle")):
            for i, extension in enumerate(extensions):
                key = self._object_key(client_id, bundle_id, extension)
                path = out / (bundle_id + extension)
                try:
                    info = store.get_to_file(key, os.fspath(path))
                except NotFoundError:
                    if i + 1 < len(extensions):
                        continue
                    raise
                expected = info["sha256"] or info["metadata"].get("sha256", "")
                actual = hashlib.sha256(path.read_bytes()).hexdigest()
                if expected and actual != expected.lower():
                    path.unlink()
                    raise IntegrityError(f"downloaded {store.uri(key)} has sha256 {actual}, "
                                         f"not the {expected} recorded at upload", "integrity")
                paths.append(path)
                break
        return paths[0], paths[1]

    def list_bundles(self, client_id: Optional[str] = None, year: Optional[int] = None,
                     month: Optional[int] = None) -> List[Dict[str, Any]]:
        """The stored bundles of a client, optionally of one year or month (the key layout
        evidence/{client_id}/{YYYY}/{MM}/ makes that one listing), sorted by key. Each is
        {"bundle_id", "key", "uri", "size", "last_modified"}."""
        client_id = client_id or self.client_id
        if month is not None and year is None:
            raise InputError("list_bundles: month needs a year", "invalid_argument")
        if month is not None and not 1 <= int(month) <= 12:
            raise InputError(f"list_bundles: month must be 1..12, got {month}", "invalid_argument")
        # The layout (and the client id's validity) from the one place that defines it.
        sample = self._object_key(client_id, "EB-20000101-0001", ".json")
        prefix = sample[:sample.index("2000/01/")]
        if year is not None:
            prefix += f"{int(year):04d}/"
            if month is not None:
                prefix += f"{int(month):02d}/"
        store = self._core.store()
        bundles = []
        for item in store.list_all(prefix):
            name = item["key"].rsplit("/", 1)[-1]
            if not name.endswith(".json"):
                continue
            bundles.append({"bundle_id": name[:-len(".json")], "key": item["key"], "uri": store.uri(item["key"]),
                            "size": item["size"], "last_modified": item["last_modified"]})
        return sorted(bundles, key=lambda b: b["key"])

    async def upload_bundle_async(self, bundle_path: PathLike, signature_path: PathLike,
                                  client_id: Optional[str] = None) -> Tuple[str, str]:
        return await asyncio.to_thread(self.upload_bundle, bundle_path, signature_path, client_id)

    async def sync_async(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync)


class EvidenceUploader(WormUploader):
    """Seed 001's uploader (``mcp-server/evidence/uploader.py``) on the C++ core: direct S3
    uploads with Object Lock, verified, to evidence/{client_id}/{YYYY}/{MM}/{bundle_id}.json.

    ``bucket_name`` defaults to $MSP_WORM_BUCKET (else WORM_S3_BUCKET), ``region`` to
    $AWS_REGION (else WORM_S3_REGION, else us-east-1), ``retention_days`` to 90 in
    COMPLIANCE mode; the rest of the configuration comes from the environment
    (WormConfig.from_env()). The registry lives in ``evidence_dir`` ($WORM_EVIDENCE_DIR,
    else ./evidence). ``upload_bundle(bundle_path, signature_path, client_id)`` returns
    (bundle_uri, signature_uri) as in the seed; ``download_bundle`` and ``list_bundles``
    are WormUploader's.
    """

    def __init__(self, bucket_name: Optional[str] = None, region: Optional[str] = None,
                 retention_days: Optional[int] = None, evidence_dir: Optional[PathLike] = None,
                 store: Optional[_worm.ObjectStore] = None, config: Optional[WormConfig] = None):
        config = copy.copy(config) if config is not None else WormConfig.from_env()
        config.enabled = True
        config.mode = "direct"
        if bucket_name:
            config.s3_bucket = bucket_name
        if region:
            config.s3_region = region
        if retention_days is not None:
            config.retention_days = retention_days
        super().__init__(config, _default_evidence_dir(evidence_dir), "", store=store)
        self.client_id = None

    @property
    def bucket_name(self) -> str:
        return self.config.s3_bucket


class EvidencePipeline:
    """bundle -> schema validation -> write .json -> Ed25519 sign -> write .sig -> verify
    -> upload, by the library's upload-after-sign policy (EvidencePipeline::enable_uploads
    in C++, the same as `worm bundle`): uploads are on with ``store`` or with
    ``config.enabled``; then each bundle is uploaded right after signing when
    ``config.auto_upload``, else registered pending for ``uploader.sync()``.

    ``private_key`` is the PKCS#8 PEM path; when None, ``<evidence_dir>/keys/private.pem``,
    generated on first use. ``evidence_dir`` defaults to $WORM_EVIDENCE_DIR, else ./evidence.
    ``config`` defaults to WormConfig.from_env(). An upload failure never loses evidence:
    the bundle stays signed on disk and pending in the registry, and the error is logged.
    ``durable=False`` skips every fsync (scratch data and benchmarks only).
    Safe to call from several threads at once: concurrent calls share their fsyncs.

    ``enable_worm`` (seed 001): None lets the configuration decide (WORM_ENABLED, or
    MSP_WORM_BUCKET alone); True turns uploads on (in direct mode when WORM_MODE is not
    set); False turns them off, even with ``store``. With uploads on, the bucket's Object
    Lock configuration is checked once here: a bucket without Object Lock raises
    ConfigError naming it; a bucket that cannot be reached is a logged warning, and
    evidence stays local and pending until a sync.
    """

    def __init__(self, client_id: str, evidence_dir: Optional[PathLike] = None,
                 private_key: Optional[PathLike] = None, config: Optional[WormConfig] = None,
                 store: Optional[_worm.ObjectStore] = None, passphrase: Optional[str] = None,
                 durable: bool = True, enable_worm: Optional[bool] = None):
        self.client_id = client_id
        self.evidence_dir = _default_evidence_dir(evidence_dir)
        self.config = config if config is not None else WormConfig.from_env()
        if enable_worm is not None:
            self.config = copy.copy(self.config)  # the caller's object stays as it was
            self.config.enabled = bool(enable_worm)
            if not enable_worm:
                store = None
            elif self.config.sources.get("mode") == "default":
                self.config.mode = "direct"  # seed 001's uploader writes to S3 itself
        if private_key is None:
            keys = self.evidence_dir / "keys"
            private_key = keys / "private.pem"
            if not private_key.exists():
                _worm.generate_keys(os.fspath(keys), passphrase)
        self.private_key_path = Path(private_key)
        self.public_key_path = self.private_key_path.with_name("public.pem")
        self._core = _worm._Pipeline(client_id, os.fspath(self.evidence_dir),
                                     os.fspath(self.private_key_path), passphrase, durable)
        core_uploader = self._core.enable_uploads(self.config, store)
        self._config_problem: Optional[str] = None
        self.uploader: Optional[WormUploader] = None
        if core_uploader is not None:
            self.uploader = WormUploader._over(core_uploader, self.config, self.evidence_dir, client_id)
            self._check_object_lock()
        else:  # seed 001's notice, at INFO: running without uploads is a normal setup
            logger.info("Evidence uploader not available - WORM storage disabled (set MSP_WORM_BUCKET, or "
                        "WORM_ENABLED=true, to upload); evidence is signed and stored locally")

    def _check_object_lock(self) -> None:
        """Seed 001's check at initialisation (see the class docstring)."""
        try:
            self.uploader._core.store()
        except ConfigError as error:
            # Logged once by the uploader; each upload reports it and keeps the bundle.
            self._config_problem = str(error)
            return
        try:
            self.uploader._core.check_object_lock()
        except ConfigError:
            raise
        except WormError as error:
            logger.warning("WORM storage: cannot check the Object Lock configuration (%s); evidence stays "
                           "local and pending until the bucket is reachable", error)

    def process_incident(self, incident: Mapping[str, Any], runbook: Optional[Mapping[str, Any]] = None,
                         execution: Optional[Mapping[str, Any]] = None,
                         actions: Optional[List[Mapping[str, Any]]] = None,
                         artifacts: Optional[Mapping[str, Any]] = None) -> Tuple[Path, Path]:
        """Build, validate, write, sign and verify one bundle; upload it when configured.
        Returns (bundle_path, sig_path). See ``last_result`` for the id, hash and URIs."""
        result = self._process(incident, runbook, execution, actions, artifacts)
        self.last_result = result
        return Path(result["bundle_path"]), Path(result["sig_path"])

    def process_incidents(self, incidents: Iterable[Mapping[str, Any]]) -> List[Tuple[Path, Path]]:
        """process_incident for many incidents with one durability round for the batch.
        Each item is a dict of process_incident's keyword arguments (``incident``,
        ``runbook``, ``execution``, ``actions`` or ``actions_taken``, ``artifacts``).
        Returns (bundle_path, sig_path) per incident, in order; ``last_results`` holds
        the full results. An invalid item raises naming its index ("incident #3: ...")
        and nothing of the batch is written."""
        results = [self._finish(r) for r in self._core.process_incidents(list(incidents))]
        self.last_results = results
        return [(Path(r["bundle_path"]), Path(r["sig_path"])) for r in results]

    def _process(self, incident, runbook, execution, actions, artifacts) -> Dict[str, Any]:
        # Returns this call's result rather than only setting last_result, so that
        # concurrent callers (EvidenceGenerator on threads) each get their own URIs.
        return self._finish(self._core.process_incident(incident, runbook, execution, actions, artifacts))

    def _finish(self, result: Dict[str, Any]) -> Dict[str, Any]:
        result["bundle_uri"] = result["bundle_uri"] or None
        result["sig_uri"] = result["sig_uri"] or None
        # Kept locally and pending: sync() retries it. A configuration problem was logged
        # once already (by the uploader), not once per bundle.
        if result["upload_error"] and result["upload_error"] != self._config_problem:
            logger.warning("upload of %s failed, left pending: %s", result["bundle_id"], result["upload_error"])
        return result

    def verify(self, bundle_path: PathLike, sig_path: Optional[PathLike] = None) -> bool:
        """Verify a bundle with this pipeline's public key (signature, hash, schema):
        True, or VerificationError naming the reason."""
        report = _worm._verify_report(os.fspath(bundle_path), os.fspath(sig_path or ""),
                                      self._core.public_key())
        _raise_for(bundle_path, report)
        return True


_SECTIONS = ("incident", "runbook", "execution", "artifacts")


class EvidenceGenerator:
    """The agents' async API on the C++ core.

    ``await store_evidence(bundle)`` takes a seed-shaped bundle dict (incident, runbook,
    execution, actions_taken, artifacts, ...); the core assigns the bundle id, recomputes
    MTTR, SLA, outputs and the hash, validates, writes, signs, verifies and uploads it.
    Coroutines run the blocking work on a thread, so the event loop never blocks.
    """

    def __init__(self, client_id: str, evidence_dir: Optional[PathLike] = None,
                 private_key: Optional[PathLike] = None, config: Optional[WormConfig] = None,
                 store: Optional[_worm.ObjectStore] = None, passphrase: Optional[str] = None):
        self.pipeline = EvidencePipeline(client_id, evidence_dir, private_key, config, store, passphrase)
        self.client_id = client_id
        self.evidence_dir = self.pipeline.evidence_dir
        self.config = self.pipeline.config

    def _store(self, bundle: Mapping[str, Any]) -> Tuple[Path, Path, Optional[str]]:
        if bundle.get("client_id", self.client_id) != self.client_id:
            raise InputError(f"bundle client_id {bundle.get('client_id')!r} is not this generator's "
                             f"{self.client_id!r}", "invalid_argument")
        sections = {name: bundle.get(name) for name in _SECTIONS}
        actions = bundle.get("actions_taken", bundle.get("actions"))
        result = self.pipeline._process(actions=actions, **sections)
        return Path(result["bundle_path"]), Path(result["sig_path"]), result["bundle_uri"]

    async def store_evidence(self, bundle: Mapping[str, Any]) -> Tuple[Path, Path, Optional[str]]:
        """Store one bundle: (bundle_path, sig_path, worm_uri); worm_uri is None when
        uploading is off or failed (the bundle is then pending for sync_to_worm)."""
        return await asyncio.to_thread(self._store, bundle)

    async def verify_evidence(self, bundle_path: PathLike, sig_path: Optional[PathLike] = None) -> bool:
        """True when signature, hash and schema verify; False otherwise (logged)."""
        try:
            return await asyncio.to_thread(self.pipeline.verify, bundle_path, sig_path)
        except WormError as error:
            logger.warning("evidence %s does not verify: %s", bundle_path, error)
            return False

    async def sync_to_worm(self) -> Dict[str, Any]:
        """Upload every pending bundle: {"uploaded", "failed", "pending", "errors"}."""
        if self.pipeline.uploader is None:
            return {"uploaded": 0, "failed": 0, "pending": 0, "errors": []}
        return await asyncio.to_thread(self.pipeline.uploader.sync)

    def get_worm_stats(self) -> Dict[str, Any]:
        """{"enabled", "mode", "total_uploaded", "pending_count", "failed_count", ...}."""
        if self.pipeline.uploader is None:
            return {"enabled": False, "mode": self.config.mode, "total_uploaded": 0, "pending_count": 0,
                    "failed_count": 0, "last_error": "", "last_error_at": None, "last_error_current": False,
                    "oldest_pending_age_s": None,
                    "consecutive_failures": 0, "upload_success_rate": None, "pending_queue_depth": 0,
                    "upload_latency": None, "upload_latency_max": None, "retry_count": 0,
                    "health": {"ok": True}}
        stats = self.pipeline.uploader.get_stats()
        stats["enabled"] = bool(self.config.enabled or stats["enabled"])
        return stats
