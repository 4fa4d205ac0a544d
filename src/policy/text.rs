//! Short strings kept inline: action names, `*` and most condition values fit, so a parsed
//! policy makes one allocation fewer for each of them.

use std::fmt;
use std::hash::{Hash, Hasher};

/// Longest text kept inline (bytes); `Text` is then 24 bytes, the size of a `String`.
const INLINE: usize = 22;

/// An immutable string, inline when it is at most 22 bytes long.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Text {
    /// Copies `s`.
    pub fn new(s: &str) -> Self {
        Self::concat(s, "")
    }

    /// `a` followed by `b`.
    pub(crate) fn concat(a: &str, b: &str) -> Self {
        let len = a.len() + b.len();
        if len <= INLINE {
            let mut bytes = [0u8; INLINE];
            if let Some(head) = bytes.get_mut(..a.len()) {
                head.copy_from_slice(a.as_bytes());
            }
            if let Some(tail) = bytes.get_mut(a.len()..len) {
                tail.copy_from_slice(b.as_bytes());
            }
            // INVARIANT: len <= INLINE = 22 < 256.
            Text(Repr::Inline {
                len: len as u8,
                bytes,
            })
        } else {
            let mut s = String::with_capacity(len);
            s.push_str(a);
            s.push_str(b);
            Text(Repr::Heap(s.into_boxed_str()))
        }
    }

    /// The text's bytes (cheaper than `as_str`, which checks inline bytes are UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // INVARIANT: the bytes were copied from whole `str`s, so they are UTF-8.
            Repr::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Repr::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with `Eq` (bytes), terminated as `str` hashes are.
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_texts_read_back() {
        for s in [
            "",
            "*",
            "kms:Decrypt",
            "kms:GenerateDataKey*",
            "é☃",
            "a".repeat(22).as_str(),
            "a".repeat(23).as_str(),
            "arn:aws:cloudtrail:us-east-1:111111111111:trail/x",
        ] {
            let t = Text::new(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(t, s);
            assert_eq!(format!("{t:?}"), format!("{s:?}"));
            assert_eq!(t.clone(), Text::from(s));
        }
        assert_eq!(Text::concat("kms:", "Decrypt").as_str(), "kms:Decrypt");
        assert_eq!(
            Text::concat(&"x".repeat(20), "yyy").as_str(),
            format!("{}yyy", "x".repeat(20))
        );
        assert_eq!(std::mem::size_of::<Text>(), 24);
    }
}
