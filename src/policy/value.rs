//! Typed condition values: strings with policy variables, ARN patterns, CIDRs, dates, numbers.

use super::pattern::Pattern;
use super::text::Text;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use std::net::IpAddr;

/// One piece of a string that may hold policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Text as written; in `*Like` operators and `Resource` its `*`/`?` are wildcards.
    Text(String),
    /// `${*}`, `${?}`, `${$}`: a literal character that is never a wildcard.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`: replaced by the request's value of `key`.
    Variable {
        /// Condition key, lowercased.
        key: String,
        /// The default used when the request has no value for `key`.
        default: Option<String>,
    },
}

/// A string value from the policy, split around policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The value as written.
    pub raw: Text,
    /// Set only when the value contains policy variables and the policy version supports them.
    pub parts: Option<Vec<TemplatePart>>,
}

impl Template {
    /// Splits `raw` around `${...}` when `variables` is true (policy `Version` 2012-10-17).
    /// Returns an error message for an unterminated `${`.
    pub fn parse(raw: &str, variables: bool) -> Result<Self, String> {
        if !variables || !raw.contains("${") {
            return Ok(Self {
                raw: Text::new(raw),
                parts: None,
            });
        }
        let mut parts = Vec::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            let (before, after) = rest.split_at(start);
            if !before.is_empty() {
                parts.push(TemplatePart::Text(before.to_string()));
            }
            let body_and_more = after.get(2..).unwrap_or("");
            let end = body_and_more
                .find('}')
                .ok_or_else(|| format!("unterminated policy variable in `{raw}`"))?;
            let body = body_and_more.get(..end).unwrap_or("").trim();
            rest = body_and_more.get(end + 1..).unwrap_or("");
            parts.push(match body {
                "*" => TemplatePart::Escaped('*'),
                "?" => TemplatePart::Escaped('?'),
                "$" => TemplatePart::Escaped('$'),
                _ => {
                    let (key, default) = match body.split_once(',') {
                        Some((k, d)) => {
                            let d = d.trim();
                            let d = d
                                .strip_prefix('\'')
                                .and_then(|d| d.strip_suffix('\''))
                                .ok_or_else(|| {
                                    format!(
                                        "policy variable default must be quoted with '' in `{raw}`"
                                    )
                                })?;
                            (k.trim(), Some(d.to_string()))
                        }
                        None => (body, None),
                    };
                    if key.is_empty() {
                        return Err(format!("empty policy variable in `{raw}`"));
                    }
                    TemplatePart::Variable {
                        key: key.to_ascii_lowercase(),
                        default,
                    }
                }
            });
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Text(rest.to_string()));
        }
        Ok(Self {
            raw: Text::new(raw),
            parts: Some(parts),
        })
    }

    /// True when the value has policy variables to resolve.
    pub fn has_variables(&self) -> bool {
        self.parts.is_some()
    }
}

/// An ARN split into its six colon-separated components, each a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnPattern {
    /// `arn:partition:service:region:account:resource`, matched component by component.
    Components(Box<[Pattern; 6]>),
    /// A value that is not shaped like an ARN (e.g. `*`): matched as a whole.
    Whole(Pattern),
    /// Starts with `arn:` but has fewer than six components: matches no ARN.
    Malformed,
}

impl ArnPattern {
    /// Builds the pattern from a policy value.
    pub fn new(text: &str) -> Self {
        match split_arn(text) {
            Some(c) => ArnPattern::Components(Box::new(c.map(|p| Pattern::new(p, false)))),
            None if text.starts_with("arn:") => ArnPattern::Malformed,
            None => ArnPattern::Whole(Pattern::new(text, false)),
        }
    }

    /// Builds the pattern from pieces: `(text, true)` pieces have live wildcards, `(text, false)`
    /// pieces (resolved policy variables, `${*}`) are literal. The whole text is split into
    /// components as [`ArnPattern::new`] does.
    pub fn from_segments<'a>(segments: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        let segments: Vec<(&'a str, bool)> = segments.into_iter().collect();
        let whole: String = segments.iter().map(|(t, _)| *t).collect();
        let mut components: Vec<Vec<(&'a str, bool)>> = vec![Vec::new()];
        for &(text, live) in &segments {
            let mut rest = text;
            while components.len() < 6 {
                let Some((head, tail)) = rest.split_once(':') else {
                    break;
                };
                if let Some(c) = components.last_mut() {
                    c.push((head, live));
                }
                components.push(Vec::new());
                rest = tail;
            }
            if let Some(c) = components.last_mut() {
                c.push((rest, live));
            }
        }
        if split_arn(&whole).is_none() {
            return if whole.starts_with("arn:") {
                ArnPattern::Malformed
            } else {
                ArnPattern::Whole(Pattern::from_segments(segments, false))
            };
        }
        let mut it = components
            .into_iter()
            .map(|c| Pattern::from_segments(c, false));
        match (
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
        ) {
            (Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)) => {
                ArnPattern::Components(Box::new([a, b, c, d, e, f]))
            }
            _ => ArnPattern::Malformed,
        }
    }

    /// Matches a request ARN: every component separately, as IAM does for `Arn*` operators.
    pub fn matches(&self, arn: &str) -> bool {
        match self {
            ArnPattern::Whole(p) => p.matches(arn),
            ArnPattern::Malformed => false,
            ArnPattern::Components(pats) => match split_arn(arn) {
                Some(parts) => pats.iter().zip(parts.iter()).all(|(p, v)| p.matches(v)),
                None => false,
            },
        }
    }
}

/// Splits an ARN into six components: the resource part keeps any further colons.
pub fn split_arn(text: &str) -> Option<[&str; 6]> {
    // `:` is ASCII, so every cut is on a character boundary.
    fn cut(s: &str) -> Option<(&str, &str)> {
        let i = s.bytes().position(|b| b == b':')?;
        Some((s.get(..i)?, s.get(i + 1..)?))
    }
    let (arn, rest) = cut(text)?;
    if arn != "arn" {
        return None;
    }
    let (partition, rest) = cut(rest)?;
    let (service, rest) = cut(rest)?;
    let (region, rest) = cut(rest)?;
    let (account, resource) = cut(rest)?;
    Some([arn, partition, service, region, account, resource])
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (
                a.trim().parse::<IpAddr>().ok()?,
                Some(p.trim().parse::<u8>().ok()?),
            ),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// The first and last address of the network, as numbers, and whether it is IPv4.
    pub fn bounds(&self) -> (bool, u128, u128) {
        match self.addr {
            IpAddr::V4(net) => {
                let host = u32::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                let start = u32::from(net) & !host;
                (true, u128::from(start), u128::from(start | host))
            }
            IpAddr::V6(net) => {
                let host = u128::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                let start = u128::from(net) & !host;
                (false, start, start | host)
            }
        }
    }

    /// True when `addr` lies inside the network (an IPv4 address never matches an IPv6 network).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Parses a date as IAM does: ISO 8601 (date, date-time with or without zone) or epoch seconds.
/// Returns milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().ok().and_then(|s| s.checked_mul(1000));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp_millis());
    }
    let no_z = t.strip_suffix('Z').unwrap_or(t);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(no_z, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(d) = DateTime::parse_from_str(t, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(no_z, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables_and_escapes() {
        let t = Template::parse("arn:aws:iam::${aws:SourceAccount}:root${*}", true).unwrap();
        assert_eq!(
            t.parts.unwrap(),
            vec![
                TemplatePart::Text("arn:aws:iam::".into()),
                TemplatePart::Variable {
                    key: "aws:sourceaccount".into(),
                    default: None
                },
                TemplatePart::Text(":root".into()),
                TemplatePart::Escaped('*'),
            ]
        );
        let d = Template::parse("${aws:username, 'nobody'}", true).unwrap();
        assert_eq!(
            d.parts.unwrap(),
            vec![TemplatePart::Variable {
                key: "aws:username".into(),
                default: Some("nobody".into())
            }]
        );
        // Version 2008-10-17: taken literally.
        assert!(Template::parse("${aws:username}", false)
            .unwrap()
            .parts
            .is_none());
        assert!(Template::parse("${aws:username", true).is_err());
    }

    #[test]
    fn arn_components_are_matched_separately() {
        let p = ArnPattern::new("arn:aws:cloudtrail:*:111111111111:trail/*");
        assert!(p.matches("arn:aws:cloudtrail:us-east-1:111111111111:trail/a"));
        // `*` in the region component must not swallow the account component.
        let q = ArnPattern::new("arn:aws:cloudtrail:*:trail/x");
        assert!(!q.matches("arn:aws:cloudtrail:us-east-1:111111111111:trail/x"));
        assert!(!p.matches("not-an-arn"));
        assert!(ArnPattern::new("*").matches("arn:aws:s3:::b"));
    }

    #[test]
    fn cidr_v4_v6() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("1.2.3.4")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn dates_iso_and_epoch() {
        assert_eq!(parse_date("1970-01-01T00:00:10Z"), Some(10_000));
        assert_eq!(parse_date("10"), Some(10_000));
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date("1970-01-01T00:01"), Some(60_000));
        assert_eq!(parse_date("yesterday"), None);
    }
}
