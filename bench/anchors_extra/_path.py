"""Puts the shared anchors (common.py) on sys.path: WORM_ANCHORS_DIR, else ../shared/anchors."""
import os, sys

here = os.path.dirname(os.path.abspath(__file__))
candidates = [os.environ.get("WORM_ANCHORS_DIR", "")]
if os.environ.get("WORM_SHARED_DIR"):
    candidates.append(os.path.join(os.environ["WORM_SHARED_DIR"], "anchors"))
candidates += [os.path.join(here, *[".."] * n, "shared", "anchors") for n in (3, 4)]
for c in candidates:
    if c and os.path.exists(os.path.join(c, "common.py")):
        sys.path.insert(0, os.path.abspath(c))
        break
else:
    sys.exit("anchors_extra: cannot find the shared anchors (set WORM_ANCHORS_DIR)")
