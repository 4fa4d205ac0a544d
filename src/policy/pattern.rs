//! IAM wildcard patterns (`*` any run of characters, `?` exactly one), parsed once.

/// One piece of a wildcard pattern; literals are byte ranges of the folded pattern text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal { start: u32, end: u32 },
    Star,
    Question,
}

/// A parsed wildcard pattern such as `kms:GenerateDataKey*` or `arn:aws:cloudtrail:*:111122223333:trail/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    /// The text matched against: lowercased when case-insensitive; `None` when it equals
    /// `source`.
    folded: Option<String>,
    /// Empty when the pattern has no wildcard (matching is a plain comparison).
    tokens: Vec<Token>,
    case_insensitive: bool,
}

impl Pattern {
    /// Parses `text`; `case_insensitive` folds both sides to lowercase when matching.
    pub fn new(text: &str, case_insensitive: bool) -> Self {
        let folded = if case_insensitive {
            if text.is_ascii() {
                text.bytes()
                    .any(|b| b.is_ascii_uppercase())
                    .then(|| text.to_ascii_lowercase())
            } else {
                Some(text.to_lowercase()).filter(|f| f != text)
            }
        } else {
            None
        };
        let mut tokens = Vec::new();
        if text.bytes().any(|b| b == b'*' || b == b'?') {
            tokenize([(folded.as_deref().unwrap_or(text), true)], &mut tokens);
        }
        Self {
            source: text.to_string(),
            folded,
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
        let mut tokens = Vec::new();
        tokenize(
            pieces
                .iter()
                .map(|&(s, e, live)| (folded.get(s..e).unwrap_or(""), live)),
            &mut tokens,
        );
        // A literal-only pattern (no live wildcard) keeps no tokens.
        if tokens.iter().all(|t| matches!(t, Token::Literal { .. })) {
            tokens.clear();
        }
        let folded = (folded != source).then_some(folded);
        Self {
            source,
            folded,
            tokens,
            case_insensitive,
        }
    }

    /// The pattern as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the pattern is a lone `*` (matches everything).
    pub fn is_match_all(&self) -> bool {
        matches!(self.tokens.as_slice(), [Token::Star])
    }

    /// True when the pattern contains `*` or `?`.
    pub fn has_wildcard(&self) -> bool {
        !self.tokens.is_empty()
    }

    fn folded(&self) -> &str {
        self.folded.as_deref().unwrap_or(&self.source)
    }

    /// Matches `text` against the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let pat = self.folded();
        if self.tokens.is_empty() {
            return if self.case_insensitive {
                if text.is_ascii() {
                    pat.eq_ignore_ascii_case(text)
                } else {
                    pat == text.to_lowercase()
                }
            } else {
                pat == text
            };
        }
        if text.is_ascii() {
            // One byte is one character; the pattern's non-ASCII bytes never match.
            return match_tokens(
                &self.tokens,
                pat.as_bytes(),
                text.as_bytes(),
                self.case_insensitive,
                false,
            );
        }
        let folded;
        let text = if self.case_insensitive {
            folded = text.to_lowercase();
            folded.as_str()
        } else {
            text
        };
        match_tokens(&self.tokens, pat.as_bytes(), text.as_bytes(), false, true)
    }
}

/// Splits folded pieces into tokens: consecutive stars collapse, literal runs span pieces.
fn tokenize<'a>(pieces: impl IntoIterator<Item = (&'a str, bool)>, tokens: &mut Vec<Token>) {
    let mut offset = 0usize;
    let mut run_start: Option<usize> = None;
    let close = |tokens: &mut Vec<Token>, run_start: &mut Option<usize>, end: usize| {
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
/// `ci`: fold ASCII text bytes to lowercase. `utf8`: `?` and star steps consume one character
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
                        w.iter()
                            .zip(lit.iter())
                            .all(|(t, p)| t.to_ascii_lowercase() == *p)
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
