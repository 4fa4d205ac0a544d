//! Errors from reading a key policy: every one names where in the document it is.

use thiserror::Error;

/// KMS rejects key policies larger than 32 KB.
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

/// Why a policy document was rejected. `path()` is a JSON pointer into the document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The text is not JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    InvalidJson {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// Bigger than KMS accepts.
    #[error("policy is {bytes} bytes; KMS accepts at most {MAX_POLICY_BYTES} bytes")]
    TooLarge {
        /// Size of the policy document.
        bytes: usize,
    },
    /// A required element is absent.
    #[error("`{path}`: missing `{element}`")]
    MissingElement {
        /// Where the element should be.
        path: String,
        /// The element's name.
        element: &'static str,
    },
    /// An element has the wrong JSON type or a value AWS does not accept.
    #[error("`{path}`: {message}")]
    InvalidValue {
        /// Where the value is.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A condition operator IAM does not know.
    #[error("`{path}`: unknown condition operator `{operator}`")]
    UnknownOperator {
        /// Where the operator is.
        path: String,
        /// The operator as written.
        operator: String,
    },
    /// Two statements share a Sid.
    #[error("`{path}`: duplicate Sid `{sid}`")]
    DuplicateSid {
        /// The second statement with the Sid.
        path: String,
        /// The repeated Sid.
        sid: String,
    },
}

impl PolicyError {
    /// The JSON pointer of the problem (`/Statement/2/Condition/StringEqualz`), or `""` for the
    /// whole document.
    pub fn path(&self) -> &str {
        match self {
            PolicyError::InvalidJson { .. } | PolicyError::TooLarge { .. } => "",
            PolicyError::MissingElement { path, .. }
            | PolicyError::InvalidValue { path, .. }
            | PolicyError::UnknownOperator { path, .. }
            | PolicyError::DuplicateSid { path, .. } => path,
        }
    }

    /// Advice on fixing the problem, where there is any to give.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            PolicyError::TooLarge { .. } => Some("split grants into fewer, broader statements or use grants"),
            PolicyError::UnknownOperator { .. } => {
                Some("condition operators are e.g. `StringEquals`, `StringLike`, `ArnLike`, `Null`, `Bool`, optionally with `IfExists` or a `ForAnyValue:`/`ForAllValues:` prefix")
            }
            PolicyError::DuplicateSid { .. } => Some("give every statement a unique Sid"),
            _ => None,
        }
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
