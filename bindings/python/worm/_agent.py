"""The agents' API: WormUploader, EvidencePipeline and the async EvidenceGenerator.

Each class is a thin shell over the C++ core (_worm._Uploader, _worm._Pipeline): the
work happens in C++ with the GIL released; this file maps the agents' names and
calling conventions onto it and runs blocking calls on a thread for asyncio.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _worm
from ._verify import _raise_for, verification_report
from .errors import ConfigError, InputError, WormError

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
    """

    def __init__(self, config: WormConfig, evidence_dir: PathLike, client_id: str,
                 store: Optional[_worm.ObjectStore] = None, mcp_api_key: Optional[str] = None,
                 client_cert: Optional[PathLike] = None, client_key: Optional[PathLike] = None):
        if client_cert is not None or client_key is not None:
            raise ConfigError("client certificates (mTLS) are not supported by libworm's uploader",
                              "config")
        if mcp_api_key is not None:
            config.mcp_api_key = mcp_api_key
        config.validate()
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
        "health": {...}}. last_error stays on record; last_error_current is False once every
        bundle registered before it has been uploaded."""
        return self._core.stats()

    async def upload_bundle_async(self, bundle_path: PathLike, signature_path: PathLike,
                                  client_id: Optional[str] = None) -> Tuple[str, str]:
        return await asyncio.to_thread(self.upload_bundle, bundle_path, signature_path, client_id)

    async def sync_async(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self.sync)


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
    """

    def __init__(self, client_id: str, evidence_dir: Optional[PathLike] = None,
                 private_key: Optional[PathLike] = None, config: Optional[WormConfig] = None,
                 store: Optional[_worm.ObjectStore] = None, passphrase: Optional[str] = None,
                 durable: bool = True):
        self.client_id = client_id
        self.evidence_dir = _default_evidence_dir(evidence_dir)
        self.config = config if config is not None else WormConfig.from_env()
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
        self.uploader: Optional[WormUploader] = None
        if core_uploader is not None:
            self.uploader = WormUploader._over(core_uploader, self.config, self.evidence_dir, client_id)

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

    @staticmethod
    def _finish(result: Dict[str, Any]) -> Dict[str, Any]:
        result["bundle_uri"] = result["bundle_uri"] or None
        result["sig_uri"] = result["sig_uri"] or None
        if result["upload_error"]:  # kept locally and pending: sync() retries it
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
                    "consecutive_failures": 0, "health": {"ok": True}}
        stats = self.pipeline.uploader.get_stats()
        stats["enabled"] = bool(self.config.enabled or stats["enabled"])
        return stats
