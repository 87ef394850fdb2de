"""worm.logging: tamper-evident WORM audit logs from Python's ``logging``.

The names and presets of the seed's handler, on libworm's C++ sink:

    from worm.logging import configure_logging
    logger = configure_logging("camera_service")      # ENABLE_WORM_LOGGING, AWS_S3_BUCKET, ...
    logger.info("Motion detected", extra={"camera_id": "cam001", "request_id": "req-1"})

``emit()`` puts the record into the sink's local journal and returns: it never waits for
the network and never raises into the application. Batches go to the store as JSON
Lines objects under Object Lock, hash-chained and covered by (optionally Ed25519-signed)
checkpoints; ``worm logs verify`` checks them. ``flush()``/``close()`` take a timeout, and
``logging.shutdown()`` (run at interpreter exit) drains the handler.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, Optional, Union

from . import _worm

__all__ = [
    "WORMLogHandler", "WORMLogHandlerFactory", "WORMJsonFormatter",
    "configure_worm_logging", "configure_logging", "verify_audit_log",
]

HANDLER_VERSION = "2.0.0"
DEFAULT_PREFIX = "audit-logs"
DEFAULT_RETENTION_DAYS = 2557  # 7 years, as the seed says

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def build_record(record: logging.LogRecord, service_name: str, formatter: Optional[logging.Formatter] = None) -> dict:
    """The seed's record shape for a LogRecord, with every ``extra`` field (values JSON cannot
    carry become their str(), as json.dumps(default=str) writes them). Built in C++: the same
    builder WORMLogHandler.emit uses."""
    return _worm.audit_log_record(record, service_name, _STANDARD_ATTRS, formatter)


def _store_for(s3_bucket: Union[str, "_worm.ObjectStore"]) -> "_worm.ObjectStore":
    if isinstance(s3_bucket, _worm.ObjectStore):
        return s3_bucket
    url = s3_bucket if "://" in s3_bucket else "s3://" + s3_bucket
    return _worm.open_store(url)


class WORMJsonFormatter(logging.Formatter):
    """One JSON object per line in the same shape the WORM handler stores (for the console)."""

    def __init__(self, service_name: str):
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(build_record(record, self.service_name, self), default=str)


class WORMLogHandler(logging.Handler):
    """A logging.Handler that writes records to WORM storage through libworm's AuditLogSink.

    ``s3_bucket`` is a bucket name or any store URL (file:///dir, s3://bucket, mcp+https://host),
    or an ObjectStore. Batches close at ``batch_size`` records or ``upload_interval`` seconds.
    Records wait in a local journal (``journal_dir``; default under ~/.local/state/worm or
    $WORM_LOG_JOURNAL_DIR) until stored, so an outage or a crash loses nothing; at
    ``max_journal_bytes`` the ``on_full`` policy ("block" up to ``block_timeout`` seconds, or
    "refuse") applies, and refused records are counted in ``stats()["refused"]``.
    ``signing_key`` (a private key path or worm.Signer; default $WORM_LOG_SIGNING_KEY) signs
    the checkpoints. After each stored checkpoint a witness of the stream's head goes to the
    journal directory and, with ``witness_store`` (a store URL or ObjectStore; default
    $WORM_LOG_WITNESS_STORE), to that second store, locked: ``worm logs verify --witness``
    then reports a deleted tail or stream. Objects are locked in ``lock_mode`` (GOVERNANCE, as the seed; COMPLIANCE
    only when asked) for ``retention_days``. ``max_retries``: failed attempts in a row before a
    batch is reported failing (``stats()["batches_failed"]`` and one line on stderr); it stays
    in the journal and is retried, records are never dropped. ``layout="per-record"`` stores
    each record as its own object at the seed's ``{prefix}/YYYY/MM/DD/{request_id}-{uuid4}.json``
    (``batch_size`` is then 1); the default ``"batches"`` stores JSON Lines batches.
    ``max_in_flight`` batches are PUT at the same time; under a backlog batches grow past
    ``batch_size`` (never past ``upload_interval``). ``close()`` (and ``logging.shutdown()``) waits ``close_timeout`` seconds, and keeps waiting
    while the store is taking batches, up to ``close_max_wait`` seconds in all; what is still
    not stored then stays in the journal (one line on stderr says how many records).
    """

    def __init__(self, service_name: str, s3_bucket: Union[str, "_worm.ObjectStore"], *,
                 s3_prefix: Optional[str] = None, batch_size: int = 5, upload_interval: float = 15.0,
                 retention_days: int = DEFAULT_RETENTION_DAYS, lock_mode: str = "GOVERNANCE",
                 level: int = logging.NOTSET, journal_dir: Optional[str] = None, durable: bool = True,
                 max_journal_bytes: int = 1024 ** 3, on_full: str = "block", block_timeout: float = 1.0,
                 signing_key: Any = None, checkpoint_batches: int = 100, checkpoint_interval: float = 60.0,
                 flush_timeout: float = 5.0, close_timeout: float = 5.0, max_retries: int = 3,
                 layout: str = "batches", close_max_wait: float = 60.0, max_in_flight: int = 8,
                 witness_store: Union[str, "_worm.ObjectStore", None] = None):
        super().__init__(level)
        self.service_name = service_name
        self.s3_prefix = s3_prefix if s3_prefix is not None else os.environ.get("AWS_S3_PREFIX", DEFAULT_PREFIX)
        self.flush_timeout = flush_timeout
        self.close_timeout = close_timeout
        self.max_retries = max_retries
        self.layout = layout
        self.emit_errors = 0
        self._closed = False
        self._sink = _worm.AuditLogSink(
            _store_for(s3_bucket), service_name=service_name, prefix=self.s3_prefix,
            min_level=logging.getLevelName(level) if level > logging.DEBUG and level in (
                logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL) else "DEBUG",
            max_records=batch_size, max_interval=upload_interval, lock_mode=lock_mode,
            retention_days=retention_days, journal_mode="disk" if durable else "memory",
            journal_dir=journal_dir, max_journal_bytes=max_journal_bytes, policy=on_full,
            block_timeout=block_timeout, checkpoint_batches=checkpoint_batches,
            checkpoint_interval=checkpoint_interval, signing_key=signing_key, close_timeout=close_timeout,
            max_retries=max_retries, layout=layout, close_max_wait=close_max_wait, max_in_flight=max_in_flight,
            witness_store=None if witness_store is None else _store_for(witness_store))

    def emit(self, record: logging.LogRecord) -> None:
        # Never raises into the application and never waits for the network.
        try:
            self._sink.log_record(record, self.service_name, _STANDARD_ATTRS, self.formatter)
        except RecursionError:
            raise
        except Exception:
            self.emit_errors += 1
            self.handleError(record)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Stores everything logged so far; False when ``timeout`` (seconds) passed first."""
        if self._closed:
            return True
        return self._sink.flush(self.flush_timeout if timeout is None else timeout)

    def close(self, timeout: Optional[float] = None) -> bool:
        """Drains within ``timeout`` seconds; what is not stored by then stays in the journal."""
        done = True
        if not self._closed:
            self._closed = True
            done = self._sink.close(self.close_timeout if timeout is None else timeout)
        super().close()
        return done

    def stats(self) -> dict:
        """accepted, stored, queued, refused, journal_bytes, batches_retried, last_error, ..."""
        s = self._sink.stats()
        s["emit_errors"] = self.emit_errors
        return s


class WORMLogHandlerFactory:
    """The seed's presets."""

    @staticmethod
    def create_compliance_handler(service_name: str, s3_bucket: Union[str, "_worm.ObjectStore"],
                                  retention_years: float = 7, **kwargs: Any) -> WORMLogHandler:
        """5 records / 15 s batches, GOVERNANCE (as the seed; ``lock_mode="COMPLIANCE"`` when
        asked), ``retention_years`` (7 = 2557 days)."""
        options = dict(batch_size=5, upload_interval=15.0, retention_days=round(retention_years * 365.25))
        options.update(kwargs)
        return WORMLogHandler(service_name, s3_bucket, **options)

    @staticmethod
    def create_high_volume_handler(service_name: str, s3_bucket: Union[str, "_worm.ObjectStore"],
                                   **kwargs: Any) -> WORMLogHandler:
        """50 records / 60 s batches, WARNING and above, GOVERNANCE 2557 days."""
        options = dict(batch_size=50, upload_interval=60.0, level=logging.WARNING)
        options.update(kwargs)
        return WORMLogHandler(service_name, s3_bucket, **options)


def configure_worm_logging(logger: logging.Logger, service_name: str, s3_bucket: Union[str, "_worm.ObjectStore"],
                           compliance_mode: bool = True, **kwargs: Any) -> WORMLogHandler:
    """Adds a WORM handler (compliance or high-volume preset) to an existing logger."""
    if compliance_mode:
        handler = WORMLogHandlerFactory.create_compliance_handler(service_name, s3_bucket, **kwargs)
    else:
        handler = WORMLogHandlerFactory.create_high_volume_handler(service_name, s3_bucket, **kwargs)
    logger.addHandler(handler)
    logger.info("WORM audit logging enabled", extra={"s3_bucket": str(s3_bucket), "s3_prefix": handler.s3_prefix})
    return handler


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def configure_logging(service_name: str, enable_worm: Optional[bool] = None, **kwargs: Any) -> logging.Logger:
    """The service's logger: JSON lines on stderr, plus WORM when enabled.

    Environment: LOG_LEVEL (default INFO), ENABLE_WORM_LOGGING (when enable_worm is None),
    AWS_S3_BUCKET (bucket name or store URL), AWS_S3_PREFIX (default audit-logs),
    AWS_REGION (read by the S3 store).
    """
    logger = logging.getLogger(service_name)
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    if not any(getattr(h, "_worm_console", False) for h in logger.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(WORMJsonFormatter(service_name))
        console._worm_console = True  # type: ignore[attr-defined]
        logger.addHandler(console)
    if enable_worm is None:
        enable_worm = _env_true("ENABLE_WORM_LOGGING")
    if enable_worm and not any(isinstance(h, WORMLogHandler) for h in logger.handlers):
        bucket = os.environ.get("AWS_S3_BUCKET", "")
        if not bucket:
            logger.error("WORM logging is enabled but AWS_S3_BUCKET is not set; audit logs are NOT stored")
            return logger
        kwargs.setdefault("s3_prefix", os.environ.get("AWS_S3_PREFIX", DEFAULT_PREFIX))
        configure_worm_logging(logger, service_name, bucket, compliance_mode=True, **kwargs)
    return logger


def verify_audit_log(store: Union[str, "_worm.ObjectStore"], prefix: str = DEFAULT_PREFIX,
                     public_key: Optional[str] = None, witness: Optional[str] = None) -> dict:
    """``worm logs verify`` as a function: {"valid", "problems", "batches_verified", ...}.

    ``witness``: a journal directory (or its witness.json) or the witness store's URL, as
    ``--witness``: a stream that ends before its witness is "truncated", one that is gone "deleted"."""
    return _worm.verify_audit_log(_store_for(store), prefix, public_key, witness)
