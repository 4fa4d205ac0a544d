"""Unit tests of demo_table.py against tiny fake `trailkey scan` / `replay` outputs.

    python3 -m unittest discover -s scripts -p 'test_*.py'
"""

import io
import json
import os
import random
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_table  # noqa: E402

A = "111111111111"
K1 = f"arn:aws:kms:us-east-1:{A}:key/0a1b2c3d-1111-2222-3333-444455556666"
K2 = f"arn:aws:kms:us-east-1:{A}:key/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff"
K3 = f"arn:aws:kms:us-east-1:{A}:key/12345678-abcd-abcd-abcd-123456789abc"  # not seeded
T1 = f"arn:aws:cloudtrail:us-east-1:{A}:trail/management-events"
T2 = f"arn:aws:cloudtrail:us-east-1:{A}:trail/legacy-trail"
T3 = "arn:aws:cloudtrail:us-east-1:222222222222:trail/partner-trail"

SEED = {"keys": {"compliant": K1, "legacy": K2}, "trails": {"management-events": T1}}

SCAN = {
    "compliance": "NON_COMPLIANT",
    "reports": [
        {"key": K1, "compliance": "COMPLIANT", "resources": [T1], "findings": []},
        {
            "key": K2,
            "compliance": "NON_COMPLIANT",
            "resources": [T2, T3],
            "findings": [
                {"id": "TK-KEY", "severity": "low", "resource": None, "statement": None,
                 "message": f"key {K2} has no rotation", "fix": None},
                {"id": "TK-SRCARN", "severity": "high", "resource": T2,
                 "statement": "Allow CloudTrail to encrypt logs",
                 "message": "encrypt statement | lacks aws:SourceArn",
                 "fix": {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow"}},
            ],
        },
    ],
    "errors": [{"key": K3, "message": f"AccessDenied on {K3}"}],
}

REPLAY = [
    {"ComplianceResourceType": "AWS::CloudTrail::Trail", "ComplianceResourceId": "legacy-trail",
     "ComplianceType": "NON_COMPLIANT", "Annotation": "encrypt statement lacks aws:SourceArn",
     "OrderingTimestamp": "2024-01-01T00:00:00Z"},
    {"ComplianceResourceType": "AWS::KMS::Key", "ComplianceResourceId": K1.rsplit("/", 1)[1],
     "ComplianceType": "COMPLIANT", "OrderingTimestamp": "2024-01-01T00:00:00Z"},
]


class FixHint(unittest.TestCase):
    def test_shapes(self):
        self.assertEqual(demo_table.fix_hint(None), "-")
        self.assertEqual(demo_table.fix_hint({}), "-")
        self.assertEqual(demo_table.fix_hint({"Sid": "S1", "Effect": "Allow"}), "S1")
        self.assertEqual(demo_table.fix_hint({"Effect": "Allow"}), "(statement without Sid)")
        self.assertEqual(demo_table.fix_hint([{"Sid": "A"}, None, {"Sid": "B"}]), "A, B")
        self.assertEqual(demo_table.fix_hint({"Statement": [{"Sid": "P"}]}), "P")
        self.assertEqual(demo_table.fix_hint(42), "-")


class Rows(unittest.TestCase):
    def rows(self, scan=SCAN, replay=REPLAY, seed=SEED):
        return demo_table.build_rows(seed, scan, replay)

    def test_scan_and_replay_rows(self):
        rows = self.rows()
        self.assertIn((f"{A}:trail/management-events", "compliant", "COMPLIANT", "-", "-"), rows)
        # the finding about T2 wins over the key-wide one; its fix's Sid is the hint
        self.assertIn((f"{A}:trail/legacy-trail", "legacy", "NON_COMPLIANT",
                       "TK-SRCARN: encrypt statement / lacks aws:SourceArn",
                       "Allow CloudTrail to encrypt logs"), rows)
        # no finding names T3: the key-wide finding, with the key id replaced by its name
        self.assertIn(("222222222222:trail/partner-trail", "legacy", "NON_COMPLIANT",
                       "TK-KEY: key legacy has no rotation", "-"), rows)
        self.assertIn(("-", "<unseeded-key>", "ERROR", "AccessDenied on <unseeded-key>", "-"), rows)
        self.assertIn((f"{A}:trail/legacy-trail (config)", "legacy", "NON_COMPLIANT",
                       "encrypt statement lacks aws:SourceArn", "-"), rows)
        self.assertIn(("key:compliant (config)", "compliant", "COMPLIANT", "-", "-"), rows)
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows, sorted(rows))

    def test_replayed_rows_name_their_event_and_fix(self):
        replay = [{"event": "/tmp/x/events/02-key-policy-breaks-encrypt.json",
                   "ComplianceResourceType": "AWS::CloudTrail::Trail",
                   "ComplianceResourceId": "management-events", "ComplianceType": "NON_COMPLIANT",
                   "Annotation": "ENCRYPT_DENIED: x",
                   "findings": [{"id": "ENCRYPT_DENIED", "fix": {"Sid": "Allow CloudTrail"}}]}]
        rows = self.rows(replay=replay)
        self.assertIn((f"{A}:trail/management-events (config 02)",
                       "compliant", "NON_COMPLIANT", "ENCRYPT_DENIED: x", "Allow CloudTrail"), rows)

        self.assertEqual(demo_table.events_legend(replay),
                         "events replayed:\n  config 02: key policy breaks encrypt")

    def test_summary_counts_verdicts_and_fixes(self):
        rows = [("a", "k", "NON_COMPLIANT", "f", "S"), ("b", "k", "NON_COMPLIANT", "f", "-"),
                ("c", "k", "COMPLIANT", "-", "-")]
        self.assertEqual(demo_table.summary(rows),
                         "summary: 3 rows (1 COMPLIANT, 2 NON_COMPLIANT); 1 of 2 NON_COMPLIANT rows "
                         "have a statement to add (`trailkey fix`), the others need an edit or a "
                         "key state change")

    def test_no_random_ids_in_output(self):
        text = demo_table.render(self.rows())
        for ref in (K1, K2, K3):
            self.assertNotIn(ref.rsplit("/", 1)[1], text)

    def test_deterministic_under_input_order(self):
        scan = json.loads(json.dumps(SCAN))
        replay = list(REPLAY)
        random.Random(7).shuffle(scan["reports"])
        replay.reverse()
        self.assertEqual(demo_table.render(self.rows(scan, replay)), demo_table.render(self.rows()))

    def test_malformed_input_does_not_crash(self):
        scan = {"reports": [None, 3, {"key": None, "resources": None, "findings": "x"},
                            {"key": K1, "findings": [None, {"fix": "Sid-as-string"}]}],
                "errors": ["plain string"]}
        rows = self.rows(scan, [None, {"ComplianceResourceId": None}], seed=None)
        self.assertIn(("-", "-", "-", "-", "-"), rows)
        self.assertIn(("-", "<unseeded-key>", "-", "-", "Sid-as-string"), rows)
        self.assertIn(("-", "-", "ERROR", "plain string", "-"), rows)
        self.assertIn(("- (config)", "-", "-", "-", "-"), rows)
        self.assertEqual(self.rows("nonsense", "nonsense")[0][2], "ERROR")

    def test_empty_scan(self):
        rows = self.rows({"compliance": "COMPLIANT", "reports": [], "errors": []}, None)
        self.assertEqual(rows, [("(scan)", "-", "COMPLIANT", "no key reports", "-")])

    def test_extra_names(self):
        rows = demo_table.build_rows(SEED, {"errors": [{"key": K3, "message": "x"}]}, None,
                                     {"K3": K3.rsplit("/", 1)[1]})
        self.assertEqual(rows, [("-", "K3", "ERROR", "x", "-")])

    def test_long_cells_are_cut(self):
        scan = {"reports": [{"key": K1, "compliance": "NON_COMPLIANT", "resources": [T1],
                             "findings": [{"id": "X", "message": "m" * 500, "fix": None}]}]}
        row = self.rows(scan, None)[0]
        self.assertEqual(len(row[3]), demo_table.MAX_CELL)
        self.assertTrue(row[3].endswith("..."))


class Cli(unittest.TestCase):
    def run_main(self, files, extra_args=()):
        with tempfile.TemporaryDirectory() as d:
            args = []
            for flag, content in files.items():
                path = os.path.join(d, flag + ".json")
                with open(path, "w") as f:
                    f.write(content if isinstance(content, str) else json.dumps(content))
                args += [f"--{flag}", path]
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                rc = demo_table.main(args + list(extra_args))
            return rc, out.getvalue()

    def test_table(self):
        rc, out = self.run_main({"seed": SEED, "scan": SCAN, "replay": REPLAY})
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(" | ")[0].strip(), "resource")
        self.assertEqual([c.strip() for c in lines[0].split("|")],
                         ["resource", "key", "compliance", "first finding", "fix hint"])
        self.assertTrue(set(lines[1]) <= {"-", "+"})
        self.assertIn("overall (scan): NON_COMPLIANT", out)

    def test_name_option(self):
        rc, out = self.run_main({"seed": SEED, "scan": {"errors": [{"key": K3, "message": "x"}]}},
                                ["--name", f"third={K3}"])
        self.assertEqual(rc, 0)
        self.assertIn("third", out)

    def test_unreadable_scan_is_an_error_row(self):
        rc, out = self.run_main({"seed": SEED, "scan": "", "replay": "{not json"})
        self.assertEqual(rc, 0)
        self.assertIn("scan output is empty", out)
        self.assertIn("replay output is not JSON", out)
        self.assertNotIn("no key reports", out)


if __name__ == "__main__":
    unittest.main()
