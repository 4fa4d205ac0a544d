//! One report model, three renderers (human, JSON, SARIF), each writing to `&mut dyn Write`.

use crate::checker::{Report, Severity};
use serde_json::json;
use std::io::{self, Write};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per finding plus its fix.
    Human,
    /// `{"compliance", "key", "findings": [...]}`.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Renders `report` in `format`; `color` adds ANSI colors to human output.
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human(report, color, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif(std::slice::from_ref(report)))?;
            writeln!(out)
        }
    }
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Human output: a header line, then per finding one line and its fix.
pub fn human(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let verdict = match report.compliance {
        crate::checker::Compliance::Compliant => paint("COMPLIANT", "32", color),
        crate::checker::Compliance::NonCompliant => paint("NON_COMPLIANT", "31;1", color),
    };
    let n = report.findings.len();
    let noun = if n == 1 { "finding" } else { "findings" };
    writeln!(out, "{verdict} {} ({n} {noun})", report.key)?;
    if let Some(scope) = &report.scope {
        writeln!(
            out,
            "  CloudTrail may encrypt for: {}",
            scope.encrypt.summary
        )?;
        writeln!(
            out,
            "  CloudTrail may describe the key for: {}",
            scope.describe.summary
        )?;
        if !scope.decrypt.is_empty() {
            let who: Vec<String> = scope
                .decrypt
                .iter()
                .map(|d| match &d.witness {
                    Some(w) => format!("{} ({}, e.g. {w})", d.principals, d.via),
                    None => format!("{} ({})", d.principals, d.via),
                })
                .collect();
            writeln!(out, "  can decrypt the trail logs: {}", who.join("; "))?;
        }
    }
    for f in &report.findings {
        let sev = match f.severity {
            Severity::Error => paint("error", "31", color),
            Severity::Warning => paint("warning", "33", color),
            Severity::Info => paint("info", "36", color),
        };
        let stmt = f
            .statement
            .as_deref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        writeln!(out, "{sev} {} {}{stmt}: {}", f.id, f.resource, f.message)?;
        if let Some(fix) = &f.fix {
            writeln!(
                out,
                "  fix: add {}",
                serde_json::to_string(fix).unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

/// SARIF 2.1.0 for one or more reports.
pub fn sarif(reports: &[Report]) -> serde_json::Value {
    let rules: Vec<_> = crate::checker::FindingId::ALL
        .iter()
        .map(|id| json!({"id": id.as_str(), "defaultConfiguration": {"level": level(id.severity())}}))
        .collect();
    let results: Vec<_> = reports
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(move |f| {
                json!({
                    "ruleId": f.id.as_str(),
                    "level": level(f.severity),
                    "message": {"text": f.message},
                    "locations": [{"logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}]}],
                    "properties": {"key": r.key, "statement": f.statement, "fix": f.fix}
                })
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "trailkey", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
