#!/usr/bin/env python3
"""Render the demo's one table from `trailkey scan --format json` and `trailkey replay` output.

    demo_table.py --seed SEED.json --scan SCAN.json [--replay REPLAY.json]

SEED is seed_demo.py's summary ({"keys": {name: arn}, "trails": {name: arn}}); it turns the
random key ids moto made into the seeded keys' names, so the table is the same on every run.
--name NAME=ARN_OR_ID names further keys (ids fixed elsewhere); any other key ARN or UUID is
shown as <unseeded-key> / <key-id>.

Columns: resource | key | compliance | first finding | fix hint.
  * one row per (report, resource) of the scan, one per scan error, one per Config evaluation
    of the replay (its resource is marked "(config NN)" for events/NN-<scenario>.json, listed
    under the table, or "(config)");
  * "first finding" is "<id>: <message>" of the report's first finding for that resource
    (else its first finding at all), or the evaluation's Annotation;
  * "fix hint" is the Sid of that finding's fix statement, or "-".
Rows are sorted. Written defensively: missing fields, nulls and odd types become "-" rather
than a crash, and an unreadable input becomes an ERROR row. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

DASH = "-"
MAX_CELL = 72
HEADER = ("resource", "key", "compliance", "first finding", "fix hint")

KEY_ARN_RE = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]*:\d{12}:key/(?:mrk-)?[0-9a-fA-F-]{32,36}")
KEY_ID_RE = re.compile(r"\b(?:mrk-)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
TRAIL_ARN_RE = re.compile(r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]*:(\d{12}):(trail|eventdatastore)/(.+)$")


class Names:
    """Maps seeded key ARNs and ids to their names; hides any other random id."""

    def __init__(self, seed: Any, extra: dict[str, str] | None = None):
        self.by_ref: dict[str, str] = {}
        keys = seed.get("keys") if isinstance(seed, dict) else None
        keys = {**(keys if isinstance(keys, dict) else {}), **(extra or {})}
        if keys:
            for name, arn in keys.items():
                if isinstance(arn, str) and isinstance(name, str):
                    self.by_ref[arn] = name
                    self.by_ref[arn.rsplit("/", 1)[-1]] = name

    def key(self, ref: Any) -> str:
        """The display name of a key given by ARN or id."""
        if not isinstance(ref, str) or not ref:
            return DASH
        if ref in self.by_ref:
            return self.by_ref[ref]
        return self.text(ref)

    def text(self, s: Any) -> str:
        """Free text with every key ARN / key id replaced by the key's name (or a placeholder)."""
        if s is None:
            return DASH
        if not isinstance(s, str):
            s = json.dumps(s, sort_keys=True)
        s = KEY_ARN_RE.sub(lambda m: self.by_ref.get(m.group(0))
                           or self.by_ref.get(m.group(0).rsplit("/", 1)[-1], "<unseeded-key>"), s)
        s = KEY_ID_RE.sub(lambda m: self.by_ref.get(m.group(0), "<key-id>"), s)
        return s

    def resource(self, r: Any) -> str:
        """Trail / event data store ARNs shortened to ACCOUNT:trail/NAME; key ARNs to key:NAME."""
        if not isinstance(r, str) or not r:
            return DASH
        m = TRAIL_ARN_RE.match(r)
        if m:
            return f"{m.group(1)}:{m.group(2)}/{self.text(m.group(3))}"
        if KEY_ARN_RE.fullmatch(r) or r in self.by_ref:
            return f"key:{self.key(r)}"
        return self.text(r)


def cell(s: Any) -> str:
    if s is None or s == "":
        return DASH
    s = " ".join(str(s).split()).replace("|", "/")
    return s if len(s) <= MAX_CELL else s[: MAX_CELL - 3] + "..."


def fix_hint(fix: Any) -> str:
    """The Sid of the statement(s) to add, '-' when there is none."""
    if fix is None or fix == "" or fix == {} or fix == []:
        return DASH
    if isinstance(fix, str):
        return fix
    if isinstance(fix, dict):
        if isinstance(fix.get("Sid"), str) and fix["Sid"]:
            return fix["Sid"]
        for k in ("Statement", "statement"):  # a whole policy, or a wrapper
            if k in fix:
                return fix_hint(fix[k])
        return "(statement without Sid)"
    if isinstance(fix, list):
        sids = [fix_hint(f) for f in fix]
        sids = [s for s in sids if s != DASH]
        return ", ".join(sids) if sids else DASH
    return DASH


def finding_text(f: dict, names: Names) -> str:
    fid, msg = f.get("id"), f.get("message")
    if fid and msg:
        return f"{names.text(fid)}: {names.text(msg)}"
    return names.text(fid or msg)


def first_finding(findings: list, resource: Any) -> dict | None:
    fs = [f for f in findings if isinstance(f, dict)]
    for f in fs:
        if resource is not None and f.get("resource") == resource:
            return f
    for f in fs:  # findings about the key itself, not one resource
        if not f.get("resource"):
            return f
    return fs[0] if fs else None


def scan_rows(scan: Any, names: Names) -> tuple[list[tuple], dict[str, str]]:
    """Rows of the scan, and resource -> key name (for the replay's rows)."""
    rows: list[tuple] = []
    key_of: dict[str, str] = {}
    if not isinstance(scan, dict):
        return [("(scan)", DASH, "ERROR", "scan output is not a JSON object", DASH)], key_of
    reports = scan.get("reports") if isinstance(scan.get("reports"), list) else []
    errors = scan.get("errors") if isinstance(scan.get("errors"), list) else []
    for rep in reports:
        if not isinstance(rep, dict):
            continue
        key = names.key(rep.get("key"))
        compliance = rep.get("compliance") or DASH
        findings = rep.get("findings") if isinstance(rep.get("findings"), list) else []
        resources = [r for r in (rep.get("resources") or []) if isinstance(r, str)] or [None]
        for res in resources:
            f = first_finding(findings, res)
            display = names.resource(res)
            if res is not None:
                key_of[display] = key
            rows.append((
                display,
                key,
                compliance,
                finding_text(f, names) if f else DASH,
                fix_hint(f.get("fix")) if f else DASH,
            ))
    for err in errors:
        if isinstance(err, dict):
            rows.append((DASH, names.key(err.get("key")), "ERROR", names.text(err.get("message")), DASH))
        else:
            rows.append((DASH, DASH, "ERROR", names.text(err), DASH))
    if not reports and not errors:
        rows.append(("(scan)", DASH, scan.get("compliance") or DASH, "no key reports", DASH))
    return rows, key_of


def replay_rows(replay: Any, names: Names, key_of: dict[str, str]) -> list[tuple]:
    if replay is None:
        return []
    if isinstance(replay, dict):  # tolerate {"evaluations": [...]} as well as a bare array
        replay = replay.get("evaluations", replay.get("Evaluations", [replay]))
    if not isinstance(replay, list):
        return [("(config)", DASH, "ERROR", "replay output is not a JSON array", DASH)]
    rows = []
    for ev in replay:
        if not isinstance(ev, dict):
            continue
        rtype = ev.get("ComplianceResourceType") or ""
        rid = ev.get("ComplianceResourceId")
        if rtype == "AWS::KMS::Key":
            display, key = f"key:{names.key(rid)}", names.key(rid)
        else:
            display = names.resource(rid)
            if isinstance(rid, str) and display not in key_of:
                # Config may name a trail by its name: use the scan's resource, if just one matches.
                same = [r for r in key_of if r.endswith(f":trail/{display}")]
                if len(same) == 1:
                    display = same[0]
            key = key_of.get(display, DASH)
        # Which replayed event (its file name is its one-line scenario) the row came from:
        # without it, one trail evaluated by several events looks like contradicting verdicts.
        source = ev.get("event")
        label = "config"
        if isinstance(source, str) and source:
            # `NN` of events/NN-scenario.json; the legend under the table names the scenario.
            label = "config " + source.rsplit("/", 1)[-1].split("-", 1)[0]
        findings = ev.get("findings") if isinstance(ev.get("findings"), list) else []
        first = next((f for f in findings if isinstance(f, dict)), None)
        rows.append((f"{display} ({label})", key, ev.get("ComplianceType") or DASH,
                     names.text(ev.get("Annotation")) if ev.get("Annotation") else DASH,
                     fix_hint(first.get("fix")) if first else DASH))
    return rows


def build_rows(seed: Any, scan: Any, replay: Any = None,
               extra_names: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    names = Names(seed, extra_names)
    rows, key_of = scan_rows(scan, names)
    rows += replay_rows(replay, names, key_of)
    return sorted({tuple(cell(c) for c in r) for r in rows})


def render(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(r):
        return " | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([line(HEADER), sep, *(line(r) for r in rows)]) + "\n"


def load(path: str | None, what: str) -> tuple[Any, str | None]:
    if path is None:
        return None, None
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        return None, f"cannot read {what} output: {e.strerror}"
    if not text.strip():
        return None, f"{what} output is empty"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"{what} output is not JSON (line {e.lineno})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", required=True, help="seed_demo.py summary JSON")
    ap.add_argument("--scan", required=True, help="trailkey scan --format json output")
    ap.add_argument("--replay", help="trailkey replay output (JSON array of evaluations)")
    ap.add_argument("--name", action="append", default=[], metavar="NAME=KEY_ARN_OR_ID",
                    help="name a key that is not seeded (e.g. the fixed ids of events/*.json)")
    args = ap.parse_args(argv)
    extra = {}
    for spec in args.name:
        name, sep, ref = spec.partition("=")
        if not sep or not name or not ref:
            ap.error(f"--name wants NAME=KEY_ARN_OR_ID, got {spec!r}")
        extra[name] = ref

    seed, seed_err = load(args.seed, "seed")
    scan, scan_err = load(args.scan, "scan")
    replay, replay_err = load(args.replay, "replay")
    if seed_err:
        print(f"demo_table: {seed_err}; key ids are hidden, not named", file=sys.stderr)
    rows = build_rows(seed, scan if not scan_err else {}, replay if not replay_err else None, extra)
    extra = []
    if scan_err:
        rows = [r for r in rows if r[0] != "(scan)"]
        extra.append(("(scan)", DASH, "ERROR", scan_err, DASH))
    if replay_err:
        extra.append(("(config)", DASH, "ERROR", replay_err, DASH))
    rows = sorted(set(rows) | {tuple(cell(c) for c in r) for r in extra})
    sys.stdout.write(render(rows))
    overall = scan.get("compliance") if isinstance(scan, dict) else None
    legend = events_legend(replay if not replay_err else None)
    if legend:
        print("\n" + legend)
    print(f"\n{summary(rows)}")
    print(f"overall (scan): {overall or 'unknown'}")
    return 0


def events_legend(replay: Any) -> str:
    """`config NN: scenario` for every replayed event file, in order."""
    if not isinstance(replay, list):
        return ""
    seen = sorted({ev["event"].rsplit("/", 1)[-1].removesuffix(".json")
                   for ev in replay if isinstance(ev, dict) and isinstance(ev.get("event"), str)})
    lines = []
    for stem in seen:
        num, _, scenario = stem.partition("-")
        lines.append(f"  config {num}: {scenario.replace('-', ' ') or stem}")
    return "events replayed:\n" + "\n".join(lines) if lines else ""


def summary(rows: list[tuple[str, ...]]) -> str:
    """One closing line: rows by verdict, and how many NON_COMPLIANT rows have a fix."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[2]] = counts.get(r[2], 0) + 1
    failing = [r for r in rows if r[2] == "NON_COMPLIANT"]
    fixable = sum(1 for r in failing if r[4] != DASH)
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    return (f"summary: {len(rows)} rows ({verdicts}); {fixable} of {len(failing)} NON_COMPLIANT "
            "rows have a statement to add (`trailkey fix`), the others need an edit or a key "
            "state change")


if __name__ == "__main__":
    sys.exit(main())
