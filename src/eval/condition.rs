//! Condition operators, exactly as IAM evaluates them.
//!
//! - AND across operators and keys, OR across the values of one key, NOR for negated operators.
//! - A missing key: positive operators false, negated operators true, `...IfExists` true.
//! - `ForAllValues` with a missing key is true, `ForAnyValue` false.
//! - A single-valued operator against a multi-valued key does not match.

use super::{ConditionKeys, Context};
use crate::policy::value::parse_date;
use crate::policy::{
    ArnPattern, BaseOperator, Condition, ConditionValue, Pattern, SetOperator, Template,
    TemplatePart,
};
use base64::Engine;
use std::net::IpAddr;

/// Evaluates one condition (operator + key + values) against the request context.
pub fn evaluate(condition: &Condition, ctx: &Context) -> bool {
    evaluate_in(condition, ctx)
}

/// [`evaluate`] against any request's condition keys.
pub(crate) fn evaluate_in<K: ConditionKeys>(condition: &Condition, ctx: &K) -> bool {
    let op = &condition.operator;
    let entry = ctx.get(condition.key()).filter(|e| !e.values.is_empty());
    if op.base == BaseOperator::Null {
        let present = entry.is_some();
        return condition.values.iter().any(|v| match v {
            ConditionValue::Bool(true) => !present,
            ConditionValue::Bool(false) => present,
            _ => false,
        });
    }
    match op.set {
        None => match entry {
            None => op.if_exists || op.base.is_negated(),
            Some(e) if e.multi => false,
            Some(e) => e
                .values
                .first()
                .is_some_and(|v| matches_request_value(condition, v, ctx)),
        },
        Some(SetOperator::ForAnyValue) => match entry {
            None => op.if_exists,
            Some(e) => e
                .values
                .iter()
                .any(|v| matches_request_value(condition, v, ctx)),
        },
        Some(SetOperator::ForAllValues) => match entry {
            None => true,
            Some(e) => e
                .values
                .iter()
                .all(|v| matches_request_value(condition, v, ctx)),
        },
    }
}

/// One request value against the policy values: any match (positive) or none (negated).
/// A request value the operator cannot read (a non-number for `Numeric*`) never matches.
fn matches_request_value<K: ConditionKeys>(condition: &Condition, value: &str, ctx: &K) -> bool {
    let base = condition.operator.base;
    let mut any = false;
    for policy_value in &condition.values {
        match compare(base, policy_value, value, ctx) {
            Some(true) => {
                any = true;
                break;
            }
            Some(false) => {}
            None => return false,
        }
    }
    any != base.is_negated()
}

/// The positive form of `base` for one policy value. `None` when the request value has the
/// wrong type for the operator.
fn compare<K: ConditionKeys>(
    base: BaseOperator,
    policy: &ConditionValue,
    request: &str,
    ctx: &K,
) -> Option<bool> {
    use BaseOperator::*;
    match (base, policy) {
        (StringEquals | StringNotEquals, ConditionValue::Text { template, .. }) => {
            Some(resolve_in(template, ctx).is_some_and(|p| p == request))
        }
        (
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase,
            ConditionValue::Text { template, .. },
        ) => Some(
            resolve_in(template, ctx).is_some_and(|p| p.to_lowercase() == request.to_lowercase()),
        ),
        (
            StringLike | StringNotLike,
            ConditionValue::Text {
                template, pattern, ..
            },
        ) => Some(match pattern {
            Some(p) => p.matches(request),
            None => like_pattern_in(template, ctx).is_some_and(|p| p.matches(request)),
        }),
        (
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike,
            ConditionValue::Text { template, arn, .. },
        ) => Some(match arn {
            Some(a) => a.matches(request),
            None => arn_pattern_in(template, ctx).is_some_and(|p| p.matches(request)),
        }),
        (_, ConditionValue::Number(n)) => {
            let r = request.trim().parse::<f64>().ok()?;
            Some(match base {
                NumericEquals | NumericNotEquals => r == *n,
                NumericLessThan => r < *n,
                NumericLessThanEquals => r <= *n,
                NumericGreaterThan => r > *n,
                NumericGreaterThanEquals => r >= *n,
                _ => false,
            })
        }
        (_, ConditionValue::Date(d)) => {
            let r = parse_date(request)?;
            Some(match base {
                DateEquals | DateNotEquals => r == *d,
                DateLessThan => r < *d,
                DateLessThanEquals => r <= *d,
                DateGreaterThan => r > *d,
                DateGreaterThanEquals => r >= *d,
                _ => false,
            })
        }
        (Bool, ConditionValue::Bool(b)) => {
            crate::policy::parse_bool_value(request).map(|r| r == *b)
        }
        (BinaryEquals, ConditionValue::Binary(bytes)) => {
            let r = base64::engine::general_purpose::STANDARD
                .decode(request.trim())
                .ok()?;
            Some(r == *bytes)
        }
        (IpAddress | NotIpAddress, ConditionValue::Cidr(c)) => {
            let ip = request.trim().parse::<IpAddr>().ok()?;
            Some(c.contains(ip))
        }
        _ => Some(false),
    }
}

/// Substitutes policy variables. `None` when a variable has no value and no default: such a
/// policy value matches nothing.
pub fn resolve(template: &Template, ctx: &Context) -> Option<String> {
    resolve_in(template, ctx)
}

fn resolve_in<K: ConditionKeys>(template: &Template, ctx: &K) -> Option<String> {
    let Some(parts) = &template.parts else {
        return Some(template.raw.to_string());
    };
    let mut out = String::with_capacity(template.raw.len());
    for part in parts {
        match part {
            TemplatePart::Text(t) => out.push_str(t),
            TemplatePart::Escaped(c) => out.push(*c),
            TemplatePart::Variable { key, default } => {
                out.push_str(variable(ctx, key, default.as_deref())?)
            }
        }
    }
    Some(out)
}

fn variable<'a, K: ConditionKeys>(
    ctx: &'a K,
    key: &str,
    default: Option<&'a str>,
) -> Option<&'a str> {
    match ctx.get(key) {
        // Multi-valued keys cannot be substituted.
        Some(e) if !e.multi && e.values.len() == 1 => e.values.first(),
        _ => default,
    }
}

/// Builds a wildcard pattern in which substituted values and `${*}` are literal characters.
pub fn like_pattern(template: &Template, ctx: &Context) -> Option<Pattern> {
    like_pattern_in(template, ctx)
}

/// [`like_pattern`] with any request's condition keys.
pub(crate) fn like_pattern_in<K: ConditionKeys>(template: &Template, ctx: &K) -> Option<Pattern> {
    let Some(parts) = &template.parts else {
        return Some(Pattern::new(&template.raw, false));
    };
    let segments = segments(parts, ctx)?;
    Some(Pattern::from_segments(
        segments.iter().map(|(s, live)| (s.as_str(), *live)),
        false,
    ))
}

/// Builds an ARN pattern in which substituted values and `${*}` are literal characters, as in
/// [`like_pattern`].
pub fn arn_pattern(template: &Template, ctx: &Context) -> Option<ArnPattern> {
    arn_pattern_in(template, ctx)
}

fn arn_pattern_in<K: ConditionKeys>(template: &Template, ctx: &K) -> Option<ArnPattern> {
    let Some(parts) = &template.parts else {
        return Some(ArnPattern::new(&template.raw));
    };
    let segments = segments(parts, ctx)?;
    Some(ArnPattern::from_segments(
        segments.iter().map(|(s, live)| (s.as_str(), *live)),
    ))
}

/// The template's pieces with variables resolved: `(text, true)` for policy text whose
/// wildcards are live, `(text, false)` for literal text. `None` when a variable is unresolved.
fn segments<K: ConditionKeys>(parts: &[TemplatePart], ctx: &K) -> Option<Vec<(String, bool)>> {
    let mut segments: Vec<(String, bool)> = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            TemplatePart::Text(t) => segments.push((t.clone(), true)),
            TemplatePart::Escaped(c) => segments.push((c.to_string(), false)),
            TemplatePart::Variable { key, default } => {
                segments.push((variable(ctx, key, default.as_deref())?.to_string(), false))
            }
        }
    }
    Some(segments)
}
