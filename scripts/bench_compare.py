#!/usr/bin/env python3
"""`make bench-compare`: trailkey next to its peers, on one generated corpus.

Runs, in order: scripts/gen_corpus.py (the corpus), examples/bench_corpus (trailkey: the
checker's simulated CloudTrail requests through `evaluate`, and the full `check_text`; it also
writes the requests), bench/compare/iam_simulate.cjs (@cloud-copilot/iam-simulate's core
`authorize` on the same requests) and bench/compare/python_peers.py (parliament and
policyuniverse, in the .bench venv). Then compares every peer verdict with trailkey's and prints a
throughput table and the list of differences, each with its reason (an AWS doc, or "trailkey bug",
or UNEXPLAINED). The same text is saved as markdown (--markdown).

`--compare-only` skips the runs and compares what is already in --out-dir. Stdlib only.
"""

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict

# Reasons for the differences this comparison knows about. Each cites the AWS documentation that
# says which side is right; anything else is printed as UNEXPLAINED (investigate: peer or trailkey
# bug).
DOC_PUT_KEY_POLICY = (
    "KMS API reference, PutKeyPolicy, `Policy`: \"The principals in the key policy must exist and "
    "be visible to KMS\" — <https://docs.aws.amazon.com/kms/latest/APIReference/"
    "API_PutKeyPolicy.html>; the error is `MalformedPolicyDocumentException - Policy contains a "
    "statement with one or more invalid principals` (<https://repost.aws/knowledge-center/"
    "kms-policy-error-invalid-principals>)"
)
REASONS = {
    "invalid-principal-accepted": (
        "trailkey rejects the policy (POLICY_INVALID) because a principal cannot exist: {detail}. "
        "KMS rejects it too — " + DOC_PUT_KEY_POLICY + ". The peer evaluates it as if it were "
        "valid. Kept: trailkey is right."
    ),
    "ifexists-not-public": (
        "A `\"Principal\": \"*\"` grant limited only by `...IfExists` on a principal key "
        "(`aws:PrincipalAccount`). IAM User Guide, condition operators, ...IfExists: \"If the key "
        "is not present in the request context, the condition evaluates to true\" "
        "(<https://docs.aws.amazon.com/IAM/latest/UserGuide/"
        "reference_policies_elements_condition_operators.html#Conditions_IfExists>). A caller "
        "whose request carries no such key — an AWS service principal acting for any customer — "
        "gets the grant: in this run both trailkey's `evaluate` and iam-simulate allow the "
        "`foreign-trail-encrypt` request (CloudTrail for a trail in 999999999999) wherever the "
        "grant includes GenerateDataKey. policyuniverse counts any condition on an account key "
        "as a restriction. Kept: trailkey's PUBLIC_ACCESS is the safer reading."
    ),
    "no-validation": (
        "policyuniverse does not validate policies; it analysed a policy that KMS rejects ("
        + DOC_PUT_KEY_POLICY + "). Not a public-access disagreement; listed for completeness."
    ),
    "INVALID_SID": (
        "parliament applies IAM identity-policy Sid rules (letters and digits only). Key policies "
        "accept other characters: the KMS default key policy's Sids are \"Enable IAM User "
        "Permissions\", \"Allow access for Key Administrators\" "
        "(<https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>) and "
        "seed 001's are \"Allow CloudTrail to encrypt logs\" etc. trailkey accepts them. Kept."
    ),
    "RESOURCE_STAR": (
        "parliament flags `\"Resource\": \"*\"`. In a key policy `*` means this key: KMS "
        "Developer Guide, key policy elements: \"the value of the Resource element is \\\"*\\\", "
        "which means \\\"this KMS key\\\"\" (<https://docs.aws.amazon.com/kms/latest/"
        "developerguide/key-policy-overview.html>); seed 001 uses it in every statement. Not a "
        "finding for trailkey. Kept."
    ),
    "parliament-missed-invalid": (
        "parliament raises no error for a policy KMS rejects: {detail} (" + DOC_PUT_KEY_POLICY
        + "). Kept: trailkey is right."
    ),
}

PARLIAMENT_REJECTS = {"MALFORMED", "MALFORMED_JSON", "UNKNOWN_PRINCIPAL"}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return {row["id"]: row for row in (json.loads(line) for line in f if line.strip())}


def wildcard_ifexists(policy_text):
    """True when some Allow statement for `*` is limited only by ...IfExists conditions."""
    try:
        doc = json.loads(policy_text)
    except ValueError:
        return False
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for s in statements:
        principal = s.get("Principal")
        wildcard = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*")
        ops = list((s.get("Condition") or {}).keys())
        if s.get("Effect") == "Allow" and wildcard and ops and all(o.endswith("IfExists") for o in ops):
            return True
    return False


def classify_invalid(error):
    """A short detail and a reason key for a policy trailkey rejects."""
    if "empty service principal" in error:
        return "`\"Service\": \"\"` (an empty service principal)"
    if "12-digit" in error:
        return "an IAM ARN with an 11-digit account (seed 001's typo)"
    return error


class Diff:
    """One group of differences: same tool, same question, same pair of answers, same reason."""

    def __init__(self, tool, question, trailkey, peer, reason_key, detail=""):
        self.tool, self.question, self.trailkey, self.peer = tool, question, trailkey, peer
        self.reason_key, self.detail = reason_key, detail
        self.policies = []

    def key(self):
        return (self.tool, self.question, self.trailkey, self.peer, self.reason_key, self.detail)

    def reason(self):
        if self.reason_key is None:
            return "UNEXPLAINED — investigate (peer bug or trailkey bug)"
        return REASONS[self.reason_key].format(detail=self.detail)


def add(groups, diff, policy_id):
    g = groups.setdefault(diff.key(), diff)
    g.policies.append(policy_id)


def compare(corpus, trailkey, iam_simulate=None, parliament=None, policyuniverse=None):
    """All differences between the peers' verdicts and trailkey's, grouped, with reasons."""
    groups = {}
    for pid, tk in trailkey.items():
        detail = classify_invalid(tk.get("error", "")) if not tk["valid"] else ""
        sim = (iam_simulate or {}).get(pid)
        if sim is not None:
            if tk["valid"] != sim["valid"]:
                key = "invalid-principal-accepted" if not tk["valid"] and sim["valid"] else None
                add(groups, Diff("iam-simulate", "policy valid?", tk["valid"], sim["valid"], key,
                                 detail if key else ""), pid)
            elif tk["valid"]:
                for rid, verdict in tk["verdicts"].items():
                    peer = sim["verdicts"].get(rid, "missing")
                    if peer != verdict:
                        add(groups, Diff("iam-simulate", rid, verdict, peer, None), pid)
        pu = (policyuniverse or {}).get(pid)
        if pu is not None:
            if not tk["valid"]:
                if pu.get("valid"):
                    add(groups, Diff("policyuniverse", "analyses an invalid policy", "invalid",
                                     "analysed", "no-validation", ""), pid)
            elif not pu.get("valid"):
                add(groups, Diff("policyuniverse", "policy valid?", True, False, None), pid)
            elif tk["public"] != pu["public"]:
                text = corpus.get(pid, {}).get("policy", "")
                key = "ifexists-not-public" if tk["public"] and wildcard_ifexists(text) else None
                add(groups, Diff("policyuniverse", "public (PUBLIC_ACCESS vs is_internet_accessible)",
                                 tk["public"], pu["public"], key), pid)
        pa = (parliament or {}).get(pid)
        if pa is not None:
            codes = set(pa.get("codes", []))
            rejects = bool(codes & PARLIAMENT_REJECTS)
            if not tk["valid"] and not rejects:
                add(groups, Diff("parliament", "rejects the policy?", True, False,
                                 "parliament-missed-invalid", detail), pid)
            elif tk["valid"] and rejects:
                add(groups, Diff("parliament", "rejects the policy?", False, True, None), pid)
            for code in sorted(codes - PARLIAMENT_REJECTS):
                key = code if code in REASONS else None
                add(groups, Diff("parliament", f"finding {code}", "no such finding", code, key), pid)
            if "crash" in pa:
                add(groups, Diff("parliament", "crash", "-", pa["crash"], None), pid)
    return sorted(groups.values(), key=lambda d: (d.tool, d.reason_key is not None, d.question))


def agreement(trailkey, iam_simulate):
    """(equal, compared) request verdicts over the policies both tools read as valid."""
    same = total = 0
    for pid, tk in trailkey.items():
        sim = (iam_simulate or {}).get(pid)
        if not tk["valid"] or not sim or not sim["valid"]:
            continue
        for rid, verdict in tk["verdicts"].items():
            total += 1
            same += sim["verdicts"].get(rid) == verdict
    return same, total


def fmt_rate(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def throughput_rows(summaries):
    tk = summaries.get("trailkey", {})
    rows = [
        ("trailkey", "`evaluate`, policy parsed once", "requests", tk.get("requests_per_s_eval_only"), None),
        ("trailkey", "`Policy::parse` + `evaluate`", "requests", tk.get("requests_per_s_with_parse"), None),
        ("trailkey", "`check_text` (parse + full check)", "policies", tk.get("policies_per_s_check_text"), None),
    ]
    sim = summaries.get("iam-simulate")
    if sim:
        rows.append(("iam-simulate " + sim["version"], "core `authorize`, policy loaded once", "requests",
                     sim["requests_per_s_eval_only"], tk.get("requests_per_s_eval_only")))
        rows.append(("iam-simulate " + sim["version"], "`JSON.parse` + validate + load + `authorize`",
                     "requests", sim["requests_per_s_with_parse"], tk.get("requests_per_s_with_parse")))
    for name, call in (("parliament", "`analyze_policy_string`"),
                       ("policyuniverse", "`Policy(...).is_internet_accessible()`")):
        s = summaries.get(name)
        if s:
            rows.append((f"{name} {s['version']}", call, "policies", s["policies_per_s"],
                         tk.get("policies_per_s_check_text")))
    return rows


def render(summaries, diffs, meta):
    out = []
    out.append("| Tool | What is timed | Unit | Items/s | trailkey ÷ tool |")
    out.append("|---|---|---|---|---|")
    for tool, what, unit, rate, tk_rate in throughput_rows(summaries):
        ratio = "–"
        if rate and tk_rate:
            r = tk_rate / rate
            ratio = f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"
        out.append(f"| {tool} | {what} | {unit} | {fmt_rate(rate)} | {ratio} |")
    out.append("")
    for line in meta:
        out.append(line)
    out.append("")
    if not diffs:
        out.append("No differences.")
    for d in diffs:
        ids = ", ".join(d.policies[:5]) + (f" … ({len(d.policies)} policies)" if len(d.policies) > 5
                                          else f" ({len(d.policies)} {'policy' if len(d.policies) == 1 else 'policies'})")
        out.append(f"- **{d.tool}** — {d.question}: trailkey `{d.trailkey}`, peer `{d.peer}` — {ids}.  ")
        out.append(f"  {d.reason()}")
    return "\n".join(out) + "\n"


def run(cmd, stdout_path=None):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    if stdout_path:
        with open(stdout_path, "w", encoding="utf-8") as f:
            f.write(res.stdout)
    return res.stdout


def summaries_from(out_dir):
    out = {}
    for name in ("trailkey", "iam-simulate", "python-peers"):
        path = os.path.join(out_dir, f"{name}.summary.jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        s = json.loads(line)
                        out[s["tool"]] = s
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=".bench/out")
    ap.add_argument("--trailkey-bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "examples", "bench_corpus"))
    ap.add_argument("--npm-dir", default=".bench/npm")
    ap.add_argument("--venv-python", default=".bench/venv/bin/python")
    ap.add_argument("--node", default="node")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--markdown", default=None, help="default: OUT_DIR/bench-compare.md")
    ap.add_argument("--compare-only", action="store_true")
    args = ap.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    o = args.out_dir
    os.makedirs(o, exist_ok=True)
    corpus_path = os.path.join(o, "corpus.jsonl")
    timing = ["--rounds", str(args.rounds), "--min-seconds", str(args.min_seconds)]
    if not args.compare_only:
        run([sys.executable, os.path.join(here, "gen_corpus.py"), "--seed", str(args.seed),
             "--count", str(args.count), "--out", corpus_path])
        run([args.trailkey_bin, "--corpus", corpus_path, "--requests", os.path.join(o, "requests.json"),
             "--verdicts", os.path.join(o, "trailkey.jsonl")] + timing,
            os.path.join(o, "trailkey.summary.jsonl"))
        run([args.node, os.path.join(root, "bench", "compare", "iam_simulate.cjs"), "--npm-dir",
             args.npm_dir, "--corpus", corpus_path, "--requests", os.path.join(o, "requests.json"),
             "--verdicts", os.path.join(o, "iam-simulate.jsonl")] + timing,
            os.path.join(o, "iam-simulate.summary.jsonl"))
        run([args.venv_python, os.path.join(root, "bench", "compare", "python_peers.py"),
             "--corpus", corpus_path, "--out-dir", o] + timing,
            os.path.join(o, "python-peers.summary.jsonl"))

    def maybe(name):
        path = os.path.join(o, f"{name}.jsonl")
        return read_jsonl(path) if os.path.exists(path) else None

    corpus = read_jsonl(corpus_path)
    summaries = summaries_from(o)
    trailkey = read_jsonl(os.path.join(o, "trailkey.jsonl"))
    sim = maybe("iam-simulate")
    diffs = compare(corpus, trailkey, sim, maybe("parliament"), maybe("policyuniverse"))
    tk = summaries.get("trailkey", {})
    meta = [
        f"Corpus: {len(corpus)} policies (seed {args.seed}), {tk.get('valid_policies', '?')} valid; "
        f"{tk.get('requests_per_policy', '?')} simulated requests per valid policy. "
        f"Items/s: median of {args.rounds} rounds, each ≥ {args.min_seconds} s.",
    ]
    if sim:
        same, total = agreement(trailkey, sim)
        meta.append(f"iam-simulate and trailkey agree on {same} of {total} request verdicts "
                    "(Allow / ExplicitDeny / ImplicitDeny) for the policies both read as valid.")
    demo = summaries.get("iam-simulate", {}).get("runSimulation_demo")
    if demo:
        meta.append(
            f"iam-simulate's public `runSimulation` on `{demo['request']}` for {demo['policy']}: "
            f"`{demo['runSimulation_result']}` (core `authorize`: `{demo['authorize_result']}`); "
            f"ignored context keys: {', '.join('`' + k + '`' for k in demo['ignoredContextKeys'])}.")
    text = render(summaries, diffs, meta)
    md = args.markdown or os.path.join(o, "bench-compare.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    unexplained = [d for d in diffs if d.reason_key is None]
    if unexplained:
        print(f"bench-compare: {len(unexplained)} unexplained difference group(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
