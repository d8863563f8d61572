//! The dashboard's HTML pages, rendered on the server as pure functions of
//! the report views' tables ([`projector::views::build`]) and a few facts
//! about the read model ([`PageMeta`]). Every page has the same header and
//! navigation, a plain GET form to choose the "as of" date (no script
//! needed), each chart with its table and a CSV link, and a footer with the
//! log position and digest. With [`PageMeta::live`] the page loads
//! `/assets/live.js`, which swaps `<main id="content">` and the footer when
//! the server's stream reports a new position. All member text is escaped.

mod analysis;
mod content;
#[cfg(test)]
mod demo;
mod html;
mod records;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use projector::views::{Table, View};

use super::svg::escape;

/// The stylesheet, served at `/assets/style.css`.
pub const STYLE_CSS: &str = include_str!("assets/style.css");
/// The live-update script, served at `/assets/live.js`.
pub const LIVE_JS: &str = include_str!("assets/live.js");

/// A dashboard page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Per donor totals and the pipeline in figures (`/`).
    Overview,
    /// Needs, offers, commitments, deliveries, receipts as a funnel.
    Pipeline,
    /// Cumulative commitments and deliveries by month.
    Months,
    /// Needs coverage by category and priority.
    Needs,
    /// Overdue tranches and receipts, by age.
    Overdue,
    /// Amendments, corrections, cancellations, newest first.
    Changes,
    /// Rejected events, chain heads, the latest checkpoint, time findings.
    Integrity,
    /// The analysts' cuts: by country, modality, DAC sector, contributor;
    /// donor x recipient flows; needs coverage by category and priority.
    Analysis,
}

impl Page {
    /// Every page, in navigation order.
    pub const ALL: [Page; 8] = [
        Page::Overview,
        Page::Pipeline,
        Page::Months,
        Page::Needs,
        Page::Analysis,
        Page::Overdue,
        Page::Changes,
        Page::Integrity,
    ];

    /// The page's path without the leading `/` (`""` for the overview, served at `/`).
    pub fn slug(self) -> &'static str {
        match self {
            Page::Overview => "",
            Page::Pipeline => "pipeline",
            Page::Months => "months",
            Page::Needs => "needs",
            Page::Overdue => "overdue",
            Page::Changes => "changes",
            Page::Integrity => "integrity",
            Page::Analysis => "analysis",
        }
    }

    /// The page's title (also its navigation label).
    pub fn title(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Pipeline => "Pipeline",
            Page::Months => "Months",
            Page::Needs => "Needs coverage",
            Page::Overdue => "Overdue",
            Page::Changes => "Changes",
            Page::Integrity => "Integrity",
            Page::Analysis => "Analysis",
        }
    }

    /// The page served at `/{slug}` (`""`: the overview, at `/`).
    pub fn from_slug(s: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|p| p.slug() == s)
    }

    /// The report views the page is built from, in the order [`render`] takes their tables.
    pub fn views(self) -> &'static [View] {
        match self {
            Page::Overview => &[View::Donors, View::Pipeline],
            Page::Pipeline => &[View::Pipeline],
            Page::Months => &[View::Months],
            Page::Needs => &[View::Needs, View::Categories],
            Page::Overdue => &[View::Overdue],
            Page::Changes => &[View::Changes],
            Page::Integrity => &[View::Integrity],
            Page::Analysis => &analysis::VIEWS,
        }
    }

    /// The page's path, with `?as_of=` when a date is chosen.
    fn href(self, as_of: Option<&str>) -> String {
        let mut h = format!("/{}", self.slug());
        if let Some(d) = as_of {
            let _ = write!(h, "?as_of={}", html::query(d));
        }
        h
    }
}

/// What a page shows besides its views' tables.
#[derive(Debug, Clone, Copy)]
pub struct PageMeta<'a> {
    /// `YYYY-MM-DD` when the reader chose a date, else `None` (the current state).
    pub as_of: Option<&'a str>,
    /// The report date the views were built with.
    pub today: &'a str,
    /// The log position the figures reflect.
    pub position: u64,
    /// The log's length.
    pub log_length: u64,
    /// Hex digest of the read model.
    pub digest: &'a str,
    /// RFC 3339 UTC time the figures were built.
    pub generated_at: &'a str,
    /// The ledger's name (origin).
    pub origin: &'a str,
    /// The latest signed checkpoint's text (a signed note), if any.
    pub checkpoint: Option<&'a str>,
    /// Whether to include the live-update script.
    pub live: bool,
}

/// The page, from the tables of `page.views()` in that order (`views[i]` is
/// [`projector::views::build`] of `page.views()[i]`). Missing views or
/// tables, and rows with missing cells, show as empty, never panic.
pub fn render(page: Page, views: &[Vec<Table>], meta: &PageMeta) -> String {
    let ctx = html::Ctx { as_of: meta.as_of };
    let body = match page {
        Page::Overview => content::overview(views, &ctx),
        Page::Pipeline => content::pipeline(views, &ctx),
        Page::Months => content::months(views, &ctx),
        Page::Needs => content::needs(views, &ctx),
        Page::Overdue => records::overdue(views, &ctx),
        Page::Changes => records::changes(views, &ctx),
        Page::Integrity => records::integrity(views, &ctx, meta.checkpoint, meta.log_length),
        Page::Analysis => analysis::page(views, &ctx),
    };
    let state = match meta.as_of {
        Some(d) => format!(
            "The state as it was at the end of <strong>{}</strong>, rebuilt from the log.",
            escape(d)
        ),
        None => format!(
            "The current state; overdue items judged on <strong>{}</strong>.",
            escape(meta.today)
        ),
    };
    let main = format!(r#"<p class="state" data-live="state">{state}</p>{body}"#);
    layout(Some(page), Some(meta), &main)
}

/// The page shown for an error (a bad `as_of` date, ...): the same layout,
/// the message in an alert, no figures.
pub fn error_page(message: &str) -> String {
    let main = format!(
        r#"<div class="error" role="alert"><h2>The page could not be shown</h2><p>{}</p><p><a href="/">Back to the overview</a></p></div>"#,
        escape(message)
    );
    layout(None, None, &main)
}

/// The whole document around `main`.
fn layout(page: Option<Page>, meta: Option<&PageMeta>, main: &str) -> String {
    let as_of = meta.and_then(|m| m.as_of);
    let title = page.map_or("Error", Page::title);
    let live = meta.is_some_and(|m| m.live);
    let origin = meta.map_or("", |m| m.origin);
    let mut out = String::with_capacity(main.len() + 4096);
    let _ = write!(
        out,
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t} · Tallinn Mechanism</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/style.css">{script}</head>
<body data-position="{pos}"><a class="skip" href="#content">Skip to the figures</a>
<header class="site"><div class="brand"><span class="mark" aria-hidden="true"></span><span class="name">Tallinn Mechanism</span><span class="sub">Coordination ledger{o}</span></div>{nav}</header>
<div class="titlebar"><h1>{t}</h1>{form}</div>
<main id="content">{main}</main>
{footer}
</body></html>
"##,
        t = escape(title),
        script = if live {
            r#"<script src="/assets/live.js" defer></script>"#
        } else {
            ""
        },
        pos = meta.map_or(0, |m| m.position),
        o = if origin.is_empty() {
            String::new()
        } else {
            format!(" · {}", escape(origin))
        },
        nav = nav(page, as_of),
        form = page.map(|p| as_of_form(p, as_of)).unwrap_or_default(),
        footer = meta.map(footer).unwrap_or_default(),
    );
    out
}

/// The navigation: a link per page, `?as_of=` kept, the current one marked.
fn nav(current: Option<Page>, as_of: Option<&str>) -> String {
    let mut out = String::from(r#"<nav aria-label="Dashboard pages"><ul>"#);
    for p in Page::ALL {
        let mark = if Some(p) == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<li><a href="{h}"{mark}>{t}</a></li>"#,
            h = escape(&p.href(as_of)),
            t = escape(p.title()),
        );
    }
    out.push_str("</ul></nav>");
    out
}

/// The "as of" form: a plain GET form with a date input, and a link back
/// to the current state when a date is chosen.
fn as_of_form(page: Page, as_of: Option<&str>) -> String {
    let reset = match as_of {
        Some(_) => format!(
            r#"<a class="reset" href="{}">Current state</a>"#,
            escape(&page.href(None))
        ),
        None => String::new(),
    };
    format!(
        r#"<form class="as-of" method="get" action="{action}"><label for="as_of">State as of</label><input type="date" id="as_of" name="as_of" value="{v}"><button type="submit">Show</button>{reset}</form>"#,
        action = escape(&page.href(None)),
        v = escape(as_of.unwrap_or("")),
    )
}

/// The footer: position, log length, digest, generation time, dates.
fn footer(m: &PageMeta) -> String {
    let short: String = m.digest.chars().take(12).collect();
    let date = match m.as_of {
        Some(d) => format!("as of {}", escape(d)),
        None => format!("current, report date {}", escape(m.today)),
    };
    format!(
        r#"<footer id="footer" class="site"><dl class="meta"><div><dt>Log position</dt><dd data-live="position">{pos} of {len}</dd></div><div><dt>Read-model digest</dt><dd><code title="{d}">{short}…</code></dd></div><div><dt>Generated</dt><dd><time datetime="{g}">{g}</time></dd></div><div><dt>Figures</dt><dd>{date}</dd></div></dl><p class="fine">Figures in euros, rounded to whole euros; the CSV and JSON reports give cents. Every figure is derived from the signed event log and can be recomputed by any member.</p></footer>"#,
        pos = html::int(u128::from(m.position)),
        len = html::int(u128::from(m.log_length)),
        d = escape(m.digest),
        short = escape(&short),
        g = escape(m.generated_at),
    )
}
