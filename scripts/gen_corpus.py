#!/usr/bin/env python3
"""Generates the `make bench-compare` corpus: realistic KMS key policies for CloudTrail.

Deterministic for a given --seed (Python's `random.Random` is stable across versions for
`random()`, `randrange`, `choice`, `sample`, `shuffle`). Writes one JSON object per line:
`{"id": "p0001", "shape": "...", "policy": "<policy text>"}`. The policy text is what every
tool parses, so all tools see the same bytes.

Shapes follow the seed docs (/work/shared/seeds/): the console default key policy (admins,
users, grants), the CloudTrail statements of seed 001 with and without `aws:SourceArn` and the
encryption-context condition, multi-account trails (111111111111 owns the key, 222222222222 is a
second account), event data store statements, log readers, public `"Principal": "*"` grants
with and without a limiting condition, explicit denies, and filler reader statements up to 200
statements / 32 KB. A few policies are invalid (KMS would reject them) on purpose.

Stdlib only.
"""

import argparse
import json
import random
import sys

ACCOUNT = "111111111111"
OTHER = "222222222222"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/management-events"
OTHER_TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{OTHER}:trail/org-trail"
MAX_BYTES = 32 * 1024
MAX_STATEMENTS = 200


def root_statement(rng):
    principal = rng.choice([f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT])
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "kms:*",
        "Resource": "*",
    }


def admin_statement(rng):
    return {
        "Sid": "Allow access for Key Administrators",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"},
        "Action": [
            "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
            "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
            "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
            "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
        ],
        "Resource": "*",
    }


def user_statements(rng):
    users = [f"arn:aws:iam::{ACCOUNT}:role/AppRole"]
    if rng.random() < 0.4:
        users.append(f"arn:aws:iam::{OTHER}:root")
    out = [{
        "Sid": "Allow use of the key",
        "Effect": "Allow",
        "Principal": {"AWS": users},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                   "kms:DescribeKey"],
        "Resource": "*",
    }]
    if rng.random() < 0.7:
        out.append({
            "Sid": "Allow attachment of persistent resources",
            "Effect": "Allow",
            "Principal": {"AWS": users},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        })
    return out


def trail_encrypt_statement(rng):
    """Seed 001 "Allow CloudTrail to encrypt logs", in its common variations."""
    cond = {}
    accounts = [ACCOUNT] if rng.random() < 0.7 else [ACCOUNT, OTHER]
    context = rng.choice(["like", "like", "like", "exact", "none", "wrong"])
    if context == "like":
        cond["StringLike"] = {"kms:EncryptionContext:aws:cloudtrail:arn": [
            f"arn:aws:cloudtrail:*:{a}:trail/*" for a in accounts]}
    elif context == "exact":
        cond["StringEquals"] = {"kms:EncryptionContext:aws:cloudtrail:arn": TRAIL_ARN}
    elif context == "wrong":
        cond["StringLike"] = {"kms:EncryptionContext:aws:cloudtrail:arn":
                              f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/other-*"}
    source = rng.choice(["arn", "arn", "arn-list", "account", "none", "arnlike", "wrong-arn"])
    eq = cond.setdefault("StringEquals", {})
    if source == "arn":
        eq["aws:SourceArn"] = TRAIL_ARN
    elif source == "arn-list":
        eq["aws:SourceArn"] = [TRAIL_ARN, OTHER_TRAIL_ARN]
    elif source == "account":
        eq["aws:SourceAccount"] = accounts if len(accounts) > 1 else ACCOUNT
    elif source == "arnlike":
        cond["ArnLike"] = {"aws:SourceArn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}
    elif source == "wrong-arn":
        eq["aws:SourceArn"] = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/other"
    if not eq:
        del cond["StringEquals"]
    st = {
        "Sid": "Allow CloudTrail to encrypt logs",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": rng.choice(["kms:GenerateDataKey*", "kms:GenerateDataKey*",
                              ["kms:GenerateDataKey"], "kms:*"]),
        "Resource": rng.choice(["*", KEY_ARN]),
    }
    if cond:
        st["Condition"] = cond
    return st, f"enc-ctx:{context},src:{source}"


def trail_describe_statement(rng):
    st = {
        "Sid": "Allow CloudTrail access",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey",
        "Resource": rng.choice(["*", KEY_ARN]),
    }
    kind = rng.choice(["arn", "none", "context"])
    if kind == "arn":
        st["Condition"] = {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    elif kind == "context":
        # Seed 004: an encryption-context condition on DescribeKey never matches.
        st["Condition"] = {"StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}
    return st, f"describe:{kind}"


def bucket_key_statement(rng):
    st = {
        "Sid": "Allow CloudTrail to decrypt a trail",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    if rng.random() < 0.5:
        st["Condition"] = {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    return st


def reader_statement(rng, i=0):
    """Seed 001 "Enable CloudTrail log decrypt permissions", with variations."""
    account = rng.choice([ACCOUNT, ACCOUNT, OTHER])
    name = "LogReader" if i == 0 else f"LogReader{i}"
    role = "SecurityAudit" if account == OTHER and i == 0 else name
    cond = {}
    if rng.random() < 0.8:
        cond["Null"] = {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}
    if rng.random() < 0.5:
        cond["StringEquals"] = {"kms:CallerAccount": account}
    if rng.random() < 0.3:
        cond.setdefault("StringEquals", {})["kms:ViaService"] = "s3.us-east-1.amazonaws.com"
    if rng.random() < 0.3:
        cond["StringLike"] = {"kms:EncryptionContext:aws:cloudtrail:arn":
                              f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}
    st = {
        "Sid": f"Enable CloudTrail log decrypt permissions {i}" if i else
        "Enable CloudTrail log decrypt permissions",
        "Effect": "Allow",
        "Principal": {"AWS": rng.choice([f"arn:aws:iam::{account}:role/{role}",
                                         f"arn:aws:iam::{account}:root"])},
        "Action": rng.choice(["kms:Decrypt", ["kms:Decrypt", "kms:ReEncryptFrom"]]),
        "Resource": "*",
    }
    if cond:
        st["Condition"] = cond
    return st


def eds_statements(rng):
    out = [{
        "Sid": "Enable CloudTrail Lake encrypt and decrypt",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }, {
        "Sid": "Enable CloudTrail Lake describe",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    }]
    if rng.random() < 0.3:
        # The seed's own shape: aws:SourceArn on a statement an event data store needs.
        out[1]["Condition"] = {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    out.append({
        "Sid": "Enable user key permissions for event data stores",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/LakeAnalyst"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "cloudtrail.us-east-1.amazonaws.com"}},
    })
    return out


def public_statement(rng):
    kind = rng.choice(["none", "caller-account", "org", "source-ip", "not-caller", "ifexists"])
    st = {
        "Sid": f"Public {kind}",
        "Effect": "Allow",
        "Principal": rng.choice(["*", {"AWS": "*"}]),
        "Action": rng.choice([["kms:Decrypt"], ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                              "kms:*"]),
        "Resource": "*",
    }
    if kind == "caller-account":
        st["Condition"] = {"StringEquals": {"kms:CallerAccount": ACCOUNT}}
    elif kind == "org":
        st["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    elif kind == "source-ip":
        st["Condition"] = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    elif kind == "not-caller":
        st["Condition"] = {"StringNotEquals": {"kms:CallerAccount": "999999999999"}}
    elif kind == "ifexists":
        st["Condition"] = {"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}
    return st, f"public:{kind}"


def deny_statement(rng):
    kind = rng.choice(["other-accounts", "no-context", "deletion", "foreign-trail"])
    if kind == "other-accounts":
        st = {"Sid": "Deny other accounts", "Effect": "Deny", "Principal": "*",
              "Action": "kms:Decrypt", "Resource": "*",
              "Condition": {"StringNotEquals": {"kms:CallerAccount": [ACCOUNT, OTHER]},
                            "Bool": {"aws:PrincipalIsAWSService": "false"}}}
    elif kind == "no-context":
        st = {"Sid": "Deny GenerateDataKey without context", "Effect": "Deny", "Principal": "*",
              "Action": "kms:GenerateDataKey*", "Resource": "*",
              "Condition": {"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "true"}}}
    elif kind == "deletion":
        st = {"Sid": "Deny key deletion", "Effect": "Deny", "Principal": "*",
              "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"],
              "Resource": "*",
              "Condition": {"StringNotLike": {
                  "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"}}}
    else:
        st = {"Sid": "Deny foreign trails", "Effect": "Deny",
              "Principal": {"Service": "cloudtrail.amazonaws.com"},
              "Action": "kms:*", "Resource": "*",
              "Condition": {"StringNotEquals": {"aws:SourceAccount": [ACCOUNT, OTHER]}}}
    return st, f"deny:{kind}"


def edge_statement(rng):
    """Less common but valid shapes that exercise the evaluation rules (set operators on
    kms:EncryptionContextKeys, policy variables, key-name case, NotPrincipal/NotAction, ...)."""
    ct = {"Service": "cloudtrail.amazonaws.com"}
    kind = rng.choice([
        "ctx-keys-any", "ctx-keys-single", "ctx-keys-all", "variable-caller", "key-case",
        "ignore-case", "not-principal-deny", "not-action-reader", "ifexists-source",
        "other-region-key", "literal-star-arn", "service-bool-deny",
    ])
    encrypt = {"Sid": f"Edge {kind}", "Effect": "Allow", "Principal": ct,
               "Action": "kms:GenerateDataKey*", "Resource": "*"}
    if kind == "ctx-keys-any":
        encrypt["Condition"] = {"ForAnyValue:StringEquals": {
            "kms:EncryptionContextKeys": "aws:cloudtrail:arn"},
            "StringEquals": {"aws:SourceArn": TRAIL_ARN}}
        return encrypt, kind
    if kind == "ctx-keys-single":
        encrypt["Condition"] = {"StringEquals": {
            "kms:EncryptionContextKeys": "aws:cloudtrail:arn", "aws:SourceArn": TRAIL_ARN}}
        return encrypt, kind
    if kind == "ctx-keys-all":
        encrypt["Condition"] = {"ForAllValues:StringEquals": {
            "kms:EncryptionContextKeys": "aws:cloudtrail:arn"},
            "StringEquals": {"aws:SourceArn": TRAIL_ARN}}
        return encrypt, kind
    if kind == "variable-caller":
        return {"Sid": "Edge readers in their own account", "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/LogReader",
                                      f"arn:aws:iam::{OTHER}:role/SecurityAudit"]},
                "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": "${aws:PrincipalAccount}"}}}, kind
    if kind == "key-case":
        encrypt["Condition"] = {"StringEquals": {"AWS:SourceArn": TRAIL_ARN},
                                "StringLike": {"KMS:EncryptionContext:aws:cloudtrail:arn":
                                               f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}
        return encrypt, kind
    if kind == "ignore-case":
        encrypt["Condition"] = {"StringEqualsIgnoreCase": {"aws:SourceArn": TRAIL_ARN.upper()}}
        return encrypt, kind
    if kind == "not-principal-deny":
        return {"Sid": "Edge deny all but admins", "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root",
                                         f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"]},
                "Action": ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"], "Resource": "*"}, kind
    if kind == "not-action-reader":
        return {"Sid": "Edge reader NotAction", "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/LogReader"},
                "NotAction": ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:Create*"],
                "Resource": "*"}, kind
    if kind == "ifexists-source":
        encrypt["Condition"] = {"StringEqualsIfExists": {"aws:SourceArn": TRAIL_ARN}}
        return encrypt, kind
    if kind == "other-region-key":
        encrypt["Resource"] = KEY_ARN.replace("us-east-1", "us-west-2")
        encrypt["Condition"] = {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
        return encrypt, kind
    if kind == "literal-star-arn":
        encrypt["Condition"] = {"StringEquals": {
            "aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/*"}}
        return encrypt, kind
    return {"Sid": "Edge deny non-service callers outside the org", "Effect": "Deny",
            "Principal": "*", "Action": "kms:*", "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
                          "Bool": {"aws:PrincipalIsAWSService": "false"}}}, kind


def filler_statement(rng, i, compact):
    if not compact:
        return reader_statement(rng, i)
    # Minimal reader statements (no Sid/condition), so 200 of them fit in 32 KB.
    account = rng.choice([ACCOUNT, OTHER])
    return {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/R{i}"},
            "Action": "kms:Decrypt", "Resource": "*"}


def invalid_text(rng, text):
    kind = rng.choice(["comma", "account", "empty-service", "effect"])
    if kind == "comma":
        # Seed 001's typo: a missing comma between members.
        return text.replace('"Resource": "*",', '"Resource": "*"', 1), "invalid:comma"
    if kind == "account":
        return text.replace(f"arn:aws:iam::{ACCOUNT}:", "arn:aws:iam::11111111111:", 1), \
            "invalid:account"
    if kind == "empty-service":
        return text.replace('"Service": "cloudtrail.amazonaws.com"', '"Service": ""', 1), \
            "invalid:empty-service"
    return text.replace('"Effect": "Allow"', '"Effect": "Permit"', 1), "invalid:effect"


def render(policy, compact=False):
    if compact:
        return json.dumps(policy, separators=(",", ":"))
    return json.dumps(policy, indent=2)


def make_policy(rng, index):
    shape = []
    statements = [root_statement(rng)]
    if rng.random() < 0.7:
        statements.append(admin_statement(rng))
    if rng.random() < 0.5:
        statements.extend(user_statements(rng))
    if rng.random() < 0.85:
        st, tag = trail_encrypt_statement(rng)
        statements.append(st)
        shape.append(tag)
        st, tag = trail_describe_statement(rng)
        statements.append(st)
        shape.append(tag)
    else:
        shape.append("no-cloudtrail")
    if rng.random() < 0.25:
        statements.append(bucket_key_statement(rng))
        shape.append("bucket-key")
    if rng.random() < 0.7:
        statements.append(reader_statement(rng))
    if rng.random() < 0.3:
        statements.extend(eds_statements(rng))
        shape.append("eds")
    if rng.random() < 0.2:
        st, tag = public_statement(rng)
        statements.append(st)
        shape.append(tag)
    if rng.random() < 0.25:
        st, tag = deny_statement(rng)
        statements.append(st)
        shape.append(tag)
    if rng.random() < 0.25:
        st, tag = edge_statement(rng)
        statements.append(st)
        shape.append(f"edge:{tag}")
    # Size: most policies are small; some grow to 200 statements or 32 KB with readers.
    roll = rng.random()
    target = len(statements) if roll < 0.6 else rng.randrange(len(statements), MAX_STATEMENTS + 1)
    compact = target > 90
    i = 1
    while len(statements) < target:
        candidate = statements + [filler_statement(rng, i, compact)]
        if len(render({"Version": "2012-10-17", "Statement": candidate}, compact)) > MAX_BYTES:
            break
        statements = candidate
        i += 1
    if i > 1:
        shape.append(f"filler:{i - 1}")
    rng.shuffle(statements)
    policy = {"Version": "2012-10-17", "Id": f"key-policy-{index}", "Statement": statements}
    text = render(policy, compact)
    if len(text) > MAX_BYTES:  # the Id pushed it over: drop filler until it fits
        while len(text) > MAX_BYTES and len(statements) > 1:
            statements.pop()
            text = render(policy, compact)
    if rng.random() < 0.03:
        text, tag = invalid_text(rng, text)
        shape.append(tag)
    return text, ",".join(shape)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--out", default="-")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        for n in range(args.count):
            text, shape = make_policy(rng, n)
            out.write(json.dumps({"id": f"p{n:04d}", "shape": shape, "policy": text}) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
