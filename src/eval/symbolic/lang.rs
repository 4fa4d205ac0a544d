//! String variables as regular languages: which values of a variable can a policy tell apart?
//!
//! Every string test IAM makes on a request value (`StringEquals`, `StringLike`, the `Arn*`
//! operators, `IgnoreCase`) is a regular language over the value, and the variable may sit
//! anywhere inside the value, possibly more than once (`aws:s3:arn` holds the account twice).
//! What one pattern can observe of a piece `w` of the value is the relation "NFA state before `w`
//! → states after `w`". Two values with the same relation for every pattern are interchangeable
//! in every request, wherever they are embedded, so one representative per distinct tuple of
//! relations covers the whole domain exactly. A breadth-first search over (domain state,
//! relation tuple) finds every reachable tuple and, for each, the shortest value that produces
//! it; the search is bounded, and past the bound the caller answers "undecided".

use regex_automata::dfa::{dense, Automaton};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;
use std::collections::{HashSet, VecDeque};

/// One step of an IAM wildcard pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// One literal character (already folded when the pattern ignores case).
    Char(char),
    /// `?`: one character; `false` = any, `true` = any but `:`.
    One(bool),
    /// `*`: any run of characters; `true` = the run may not contain `:`.
    Star(bool),
}

/// A pattern compiled for the relation search: states `0..=steps.len()`, accepting the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    steps: Vec<Step>,
    fold: bool,
    /// Matches nothing (an `Arn*` value that starts with `arn:` but has too few components).
    empty: bool,
}

/// Patterns longer than this make the search "undecided" (relations are 128-bit rows).
const MAX_STATES: usize = 128;

impl Glob {
    /// `StringEquals`: every character literal.
    pub(crate) fn literal(text: &str, fold: bool) -> Self {
        Self {
            steps: text
                .chars()
                .map(|c| Step::Char(fold_char(c, fold)))
                .collect(),
            fold,
            empty: false,
        }
    }

    /// `StringLike`: `*` and `?` live. `literal` marks the characters (substituted policy
    /// variables, `${*}`) that are literal.
    pub(crate) fn like(pieces: &[(String, bool)]) -> Self {
        let mut steps = Vec::new();
        for (text, live) in pieces {
            push_glob(&mut steps, text, *live, false);
        }
        Self {
            steps,
            fold: false,
            empty: false,
        }
    }

    /// The `Arn*` operators: the value is split into six `:`-separated components and each is
    /// matched on its own, so wildcards in the first five components never cross a `:`. A value
    /// not shaped like an ARN is matched as a whole, as IAM does.
    pub(crate) fn arn(pieces: &[(String, bool)]) -> Self {
        let whole: String = pieces.iter().map(|(t, _)| t.as_str()).collect();
        if crate::policy::value::split_arn(&whole).is_none() {
            if whole.starts_with("arn:") {
                return Self {
                    steps: Vec::new(),
                    fold: false,
                    empty: true,
                };
            }
            return Self::like(pieces);
        }
        let mut steps = Vec::new();
        let mut colons = 0usize;
        for (text, live) in pieces {
            for c in text.chars() {
                let in_component = colons < 5;
                match c {
                    ':' if in_component => {
                        colons += 1;
                        steps.push(Step::Char(':'));
                    }
                    '*' if *live => steps.push(Step::Star(in_component)),
                    '?' if *live => steps.push(Step::One(in_component)),
                    c => steps.push(Step::Char(c)),
                }
            }
        }
        Self {
            steps,
            fold: false,
            empty: false,
        }
    }

    fn states(&self) -> usize {
        self.steps.len() + 1
    }

    /// The literal characters the pattern can tell apart from others.
    fn letters(&self, out: &mut Vec<char>) {
        for s in &self.steps {
            if let Step::Char(c) = s {
                out.push(*c);
                if self.fold {
                    out.extend(c.to_uppercase());
                }
            }
        }
        out.push(':');
    }

    /// The closure of `{state}` under `*`'s empty match.
    fn closure(&self, mut state: usize) -> u128 {
        let mut set = 0u128;
        loop {
            set |= 1u128 << state;
            match self.steps.get(state) {
                Some(Step::Star(_)) => state += 1,
                _ => return set,
            }
        }
    }

    /// States reached from `state` on `c`, closed.
    fn step(&self, state: usize, c: char) -> u128 {
        let c = fold_char(c, self.fold);
        match self.steps.get(state) {
            Some(Step::Char(p)) if *p == c => self.closure(state + 1),
            Some(Step::One(no_colon)) if !(*no_colon && c == ':') => self.closure(state + 1),
            Some(Step::Star(no_colon)) if !(*no_colon && c == ':') => self.closure(state),
            _ => 0,
        }
    }

    /// Does the whole text match?
    #[cfg(test)]
    fn matches(&self, text: &str) -> bool {
        if self.empty {
            return false;
        }
        let mut set = self.closure(0);
        for c in text.chars() {
            let mut next = 0;
            for s in 0..self.states() {
                if set & (1u128 << s) != 0 {
                    next |= self.step(s, c);
                }
            }
            set = next;
        }
        set & (1u128 << self.steps.len()) != 0
    }
}

fn fold_char(c: char, fold: bool) -> char {
    if fold {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

fn push_glob(steps: &mut Vec<Step>, text: &str, live: bool, no_colon: bool) {
    for c in text.chars() {
        match c {
            '*' if live => steps.push(Step::Star(no_colon)),
            '?' if live => steps.push(Step::One(no_colon)),
            c => steps.push(Step::Char(c)),
        }
    }
}

/// A variable's domain: a regular expression over printable ASCII, e.g. `[0-9]{12}`.
#[derive(Debug)]
pub(crate) struct Domain {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
    /// One character of each class of characters the domain treats alike is enough for the
    /// characters no pattern names.
    spare: Vec<char>,
}

/// Why a class search gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooBig(pub(crate) String);

impl Domain {
    /// Compiles `regex` (ASCII, anchored at both ends).
    pub(crate) fn new(regex: &str) -> Result<Self, TooBig> {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(regex_automata::dfa::StartKind::Anchored)
                    .minimize(false),
            )
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .unicode(false)
                    .utf8(false),
            )
            .build(&format!(r"(?:{regex})\z"))
            .map_err(|e| TooBig(format!("domain `{regex}`: {e}")))?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .map_err(|e| TooBig(format!("domain `{regex}`: {e}")))?;
        // One byte of each class of bytes the DFA never tells apart, printable ASCII only.
        let mut spare = Vec::new();
        let classes = dfa.byte_classes();
        let mut seen = Vec::new();
        for b in 0x20u8..0x7f {
            let class = classes.get(b);
            if !seen.contains(&class) {
                seen.push(class);
                spare.push(char::from(b));
            }
        }
        Ok(Self { dfa, start, spare })
    }

    fn next(&self, state: StateID, c: char) -> Option<StateID> {
        let b = u8::try_from(u32::from(c)).ok().filter(u8::is_ascii)?;
        let s = self.dfa.next_state(state, b);
        (!self.dfa.is_dead_state(s) && !self.dfa.is_quit_state(s)).then_some(s)
    }

    fn accepts(&self, state: StateID) -> bool {
        self.dfa.is_match_state(self.dfa.next_eoi_state(state))
    }

    /// Does the domain hold `text`?
    #[cfg(test)]
    pub(crate) fn contains(&self, text: &str) -> bool {
        let mut s = self.start;
        for c in text.chars() {
            match self.next(s, c) {
                Some(n) => s = n,
                None => return false,
            }
        }
        self.accepts(s)
    }
}

/// The most (domain state, relations) pairs one class search may visit.
const MAX_VISITS: usize = 40_000;

/// One value per class of values that `globs` cannot tell apart, shortest first; every value is
/// in `domain`. `Err` when the search exceeds its budget.
pub(crate) fn representatives(domain: &Domain, globs: &[Glob]) -> Result<Vec<String>, TooBig> {
    if let Some(g) = globs.iter().find(|g| g.states() > MAX_STATES) {
        return Err(TooBig(format!(
            "a pattern of {} characters is beyond the search's limit",
            g.states() - 1
        )));
    }
    let mut letters: Vec<char> = domain.spare.clone();
    for g in globs {
        g.letters(&mut letters);
    }
    letters.retain(char::is_ascii);
    letters.sort_unstable();
    letters.dedup();

    // Per glob, per state, per letter: the closed successor set.
    let tables: Vec<Vec<Vec<u128>>> = globs
        .iter()
        .map(|g| {
            (0..g.states())
                .map(|s| letters.iter().map(|&c| g.step(s, c)).collect())
                .collect()
        })
        .collect();
    // The identity relation, closed: row `s` is closure({s}).
    let start: Vec<u128> = globs
        .iter()
        .flat_map(|g| (0..g.states()).map(|s| g.closure(s)))
        .collect();

    let mut seen: HashSet<(StateID, Vec<u128>)> = HashSet::new();
    let mut classes: HashSet<Vec<u128>> = HashSet::new();
    let mut out = Vec::new();
    let mut queue: VecDeque<(StateID, Vec<u128>, String)> = VecDeque::new();
    seen.insert((domain.start, start.clone()));
    queue.push_back((domain.start, start, String::new()));
    while let Some((state, rel, text)) = queue.pop_front() {
        if domain.accepts(state) && classes.insert(rel.clone()) {
            out.push(text.clone());
        }
        for (li, &c) in letters.iter().enumerate() {
            let Some(next_state) = domain.next(state, c) else {
                continue;
            };
            let mut next = Vec::with_capacity(rel.len());
            let mut offset = 0;
            for (g, table) in globs.iter().zip(&tables) {
                for row in rel.iter().skip(offset).take(g.states()) {
                    let mut to = 0u128;
                    let mut bits = *row;
                    while bits != 0 {
                        let s = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        to |= table.get(s).and_then(|t| t.get(li)).copied().unwrap_or(0);
                    }
                    next.push(to);
                }
                offset += g.states();
            }
            if seen.insert((next_state, next.clone())) {
                if seen.len() > MAX_VISITS {
                    return Err(TooBig(format!(
                        "more than {MAX_VISITS} distinct string states"
                    )));
                }
                let mut t = text.clone();
                t.push(c);
                queue.push_back((next_state, next, t));
            }
        }
    }
    Ok(out)
}

/// The closed states of `glob` after reading `text` from `set`.
pub(crate) fn run(glob: &Glob, set: u128, text: &str) -> u128 {
    let mut set = set;
    for c in text.chars() {
        let mut next = 0;
        let mut bits = set;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            next |= glob.step(i, c);
        }
        set = next;
    }
    set
}

/// The start set of `glob` (before any character).
pub(crate) fn start(glob: &Glob) -> u128 {
    glob.closure(0)
}

/// [`representatives`] for a variable that only ever ends a value: what a glob can observe is
/// whether it accepts after the variable, from each state set it can be in when the variable
/// starts (`entries`, one list per glob, worked out from the fixed text and the earlier
/// variables' representatives). Far fewer classes than whole relations.
///
/// With `tail` false the variable may be followed by more text: the class is then the state
/// sets after the variable (the relation restricted to the entries), not just acceptance.
pub(crate) fn tail_representatives(
    domain: &Domain,
    globs: &[Glob],
    entries: &[Vec<u128>],
    tail: bool,
) -> Result<Vec<String>, TooBig> {
    if let Some(g) = globs.iter().find(|g| g.states() > MAX_STATES) {
        return Err(TooBig(format!(
            "a pattern of {} characters is beyond the search's limit",
            g.states() - 1
        )));
    }
    let mut letters: Vec<char> = domain.spare.clone();
    for g in globs {
        g.letters(&mut letters);
    }
    letters.retain(char::is_ascii);
    letters.sort_unstable();
    letters.dedup();
    // One tracked set per (glob, entry).
    let owners: Vec<usize> = entries
        .iter()
        .enumerate()
        .flat_map(|(gi, e)| std::iter::repeat_n(gi, e.len()))
        .collect();
    let start: Vec<u128> = entries.iter().flatten().copied().collect();
    let accept = |sets: &[u128]| -> Vec<u128> {
        if !tail {
            return sets.to_vec();
        }
        owners
            .iter()
            .zip(sets)
            .map(|(&gi, s)| {
                u128::from(
                    globs
                        .get(gi)
                        .is_some_and(|g| !g.empty && s & (1u128 << g.steps.len()) != 0),
                )
            })
            .collect()
    };
    let mut seen: HashSet<(StateID, Vec<u128>)> = HashSet::new();
    let mut classes: HashSet<Vec<u128>> = HashSet::new();
    let mut out = Vec::new();
    let mut queue: VecDeque<(StateID, Vec<u128>, String)> = VecDeque::new();
    seen.insert((domain.start, start.clone()));
    queue.push_back((domain.start, start, String::new()));
    while let Some((state, sets, text)) = queue.pop_front() {
        if domain.accepts(state) && classes.insert(accept(&sets)) {
            out.push(text.clone());
        }
        for &c in &letters {
            let Some(next_state) = domain.next(state, c) else {
                continue;
            };
            let next: Vec<u128> = owners
                .iter()
                .zip(&sets)
                .map(|(&gi, set)| {
                    globs
                        .get(gi)
                        .map(|g| run(g, *set, c.encode_utf8(&mut [0; 4])))
                        .unwrap_or(0)
                })
                .collect();
            if seen.insert((next_state, next.clone())) {
                if seen.len() > MAX_VISITS {
                    return Err(TooBig(format!(
                        "more than {MAX_VISITS} distinct string states"
                    )));
                }
                let mut t = text.clone();
                t.push(c);
                queue.push_back((next_state, next, t));
            }
        }
    }
    Ok(out)
}

/// The relations `globs` see for a whole `text` (its class), for finite domains.
pub(crate) fn signature(globs: &[Glob], text: &str) -> Vec<u128> {
    let mut out = Vec::new();
    for g in globs {
        for s in 0..g.states() {
            let mut set = g.closure(s);
            for c in text.chars() {
                let mut next = 0;
                let mut bits = set;
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    next |= g.step(i, c);
                }
                set = next;
            }
            out.push(set);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(p: &str) -> Glob {
        Glob::like(&[(p.to_string(), true)])
    }

    fn arn(p: &str) -> Glob {
        Glob::arn(&[(p.to_string(), true)])
    }

    #[test]
    fn globs_match_as_the_concrete_patterns_do() {
        use crate::policy::{ArnPattern, Pattern};
        let patterns = [
            "*",
            "a*b",
            "arn:aws:cloudtrail:*:111111111111:trail/*",
            "arn:aws:*",
            "??",
            "arn:aws:cloudtrail:us-east-1:*:trail/x",
            "arn:",
        ];
        let values = [
            "",
            "ab",
            "axxb",
            "arn:aws:cloudtrail:us-east-1:111111111111:trail/t",
            "arn:aws:cloudtrail:us-east-1:1:x:trail/x",
            "arn:aws:cloudtrail:us-east-1:222222222222:trail/x",
            "arn:aws:s3:::b/k:x",
            "xy",
        ];
        for p in patterns {
            for v in values {
                assert_eq!(
                    like(p).matches(v),
                    Pattern::new(p, false).matches(v),
                    "like {p} {v}"
                );
                assert_eq!(
                    arn(p).matches(v),
                    ArnPattern::new(p).matches(v),
                    "arn {p} {v}"
                );
            }
        }
        assert!(Glob::literal("AbC", true).matches("abc"));
        assert!(!Glob::literal("a*", false).matches("ab"));
    }

    #[test]
    fn accounts_split_by_the_patterns_that_name_them() {
        let d = Domain::new("[0-9]{12}").unwrap();
        let reps =
            representatives(&d, &[like("1111*"), Glob::literal("111111111111", false)]).unwrap();
        // Relations keep apart what could differ inside a longer value ("1" vs "11" after a
        // fixed "11"), so there are at least the three whole-value classes: not 1111…, 1111…
        // but not 111111111111, and 111111111111 itself.
        assert!(reps.len() >= 3, "{reps:?}");
        assert!(reps
            .iter()
            .any(|r| r.starts_with("1111") && r != "111111111111"));
        assert!(reps.iter().all(|r| d.contains(r)));
        assert!(reps.contains(&"111111111111".to_string()));
        assert!(reps.iter().any(|r| !r.starts_with("1111")));
    }

    #[test]
    fn whole_values_split_by_match_only() {
        let d = Domain::new("[0-9]{12}").unwrap();
        let globs = [like("1111*"), Glob::literal("111111111111", false)];
        let entries: Vec<Vec<u128>> = globs.iter().map(|g| vec![start(g)]).collect();
        let reps = tail_representatives(&d, &globs, &entries, true).unwrap();
        assert_eq!(reps.len(), 3, "{reps:?}");
        assert!(reps.contains(&"111111111111".to_string()));
    }

    #[test]
    fn an_unconstrained_variable_has_one_class() {
        let d = Domain::new("[a-z]{3,}").unwrap();
        assert_eq!(representatives(&d, &[like("*")]).unwrap(), vec!["aaa"]);
    }
}
