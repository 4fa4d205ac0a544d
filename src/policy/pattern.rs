//! IAM wildcard patterns (`*` any run of characters, `?` exactly one), parsed once.

/// One piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<T = char> {
    Literal(Vec<T>),
    Star,
    Question,
}

/// A parsed wildcard pattern such as `kms:GenerateDataKey*` or `arn:aws:cloudtrail:*:111122223333:trail/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
    /// Set when the pattern has no wildcard: matching is a plain comparison.
    literal: Option<String>,
    case_insensitive: bool,
    /// The same tokens as bytes when the pattern is ASCII: the allocation-free fast path.
    ascii: Option<Vec<Token<u8>>>,
}

impl Pattern {
    /// Parses `text`; `case_insensitive` folds both sides to lowercase when matching.
    pub fn new(text: &str, case_insensitive: bool) -> Self {
        Self::from_segments([(text, true)], case_insensitive)
    }

    /// Builds a pattern from pieces: `(text, true)` pieces have live wildcards, `(text, false)`
    /// pieces are literal (resolved policy variables, `${*}`).
    pub fn from_segments<'a>(
        segments: impl IntoIterator<Item = (&'a str, bool)>,
        case_insensitive: bool,
    ) -> Self {
        let mut tokens = Vec::new();
        let mut source = String::new();
        let mut run: Vec<char> = Vec::new();
        for (text, live) in segments {
            source.push_str(text);
            let folded = if case_insensitive {
                text.to_lowercase()
            } else {
                text.to_string()
            };
            for c in folded.chars() {
                match c {
                    '*' if live => {
                        if !run.is_empty() {
                            tokens.push(Token::Literal(std::mem::take(&mut run)));
                        }
                        if tokens.last() != Some(&Token::Star) {
                            tokens.push(Token::Star);
                        }
                    }
                    '?' if live => {
                        if !run.is_empty() {
                            tokens.push(Token::Literal(std::mem::take(&mut run)));
                        }
                        tokens.push(Token::Question);
                    }
                    other => run.push(other),
                }
            }
        }
        if !run.is_empty() {
            tokens.push(Token::Literal(run));
        }
        let literal = match tokens.as_slice() {
            [] => Some(String::new()),
            [Token::Literal(l)] => Some(l.iter().collect()),
            _ => None,
        };
        let ascii = tokens
            .iter()
            .map(|t| match t {
                Token::Literal(l) if l.iter().all(char::is_ascii) => {
                    Some(Token::Literal(l.iter().map(|c| *c as u8).collect()))
                }
                Token::Literal(_) => None,
                Token::Star => Some(Token::Star),
                Token::Question => Some(Token::Question),
            })
            .collect();
        Self {
            source,
            tokens,
            literal,
            case_insensitive,
            ascii,
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
        self.literal.is_none()
    }

    /// Matches `text` against the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        if let Some(lit) = &self.literal {
            return if self.case_insensitive {
                if text.is_ascii() {
                    lit.eq_ignore_ascii_case(text)
                } else {
                    *lit == text.to_lowercase()
                }
            } else {
                lit == text
            };
        }
        if let (Some(ascii), true) = (&self.ascii, text.is_ascii()) {
            let ci = self.case_insensitive;
            return match_tokens(ascii, text.as_bytes(), |p, t| {
                *p == if ci { t.to_ascii_lowercase() } else { *t }
            });
        }
        let chars: Vec<char> = if self.case_insensitive {
            text.to_lowercase().chars().collect()
        } else {
            text.chars().collect()
        };
        match_tokens(&self.tokens, &chars, |p, t| p == t)
    }
}

/// Glob matching with single-star backtracking: linear in practice, never exponential.
fn match_tokens<T>(tokens: &[Token<T>], text: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    let mut t = 0usize; // index into tokens
    let mut i = 0usize; // index into text
                        // Where to resume after the most recent star: (token index after star, text index).
    let mut resume: Option<(usize, usize)> = None;
    loop {
        match tokens.get(t) {
            Some(Token::Star) => {
                t += 1;
                resume = Some((t, i));
                continue;
            }
            Some(Token::Question) if i < text.len() => {
                t += 1;
                i += 1;
                continue;
            }
            Some(Token::Literal(lit))
                if text
                    .get(i..i + lit.len())
                    .is_some_and(|w| w.iter().zip(lit.iter()).all(|(t, p)| eq(p, t))) =>
            {
                t += 1;
                i += lit.len();
                continue;
            }
            None if i == text.len() => return true,
            _ => {}
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match resume {
            Some((rt, ri)) if ri < text.len() => {
                resume = Some((rt, ri + 1));
                t = rt;
                i = ri + 1;
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
    fn unicode_question_mark_is_one_character() {
        assert!(m("?", "é"));
        assert!(m("a?", "añ"));
    }
}
