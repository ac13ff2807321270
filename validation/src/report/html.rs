//! Writes `index.html` (one section per check) and `summary.json`.

use super::{fmt_num, Report, Status};
use crate::error::{Result, ValidationError};
use oplab_common::html::{self, esc};
use std::fmt::Write as _;
use std::path::Path;

fn badge(s: Status) -> &'static str {
    match s {
        Status::Pass => "<span class=\"pass\">PASS</span>",
        Status::Fail => "<span class=\"fail\">FAIL</span>",
        Status::Skipped => "<span class=\"skip\">SKIPPED</span>",
    }
}

/// Renders the report as a self-contained HTML page (figures are sibling files).
pub fn render_html(report: &Report) -> String {
    // The report's own styles: the status badges and the boxed prediction.
    let style = ".pass{color:#fff;background:#1a7f37;padding:1px 6px;border-radius:3px}\
.fail{color:#fff;background:#cf222e;padding:1px 6px;border-radius:3px}\
.skip{color:#fff;background:#888;padding:1px 6px;border-radius:3px}\
p.pred{background:#f6f8fa;padding:0.5em}";
    let mut h = html::head("oplab validation report", style);
    let _ = write!(
        h,
        "<h1>oplab validation report</h1>\n<p>Overall: {} &middot; {} checks &middot; mode: {} &middot; seed {} &middot; wall time {} s &middot; oplab-validation {}</p>\n",
        if report.passed { badge(Status::Pass) } else { badge(Status::Fail) },
        report.checks.len(),
        if report.quick { "quick" } else { "full" },
        report.seed,
        (report.wall_s * 10.0).round() / 10.0,
        esc(&report.oplab_version),
    );
    h.push_str("<table><tr><th>check</th><th>status</th><th>comparisons passed</th><th>wall s</th></tr>\n");
    for c in &report.checks {
        let ok = c.measurements.iter().filter(|m| m.passed).count();
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td class=\"num\">{2}/{3}</td><td class=\"num\">{4}</td></tr>",
            esc(&c.name),
            badge(c.status),
            ok,
            c.measurements.len(),
            (c.wall_s * 10.0).round() / 10.0
        );
    }
    h.push_str("</table>\n");
    for c in &report.checks {
        let _ = write!(
            h,
            "<section id=\"{}\"><h2>{} {}</h2>\n<p class=\"pred\"><b>Prediction.</b> {}</p>\n<p><b>Method.</b> {}</p>\n",
            esc(&c.name),
            esc(&c.title),
            badge(c.status),
            esc(&c.prediction),
            esc(&c.method)
        );
        for f in &c.figures {
            h.push_str(&html::figure(&format!("{f}.png"), Some(&format!("{f}.svg")), f));
        }
        if !c.measurements.is_empty() {
            h.push_str("<table><tr><th>quantity</th><th>predicted</th><th>measured</th><th>s.e.</th><th>tolerance</th><th>result</th></tr>\n");
            for m in &c.measurements {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&m.quantity),
                    fmt_num(m.predicted),
                    fmt_num(m.measured),
                    m.std_err.map(fmt_num).unwrap_or_default(),
                    esc(&m.tolerance),
                    if m.passed { badge(Status::Pass) } else { badge(Status::Fail) }
                );
            }
            h.push_str("</table>\n");
        }
        if !c.notes.is_empty() {
            h.push_str("<ul>");
            for n in &c.notes {
                let _ = write!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str(html::tail());
    h
}

/// Writes `dir/index.html` and `dir/summary.json`.
pub fn write(report: &Report, dir: &Path) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| ValidationError::Io { path, source: e }
    };
    let html_path = dir.join("index.html");
    std::fs::write(&html_path, render_html(report)).map_err(io(&html_path))?;
    let json_path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(report).map_err(|e| ValidationError::Io { path: json_path.clone(), source: std::io::Error::other(e) })?;
    std::fs::write(&json_path, json).map_err(io(&json_path))
}
