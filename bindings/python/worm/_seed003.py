"""Seed 003's evidence pipeline names: ``EvidenceConfig`` and ``MockDataGenerator``.

The agents' ``mcp-server/evidence/config.py`` and the test helper of ``pipeline.py``,
with the same names, so their call sites run on libworm unchanged::

    from worm import EvidenceConfig, MockDataGenerator
    EvidenceConfig.validate()            # raises ConfigError naming every problem
    incident = MockDataGenerator.create_mock_incident()

Configuration is read from the environment each time it is asked for (assigning a class
attribute overrides it, as the agents' tests do):

=================  ====================  ==============================================
attribute          environment           default
=================  ====================  ==============================================
EVIDENCE_DIR       MSP_EVIDENCE_DIR      ~/msp-production/evidence
PRIVATE_KEY        MSP_PRIVATE_KEY       ~/msp-production/signing-keys/private-key.key
PUBLIC_KEY         MSP_PUBLIC_KEY        ~/msp-production/signing-keys/private-key.pub
SCHEMA_PATH        MSP_SCHEMA_PATH       the evidence-bundle-v1.schema.json libworm uses
COSIGN_PASSWORD    COSIGN_PASSWORD       None
=================  ====================  ==============================================
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from .errors import ConfigError

_SCHEMA_NAME = "evidence-bundle-v1.schema.json"


def _default_schema_path() -> Path:
    """The schema file shipped with libworm: installed share/worm, or the source tree."""
    here = Path(__file__).resolve()
    candidates = [here.parent / "schemas" / _SCHEMA_NAME]
    candidates += [p / "schemas" / _SCHEMA_NAME for p in here.parents]
    candidates += [p / "share" / "worm" / _SCHEMA_NAME for p in here.parents]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return Path("/opt/msp/evidence/schema") / _SCHEMA_NAME


def _home_path(*parts: str) -> Path:
    return Path(os.path.expanduser("~")).joinpath(*parts)


# attribute -> (environment variable, default)
_SETTINGS = {
    "EVIDENCE_DIR": ("MSP_EVIDENCE_DIR", lambda: _home_path("msp-production", "evidence")),
    "PRIVATE_KEY": ("MSP_PRIVATE_KEY", lambda: _home_path("msp-production", "signing-keys", "private-key.key")),
    "PUBLIC_KEY": ("MSP_PUBLIC_KEY", lambda: _home_path("msp-production", "signing-keys", "private-key.pub")),
    "SCHEMA_PATH": ("MSP_SCHEMA_PATH", _default_schema_path),
}


class _EnvironmentSettings(type):
    """Class attributes read from the environment on each access (a test or a service
    that sets the variable after import sees it), unless assigned."""

    def __getattr__(cls, name: str) -> Any:
        if name in _SETTINGS:
            variable, default = _SETTINGS[name]
            value = os.environ.get(variable)
            return Path(value).expanduser() if value else default()
        if name == "COSIGN_PASSWORD":
            return os.environ.get("COSIGN_PASSWORD")
        raise AttributeError(name)

    def __delattr__(cls, name: str) -> None:
        # `del EvidenceConfig.EVIDENCE_DIR` drops an override: back to the environment.
        if name in cls.__dict__:
            super().__delattr__(name)


class EvidenceConfig(metaclass=_EnvironmentSettings):
    """Where evidence, keys and the schema live (seed 003's config.py).

    ``validate()`` checks every path and raises ``ConfigError`` listing all problems, or
    returns True. ``print_config()`` prints the "Configuration Details" block.
    """

    @classmethod
    def _value(cls, name: str) -> Any:
        return getattr(cls, name)

    @classmethod
    def problems(cls) -> List[str]:
        """Everything wrong with the configuration, one sentence each ([] when valid)."""
        out: List[str] = []
        evidence_dir = Path(cls._value("EVIDENCE_DIR"))
        if not evidence_dir.is_dir():
            out.append(f"evidence directory {evidence_dir} does not exist (MSP_EVIDENCE_DIR)")
        elif not os.access(evidence_dir, os.W_OK | os.X_OK):
            out.append(f"evidence directory {evidence_dir} is not writable")
        private_key = Path(cls._value("PRIVATE_KEY"))
        if not private_key.is_file():
            out.append(f"private key {private_key} does not exist (MSP_PRIVATE_KEY)")
        else:
            mode = stat.S_IMODE(private_key.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                out.append(f"private key {private_key} has mode {mode:04o}: group or others can access it "
                           f"(run chmod 400 {private_key})")
            try:
                head = private_key.read_text(errors="replace")[:80]
            except OSError as e:
                out.append(f"private key {private_key} cannot be read: {e.strerror}")
                head = ""
            if "ENCRYPTED SIGSTORE PRIVATE KEY" in head or "ENCRYPTED COSIGN PRIVATE KEY" in head:
                if cls._value("COSIGN_PASSWORD") is None:
                    out.append(f"private key {private_key} is a cosign key: set COSIGN_PASSWORD")
        public_key = Path(cls._value("PUBLIC_KEY"))
        if not public_key.is_file():
            out.append(f"public key {public_key} does not exist (MSP_PUBLIC_KEY)")
        schema = Path(cls._value("SCHEMA_PATH"))
        if not schema.is_file():
            out.append(f"schema {schema} does not exist (MSP_SCHEMA_PATH)")
        else:
            try:
                document = json.loads(schema.read_text())
                if not isinstance(document, dict) or "properties" not in document:
                    out.append(f"schema {schema} is not a JSON Schema (no properties)")
            except (OSError, ValueError) as e:
                out.append(f"schema {schema} is not readable JSON: {e}")
        return out

    @classmethod
    def validate(cls) -> bool:
        """True when every path exists with safe permissions; else ConfigError naming all
        problems (the message holds paths and modes, never the password)."""
        problems = cls.problems()
        if problems:
            raise ConfigError("evidence configuration invalid: " + "; ".join(problems))
        return True

    @classmethod
    def as_dict(cls) -> Dict[str, Any]:
        """The resolved settings; COSIGN_PASSWORD only as set / not set."""
        out = {name: str(cls._value(name)) for name in _SETTINGS}
        out["COSIGN_PASSWORD"] = "(set)" if cls._value("COSIGN_PASSWORD") is not None else "(not set)"
        return out

    @classmethod
    def print_config(cls) -> None:
        """Debug printing for troubleshooting, as the seed's test output shows it."""
        print("Configuration Details:")
        print(f"  Evidence Dir: {cls._value('EVIDENCE_DIR')}")
        print(f"  Private Key: {cls._value('PRIVATE_KEY')}")
        print(f"  Public Key: {cls._value('PUBLIC_KEY')}")
        print(f"  Schema: {cls._value('SCHEMA_PATH')}")
        print(f"  Cosign Password: {cls.as_dict()['COSIGN_PASSWORD']}")


# ---- MockDataGenerator -----------------------------------------------------------------

# Each scenario: event type, the HIPAA controls it touches, details, runbook, steps.
_SCENARIOS = [
    {
        "event_type": "backup_failure", "runbook_id": "RB-BACKUP-001",
        "hipaa_controls": ["164.308(a)(7)(ii)(A)", "164.310(d)(2)(iv)"],
        "details": lambda r: {"backup_age_hours": round(r.uniform(25, 72), 1),
                              "error": r.choice(["Connection timeout to backup repository",
                                                 "Repository lock held by another job"])},
        "steps": ["check_backup_logs", "verify_disk_space", "restart_backup_service", "trigger_manual_backup"],
    },
    {
        "event_type": "disk_space_low", "runbook_id": "RB-DISK-001",
        "hipaa_controls": ["164.308(a)(1)(ii)(D)", "164.312(b)"],
        "details": lambda r: {"mount": r.choice(["/", "/var", "/srv/data"]),
                              "usage_percent": r.randint(90, 99)},
        "steps": ["measure_usage", "rotate_logs", "clear_package_cache"],
    },
    {
        "event_type": "service_down", "runbook_id": "RB-SERVICE-002",
        "hipaa_controls": ["164.308(a)(7)(ii)(B)", "164.312(b)"],
        "details": lambda r: {"service": r.choice(["postgresql", "nginx", "ehr-api"]),
                              "down_since_minutes": r.randint(2, 45)},
        "steps": ["check_service_status", "collect_journal", "restart_service", "verify_health_endpoint"],
    },
    {
        "event_type": "certificate_expiring", "runbook_id": "RB-TLS-003",
        "hipaa_controls": ["164.312(e)(1)", "164.312(e)(2)(ii)"],
        "details": lambda r: {"domain": r.choice(["portal.clinic.local", "mail.clinic.local"]),
                              "days_left": r.randint(1, 14)},
        "steps": ["inspect_certificate", "renew_certificate", "reload_web_server"],
    },
    {
        "event_type": "patch_missing", "runbook_id": "RB-PATCH-004",
        "hipaa_controls": ["164.308(a)(5)(ii)(B)"],
        "details": lambda r: {"package": r.choice(["openssl", "openssh-server", "sudo"]),
                              "cve": f"CVE-2025-{r.randint(1000, 49999)}"},
        "steps": ["list_pending_updates", "apply_security_updates", "verify_package_versions"],
    },
]

_SEVERITIES = ["low", "medium", "high", "critical"]


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class MockDataGenerator:
    """Realistic incident data for tests and demos (seed 003's pipeline.py helper).

    Each ``create_mock_*`` is a static method returning one section of
    ``EvidencePipeline.process_incident``'s inputs; together they build a schema-valid
    bundle. Calls vary (event type, host, severity, timings, outputs); pass ``rng``
    (a ``random.Random``) for repeatable data. ``create_mock_execution`` and
    ``create_mock_actions`` take ``success=False`` for a failed remediation (a timed-out
    step, SLA missed, resolution "partial"). Sections created in one sequence share a
    scenario: the actions follow the incident's runbook.
    """

    _rng = random.Random()
    _scenario = _SCENARIOS[0]
    _start = datetime(2025, 11, 1, 5, 30, tzinfo=timezone.utc)

    @staticmethod
    def _r(rng: Optional[random.Random]) -> random.Random:
        return rng if rng is not None else MockDataGenerator._rng

    @staticmethod
    def create_mock_incident(rng: Optional[random.Random] = None) -> Dict[str, Any]:
        r = MockDataGenerator._r(rng)
        scenario = r.choice(_SCENARIOS)
        MockDataGenerator._scenario = scenario
        start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=r.randint(10, 600))
        MockDataGenerator._start = start
        return {
            "incident_id": f"INC-{start:%Y%m%d}-{r.randint(1, 9999):04d}",
            "event_type": scenario["event_type"],
            "severity": r.choice(_SEVERITIES),
            "detected_at": _utc(start),
            "hostname": f"{r.choice(['srv-primary', 'srv-backup', 'ws-reception', 'srv-ehr'])}.clinic.local",
            "details": scenario["details"](r),
            "hipaa_controls": list(scenario["hipaa_controls"]),
        }

    @staticmethod
    def create_mock_runbook(rng: Optional[random.Random] = None) -> Dict[str, Any]:
        r = MockDataGenerator._r(rng)
        scenario = MockDataGenerator._scenario
        version = f"1.{r.randint(0, 4)}"
        steps = len(scenario["steps"])
        return {
            "runbook_id": scenario["runbook_id"],
            "runbook_version": version,
            "runbook_hash": _sha256_of(f"{scenario['runbook_id']}:{version}"),
            "steps_total": steps,
            "steps_executed": steps,
        }

    @staticmethod
    def create_mock_execution(success: bool = True, rng: Optional[random.Random] = None) -> Dict[str, Any]:
        """Start and end times and the SLA target; the pipeline computes mttr_seconds and
        sla_met from them. success=False: the remediation ran past its SLA target."""
        r = MockDataGenerator._r(rng)
        start = MockDataGenerator._start
        sla_target = r.choice([900, 3600, 14400])
        duration = r.randint(60, sla_target - 30) if success else sla_target + r.randint(60, 3600)
        return {
            "timestamp_start": _utc(start),
            "timestamp_end": _utc(start + timedelta(seconds=duration)),
            "operator": "service:mcp-executor",
            "sla_target_seconds": sla_target,
            "resolution_type": "auto" if success else "partial",
        }

    @staticmethod
    def create_mock_actions(success: bool = True, rng: Optional[random.Random] = None) -> List[Dict[str, Any]]:
        """One action per runbook step; success=False makes the last step time out."""
        r = MockDataGenerator._r(rng)
        scenario = MockDataGenerator._scenario
        moment = MockDataGenerator._start
        actions = []
        for number, name in enumerate(scenario["steps"], start=1):
            moment += timedelta(seconds=r.randint(10, 120))
            action: Dict[str, Any] = {
                "step": number,
                "action": name,
                "script_hash": _sha256_of(f"{name}.sh"),
                "result": "ok",
                "exit_code": 0,
                "timestamp": _utc(moment),
            }
            failed = not success and number == len(scenario["steps"])
            if failed:
                action.update(result="timeout", exit_code=124,
                              error="Service startup timeout after 60 seconds")
            elif r.random() < 0.7:  # some steps print nothing (as step 3 of the seed's example)
                action["stdout_excerpt"] = f"{name}: done in {r.randint(1, 90)}s"
            actions.append(action)
        return actions

    @staticmethod
    def create_mock_artifacts(rng: Optional[random.Random] = None) -> Dict[str, Any]:
        r = MockDataGenerator._r(rng)
        scenario = MockDataGenerator._scenario
        start = MockDataGenerator._start
        size = round(r.uniform(0.5, 40.0), 1)
        before = r.randint(60, 95)
        return {
            "log_excerpts": {
                f"{scenario['event_type']}_log": f"[{start:%Y-%m-%d %H:%M:%S}] {scenario['event_type']} detected\n"
                                                 f"[{start:%Y-%m-%d %H:%M:%S}] runbook {scenario['runbook_id']} started",
            },
            "checksums": {"collected_log": _sha256_of(f"{start.isoformat()}:{size}")},
            "outputs": {
                "duration_seconds": r.randint(30, 600),
                "data_size_gb": size,
                "disk_usage_before": f"{before}%",
                "disk_usage_after": f"{min(before + r.randint(-20, 5), 99)}%",
            },
        }
