#!/usr/bin/env python3
"""Seed a moto server with the CloudTrail KMS key policy scenarios of the demo.

    seed_demo.py --endpoint http://127.0.0.1:PORT [--verify]

Prints a JSON summary to stdout: {"keys": {name: key_arn}, "trails": {name: trail_arn}}.
Names are fixed; moto picks the key ids at random. Progress and notes go to stderr.

Every resource is created with credentials of an assumed role, so that it lands in the
role's account (moto takes the account of assumed-role credentials from the role ARN):
account 111111111111 holds all keys and most trails, 222222222222 holds the trail of the
multi-account scenario. The scenarios follow AWS's "Configure AWS KMS key policies for
CloudTrail" page (shared/seeds/001_*):

  compliant           encrypt (StringLike EncryptionContext + StringEquals aws:SourceArn),
                      describe (aws:SourceArn), decrypt for role LogReader (Null condition)
  legacy-no-sourcearn the older encrypt statement: Resource "*", StringLike only;
                      describe without condition
  disabled            a compliant policy, but the key is disabled
  wrong-sourcearn     encrypt/describe name another trail's ARN in aws:SourceArn, so
                      CloudTrail silently stops delivering for the trail that uses the key
  multi-account       key in 111111111111 usable by trails of 111111111111 and 222222222222,
                      plus "Enable encrypted CloudTrail log read access" for 222222222222:root
  public-decrypt      a compliant policy plus Principal "*" kms:Decrypt with no condition

moto's state is reset first (POST /moto-api/reset) unless --no-reset is given.
--verify reads everything back (key policies, key states, trails) and exits 1 on mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT_A = "111111111111"  # owns the keys
ACCOUNT_B = "222222222222"  # second account of the multi-account example
ROLE_NAME = "demo"
CT = "cloudtrail.amazonaws.com"
ENC_CTX = "kms:EncryptionContext:aws:cloudtrail:arn"

BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"})


def trail_arn(account: str, name: str) -> str:
    return f"arn:aws:cloudtrail:{REGION}:{account}:trail/{name}"


def account_trails(*accounts: str) -> list[str]:
    return [f"arn:aws:cloudtrail:*:{a}:trail/*" for a in accounts]


# ---------------------------------------------------------------- policy statements


def stmt_root_admin(account: str) -> dict:
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def stmt_encrypt(key_arn: str, accounts: list[str], source_arns: list[str] | str) -> dict:
    return {
        "Sid": "Allow CloudTrail to encrypt logs",
        "Effect": "Allow",
        "Principal": {"Service": CT},
        "Action": "kms:GenerateDataKey*",
        "Resource": key_arn,
        "Condition": {
            "StringLike": {ENC_CTX: account_trails(*accounts)},
            "StringEquals": {"aws:SourceArn": source_arns},
        },
    }


def stmt_encrypt_legacy(account: str) -> dict:
    """The encrypt statement of the page's older revision: no aws:SourceArn, Resource "*"."""
    return {
        "Sid": "Allow CloudTrail to encrypt logs",
        "Effect": "Allow",
        "Principal": {"Service": CT},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": {"StringLike": {ENC_CTX: account_trails(account)}},
    }


def stmt_describe(key_arn: str, source_arns: list[str] | str | None) -> dict:
    s = {
        "Sid": "Allow CloudTrail access",
        "Effect": "Allow",
        "Principal": {"Service": CT},
        "Action": "kms:DescribeKey",
        "Resource": key_arn,
    }
    if source_arns is not None:
        s["Condition"] = {"StringEquals": {"aws:SourceArn": source_arns}}
    return s


def stmt_decrypt(principals: list[str], key_arn: str = "*",
                 sid: str = "Enable CloudTrail log decrypt permissions") -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
        "Action": "kms:Decrypt",
        "Resource": key_arn,
        "Condition": {"Null": {ENC_CTX: "false"}},
    }


def stmt_public_decrypt() -> dict:
    return {
        "Sid": "Allow anyone to decrypt",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
    }


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Id": "key-policy-cloudtrail", "Statement": list(statements)}


LOG_READER = f"arn:aws:iam::{ACCOUNT_A}:role/LogReader"


def compliant_policy(key_arn: str, trail: str) -> dict:
    return policy(
        stmt_root_admin(ACCOUNT_A),
        stmt_encrypt(key_arn, [ACCOUNT_A], trail),
        stmt_describe(key_arn, trail),
        stmt_decrypt([LOG_READER]),
    )


# ---------------------------------------------------------------- scenarios
#
# Each scenario: the key's name, a function key_arn -> policy document, whether the key ends
# up disabled, and its trails as (account, trail name, bucket name).

MGMT = trail_arn(ACCOUNT_A, "management-events")

SCENARIOS = [
    {
        "key": "compliant",
        "policy": lambda k: compliant_policy(k, MGMT),
        "trails": [(ACCOUNT_A, "management-events", "trailkey-demo-management-events")],
    },
    {
        "key": "legacy-no-sourcearn",
        "policy": lambda k: policy(
            stmt_root_admin(ACCOUNT_A),
            stmt_encrypt_legacy(ACCOUNT_A),
            stmt_describe("*", None),
            stmt_decrypt([LOG_READER]),
        ),
        "trails": [(ACCOUNT_A, "legacy-trail", "trailkey-demo-legacy-trail")],
    },
    {
        "key": "disabled",
        "policy": lambda k: compliant_policy(k, trail_arn(ACCOUNT_A, "disabled-key-trail")),
        "disable": True,
        "trails": [(ACCOUNT_A, "disabled-key-trail", "trailkey-demo-disabled-key-trail")],
    },
    {
        # Copied from the management-events key: names that trail, not security-audit.
        "key": "wrong-sourcearn",
        "policy": lambda k: compliant_policy(k, MGMT),
        "trails": [(ACCOUNT_A, "security-audit", "trailkey-demo-security-audit")],
    },
    {
        "key": "multi-account",
        "policy": lambda k: policy(
            stmt_root_admin(ACCOUNT_A),
            {
                **stmt_encrypt(
                    k,
                    [ACCOUNT_A, ACCOUNT_B],
                    [trail_arn(ACCOUNT_A, "org-main"), trail_arn(ACCOUNT_B, "partner-trail")],
                ),
                "Sid": "Enable CloudTrail Encrypt Permissions",
            },
            stmt_describe(
                k, [trail_arn(ACCOUNT_A, "org-main"), trail_arn(ACCOUNT_B, "partner-trail")]
            ),
            stmt_decrypt([f"arn:aws:iam::{ACCOUNT_B}:root"], k,
                         sid="Enable encrypted CloudTrail log read access"),
        ),
        "trails": [
            (ACCOUNT_A, "org-main", "trailkey-demo-org-main"),
            (ACCOUNT_B, "partner-trail", "trailkey-demo-partner-trail"),
        ],
    },
    {
        "key": "public-decrypt",
        "policy": lambda k: policy(
            *compliant_policy(k, trail_arn(ACCOUNT_A, "public-decrypt-trail"))["Statement"],
            stmt_public_decrypt(),
        ),
        "trails": [(ACCOUNT_A, "public-decrypt-trail", "trailkey-demo-public-decrypt-trail")],
    },
]


# ---------------------------------------------------------------- seeding


class Accounts:
    """boto3 sessions holding assumed-role credentials, one per account."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        base = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=REGION,
        )
        sts = base.client("sts", endpoint_url=endpoint, config=BOTO_CONFIG)
        self.sessions = {}
        for account in (ACCOUNT_A, ACCOUNT_B):
            creds = sts.assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}",
                RoleSessionName="trailkey-seed",
            )["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=REGION,
            )
            got = session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]
            if got != account:
                raise SystemExit(
                    f"seed_demo: assumed role in {account} but moto says account {got}; "
                    "is MOTO_ACCOUNT_ID set for the server?"
                )
            self.sessions[account] = session

    def client(self, account: str, service: str):
        # boto3 clients are thread-safe once created; sessions are not, so create per call.
        return self.sessions[account].client(service, endpoint_url=self.endpoint, config=BOTO_CONFIG)


def create_key(accounts: Accounts, scenario: dict) -> tuple[str, str, dict]:
    kms = accounts.client(ACCOUNT_A, "kms")
    name = scenario["key"]
    meta = kms.create_key(
        Description=f"trailkey demo: {name}",
        Tags=[{"TagKey": "trailkey-demo", "TagValue": name}],
    )["KeyMetadata"]
    arn = meta["Arn"]
    doc = scenario["policy"](arn)
    kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(doc, indent=2))
    kms.create_alias(AliasName=f"alias/trailkey-demo/{name}", TargetKeyId=meta["KeyId"])
    if scenario.get("disable"):
        # moto 5.2.5: DisableKey with a key ARN fails with HTTP 500 (KeyError); the id works.
        kms.disable_key(KeyId=meta["KeyId"])
    return name, arn, doc


def create_trail(accounts: Accounts, account: str, name: str, bucket: str, key_arn: str) -> tuple[str, str]:
    s3 = accounts.client(account, "s3")
    s3.create_bucket(Bucket=bucket)
    ct = accounts.client(account, "cloudtrail")
    resp = ct.create_trail(
        Name=name,
        S3BucketName=bucket,
        KmsKeyId=key_arn,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
    )
    ct.start_logging(Name=name)
    return name, resp["TrailARN"]


def reset(endpoint: str) -> None:
    """Wipe all of moto's state, so that seeding twice gives the same resources."""
    req = urllib.request.Request(endpoint.rstrip("/") + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def seed(endpoint: str, workers: int = 6) -> tuple[dict, dict, dict]:
    accounts = Accounts(endpoint)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        created = list(pool.map(lambda s: create_key(accounts, s), SCENARIOS))
    keys = {name: arn for name, arn, _ in created}
    docs = {name: doc for name, _, doc in created}

    jobs = [
        (account, trail, bucket, keys[s["key"]])
        for s in SCENARIOS
        for account, trail, bucket in s["trails"]
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        trails = dict(pool.map(lambda j: create_trail(accounts, *j), jobs))
    return keys, trails, docs


# ---------------------------------------------------------------- verification


def verify(endpoint: str, keys: dict, trails: dict, docs: dict) -> list[str]:
    accounts = Accounts(endpoint)
    kms = accounts.client(ACCOUNT_A, "kms")
    problems = []
    for s in SCENARIOS:
        name = s["key"]
        got = json.loads(kms.get_key_policy(KeyId=keys[name], PolicyName="default")["Policy"])
        if got != docs[name]:
            problems.append(f"key {name}: GetKeyPolicy returned a different policy")
        state = kms.describe_key(KeyId=keys[name])["KeyMetadata"]["KeyState"]
        want = "Disabled" if s.get("disable") else "Enabled"
        if state != want:
            problems.append(f"key {name}: state {state}, want {want}")
        for account, trail, bucket in s["trails"]:
            ct = accounts.client(account, "cloudtrail")
            # moto 5.2.5 ignores trailNameList (returns every trail): filter here.
            found = [
                t
                for t in ct.describe_trails(includeShadowTrails=True)["trailList"]
                if t.get("Name") == trail
            ]
            if len(found) != 1:
                problems.append(f"trail {trail}: describe_trails found {len(found)}")
                continue
            t = found[0]
            if t.get("KmsKeyId") != keys[name]:
                problems.append(f"trail {trail}: KmsKeyId {t.get('KmsKeyId')!r}, want key {name}")
            if t.get("TrailARN") != trail_arn(account, trail) or trails.get(trail) != t.get("TrailARN"):
                problems.append(f"trail {trail}: ARN {t.get('TrailARN')}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--verify", action="store_true", help="read everything back and check it")
    ap.add_argument("--no-reset", action="store_true",
                    help="keep moto's existing state (default: POST /moto-api/reset first)")
    args = ap.parse_args()

    if not args.no_reset:
        reset(args.endpoint)
    keys, trails, docs = seed(args.endpoint)
    print(f"seed_demo: {len(keys)} keys, {len(trails)} trails seeded", file=sys.stderr)
    if args.verify:
        problems = verify(args.endpoint, keys, trails, docs)
        for p in problems:
            print(f"seed_demo: verify: {p}", file=sys.stderr)
        if problems:
            return 1
        print("seed_demo: verify: all key policies, key states and trails read back", file=sys.stderr)
    json.dump({"keys": dict(sorted(keys.items())), "trails": dict(sorted(trails.items()))},
              sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
