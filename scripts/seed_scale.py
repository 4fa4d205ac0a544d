#!/usr/bin/env python3
"""Seed a moto server with many keys and trails: the sweep tests and the sweep benchmark.

    seed_scale.py --endpoint URL --keys M --trails N [--key-account A] [--trail-account B]
                  [--names a,b,..] [--broken-every K] [--multi-region] [--prefix P]
                  [--workers W] [--no-reset]

Creates M customer managed keys in account A and N trails in account B (default both
111111111111); trail i uses key i mod M. Each key's policy is the documented one (shared/seeds/001):
root admin, CloudTrail encrypt with the encryption-context condition for account B's trails and
aws:SourceArn = exactly the trails that use the key, describe with the same aws:SourceArn, and
kms:Decrypt for role LogReader of account A. With --broken-every K, every K-th key (0, K, 2K, ..)
instead names a trail that does not exist in aws:SourceArn, so CloudTrail could not encrypt for its
trails (ENCRYPT_DENIED). Trails are named --names in order, then trail-0001, trail-0002, ...; all of
an account's trails deliver to one bucket. --multi-region makes every trail a multi-region trail
(listed as a shadow trail in every other Region); --prefix sets every trail's S3KeyPrefix.

Prints JSON: {"keys": [{"arn", "broken", "trails": [names]}], "trails": {name: {"arn", "key"}}}.
Creation runs in parallel (moto takes ~40 ms per key); resources are created with assumed-role
credentials so that moto puts them in the role's account (see seed_demo.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor

from seed_demo import (
    REGION,
    Accounts,
    policy,
    reset,
    stmt_decrypt,
    stmt_describe,
    stmt_encrypt,
    stmt_root_admin,
    trail_arn,
)


def key_policy(key_arn: str, key_account: str, trail_account: str, sources: list[str]) -> dict:
    return policy(
        stmt_root_admin(key_account),
        stmt_encrypt(key_arn, [trail_account], sources),
        stmt_describe(key_arn, sources),
        stmt_decrypt([f"arn:aws:iam::{key_account}:role/LogReader"]),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--keys", type=int, required=True)
    ap.add_argument("--trails", type=int, required=True)
    ap.add_argument("--key-account", default="111111111111")
    ap.add_argument("--trail-account", default="111111111111")
    ap.add_argument("--names", default="", help="comma-separated names for the first trails")
    ap.add_argument("--broken-every", type=int, default=0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--no-reset", action="store_true")
    ap.add_argument("--multi-region", action="store_true")
    ap.add_argument("--prefix", default=None)
    args = ap.parse_args()
    if args.keys < 1 or args.trails < 0:
        ap.error("--keys must be at least 1 and --trails not negative")

    if not args.no_reset:
        reset(args.endpoint)
    accounts = Accounts(args.endpoint)
    names = [n for n in args.names.split(",") if n]
    names += [f"trail-{i:04d}" for i in range(1, args.trails - len(names) + 1)]
    names = names[: args.trails]
    users: list[list[str]] = [[] for _ in range(args.keys)]
    for i, name in enumerate(names):
        users[i % args.keys].append(name)

    def create_key(i: int) -> dict:
        kms = accounts.client(args.key_account, "kms")
        meta = kms.create_key(Description=f"trailkey scale {i}")["KeyMetadata"]
        broken = args.broken_every > 0 and i % args.broken_every == 0
        sources = [trail_arn(args.trail_account, n) for n in users[i]]
        if broken or not sources:
            sources = [trail_arn(args.trail_account, "no-such-trail")]
        doc = key_policy(meta["Arn"], args.key_account, args.trail_account, sources)
        kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=json.dumps(doc))
        return {"arn": meta["Arn"], "broken": broken, "trails": users[i]}

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        keys = list(pool.map(create_key, range(args.keys)))

    bucket = f"trailkey-scale-{args.trail_account}"
    accounts.client(args.trail_account, "s3").create_bucket(Bucket=bucket)

    def create_trail(i_name: tuple[int, str]) -> tuple[str, dict]:
        i, name = i_name
        key = keys[i % args.keys]["arn"]
        ct = accounts.client(args.trail_account, "cloudtrail")
        extra = {"S3KeyPrefix": args.prefix} if args.prefix is not None else {}
        arn = ct.create_trail(
            Name=name, S3BucketName=bucket, KmsKeyId=key, IsMultiRegionTrail=args.multi_region,
            **extra,
        )["TrailARN"]
        return name, {"arn": arn, "key": key}

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        trails = dict(pool.map(create_trail, enumerate(names)))

    print(
        f"seed_scale: {len(keys)} keys in {args.key_account}, {len(trails)} trails in "
        f"{args.trail_account} ({REGION})",
        file=sys.stderr,
    )
    json.dump({"keys": keys, "trails": trails}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
