#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the test fixtures (run from the repository root).

policy_check:   every seed-corpus policy, once per check-input flag byte used by the oracle
invoking_event: every events/*.json invokingEvent and ruleParameters string
wildcard:       patterns from the seed policies against ARNs, one flag byte first
symbolic:       every seed-corpus policy, with and without the log object, 16 sample bytes first
Kept fuzz findings (tests/fixtures/fuzz/<target>/*) are copied in as well.
"""
import glob
import hashlib
import json
import os
import shutil


def put(target, data):
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


cases = json.load(open("tests/fixtures/seed_cases.json"))
patterns = set()
for case in cases:
    text = json.dumps(case["policy"]).encode()
    for flags in (0, 1, 5, 13, 37, 255):
        put("policy_check", bytes([flags]) + text)
    for flags in (0, 1):
        put("symbolic", bytes([flags]) + b"1111111111110001" + text)
    stack = [case["policy"]]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and ("*" in v or "?" in v or v.startswith("arn:")):
            patterns.add(v)

arns = [
    "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events",
    "arn:aws:kms:us-east-1:111111111111:key/k",
    "kms:GenerateDataKeyPair",
]
for p in sorted(patterns):
    for a in arns:
        put("wildcard", b"\x00" + p.encode() + b"\x00" + a.encode())

for path in sorted(glob.glob("events/*.json")):
    event = json.load(open(path))
    for field in ("invokingEvent", "ruleParameters"):
        if isinstance(event.get(field), str):
            put("invoking_event", event[field].encode())

for target in ("policy_check", "invoking_event", "wildcard", "symbolic"):
    for path in glob.glob(os.path.join("tests", "fixtures", "fuzz", target, "*")):
        put(target, open(path, "rb").read())
