#!/usr/bin/env python3
"""A compliance agent written against the seed's evidence API, running on libworm.

Only the import changed: the agent used to import EvidenceGenerator and WormConfig from
its own package (boto3 + cryptography underneath); `import worm` gives the same names on
the C++ core. Everything below the import is the agent as it was.

Configuration comes from the environment, with the seeds' names:
  WORM_ENABLED=true WORM_MODE=direct WORM_S3_BUCKET=evidence AWS_ENDPOINT_URL_S3=http://...
  (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the usual AWS chain)
Without WORM_ENABLED the evidence is kept (signed) in the evidence directory only.

  python3 examples/python/agent_swap.py --evidence-dir /tmp/evidence [--client-id clinic-001] [--incidents 3]
"""

import argparse
import asyncio
import datetime
import json
import logging

from worm import EvidenceGenerator, WormConfig  # was: from compliance_agent.evidence import ...

logger = logging.getLogger("agent")


def remediation_bundle(client_id, n, failed=False):
    """What the agent reports after running a runbook: a seed-shaped bundle."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(minutes=6)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    steps = [("check_backup_age", "ok", 0), ("restart_backup_job", "ok", 0),
             ("run_backup", "error" if failed else "ok", 1 if failed else 0), ("verify_backup", "ok", 0)]
    return {
        "client_id": client_id,
        "incident": {"incident_id": f"INC-{now:%Y%m%d}-{n:04d}", "event_type": "backup_failure",
                     "severity": "high", "detected_at": stamp(start), "hostname": "srv-primary.clinic.local",
                     "details": {"backup_age_hours": 36.5, "error": "Connection timeout to backup repository"},
                     "hipaa_controls": ["164.308(a)(7)(ii)(A)", "164.310(d)(2)(iv)"]},
        "runbook": {"runbook_id": "RB-BACKUP-001", "runbook_version": "1.0",
                    "runbook_hash": "sha256:" + "ab" * 32, "steps_total": 4, "steps_executed": 4},
        "execution": {"timestamp_start": stamp(start), "timestamp_end": stamp(now),
                      "operator": "service:mcp-executor", "sla_target_seconds": 14400, "resolution_type": "auto"},
        "actions_taken": [
            dict({"step": i + 1, "action": name, "script_hash": "sha256:" + f"{i + 1}" * 64, "result": result,
                  "exit_code": code, "timestamp": stamp(start + datetime.timedelta(seconds=30 * (i + 1))),
                  "stdout_excerpt": "done" if code == 0 else ""},
                 **({"error": "repository full"} if code else {}))
            for i, (name, result, code) in enumerate(steps)],
        "artifacts": {"log_excerpts": {"backup_log": "[05:30:00] Starting backup job...\n"},
                      "outputs": {"backup_duration_seconds": 192}},
        "signatures": {}, "storage_locations": [],
    }


async def run(client_id, evidence_dir, incidents):
    config = WormConfig.from_env()
    generator = EvidenceGenerator(client_id, evidence_dir=evidence_dir, config=config)
    stored = []
    for n in range(1, incidents + 1):
        bundle_path, sig_path, worm_uri = await generator.store_evidence(
            remediation_bundle(client_id, n, failed=(n % 3 == 0)))
        logger.info("stored %s (worm: %s)", bundle_path, worm_uri)
        stored.append({"bundle_path": str(bundle_path), "sig_path": str(sig_path), "worm_uri": worm_uri,
                       "verified": await generator.verify_evidence(bundle_path, sig_path)})
    sync = await generator.sync_to_worm()
    return {"stored": stored, "sync": sync, "stats": generator.get_worm_stats()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidence-dir", required=True)
    parser.add_argument("--client-id", default="clinic-001")
    parser.add_argument("--incidents", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    print(json.dumps(asyncio.run(run(args.client_id, args.evidence_dir, args.incidents)), indent=2, default=str))


if __name__ == "__main__":
    main()
