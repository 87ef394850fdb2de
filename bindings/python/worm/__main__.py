"""`python -m worm`: the module's own command line, for machines with the wheel but not
the C++ `worm` program. Every subcommand is one call of the public Python API:

    python -m worm keygen KEYDIR                       generate_keys
    python -m worm canonicalize FILE                   canonical_json_text (RFC 8785)
    python -m worm hash BUNDLE                         compute_bundle_hash
    python -m worm validate BUNDLE                     validate_bundle (the bundle schema)
    python -m worm verify BUNDLE --public-key PEM      verification_report
    python -m worm process --client-id ID --incident FILE [--runbook ...]
                                                       EvidencePipeline.process_incident

Exit codes as the C++ CLI: 0 ok, 1 verification failed, 2 usage/input, 3 storage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from . import (EvidencePipeline, InputError, StorageError, VerificationError, WormError, canonical_json_text,
               compute_bundle_hash, generate_keys, parse_json, validate_bundle, verification_report)

EXIT_OK, EXIT_VERIFICATION, EXIT_USAGE, EXIT_STORAGE = 0, 1, 2, 3


def _read_json(path: str):
    return parse_json(Path(path).read_bytes())


def _keygen(args) -> int:
    paths = generate_keys(args.dir)
    print(json.dumps({"private_key": str(paths.private_key), "public_key": str(paths.public_key)}))
    return EXIT_OK


def _canonicalize(args) -> int:
    sys.stdout.write(canonical_json_text(Path(args.file).read_bytes()) + "\n")
    return EXIT_OK


def _hash(args) -> int:
    print(compute_bundle_hash(_read_json(args.bundle)))
    return EXIT_OK


def _validate(args) -> int:
    validate_bundle(_read_json(args.bundle))
    print(f"{args.bundle}: valid")
    return EXIT_OK


def _verify(args) -> int:
    report = verification_report(args.bundle, args.sig, args.public_key)
    print(json.dumps(report, indent=2, sort_keys=True))
    return EXIT_OK if report["ok"] else EXIT_VERIFICATION


def _process(args) -> int:
    def section(path: Optional[str]):
        return _read_json(path) if path else None

    pipeline = EvidencePipeline(args.client_id, evidence_dir=args.evidence_dir, private_key=args.private_key)
    pipeline.process_incident(_read_json(args.incident), section(args.runbook), section(args.execution),
                              section(args.actions), section(args.artifacts))
    result = pipeline.last_result
    print(json.dumps({key: (str(value) if isinstance(value, Path) else value) for key, value in result.items()},
                     indent=2, sort_keys=True))
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m worm",
                                     description="Signed evidence bundles on libworm (the worm Python package).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = commands.add_parser("keygen", help="write KEYDIR/private.pem (0400) and public.pem")
    keygen.add_argument("dir", help="directory for the key pair (never overwritten)")
    keygen.set_defaults(run=_keygen)

    canonical = commands.add_parser("canonicalize", help="print the RFC 8785 canonical form of a JSON file")
    canonical.add_argument("file")
    canonical.set_defaults(run=_canonicalize)

    hashing = commands.add_parser("hash", help="print a bundle's evidence_bundle_hash")
    hashing.add_argument("bundle")
    hashing.set_defaults(run=_hash)

    validate = commands.add_parser("validate", help="check a bundle against the bundle schema")
    validate.add_argument("bundle")
    validate.set_defaults(run=_validate)

    verify = commands.add_parser("verify", help="check a bundle's signature, hash and schema (exit 1 if not)")
    verify.add_argument("bundle")
    verify.add_argument("--sig", help="the .sig file (default: beside the bundle)")
    verify.add_argument("--public-key", required=True, help="SPKI PEM public key")
    verify.set_defaults(run=_verify)

    process = commands.add_parser("process", help="bundle, sign and verify one incident (the evidence pipeline)")
    process.add_argument("--client-id", required=True)
    process.add_argument("--evidence-dir", help="default: $WORM_EVIDENCE_DIR, else ./evidence")
    process.add_argument("--private-key", help="default: <evidence-dir>/keys/private.pem, generated if missing")
    process.add_argument("--incident", required=True, help="incident JSON file")
    for part in ("runbook", "execution", "actions", "artifacts"):
        process.add_argument(f"--{part}", help=f"{part} JSON file")
    process.set_defaults(run=_process)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except VerificationError as error:
        print(f"worm: {error}", file=sys.stderr)
        return EXIT_VERIFICATION
    except StorageError as error:
        print(f"worm: {error}", file=sys.stderr)
        return EXIT_STORAGE
    except (WormError, InputError, OSError) as error:
        print(f"worm: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
