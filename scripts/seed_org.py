#!/usr/bin/env python3
"""Seed a moto server with a three-account organization: management, log archive, member.

    seed_org.py --endpoint http://127.0.0.1:PORT

Prints a JSON summary to stdout: {"organization_id", "accounts": {"management", "log_archive",
"member"}, "keys": {name: arn}, "trails": {name: arn}}. moto picks the member accounts' ids and
the key ids at random.

The shape follows CloudTrail's "Creating a trail for an organization" and the KMS key policy
page's organization-trail statements:

  management   (111111111111, the caller) creates the organization, holds the organization
               trail `org-trail` and its key `org`: encrypt for the organization trail's ARN,
               describe, decrypt for the management account's LogReader role
  log archive  created with CreateAccount; holds the key `archive` that the member's own trail
               uses (a central key in another account of the organization)
  member       created with CreateAccount; holds `member-trail` (key `archive`, cross-account),
               `member-unencrypted` (no key: TRAIL_NOT_ENCRYPTED) and `outside-key-trail`
               (a key of 999999999999, outside the organization: not checked)

Every account is reached through the role OrganizationAccountAccessRole, as the management
account reaches member accounts (AWS Organizations User Guide, "Accessing member accounts in
your organization"); moto takes the account of assumed-role credentials from the role ARN.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3

import seed_demo as d

MANAGEMENT = d.ACCOUNT_A
ROLE = "OrganizationAccountAccessRole"
OUTSIDE_KEY = "arn:aws:kms:us-east-1:999999999999:key/99999999-9999-4999-8999-999999999999"


def session(endpoint: str, account: str) -> boto3.session.Session:
    base = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=d.REGION
    )
    sts = base.client("sts", endpoint_url=endpoint, config=d.BOTO_CONFIG)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="trailkey-seed"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=d.REGION,
    )


def key(sess, endpoint: str, name: str, policy_of) -> str:
    kms = sess.client("kms", endpoint_url=endpoint, config=d.BOTO_CONFIG)
    meta = kms.create_key(Description=f"trailkey org demo: {name}")["KeyMetadata"]
    kms.put_key_policy(
        KeyId=meta["Arn"], PolicyName="default", Policy=json.dumps(policy_of(meta["Arn"]), indent=2)
    )
    kms.create_alias(AliasName=f"alias/trailkey-org/{name}", TargetKeyId=meta["KeyId"])
    return meta["Arn"]


def trail(sess, endpoint: str, name: str, bucket: str, key_arn: str | None, org: bool = False) -> str:
    sess.client("s3", endpoint_url=endpoint, config=d.BOTO_CONFIG).create_bucket(Bucket=bucket)
    ct = sess.client("cloudtrail", endpoint_url=endpoint, config=d.BOTO_CONFIG)
    args = {"Name": name, "S3BucketName": bucket, "IsMultiRegionTrail": True}
    if key_arn:
        args["KmsKeyId"] = key_arn
    if org:
        args["IsOrganizationTrail"] = True
    arn = ct.create_trail(**args)["TrailARN"]
    ct.start_logging(Name=name)
    return arn


def seed(endpoint: str) -> dict:
    mgmt = session(endpoint, MANAGEMENT)
    orgs = mgmt.client("organizations", endpoint_url=endpoint, config=d.BOTO_CONFIG)
    org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]

    def create_account(name: str) -> str:
        status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)
        return status["CreateAccountStatus"]["AccountId"]

    archive_id = create_account("log-archive")
    member_id = create_account("member")
    archive = session(endpoint, archive_id)
    member = session(endpoint, member_id)

    org_trail = d.trail_arn(MANAGEMENT, "org-trail")
    member_trail = d.trail_arn(member_id, "member-trail")
    keys = {
        "org": key(mgmt, endpoint, "org", lambda k: d.compliant_policy(k, org_trail)),
        "archive": key(
            archive,
            endpoint,
            "archive",
            lambda k: d.policy(
                d.stmt_root_admin(archive_id),
                d.stmt_encrypt(k, [member_id], member_trail),
                d.stmt_describe(k, member_trail),
                d.stmt_decrypt([f"arn:aws:iam::{archive_id}:role/LogReader"]),
            ),
        ),
    }
    trails = {
        "org-trail": trail(mgmt, endpoint, "org-trail", "trailkey-org-logs", keys["org"], org=True),
        "member-trail": trail(member, endpoint, "member-trail", "trailkey-member-logs", keys["archive"]),
        "member-unencrypted": trail(member, endpoint, "member-unencrypted", "trailkey-member-plain", None),
        "outside-key-trail": trail(member, endpoint, "outside-key-trail", "trailkey-member-outside", OUTSIDE_KEY),
    }
    return {
        "organization_id": org_id,
        "accounts": {"management": MANAGEMENT, "log_archive": archive_id, "member": member_id},
        "keys": keys,
        "trails": trails,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--no-reset", action="store_true", help="keep moto's state")
    a = p.parse_args()
    if not a.no_reset:
        d.reset(a.endpoint)
    print(json.dumps(seed(a.endpoint), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
