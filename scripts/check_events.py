#!/usr/bin/env python3
"""Checks the sample AWS Config rule events under events/ are well formed.

Usage: scripts/check_events.py [EVENTS_DIR]     (default: events/ next to this script's parent)

For every events/*.json: the outer event is a JSON object shaped like the payload AWS Config
sends a custom Lambda rule; `invokingEvent` and `ruleParameters` are strings holding JSON
objects; a configuration item's `supplementaryConfiguration.Policy`, when present, is a string
holding a key policy equal to one of events/policies/*.json.
For events/bad/*.json only the outer event is checked: those files are broken on purpose, one
layer further in. Exits 1 if anything is wrong, listing every problem.
"""
import json
import sys
from pathlib import Path

# Field -> type every event must carry (aws_lambda_events ConfigEvent; eventLeftScope is required).
OUTER_FIELDS = {
    "version": str,
    "invokingEvent": str,
    "ruleParameters": str,
    "resultToken": str,
    "eventLeftScope": bool,
    "executionRoleArn": str,
    "configRuleArn": str,
    "configRuleName": str,
    "configRuleId": str,
    "accountId": str,
    "evaluationMode": str,
}
MESSAGE_TYPES = {
    "ConfigurationItemChangeNotification",
    "OversizedConfigurationItemChangeNotification",
    "ScheduledNotification",
}
CI_FIELDS = (
    "configurationItemVersion",
    "configurationItemCaptureTime",
    "configurationStateId",
    "awsAccountId",
    "configurationItemStatus",
    "resourceType",
    "resourceId",
    "ARN",
    "awsRegion",
)


def load_json(text, what, problems):
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        problems.append(f"{what} is not JSON: {err}")
        return None


def check_outer(path, problems):
    event = load_json(path.read_text(encoding="utf-8"), "the file", problems)
    if event is None:
        return None
    if not isinstance(event, dict):
        problems.append("the event is not a JSON object")
        return None
    for field, kind in OUTER_FIELDS.items():
        if field not in event:
            problems.append(f"`{field}` is missing")
        elif not isinstance(event[field], kind):
            problems.append(f"`{field}` is not a {kind.__name__}")
    return event


def check_item(item, where, policies, problems):
    if not isinstance(item, dict):
        problems.append(f"{where} is not an object")
        return
    for field in CI_FIELDS:
        if field not in item:
            problems.append(f"{where}.{field} is missing")
    supplementary = item.get("supplementaryConfiguration")
    if not isinstance(supplementary, dict) or "Policy" not in supplementary:
        return
    text = supplementary["Policy"]
    if not isinstance(text, str):
        problems.append(f"{where}.supplementaryConfiguration.Policy is not a string")
        return
    policy = load_json(text, f"{where}.supplementaryConfiguration.Policy", problems)
    if policy is not None and policy not in policies:
        problems.append(f"{where}.supplementaryConfiguration.Policy matches no events/policies/*.json")


def check_event(path, policies, problems):
    event = check_outer(path, problems)
    if event is None:
        return
    params = load_json(event.get("ruleParameters", ""), "`ruleParameters`", problems)
    if params is not None and not isinstance(params, dict):
        problems.append("`ruleParameters` is not a JSON object")
    invoking = load_json(event.get("invokingEvent", ""), "`invokingEvent`", problems)
    if invoking is None:
        return
    if not isinstance(invoking, dict):
        problems.append("`invokingEvent` is not a JSON object")
        return
    message_type = invoking.get("messageType")
    if message_type not in MESSAGE_TYPES:
        problems.append(f"`invokingEvent.messageType` `{message_type}` is not one AWS Config sends a rule")
    if message_type == "ConfigurationItemChangeNotification":
        check_item(invoking.get("configurationItem"), "`invokingEvent.configurationItem`", policies, problems)
    elif message_type == "OversizedConfigurationItemChangeNotification":
        check_item(invoking.get("configurationItemSummary"), "`invokingEvent.configurationItemSummary`", policies, problems)


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "events"
    failures = {}
    policies = []
    for path in sorted((root / "policies").glob("*.json")):
        problems = []
        policy = load_json(path.read_text(encoding="utf-8"), "the file", problems)
        if policy is not None and not (isinstance(policy, dict) and isinstance(policy.get("Statement"), list)):
            problems.append("not a policy document with a `Statement` list")
        if problems:
            failures[path] = problems
        else:
            policies.append(policy)
    events = sorted(root.glob("*.json"))
    bad = sorted((root / "bad").glob("*.json"))
    if not events:
        failures[root] = ["no events found"]
    for path in events:
        problems = []
        check_event(path, policies, problems)
        if problems:
            failures[path] = problems
    for path in bad:
        problems = []
        check_outer(path, problems)
        if problems:
            failures[path] = problems
    for path, problems in failures.items():
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
    if failures:
        return 1
    print(f"{len(events)} events, {len(bad)} malformed events, {len(policies)} policies: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
