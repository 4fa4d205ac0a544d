#!/usr/bin/env python3
"""Print `export` lines with assumed-role credentials for one account of a moto server.

    eval "$(assume_role.py --endpoint http://127.0.0.1:PORT --account 111111111111)"

moto puts whatever these credentials create or read into the role's account, so tools run
with them (trailkey, the AWS CLI) see that account's resources. The role need not exist.
"""

from __future__ import annotations

import argparse
import shlex
import sys

import boto3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--role", default="demo")
    ap.add_argument("--region", default="us-east-1")
    args = ap.parse_args()

    sts = boto3.client(
        "sts",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{args.account}:role/{args.role}",
        RoleSessionName="trailkey-demo",
    )["Credentials"]
    for name, value in (
        ("AWS_ACCESS_KEY_ID", creds["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", creds["SessionToken"]),
    ):
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
