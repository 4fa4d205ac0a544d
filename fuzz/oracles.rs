//! What the fuzz targets check, one function per target. Shared (via `#[path]`) by
//! `fuzz/fuzz_targets/*.rs` and `tests/fuzz_regressions.rs`, which replays every input the
//! fuzzers found (`tests/fixtures/fuzz/<target>/*`) on a normal `cargo test`.
//!
//! Each function panics exactly when trailkey panics or breaks the property it checks.

use regex::Regex;
use trailkey::checker::{
    check, check_text, fix_policy, CheckInput, Compliance, FindingId, Severity, Trail,
};
use trailkey::policy::value::split_arn;
use trailkey::policy::{ArnPattern, Pattern, Policy, PolicyError};
use trailkey::rule::{self, KeyFacts, Message, RuleParameters};

const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/k";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events";
const EDS: &str = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/e";
const READER: &str = "arn:aws:iam::111111111111:role/LogReader";

/// Findings that `fix_policy` promises to resolve by adding statements.
const ACCESS: &[FindingId] = &[
    FindingId::EncryptDenied,
    FindingId::DescribeDenied,
    FindingId::ServiceDecryptDenied,
    FindingId::ReaderDenied,
    FindingId::NoLogReader,
];

/// The first byte picks the check input, the rest is the policy text.
fn check_input(flags: u8) -> CheckInput {
    let mut input = CheckInput::new(KEY);
    input.trails.push(Trail {
        arn: TRAIL.into(),
        bucket: (flags & 1 != 0).then(|| "trailkey-logs".to_string()),
        ..Default::default()
    });
    input.bucket_key = flags & 2 != 0;
    if flags & 4 != 0 {
        input.readers.push(READER.into());
    }
    if flags & 8 != 0 {
        input.event_data_stores.push(EDS.into());
    }
    if flags & 16 != 0 {
        input.allowed_accounts.push("111111111111".into());
    }
    if flags & 32 != 0 {
        input.identity_policies = Some(Vec::new());
    }
    if flags & 64 != 0 {
        input.trails.push(Trail {
            arn: "arn:aws:cloudtrail:eu-west-1:222222222222:trail/org".into(),
            bucket: None,
            ..Default::default()
        });
    }
    input.strict = flags & 128 != 0;
    input
}

/// Target `policy_check`: parse + full check never panics, and the report agrees with itself.
pub fn policy_check(data: &[u8]) {
    let (flags, text) = match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(text);
    let input = check_input(flags);
    let report = check_text(&text, &input);

    assert_eq!(report.key, input.key_arn);
    let failing = report.findings.iter().any(|f| {
        f.severity == Severity::Error || (input.strict && f.severity == Severity::Warning)
    });
    assert_eq!(report.compliance == Compliance::NonCompliant, failing);
    let invalid = report
        .findings
        .iter()
        .filter(|f| f.id == FindingId::PolicyInvalid)
        .count();

    let policy = match Policy::parse(&text) {
        Err(e) => {
            // An unreadable policy is one POLICY_INVALID error, never a pass.
            assert_eq!(invalid, 1, "{report:#?}");
            assert_eq!(report.compliance, Compliance::NonCompliant);
            assert!(e.path().is_empty() || e.path().starts_with('/'), "{e:?}");
            return;
        }
        Ok(p) => p,
    };
    assert_eq!(invalid, 0, "{report:#?}");
    assert_eq!(check(&policy, &input), report);

    // The document the policy keeps reads back as the same policy.
    let again = policy.document.to_string();
    match Policy::parse(&again) {
        Ok(p) => {
            assert_eq!(p.statements.len(), policy.statements.len());
            assert_eq!(check(&p, &input), report, "re-parsed: {again}");
        }
        // serde_json may print a number longer than it was written (`1e2` → `100.0`).
        Err(PolicyError::TooLarge { .. }) => {}
        Err(e) => panic!("the kept document does not parse again: {e}\n{again}"),
    }

    // The fixed policy parses, keeps every statement, and leaves no fixable access error.
    let outcome = fix_policy(&policy, &input);
    let fixed_text = outcome.document.to_string();
    let fixed = match Policy::parse(&fixed_text) {
        Ok(p) => p,
        Err(PolicyError::TooLarge { .. }) => return,
        Err(e) => panic!("fixed policy does not parse: {e}\n{fixed_text}"),
    };
    assert_eq!(
        fixed.statements.len(),
        policy.statements.len() + outcome.added.len()
    );
    let after = check(&fixed, &input);
    let left: Vec<_> = after
        .findings
        .iter()
        .filter(|f| ACCESS.contains(&f.id) && f.severity == Severity::Error)
        .filter(|f| {
            !outcome
                .unfixable
                .iter()
                .any(|u| u.id == f.id && u.resource == f.resource)
        })
        .collect();
    assert!(
        left.is_empty(),
        "errors remain after fix: {left:#?}\n{fixed_text}"
    );
}

/// Target `invoking_event`: decoding what Config sends never panics; what decodes is usable.
pub fn invoking_event(data: &[u8]) {
    let text = String::from_utf8_lossy(data);

    match RuleParameters::parse(Some(&text)) {
        Ok(p) => {
            assert!(p
                .allowed_accounts
                .iter()
                .all(|a| trailkey::policy::is_account_id(a)));
            // Written back in canonical form, the parameters read the same.
            let canonical = serde_json::json!({
                "readers": p.readers,
                "allowedAccounts": p.allowed_accounts,
                "expectedTrails": p.expected_trails,
                "strict": p.strict,
                "bucketKey": p.bucket_key,
                "allowUnencryptedTrails": p.allow_unencrypted_trails,
                "suppress": p.suppress.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "ExecutionRoleName": p.execution_role_name.clone().unwrap_or_default(),
            })
            .to_string();
            assert_eq!(RuleParameters::parse(Some(&canonical)), Ok(p));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }

    let message = match rule::decode_invoking_event(&text) {
        Ok(m) => m,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let Message::Change(item) = message else {
        return;
    };
    let _ = rule::is_out_of_scope(&item.status, false);
    let Ok(facts) = rule::key_facts_from_item(&item) else {
        return;
    };
    let facts = KeyFacts {
        trails: vec![Trail {
            arn: TRAIL.into(),
            bucket: None,
            ..Default::default()
        }],
        ..facts
    };
    let evaluation = rule::evaluate_key(
        &facts,
        &item.resource_id,
        &RuleParameters::default(),
        &item.capture_time,
    );
    let chars = evaluation.annotation.chars().count();
    assert!(
        (1..=rule::MAX_ANNOTATION).contains(&chars),
        "{evaluation:?}"
    );
    assert_eq!(evaluation.resource_id, item.resource_id);
}

/// `^...$` regex for an IAM wildcard pattern: `*` any run, `?` one character; pieces marked
/// literal have no wildcards.
fn wildcard_regex(pieces: &[(String, bool)], case_insensitive: bool) -> Option<Regex> {
    let mut re = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    for (text, live) in pieces {
        for c in text.chars() {
            match c {
                '*' if *live => re.push_str(".*"),
                '?' if *live => re.push('.'),
                other => re.push_str(&regex::escape(&other.to_string())),
            }
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

/// `Arn*` reference: split both sides into six components (the last keeps its colons) and
/// match each one; a value that is not an ARN is matched whole.
fn arn_reference(pattern: &str, arn: &str) -> Option<bool> {
    match (split_arn(pattern), split_arn(arn)) {
        (Some(p), Some(a)) => {
            let mut all = true;
            for (pc, ac) in p.iter().zip(a.iter()) {
                all &= wildcard_regex(&[(pc.to_string(), true)], false)?.is_match(ac);
            }
            Some(all)
        }
        (Some(_), None) => Some(false),
        (None, _) if pattern.starts_with("arn:") => Some(false),
        (None, _) => Some(wildcard_regex(&[(pattern.to_string(), true)], false)?.is_match(arn)),
    }
}

/// Target `wildcard`: `Pattern` and `ArnPattern` agree with regexes built from the same pattern.
///
/// Input: one flag byte, then `pattern NUL text`. `\u{1}` in the pattern splits it into
/// segments; the flag byte's bits say which segments are literal (resolved policy variables).
pub fn wildcard(data: &[u8]) {
    let (flags, rest) = match data.split_first() {
        Some((f, rest)) => (*f, rest),
        None => (0, data),
    };
    let rest = String::from_utf8_lossy(rest);
    let (pattern, text) = rest.split_once('\0').unwrap_or((&rest, ""));
    let whole: String = pattern.split('\u{1}').collect();
    let pieces: Vec<(String, bool)> = pattern
        .split('\u{1}')
        .enumerate()
        .map(|(i, s)| (s.to_string(), (flags >> (i % 8)) & 1 == 0))
        .collect();

    // Case-sensitive (StringLike, Resource), all segments live. Regexes are built only where
    // they differ: compiling them is most of the target's time.
    let Some(re) = wildcard_regex(&[(whole.clone(), true)], false) else {
        return;
    };
    let expected = re.is_match(text);
    let p = Pattern::new(&whole, false);
    assert_eq!(p.matches(text), expected, "{whole:?} vs {text:?}");
    assert_eq!(p.as_str(), whole);
    let live: Vec<(&str, bool)> = pieces.iter().map(|(s, _)| (s.as_str(), true)).collect();
    let split = Pattern::from_segments(live, false);
    assert_eq!(split.matches(text), expected, "split {pieces:?}");
    // With literal segments.
    let literal = if pieces.iter().all(|(_, l)| *l) {
        Some(expected)
    } else {
        wildcard_regex(&pieces, false).map(|r| r.is_match(text))
    };
    if let Some(expected) = literal {
        let p = Pattern::from_segments(pieces.iter().map(|(s, l)| (s.as_str(), *l)), false);
        assert_eq!(p.matches(text), expected, "{pieces:?} vs {text:?}");
    }
    // Case-insensitive (Action): both sides lowercased, then matched.
    let lower = whole.to_lowercase();
    let folded = if lower == whole {
        Some(re.is_match(&text.to_lowercase()))
    } else {
        wildcard_regex(&[(lower, true)], false).map(|r| r.is_match(&text.to_lowercase()))
    };
    if let Some(expected) = folded {
        let p = Pattern::new(&whole, true);
        assert_eq!(p.matches(text), expected, "ci {whole:?} vs {text:?}");
        if whole.is_ascii() && text.is_ascii() {
            let ci = wildcard_regex(&[(whole.clone(), true)], true);
            assert_eq!(ci.map(|r| r.is_match(text)), Some(expected));
        }
    }
    // ArnLike: component by component.
    if let Some(expected) = arn_reference(&whole, text) {
        assert_eq!(
            ArnPattern::new(&whole).matches(text),
            expected,
            "arn {whole:?} vs {text:?}"
        );
        let live: Vec<(&str, bool)> = pieces.iter().map(|(s, _)| (s.as_str(), true)).collect();
        assert_eq!(
            ArnPattern::from_segments(live).matches(text),
            expected,
            "arn split {pieces:?} vs {text:?}"
        );
    }
}

/// Target `symbolic`: the exact engine's answers check themselves against the concrete one.
///
/// Input: one flag byte, 16 sample bytes, then the policy text. The set is CloudTrail's
/// GenerateDataKey for a trail of any account and name (and, with flag bit 0, any log object
/// under any bucket). Every witness must get the claimed decision from `evaluate`; when the
/// answer claims "all" or "none", requests built from the sample bytes must agree.
pub fn symbolic(data: &[u8]) {
    use trailkey::eval::evaluate;
    use trailkey::eval::symbolic::{solve, DomainKind, SymPrincipal, SymRequest, SymText};

    let Some((flags, rest)) = data.split_first() else {
        return;
    };
    let (seed, text) = rest.split_at(rest.len().min(16));
    let Ok(policy) = Policy::parse(&String::from_utf8_lossy(text)) else {
        return;
    };
    let mut set = SymRequest::new(
        SymPrincipal::Service("cloudtrail.amazonaws.com".into()),
        "kms:GenerateDataKey",
        KEY,
    );
    let account = set.var("trail account", DomainKind::account(), false);
    let name = set.var("trail name", DomainKind::regex("[a-z0-9]{1,8}"), false);
    let arn = SymText::lit("arn:aws:cloudtrail:us-east-1:")
        .then(account)
        .text(":trail/")
        .then(name);
    set.set("aws:sourcearn", arn.clone());
    set.set("aws:sourceaccount", SymText::var(account));
    set.set("kms:encryptioncontext:aws:cloudtrail:arn", arn);
    let object =
        (flags & 1 != 0).then(|| set.var("object", DomainKind::regex("[a-z0-9/]{1,12}"), false));
    if let Some(o) = object {
        set.set(
            "kms:encryptioncontext:aws:s3:arn",
            SymText::lit("arn:aws:s3:::").then(o),
        );
    }
    let Ok(answer) = solve(&policy, &set, None, |_, d| d.is_allowed()) else {
        return;
    };
    if let Some(w) = &answer.holds {
        assert!(evaluate(&policy, &w.request, None).is_allowed(), "{w:?}");
    }
    if let Some(w) = &answer.fails {
        assert!(!evaluate(&policy, &w.request, None).is_allowed(), "{w:?}");
    }
    assert!(answer.holds.is_some() || answer.fails.is_some());
    // Samples: an account from the first 12 bytes, a name and object from the rest.
    let digits: String = seed
        .iter()
        .take(12)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    if digits.len() < 12 {
        return;
    }
    let alnum = |bytes: &[u8]| -> String {
        bytes
            .iter()
            .map(|b| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[usize::from(*b % 36)]))
            .collect()
    };
    let tail = seed.get(12..).unwrap_or_default();
    let name_value = if tail.is_empty() {
        "a".to_string()
    } else {
        alnum(tail)
    };
    let mut values = vec![Some(digits), Some(name_value.clone())];
    if object.is_some() {
        values.push(Some(name_value));
    }
    let Some(request) = set.instantiate(&values) else {
        return;
    };
    let allowed = evaluate(&policy, &request, None).is_allowed();
    if answer.all() {
        assert!(allowed, "claimed all, but {request:?} is denied");
    }
    if answer.none() {
        assert!(!allowed, "claimed none, but {request:?} is allowed");
    }
}
