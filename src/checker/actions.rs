//! The KMS actions the lint names, and which of them an `Action`/`NotAction` element covers, as
//! a bit set: worked out once per distinct pattern instead of matching every action against
//! every pattern of every statement.

use crate::policy::{ActionElement, Pattern};

/// Every KMS action the lint names, in report order: first the `CONTEXT_COUNT` that carry an
/// encryption context (seed 004: "Use encryption context conditions keys only when the action
/// ... is CreateGrant or an AWS KMS symmetric cryptographic operation"), then those without.
const ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
    // No encryption context from here on.
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:GetPublicKey",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:ListAliases",
    "kms:ListKeyRotations",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
    "kms:ReplicateKey",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:Sign",
    "kms:Verify",
    "kms:GenerateMac",
    "kms:VerifyMac",
    "kms:DeriveSharedSecret",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
];

/// What CloudTrail needs (seed 001): GenerateDataKey*, DescribeKey, Decrypt.
const CLOUDTRAIL_ACTIONS: &[&str] = &[
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:DescribeKey",
    "kms:Decrypt",
];

/// The prefix of every action above (a test checks it).
const SERVICE: &str = "kms:";

/// How many of `ACTIONS` (the first ones) carry an encryption context.
const CONTEXT_COUNT: usize = 9;

// A bad count fails to compile (const evaluation), it cannot panic.
const NON_CONTEXT_ACTIONS: &[&str] = ACTIONS.split_at(CONTEXT_COUNT).1;

// INVARIANT: `KmsActions` keeps one bit per action of `ACTIONS` in a u64.
const _: () = assert!(ACTIONS.len() <= 64);

const fn same(mut a: &[u8], mut b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    while let ([x, xs @ ..], [y, ys @ ..]) = (a, b) {
        if *x != *y {
            return false;
        }
        (a, b) = (xs, ys);
    }
    true
}

const fn contains(mut list: &[&str], action: &str) -> bool {
    while let [first, rest @ ..] = list {
        if same(first.as_bytes(), action.as_bytes()) {
            return true;
        }
        list = rest;
    }
    false
}

/// The bits of `ACTIONS` whose action is in `list` (a const fn: no table building at run time).
const fn bits_of(list: &[&str]) -> u64 {
    let mut actions = ACTIONS;
    let mut bits = 0u64;
    let mut i = 0;
    while let [action, rest @ ..] = actions {
        if contains(list, action) {
            bits |= 1 << i;
        }
        actions = rest;
        i += 1;
    }
    bits
}

/// A set of the KMS actions above (bit i: `ACTIONS[i]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct KmsActions(u64);

impl KmsActions {
    const ALL: Self = Self(bits_of(ACTIONS));
    const NON_CONTEXT: Self = Self(bits_of(NON_CONTEXT_ACTIONS));
    const CLOUDTRAIL: Self = Self(bits_of(CLOUDTRAIL_ACTIONS));

    fn matching(hit: impl Fn(&str) -> bool) -> Self {
        Self(
            ACTIONS
                .iter()
                .enumerate()
                .fold(0, |bits, (i, a)| if hit(a) { bits | 1 << i } else { bits }),
        )
    }

    /// The actions `pattern` matches, exactly as `Pattern::matches` decides.
    pub(super) fn matched_by(pattern: &Pattern) -> Self {
        if pattern.is_match_all() {
            return Self::ALL;
        }
        let text = pattern.as_str();
        if !text.is_ascii() {
            return Self::matching(|a| pattern.matches(a));
        }
        // Action patterns match case-insensitively; an ASCII one compares bytes ignoring ASCII
        // case, so the usual literal and `prefix*` shapes need no glob matching.
        let (head, prefix) = match text.find(['*', '?']) {
            None => (text, false),
            Some(n) if n + 1 == text.len() && text.ends_with('*') => {
                (text.get(..n).unwrap_or(""), true)
            }
            Some(_) => return Self::matching(|a| pattern.matches(a)),
        };
        let (head, service) = (head.as_bytes(), SERVICE.as_bytes());
        // Every action starts with `kms:`: compare that part once, then only the names.
        let name = match head.split_at_checked(service.len()) {
            Some((h, name)) if h.eq_ignore_ascii_case(service) => name,
            // Shorter than `kms:`, or different in it: a prefix of `kms:` covers everything.
            _ => {
                let covers_all = prefix
                    && service
                        .get(..head.len())
                        .is_some_and(|s| s.eq_ignore_ascii_case(head));
                return if covers_all {
                    Self::ALL
                } else {
                    Self::default()
                };
            }
        };
        let end = service.len() + name.len();
        Self::matching(|a| {
            let a = a.as_bytes();
            // A literal matches only an action of its length.
            (prefix || a.len() == end)
                && a.get(service.len()..end)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The actions other than CloudTrail's.
    pub(super) fn beyond_cloudtrail(self) -> Self {
        Self(self.0 & !Self::CLOUDTRAIL.0)
    }

    /// The actions without an encryption context.
    pub(super) fn non_context(self) -> Self {
        Self(self.0 & Self::NON_CONTEXT.0)
    }

    /// True when no action is in the set.
    pub(super) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many actions are in the set.
    pub(super) fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The actions in the set, in report order (lowest bit first).
    pub(super) fn names(self) -> impl Iterator<Item = &'static str> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            ACTIONS.get(i)
        })
        .copied()
    }
}

impl std::ops::BitOr for KmsActions {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// `KmsActions::matched_by` remembered for the first few distinct patterns: statements repeat
/// the same handful, and a short list (no hashing) keeps a lookup cheap and bounded.
#[derive(Debug, Default)]
pub(super) struct PatternMemo<'a> {
    seen: Vec<(&'a Pattern, KmsActions)>,
}

impl<'a> PatternMemo<'a> {
    /// Beyond this many distinct patterns, `matched_by` (cheap for the usual shapes) is not
    /// remembered, so a policy with many distinct patterns stays linear.
    const CAPACITY: usize = 16;

    /// The actions `pattern` matches.
    pub(super) fn pattern(&mut self, pattern: &'a Pattern) -> KmsActions {
        if let Some((_, bits)) = self.seen.iter().find(|(p, _)| *p == pattern) {
            return *bits;
        }
        let bits = KmsActions::matched_by(pattern);
        if self.seen.len() < Self::CAPACITY {
            self.seen.push((pattern, bits));
        }
        bits
    }

    /// The actions an `Action`/`NotAction` element covers (`ActionElement::matches`).
    pub(super) fn element(&mut self, element: &'a ActionElement) -> KmsActions {
        let named = element
            .patterns()
            .iter()
            .fold(KmsActions::default(), |bits, p| bits | self.pattern(p));
        match element {
            ActionElement::Action(_) => named,
            ActionElement::NotAction(_) => KmsActions(KmsActions::ALL.0 & !named.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slow definition: every action through `Pattern::matches`.
    fn slow(p: &Pattern) -> KmsActions {
        KmsActions::matching(|a| p.matches(a))
    }

    #[test]
    fn matched_by_is_pattern_matches() {
        let patterns = [
            "*",
            "**",
            "kms:*",
            "KMS:*",
            "kms:Decrypt",
            "KMS:DECRYPT",
            "kms:decrypt",
            "kms:Decrypt*",
            "kms:GenerateDataKey*",
            "kms:generatedatakeypair*",
            "kms:Describe*",
            "kms:Describe**",
            "kms:*Key",
            "kms:*crypt*",
            "kms:?ecrypt",
            "kms:Gen?rateDataKey*",
            "k*",
            "k*:*",
            "*:*",
            "*:Decrypt",
            "?ms:*",
            "km*",
            "kms*",
            "kms:",
            "kms",
            "s3:*",
            "s3:GetObject",
            "kms:Sign",
            "kms:SignX",
            "kms:DecryptX*",
            "\u{212a}ms:Decrypt",
            "\u{212a}ms:*",
            "kms:Décrypt",
            "KMS:gEnErAtEdAtAkEyPaIr",
            "kms:ReEncrypt",
            "kms:ReEncrypt*",
            "kmsX*",
            "kms;*",
            "K*",
            "KM",
            "kMs:*",
            "kms:GenerateDataKeyPairWithoutPlaintext*",
            "kms:GenerateDataKeyPairWithoutPlaintextX",
            "kms:D\u{e9}*",
            "",
        ];
        for text in patterns {
            // Action patterns are parsed case-insensitive.
            let p = Pattern::new(text, true);
            assert_eq!(KmsActions::matched_by(&p), slow(&p), "`{text}`");
        }
    }

    #[test]
    fn tables() {
        assert_eq!(ACTIONS.len(), 41);
        assert!(ACTIONS
            .iter()
            .all(|a| a.starts_with(SERVICE) && a.is_ascii()));
        assert_eq!(ACTIONS.get(CONTEXT_COUNT - 1), Some(&"kms:CreateGrant"));
        let names = |a: KmsActions| a.names().collect::<Vec<_>>();
        assert_eq!(
            names(KmsActions::CLOUDTRAIL),
            [
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:GenerateDataKeyPair",
                "kms:GenerateDataKeyPairWithoutPlaintext",
                "kms:DescribeKey"
            ]
        );
        assert_eq!(names(KmsActions::NON_CONTEXT), NON_CONTEXT_ACTIONS);
        assert_eq!(names(KmsActions::ALL), ACTIONS);
        assert_eq!(KmsActions::ALL.len(), 41);
    }

    #[test]
    fn memo_and_not_action() {
        let mut memo = PatternMemo::default();
        let el = ActionElement::NotAction(vec![Pattern::new("kms:*", true)]);
        assert!(memo.element(&el).is_empty());
        let el = ActionElement::NotAction(vec![Pattern::new("kms:Decrypt", true)]);
        assert_eq!(memo.element(&el).len(), 40);
        let el = ActionElement::Action(vec![
            Pattern::new("kms:Decrypt", true),
            Pattern::new("kms:Sign", true),
        ]);
        let named: Vec<_> = memo.element(&el).names().collect();
        assert_eq!(named, ["kms:Decrypt", "kms:Sign"]);
    }
}
