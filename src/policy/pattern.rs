//! IAM wildcard patterns (`*` any run of characters, `?` exactly one), parsed once.

use super::text::Text;

/// One piece of a wildcard pattern; literals are byte ranges of the folded pattern text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Token {
    Literal { start: u32, end: u32 },
    Star,
    Question,
}

/// A pattern's tokens: up to two inline (`kms:Describe*`, `*`), more on the heap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Tokens {
    /// INVARIANT: slots from `len` on hold `Token::Star`, so derived equality is exact.
    Few {
        len: u8,
        items: [Token; 2],
    },
    Many(Vec<Token>),
}

impl Tokens {
    const EMPTY: Tokens = Tokens::Few {
        len: 0,
        items: [Token::Star; 2],
    };

    fn as_slice(&self) -> &[Token] {
        match self {
            Tokens::Few { len, items } => items.get(..usize::from(*len)).unwrap_or(&[]),
            Tokens::Many(v) => v,
        }
    }

    fn push(&mut self, token: Token) {
        match self {
            Tokens::Few { len, items } => match items.get_mut(usize::from(*len)) {
                Some(slot) => {
                    *slot = token;
                    *len += 1;
                }
                None => {
                    let mut v = items.to_vec();
                    v.push(token);
                    *self = Tokens::Many(v);
                }
            },
            Tokens::Many(v) => v.push(token),
        }
    }

    fn last(&self) -> Option<&Token> {
        self.as_slice().last()
    }
}

/// A parsed wildcard pattern such as `kms:GenerateDataKey*` or `arn:aws:cloudtrail:*:111122223333:trail/*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// The pattern as written, followed by the text matched against (lowercased when
    /// case-insensitive) when that differs: inline when short, else one allocation for both.
    text: Text,
    /// Where the written pattern ends in `text`.
    split: usize,
    /// Empty when the pattern has no wildcard (matching is a plain comparison).
    tokens: Tokens,
    case_insensitive: bool,
}

impl Pattern {
    /// Parses `text`; `case_insensitive` folds both sides to lowercase when matching.
    pub fn new(text: &str, case_insensitive: bool) -> Self {
        // ASCII patterns are compared with `eq_ignore_ascii_case` and keep no folded copy.
        let folded = (case_insensitive && !text.is_ascii())
            .then(|| text.to_lowercase())
            .filter(|f| f != text);
        let mut tokens = Tokens::EMPTY;
        tokenize_live(folded.as_deref().unwrap_or(text), &mut tokens);
        let buf = Text::concat(text, folded.as_deref().unwrap_or(""));
        Self {
            text: buf,
            split: text.len(),
            tokens,
            case_insensitive,
        }
    }

    /// Builds a pattern from pieces: `(text, true)` pieces have live wildcards, `(text, false)`
    /// pieces are literal (resolved policy variables, `${*}`).
    pub fn from_segments<'a>(
        segments: impl IntoIterator<Item = (&'a str, bool)>,
        case_insensitive: bool,
    ) -> Self {
        let mut source = String::new();
        let mut folded = String::new();
        let mut pieces: Vec<(usize, usize, bool)> = Vec::new();
        for (text, live) in segments {
            source.push_str(text);
            let start = folded.len();
            if case_insensitive {
                // Per piece, as before: `to_lowercase` of a whole string can differ (final sigma).
                folded.push_str(&text.to_lowercase());
            } else {
                folded.push_str(text);
            }
            pieces.push((start, folded.len(), live));
        }
        let mut tokens = Tokens::EMPTY;
        tokenize(
            pieces
                .iter()
                .map(|&(s, e, live)| (folded.get(s..e).unwrap_or(""), live)),
            &mut tokens,
        );
        // A literal-only pattern (no live wildcard) keeps no tokens.
        if tokens
            .as_slice()
            .iter()
            .all(|t| matches!(t, Token::Literal { .. }))
        {
            tokens = Tokens::EMPTY;
        }
        let split = source.len();
        let folded = if folded == source {
            ""
        } else {
            folded.as_str()
        };
        Self {
            text: Text::concat(&source, folded),
            split,
            tokens,
            case_insensitive,
        }
    }

    /// The pattern as written in the policy.
    pub fn as_str(&self) -> &str {
        self.text.get(..self.split).unwrap_or("")
    }

    /// True when the pattern is a lone `*` (matches everything).
    pub fn is_match_all(&self) -> bool {
        matches!(self.tokens.as_slice(), [Token::Star])
    }

    /// True when the pattern contains `*` or `?`.
    pub fn has_wildcard(&self) -> bool {
        !self.tokens.as_slice().is_empty()
    }

    /// The bytes matched against: the folded form when there is one, else the pattern.
    /// (Bytes, not `str`: reading an inline `Text` as `str` re-validates it.)
    fn folded(&self) -> &[u8] {
        let bytes = self.text.as_bytes();
        match bytes.get(self.split..) {
            Some(f) if !f.is_empty() => f,
            _ => bytes.get(..self.split).unwrap_or_default(),
        }
    }

    /// The lowercase pattern for non-ASCII text: the stored folded copy, or (ASCII patterns,
    /// which keep none) the ASCII lowercase of the pattern, which is its full lowercase.
    fn folded_pattern(&self) -> std::borrow::Cow<'_, str> {
        match self.text.get(self.split..) {
            Some(f) if !f.is_empty() => std::borrow::Cow::Borrowed(f),
            _ if self.as_str().is_ascii() => {
                std::borrow::Cow::Owned(self.as_str().to_ascii_lowercase())
            }
            _ => std::borrow::Cow::Borrowed(self.as_str()),
        }
    }

    /// Matches `text` against the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let pat = self.folded();
        let tokens = self.tokens.as_slice();
        if tokens.is_empty() {
            return if self.case_insensitive {
                if text.is_ascii() {
                    pat.eq_ignore_ascii_case(text.as_bytes())
                } else {
                    self.folded_pattern().as_ref() == text.to_lowercase()
                }
            } else {
                pat == text.as_bytes()
            };
        }
        if text.is_ascii() {
            // The common `service:Prefix*` shape: a prefix comparison.
            if let [Token::Literal { start, end }, Token::Star] = tokens {
                let lit = pat.get(*start as usize..*end as usize).unwrap_or(&[]);
                return text.as_bytes().get(..lit.len()).is_some_and(|head| {
                    if self.case_insensitive {
                        head.eq_ignore_ascii_case(lit)
                    } else {
                        head == lit
                    }
                });
            }
            // One byte is one character; the pattern's non-ASCII bytes never match.
            return match_tokens(tokens, pat, text.as_bytes(), self.case_insensitive, false);
        }
        if !self.case_insensitive {
            return match_tokens(tokens, pat, text.as_bytes(), false, true);
        }
        let text = text.to_lowercase();
        let pat = self.folded_pattern();
        match_tokens(tokens, pat.as_bytes(), text.as_bytes(), false, true)
    }
}

/// `tokenize` for one live piece, jumping from wildcard to wildcard; no tokens at all when
/// there is no wildcard (matching is then a plain comparison).
fn tokenize_live(text: &str, tokens: &mut Tokens) {
    let bytes = text.as_bytes();
    let wild = |b: &u8| *b == b'*' || *b == b'?';
    let Some(first) = bytes.iter().position(wild) else {
        return;
    };
    let literal = |start: usize, end: usize| Token::Literal {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    };
    let mut at = first;
    let mut run_start = 0;
    loop {
        if at > run_start {
            tokens.push(literal(run_start, at));
        }
        match bytes.get(at) {
            Some(b'*') => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            Some(_) => tokens.push(Token::Question),
            None => return,
        }
        run_start = at + 1;
        match bytes
            .get(run_start..)
            .and_then(|rest| rest.iter().position(wild))
        {
            Some(next) => at = run_start + next,
            None => {
                if run_start < bytes.len() {
                    tokens.push(literal(run_start, bytes.len()));
                }
                return;
            }
        }
    }
}

/// Splits folded pieces into tokens: consecutive stars collapse, literal runs span pieces.
fn tokenize<'a>(pieces: impl IntoIterator<Item = (&'a str, bool)>, tokens: &mut Tokens) {
    let mut offset = 0usize;
    let mut run_start: Option<usize> = None;
    let close = |tokens: &mut Tokens, run_start: &mut Option<usize>, end: usize| {
        if let Some(start) = run_start.take() {
            tokens.push(Token::Literal {
                start: u32::try_from(start).unwrap_or(u32::MAX),
                end: u32::try_from(end).unwrap_or(u32::MAX),
            });
        }
    };
    for (text, live) in pieces {
        for (i, b) in text.bytes().enumerate() {
            let at = offset + i;
            match b {
                b'*' if live => {
                    close(tokens, &mut run_start, at);
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                b'?' if live => {
                    close(tokens, &mut run_start, at);
                    tokens.push(Token::Question);
                }
                _ => {
                    if run_start.is_none() {
                        run_start = Some(at);
                    }
                }
            }
        }
        offset += text.len();
    }
    close(tokens, &mut run_start, offset);
}

/// Width of the UTF-8 character starting with `lead`.
fn char_width(lead: u8) -> usize {
    match lead {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Glob matching with single-star backtracking: linear in practice, never exponential.
/// `ci`: compare ASCII letters case-insensitively (the pattern is folded or ASCII). `utf8`: `?` and star steps consume one character
/// (text and pattern are valid UTF-8 and indices stay on character boundaries).
fn match_tokens(tokens: &[Token], pat: &[u8], text: &[u8], ci: bool, utf8: bool) -> bool {
    let step = |i: usize| -> usize {
        if utf8 {
            text.get(i).map_or(1, |b| char_width(*b))
        } else {
            1
        }
    };
    let mut t = 0usize; // index into tokens
    let mut i = 0usize; // index into text
                        // Where to resume after the most recent star: (token index after star, text index).
    let mut resume: Option<(usize, usize)> = None;
    loop {
        match tokens.get(t) {
            Some(Token::Star) => {
                t += 1;
                if t == tokens.len() {
                    // A trailing star swallows the rest.
                    return true;
                }
                resume = Some((t, i));
                continue;
            }
            Some(Token::Question) if i < text.len() => {
                t += 1;
                i += step(i);
                continue;
            }
            Some(&Token::Literal { start, end }) => {
                let lit = pat.get(start as usize..end as usize).unwrap_or(&[]);
                let hit = text.get(i..i + lit.len()).is_some_and(|w| {
                    if ci {
                        // The pattern is folded or ASCII: either way an ASCII-insensitive
                        // comparison is the folded comparison.
                        w.eq_ignore_ascii_case(lit)
                    } else {
                        w == lit
                    }
                });
                if hit {
                    t += 1;
                    i += lit.len();
                    continue;
                }
            }
            None if i == text.len() => return true,
            _ => {}
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match resume {
            Some((rt, ri)) if ri < text.len() => {
                let ni = ri + step(ri);
                resume = Some((rt, ni));
                t = rt;
                i = ni;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p, false).matches(s)
    }

    #[test]
    fn tokenize_live_agrees_with_tokenize() {
        for text in [
            "",
            "*",
            "**",
            "?",
            "a",
            "kms:Describe*",
            "*kms*",
            "a?b*c**d?",
            "??",
            "a*",
            "*a",
            "arn:aws:cloudtrail:*:111122223333:trail/*",
            "é*ß?x",
        ] {
            let (mut live, mut general) = (Tokens::EMPTY, Tokens::EMPTY);
            tokenize_live(text, &mut live);
            tokenize([(text, true)], &mut general);
            if !text.contains(['*', '?']) {
                general = Tokens::EMPTY;
            }
            assert_eq!(live, general, "{text}");
        }
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "ab"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b*", "xxbxxaxx"));
        assert!(m("**", "x"));
        assert!(m("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn case_folding_only_when_asked() {
        assert!(Pattern::new("kms:GenerateDataKey*", true).matches("KMS:generatedatakeypair"));
        assert!(!Pattern::new("kms:GenerateDataKey*", false).matches("kms:generatedatakey"));
        assert!(Pattern::new("kms:Decrypt", true).matches("kms:DECRYPT"));
    }

    #[test]
    fn cloudtrail_arn_pattern() {
        let p = Pattern::new("arn:aws:cloudtrail:*:111111111111:trail/*", false);
        assert!(p.matches("arn:aws:cloudtrail:us-east-1:111111111111:trail/management"));
        assert!(!p.matches("arn:aws:cloudtrail:us-east-1:222222222222:trail/management"));
    }

    #[test]
    fn non_ascii_text_and_patterns() {
        assert!(Pattern::new("Ä*", true).matches("äbc"));
        assert!(Pattern::new("a*", true).matches("AÄ"));
        assert!(!Pattern::new("a?c", false).matches("aÄÄc"));
        assert!(Pattern::new("a??c", false).matches("aÄÄc"));
        assert!(Pattern::new("*é", false).matches("ééé"));
        assert!(Pattern::new("Straße", true).matches("STRAßE"));
        assert!(!Pattern::new("é", false).matches("e"));
        // Literal pieces keep `*` and `?` as plain characters.
        let p = Pattern::from_segments([("a*", true), ("*?", false)], false);
        assert!(p.matches("axyz*?"));
        assert!(!p.matches("axyz*x"));
        assert!(!Pattern::from_segments([("*", false)], false).has_wildcard());
    }

    #[test]
    fn unicode_question_mark_is_one_character() {
        assert!(m("?", "é"));
        assert!(m("a?", "añ"));
    }
}
