"""Two builds of worm_bench side by side: the product path (EvidencePipeline, no fsync and
durable) and the audit-log sink (log() rate and p99, journal and memory mode, 1 and 8
threads), each figure run alternately before / after for `--rounds` rounds, so both builds
meet the same moments of the machine. Prints a markdown table of medians and after/before
ratios (higher is better for rates, lower for latencies: the ratio is always "after is this
many times as good"). Used to show a refactoring kept the speed (issue 22).

With --callgrind it also counts the instructions each build executes per call under valgrind's
callgrind (one run per build and figure). The timings move by 10 % between runs on a shared
2-core VM. The count moves by under 1 % (it is exact for one thread alone; the journal's syncer
thread changes how often log() spins), so a change of a few percent in the code's own cost
shows up. It counts work, not time (cache misses and lock waits are not in it): the timings
stay the measure users feel, the count says whether the code did more.

    python3 bench/compare_builds.py --before OLD/bench/worm_bench --after NEW/bench/worm_bench --rounds 5 [--callgrind]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from run import parse_figures  # bench/run.py (a script's own directory is on sys.path)


def run(binary, args, scratch_root):
    d = tempfile.mkdtemp(dir=scratch_root)
    store = tempfile.mkdtemp(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else scratch_root)
    argv = [binary, *[a.replace("{dir}", d).replace("{store}", store) for a in args]]
    try:
        out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=900).stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
    return {name: value for name, (value, _unit) in parse_figures(out).items()}


# (label, worm_bench arguments, figure, "higher" or "lower" is better)
FIGURES = [
    ("product path, no fsync (bundles/s)", ["pipeline", "--full", "--n", "1000", "--dir", "{dir}"],
     "libworm_pipeline_full", "higher"),
    ("product path, durable (bundles/s)", ["pipeline", "--full", "--n", "240", "--fsync", "--dir", "{dir}"],
     "libworm_pipeline_full_fsync", "higher"),
]
for mode in ("disk", "memory"):
    for threads in ("1", "8"):
        args = ["audit-log", "--dir", "{dir}", "--threads", threads, "--records", "200000", "--mode", mode,
                "--store-dir", "{store}"]
        FIGURES.append((f"log() {mode}, {threads} thread(s) (records/s)", args, "audit_log_records_per_s", "higher"))
        FIGURES.append((f"log() {mode}, {threads} thread(s) p99 (us)", args, "audit_log_p99_us", "lower"))


# (label, worm_bench arguments, calls made, function whose inclusive count is divided by them)
CALLGRIND_FIGURES = [
    ("product path: EvidencePipeline::process_incident", ["pipeline", "--full", "--n", "200", "--dir", "{dir}"], 200,
     "worm::EvidencePipeline::process_incident("),
]
for mode in ("memory", "disk"):
    CALLGRIND_FIGURES.append(
        (f"log() {mode}, 1 thread: AuditLogSink::log", ["audit-log", "--dir", "{dir}", "--threads", "1", "--records", "50000",
                                                         "--mode", mode, "--store-dir", "{store}"],
         50000, "worm::audit_log::detail::log_value("))


def instructions_per_call(binary, argv, calls, function, scratch_root):
    """Inclusive instructions of `function` per call, from one callgrind run."""
    out = os.path.join(tempfile.mkdtemp(dir=scratch_root), "callgrind.out")
    run("valgrind", ["--tool=callgrind", f"--callgrind-out-file={out}", binary, *argv], scratch_root)
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True, capture_output=True,
                          text=True).stdout
    for line in text.splitlines():
        if function in line:
            return int(re.match(r"\s*([\d,]+)", line).group(1).replace(",", "")) / calls
    raise SystemExit(f"callgrind: {function} not found in the profile of {binary}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--callgrind", action="store_true", help="also count instructions per call (needs valgrind)")
    args = ap.parse_args()
    if args.callgrind and not shutil.which("valgrind"):
        ap.error("--callgrind needs valgrind (apt-get install valgrind)")
    for b in (args.before, args.after):
        if not os.access(b, os.X_OK):
            ap.error(f"{b} is not an executable worm_bench")
    scratch_root = tempfile.mkdtemp(prefix="worm-compare-")
    samples = {(label, side): [] for label, *_ in FIGURES for side in ("before", "after")}
    try:
        load_start = os.getloadavg()[0]
        # One program run gives both figures of an audit-log pair: run each distinct
        # argument list once per side and round, and read every figure it printed.
        distinct = []
        for label, argv, figure, better in FIGURES:
            if argv not in distinct:
                distinct.append(argv)
        for r in range(args.rounds):
            for argv in distinct:
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for side in order:
                    values = run(args.before if side == "before" else args.after, argv, scratch_root)
                    for label, a, figure, better in FIGURES:
                        if a == argv:
                            samples[(label, side)].append(values[figure])
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        load_end = os.getloadavg()[0]
        counts = {}
        if args.callgrind:
            for label, argv, calls, function in CALLGRIND_FIGURES:
                for side, binary in (("before", args.before), ("after", args.after)):
                    counts[(label, side)] = instructions_per_call(binary, argv, calls, function, scratch_root)
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
    print(f"{args.rounds} rounds, alternating; load average (1 min) {load_start:.2f} at the start, "
          f"{load_end:.2f} at the end\n")
    print("| figure | before (median, min-max) | after (median, min-max) | after vs before |")
    print("|---|---|---|---|")
    for label, _, _, better in FIGURES:
        b, a = samples[(label, "before")], samples[(label, "after")]
        mb, ma = statistics.median(b), statistics.median(a)
        ratio = ma / mb if better == "higher" else mb / ma
        print(f"| {label} | {mb:,.4g} ({min(b):,.4g}-{max(b):,.4g}) | {ma:,.4g} ({min(a):,.4g}-{max(a):,.4g}) | "
              f"{ratio:.3f}x |")
    if counts:
        print("\nInstructions per call (callgrind, inclusive; fewer is better, the ratio is before / after):\n")
        print("| call | before | after | after vs before |")
        print("|---|---|---|---|")
        for label, *_ in CALLGRIND_FIGURES:
            b, a = counts[(label, "before")], counts[(label, "after")]
            print(f"| {label} | {b:,.0f} | {a:,.0f} | {b / a:.3f}x |")


if __name__ == "__main__":
    main()
