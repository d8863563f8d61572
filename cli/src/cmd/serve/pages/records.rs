//! The record pages: overdue items by age, recent changes, integrity.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use projector::views::{Cell, Table, View};

use super::html::{self, csv_link, figure, find, note, num, section, text, Ctx};
use crate::cmd::serve::svg::{self, escape, eur, Bars, Group, Series, Unit};

/// Rows shown at most in a long table (the CSV has them all).
pub(super) const MAX_ROWS: usize = 200;

/// The ageing buckets: label and the last day they hold (inclusive).
const BUCKETS: [(&str, u128); 4] = [
    ("0-30 days", 30),
    ("31-90 days", 90),
    ("91-180 days", 180),
    ("over 180 days", u128::MAX),
];

/// The bucket of a number of days overdue.
fn bucket(days: u128) -> usize {
    BUCKETS
        .iter()
        .position(|(_, last)| days <= *last)
        .unwrap_or(BUCKETS.len() - 1)
}

/// A note and the rows to show: at most [`MAX_ROWS`], newest (last) first when `newest_first`.
fn bounded<'a>(
    t: &'a Table,
    newest_first: bool,
    what: &str,
    view: View,
) -> (Vec<&'a Vec<Cell>>, String) {
    let mut rows: Vec<&Vec<Cell>> = t.rows.iter().collect();
    if newest_first {
        rows.reverse();
    }
    let n = rows.len();
    rows.truncate(MAX_ROWS);
    let msg = if n > MAX_ROWS {
        format!(
            "Showing {} of {} {what}; the CSV of the {} report below has them all.",
            MAX_ROWS,
            html::int(n as u128),
            view.name()
        )
    } else {
        format!("{} {what}.", html::int(n as u128))
    };
    (rows, note(&msg))
}

/// Overdue items per age bucket, by kind: (count, cents); kind 0 tranche, 1 receipt.
type Ages = [[(u64, u128); 2]; BUCKETS.len()];

/// The ageing section: a chart of EUR per age bucket and its table.
fn ageing(ages: &Ages, empty: bool) -> String {
    let chart = Bars {
        id: "chart-ageing".into(),
        title: "Overdue EUR by age".into(),
        desc: "Vertical bars per age bucket: the EUR of overdue tranches and of deliveries without receipt.".into(),
        unit: Unit::Cents,
        series: vec![Series::new("tranche", "Tranches not delivered"), Series::new("receipt", "Deliveries not acknowledged")],
        groups: BUCKETS
            .iter()
            .zip(ages)
            .map(|((l, _), a)| Group { category: (*l).into(), values: vec![a[0].1, a[1].1] })
            .collect(),
    };
    let columns = [
        "age",
        "tranches",
        "tranche_eur",
        "receipts",
        "receipt_eur",
        "total_eur",
    ]
    .map(html::column)
    .to_vec();
    let ageing = Table {
        totals: None,
        title: "ageing",
        columns,
        rows: BUCKETS
            .iter()
            .zip(ages)
            .map(|((l, _), a)| {
                vec![
                    Cell::Text((*l).into()),
                    Cell::Int(a[0].0),
                    Cell::Eur(a[0].1),
                    Cell::Int(a[1].0),
                    Cell::Eur(a[1].1),
                    Cell::Eur(a[0].1.saturating_add(a[1].1)),
                ]
            })
            .collect(),
    };
    let intro = note("A tranche is overdue when its expected date has passed and deliveries do not cover it (EUR pro rata of the quantity short); a delivery is overdue for receipt when its recipient has not acknowledged it within the receipt period.");
    let chart_html = if empty {
        html::no_rows("overdue items")
    } else {
        figure(&svg::vbar(&chart))
    };
    let body = format!(
        "{intro}{chart_html}{}",
        html::whole(&ageing, "Overdue items per age")
    );
    section("ageing", "Ageing", &body)
}

/// Overdue tranches and unacknowledged deliveries: ageing buckets and the list.
pub(super) fn overdue(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let Some(t) = find(views, 0, "overdue") else {
        return html::no_rows("overdue items");
    };
    let mut ages: Ages = [[(0, 0); 2]; BUCKETS.len()];
    for r in &t.rows {
        let kind = usize::from(text(t, r, "kind") == "receipt");
        let b = &mut ages[bucket(num(t, r, "days_overdue"))][kind];
        b.0 += 1;
        b.1 = b.1.saturating_add(num(t, r, "eur"));
    }
    let sum = |k: usize| {
        ages.iter().fold((0u64, 0u128), |a, b| {
            (a.0 + b[k].0, a.1.saturating_add(b[k].1))
        })
    };
    let (tr, rc) = (sum(0), sum(1));
    let oldest = t
        .rows
        .iter()
        .map(|r| num(t, r, "days_overdue"))
        .max()
        .unwrap_or(0);
    let mut out = html::cards(&[
        (
            "Tranches overdue",
            html::int(u128::from(tr.0)),
            tr.0.to_string(),
        ),
        ("Tranches overdue, EUR", eur(tr.1), tr.1.to_string()),
        (
            "Deliveries without receipt",
            html::int(u128::from(rc.0)),
            rc.0.to_string(),
        ),
        ("Without receipt, EUR", eur(rc.1), rc.1.to_string()),
        (
            "Oldest, days overdue",
            html::int(oldest),
            oldest.to_string(),
        ),
    ]);
    out.push_str(&ageing(&ages, t.rows.is_empty()));
    let (rows, msg) = bounded(
        t,
        false,
        "overdue items, the longest overdue first",
        View::Overdue,
    );
    let body = format!(
        "{msg}{}{}",
        html::table(t, "Overdue items", &html::shown(t), &rows),
        csv_link(View::Overdue, ctx)
    );
    out.push_str(&section("items", "Overdue items", &body));
    out
}

/// Amendments, corrections and cancellations: counts per kind, the latest first.
pub(super) fn changes(views: &[Vec<Table>], ctx: &Ctx) -> String {
    let Some(t) = find(views, 0, "changes") else {
        return html::no_rows("changes");
    };
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for r in &t.rows {
        *kinds.entry(text(t, r, "kind")).or_default() += 1;
    }
    let cards: Vec<(&str, String, String)> = kinds
        .iter()
        .map(|(k, n)| (k.as_str(), html::int(u128::from(*n)), n.to_string()))
        .collect();
    let mut out = if cards.is_empty() {
        String::new()
    } else {
        html::cards(&cards)
    };
    let (rows, msg) = bounded(t, true, "changes, newest first", View::Changes);
    let keys = [
        "recorded_at",
        "kind",
        "target",
        "producer",
        "what",
        "reason",
    ];
    let body = format!(
        "{}{msg}{}{}",
        note("Amended: the real world changed. Corrected: the record was wrong. Cancelled: a need, offer or commitment withdrawn (whole or its remaining balance). Each change is a signed event; the original stays in the log."),
        html::table(t, "Recent changes", &keys, &rows),
        csv_link(View::Changes, ctx)
    );
    out.push_str(&section("changes", "Recent changes", &body));
    out
}

/// Integrity: the latest checkpoint, rejected events, chain heads, time findings.
pub(super) fn integrity(
    views: &[Vec<Table>],
    ctx: &Ctx,
    checkpoint: Option<&str>,
    log_length: u64,
) -> String {
    let count = |title: &str| find(views, 0, title).map_or(0, |t| t.rows.len());
    let mut out = html::cards(&[
        (
            "Members' chains",
            html::int(count("chain_heads") as u128),
            count("chain_heads").to_string(),
        ),
        (
            "Rejected events",
            html::int(count("rejected") as u128),
            count("rejected").to_string(),
        ),
        (
            "Time findings",
            html::int(count("time_findings") as u128),
            count("time_findings").to_string(),
        ),
    ]);
    out.push_str(&section(
        "checkpoint",
        "Latest signed checkpoint",
        &checkpoint_html(checkpoint, log_length),
    ));
    let body = find(views, 0, "rejected")
        .map_or_else(|| html::no_rows("rejected events"), |t| rejected(t, ctx));
    out.push_str(&section("rejected", "Rejected events", &body));
    // Members are admitted by the coordinator (few); findings come from
    // members' events (a member may make many): those are bounded.
    let heads = find(views, 0, "chain_heads").map_or_else(
        || html::no_rows("chain heads"),
        |t| html::whole(t, "Each member's chain head"),
    );
    out.push_str(&section("heads", "Chain heads", &heads));
    let body = match find(views, 0, "time_findings") {
        Some(t) => {
            let (rows, msg) = bounded(t, true, "time findings, newest first", View::Integrity);
            format!(
                "{}{msg}{}",
                note("Events whose recorded time lies outside what the signed times of the checkpoints allow."),
                html::table(t, "Time findings", &html::shown(t), &rows)
            )
        }
        None => html::no_rows("time findings"),
    };
    out.push_str(&section("time", "Time findings", &body));
    out
}

/// The rejected events: a chart and a table per code, and the list, newest first.
fn rejected(t: &Table, ctx: &Ctx) -> String {
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for r in &t.rows {
        *codes.entry(text(t, r, "code")).or_default() += 1;
    }
    let chart = Bars {
        id: "chart-rejected".into(),
        title: "Rejected events per reason code".into(),
        desc: format!(
            "Horizontal bars, one per code; {} rejected events.",
            t.rows.len()
        ),
        unit: Unit::Count,
        series: vec![Series::new("rejected", "Rejected events")],
        groups: codes
            .iter()
            .map(|(c, n)| Group {
                category: c.clone(),
                values: vec![u128::from(*n)],
            })
            .collect(),
    };
    let by_code = Table {
        totals: None,
        title: "rejected_by_code",
        columns: vec![html::column("code"), html::column("count")],
        rows: codes
            .iter()
            .map(|(c, n)| vec![Cell::Text(c.clone()), Cell::Int(*n)])
            .collect(),
    };
    let (rows, msg) = bounded(t, true, "rejected events, newest first", View::Integrity);
    let mut body = String::new();
    let _ = write!(body, "{}{}{}{msg}{}", note("Events the ledger's rules refused: they are kept in the log, marked, and never move a total."), figure(&svg::hbar(&chart)), html::whole(&by_code, "Rejected events per code"), html::table(t, "Rejected events", &html::shown(t), &rows));
    body.push_str(&html::csv_links(
        View::Integrity,
        &["chain_heads", "rejected", "time_findings"],
        ctx,
    ));
    body
}

/// A signed time (unix seconds) as RFC 3339, or the number when out of range.
fn unix_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .map_or_else(
            || secs.to_string(),
            |ms| ledger::calendar::Timestamp(ms).to_string(),
        )
}

/// A count in a `data-value` span, then the names: `2: a, b`.
fn counted(n: usize, names: &[String], live: &str) -> String {
    let list = if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    };
    format!(r#"<span data-value="{n}"{live}>{n}</span>{list}"#)
}

/// The checkpoint note: size, root, time, and its signatures (the log's and
/// the witnesses' cosignatures, told apart by their length: a cosignature
/// carries its 8-byte time before the 64-byte signature); unreadable text
/// is shown as it is.
fn checkpoint_html(text: Option<&str>, log_length: u64) -> String {
    use ledger::checkpoint::{Checkpoint, Note};
    let Some(text) = text else {
        return note("No signed checkpoint yet.");
    };
    let parsed = Note::parse(text)
        .ok()
        .and_then(|n| Checkpoint::parse_body(&n.text).ok().map(|c| (n, c)));
    let Some((signed, cp)) = parsed else {
        return format!(
            "{}<pre class=\"raw\">{}</pre>",
            note("The checkpoint text could not be read as a signed checkpoint; as stored:"),
            escape(text)
        );
    };
    let (cosigned, signers): (Vec<_>, Vec<_>) =
        signed.signatures.iter().partition(|s| s.sig.len() == 72);
    let signer_names: Vec<String> = signers.iter().map(|s| escape(&s.name)).collect();
    let witnesses: Vec<String> = cosigned
        .iter()
        .map(|s| {
            let when = s
                .cosignature_time()
                .map_or_else(|_| "time unreadable".into(), unix_time);
            format!("{} ({when})", escape(&s.name))
        })
        .collect();
    let facts = [
        ("Origin", escape(&cp.origin)),
        (
            "Tree size",
            format!(
                r#"<span data-value="{s}">{}</span> of {} events in the log"#,
                html::int(u128::from(cp.size)),
                html::int(u128::from(log_length)),
                s = cp.size
            ),
        ),
        (
            "Root hash",
            format!(
                "<code>{}</code>",
                escape(signed.text.lines().nth(2).unwrap_or(""))
            ),
        ),
        (
            "Signed at",
            cp.time().map_or_else(|| "not stated".into(), unix_time),
        ),
        ("Log signatures", counted(signers.len(), &signer_names, "")),
        (
            "Witness cosignatures",
            counted(cosigned.len(), &witnesses, r#" data-live="cosignatures""#),
        ),
    ];
    let mut out = String::from(r#"<dl class="facts" data-live="checkpoint">"#);
    for (k, v) in facts {
        let _ = write!(out, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    out.push_str("</dl>");
    let _ = write!(
        out,
        "{}<details><summary>The checkpoint as signed</summary><pre class=\"raw\">{}</pre></details>",
        note("Signatures are listed as found in the note; `tallinn checkpoint verify` checks them against the members' keys."),
        escape(text)
    );
    out
}
