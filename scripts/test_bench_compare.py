"""Offline tests for scripts/bench_compare.py's difference logic (stdlib only, no peers needed)."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_compare as bc  # noqa: E402

PUBLIC_IFEXISTS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
    "Condition": {"StringEqualsIfExists": {"aws:PrincipalAccount": "111111111111"}}}]})
PUBLIC_PLAIN = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]})


def tk(pid, verdicts=None, valid=True, public=False, error=""):
    row = {"id": pid, "valid": valid, "public": public}
    if valid:
        row["verdicts"] = verdicts or {"trail-encrypt": "Allow"}
    else:
        row["error"] = error
    return row


class CompareTest(unittest.TestCase):
    def test_agreement_gives_no_difference(self):
        t = {"p1": tk("p1")}
        sim = {"p1": {"id": "p1", "valid": True, "verdicts": {"trail-encrypt": "Allow"}}}
        pu = {"p1": {"id": "p1", "valid": True, "public": False}}
        pa = {"p1": {"id": "p1", "codes": []}}
        self.assertEqual(bc.compare({}, t, sim, pa, pu), [])

    def test_verdict_difference_is_unexplained(self):
        t = {"p1": tk("p1"), "p2": tk("p2")}
        sim = {p: {"id": p, "valid": True, "verdicts": {"trail-encrypt": "ImplicitDeny"}}
               for p in ("p1", "p2")}
        [d] = bc.compare({}, t, sim)
        self.assertEqual((d.tool, d.question, d.trailkey, d.peer),
                         ("iam-simulate", "trail-encrypt", "Allow", "ImplicitDeny"))
        self.assertEqual(d.policies, ["p1", "p2"])
        self.assertIsNone(d.reason_key)
        self.assertIn("UNEXPLAINED", d.reason())

    def test_peer_accepting_an_impossible_principal_is_explained(self):
        t = {"p1": tk("p1", valid=False, error="`/Statement/0/Principal/Service/0`: empty service principal")}
        sim = {"p1": {"id": "p1", "valid": True, "verdicts": {}}}
        [d] = bc.compare({}, t, sim)
        self.assertEqual(d.reason_key, "invalid-principal-accepted")
        self.assertIn("empty service principal", d.reason())
        self.assertIn("PutKeyPolicy", d.reason())

    def test_public_ifexists_is_explained_and_plain_public_is_not(self):
        corpus = {"p1": {"policy": PUBLIC_IFEXISTS}, "p2": {"policy": PUBLIC_PLAIN}}
        t = {"p1": tk("p1", public=True), "p2": tk("p2", public=True)}
        pu = {p: {"id": p, "valid": True, "public": False} for p in ("p1", "p2")}
        diffs = bc.compare(corpus, t, policyuniverse=pu)
        by_policy = {d.policies[0]: d for d in diffs}
        self.assertEqual(by_policy["p1"].reason_key, "ifexists-not-public")
        self.assertIsNone(by_policy["p2"].reason_key)

    def test_parliament_codes(self):
        t = {"p1": tk("p1"), "p2": tk("p2", valid=False, error="invalid AWS principal: 12-digit")}
        pa = {"p1": {"id": "p1", "codes": ["INVALID_SID", "NEW_CODE"]},
              "p2": {"id": "p2", "codes": ["UNKNOWN_PRINCIPAL"]}}
        diffs = {d.question: d for d in bc.compare({}, t, parliament=pa)}
        self.assertEqual(set(diffs), {"finding INVALID_SID", "finding NEW_CODE"})
        self.assertEqual(diffs["finding INVALID_SID"].reason_key, "INVALID_SID")
        self.assertIsNone(diffs["finding NEW_CODE"].reason_key)

    def test_render_ratio(self):
        summaries = {
            "trailkey": {"requests_per_s_eval_only": 200000.0, "requests_per_s_with_parse": 50000.0,
                         "policies_per_s_check_text": 3000.0},
            "iam-simulate": {"version": "0.1.173", "requests_per_s_eval_only": 1000.0,
                             "requests_per_s_with_parse": 900.0},
            "policyuniverse": {"version": "1", "policies_per_s": 2000.0},
        }
        text = bc.render(summaries, [], [])
        self.assertIn("| 1,000 | 200× |", text)
        self.assertIn("| 2,000 | 1.5× |", text)
        self.assertIn("No differences.", text)


if __name__ == "__main__":
    unittest.main()
