#!/usr/bin/env python3
"""parliament's and policyuniverse's side of `make bench-compare` (run with the .bench/ venv).

For every corpus policy: parliament's `analyze_policy_string` (its finding issue codes) and
policyuniverse's `Policy(...).is_internet_accessible()`. Writes one JSON line per policy and per
tool, and prints a timing summary (JSON, one line per tool) to stdout.

Usage: python_peers.py --corpus corpus.jsonl --out-dir DIR [--rounds 3] [--min-seconds 0.5]
"""

import argparse
import importlib.metadata
import json
import logging
import os
import statistics
import sys
import time

import parliament
from policyuniverse.policy import Policy as UniversePolicy


def parliament_verdict(text):
    policy = parliament.analyze_policy_string(text)
    codes = sorted({f.issue for f in policy.findings})
    return {"codes": codes}


def universe_verdict(text):
    try:
        doc = json.loads(text)
    except ValueError as e:
        return {"valid": False, "error": f"json: {e}"}
    try:
        return {"valid": True, "public": bool(UniversePolicy(doc).is_internet_accessible())}
    except Exception as e:  # a peer failing on an input is a result, not a crash
        return {"valid": False, "error": f"{type(e).__name__}: {e}"}


def throughput(min_seconds, items, fn):
    start = time.perf_counter()
    n = 0
    while True:
        for item in items:
            fn(item["policy"])
        n += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=0.5)
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # both tools log per statement at debug/warning level
    with open(args.corpus, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]

    tools = {
        "parliament": parliament_verdict,
        "policyuniverse": universe_verdict,
    }
    for name, fn in tools.items():
        with open(os.path.join(args.out_dir, f"{name}.jsonl"), "w", encoding="utf-8") as out:
            for item in items:
                try:
                    v = fn(item["policy"])
                except Exception as e:
                    v = {"crash": f"{type(e).__name__}: {e}"}
                out.write(json.dumps({"id": item["id"], **v}) + "\n")

        def safe(text, fn=fn):
            try:
                fn(text)
            except Exception:
                pass

        rates = [throughput(args.min_seconds, items, safe) for _ in range(args.rounds)]
        print(json.dumps({
            "tool": name,
            "version": importlib.metadata.version(name),
            "python": sys.version.split()[0],
            "policies": len(items),
            "rounds": args.rounds,
            "policies_per_s": statistics.median(rates),
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
