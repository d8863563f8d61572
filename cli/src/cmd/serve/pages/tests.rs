//! The pages from hand-made rows in the real views' columns (the views of an
//! empty model give the columns, so a renamed key fails here).

use ledger::calendar::Date;
use projector::model::Model;
use projector::views::{build, Cell, Params, Table};

use super::{error_page, render, Page, PageMeta};

const HOSTILE: &str = "<script>alert(1)</script>";
const ATTR: &str = "\"onload=alert(1) x=\"";
const DAY: &str = "2026-06-30";

fn params() -> Params {
    Params {
        today: Date::from_ymd(2026, 6, 30).expect("a date"),
        receipt_days: 30,
    }
}

/// The page's views built from an empty model: the real tables, no rows
/// (but the totals and the pipeline's stages).
fn empty(page: Page) -> Vec<Vec<Table>> {
    let model = Model::new();
    page.views()
        .iter()
        .map(|v| build(&model, *v, &params()))
        .collect()
}

/// A row of `t` from `(key, cell)` pairs, in `t`'s column order; other cells empty text.
fn row(t: &Table, cells: &[(&str, Cell)]) -> Vec<Cell> {
    for (k, _) in cells {
        assert!(
            t.columns.iter().any(|c| c.key == *k),
            "{} has no column {k}",
            t.title
        );
    }
    t.columns
        .iter()
        .map(|c| {
            cells
                .iter()
                .find(|(k, _)| *k == c.key)
                .map_or(Cell::Text(String::new()), |(_, v)| v.clone())
        })
        .collect()
}

fn txt(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn donor_row(t: &Table, name: &str, figures: [u128; 4]) -> Vec<Cell> {
    row(
        t,
        &[
            ("donor", txt(name)),
            ("offered_eur", Cell::Eur(figures[0])),
            ("committed_eur", Cell::Eur(figures[1])),
            ("delivered_eur", Cell::Eur(figures[2])),
            ("acknowledged_eur", Cell::Eur(figures[3])),
            ("delivery_ratio", Cell::Ratio(Some(0.5))),
            ("acknowledged_ratio", Cell::Ratio(None)),
        ],
    )
}

/// Fills the tables a page shows with a few rows, hostile text among them.
fn fill(t: &mut Table) {
    if let Some(rows) = figures(t).or_else(|| records(t)).or_else(|| analysis(t)) {
        t.rows = rows;
    }
    if t.title == "donors" {
        let mut total = donor_row(t, "", [123_456_989, 98_765_582, 5_000_050, 1]);
        total[0] = Cell::Null;
        t.totals = Some(total);
    }
}

/// Rows for the analysis page's views: a figure or two, hostile text in a key.
fn analysis(t: &Table) -> Option<Vec<Vec<Cell>>> {
    let key = t.columns.first()?.key;
    let rows = match t.title {
        "countries" | "modalities" | "sectors" | "contributors" | "flows" | "coverage" => {
            [(HOSTILE, 300_000, 100_000), ("EE", 500_000, 0)]
                .iter()
                .map(|(k, a, b)| {
                    row(
                        t,
                        &[
                            (key, txt(k)),
                            ("committed_eur", Cell::Eur(*a)),
                            ("delivered_eur", Cell::Eur(*b)),
                        ],
                    )
                })
                .collect()
        }
        _ => return None,
    };
    Some(rows)
}

/// Rows for the figures views.
fn figures(t: &Table) -> Option<Vec<Vec<Cell>>> {
    let rows = match t.title {
        "donors" => vec![
            donor_row(t, "DE-AA", [123_456_789, 98_765_432, 5_000_050, 1]),
            donor_row(t, HOSTILE, [200, 150, 0, 0]),
            donor_row(t, ATTR, [0, 0, 0, 0]),
        ],
        "pipeline" => ["need", "offer", "commitment", "delivery", "receipt"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = 5 - i as u64;
                let cells = [
                    ("stage", txt(s)),
                    ("count", Cell::Int(n)),
                    ("eur", Cell::Eur(u128::from(n) * 100_0000)),
                ];
                row(t, &cells)
            })
            .collect(),
        "months" => [
            ("2026-01", "DE-AA", 100_000, 0, 100_000, 0),
            ("2026-02", HOSTILE, 50_000, 70_000, 50_000, 70_000),
        ]
        .iter()
        .map(|(m, d, c, de, cc, cd)| {
            row(
                t,
                &[
                    ("month", txt(m)),
                    ("donor", txt(d)),
                    ("committed_eur", Cell::Eur(*c)),
                    ("delivered_eur", Cell::Eur(*de)),
                    ("cumulative_committed_eur", Cell::Eur(*cc)),
                    ("cumulative_delivered_eur", Cell::Eur(*cd)),
                ],
            )
        })
        .collect(),
        "months_total" => [
            ("2026-01", 100_000, 0, 100_000, 0),
            ("2026-02", 50_000, 70_000, 150_000, 70_000),
        ]
        .iter()
        .map(|(m, c, de, cc, cd)| {
            row(
                t,
                &[
                    ("month", txt(m)),
                    ("committed_eur", Cell::Eur(*c)),
                    ("delivered_eur", Cell::Eur(*de)),
                    ("cumulative_committed_eur", Cell::Eur(*cc)),
                    ("cumulative_delivered_eur", Cell::Eur(*cd)),
                ],
            )
        })
        .collect(),
        _ => return None,
    };
    Some(rows)
}

/// Rows for the record views.
fn records(t: &Table) -> Option<Vec<Vec<Cell>>> {
    let rows = match t.title {
        "needs" => [
            ("N-1", "hardware", "critical", 100_000, 60_000, "partial"),
            ("N-2", "hardware", "high", 300_000, 0, "uncovered"),
            ("N-3", HOSTILE, "critical", 50_000, 50_000, "covered"),
            ("N-4", "software", "low", 999_900, 0, "withdrawn"),
        ]
        .iter()
        .map(|(id, cat, prio, stated, com, status)| {
            row(
                t,
                &[
                    ("need", txt(id)),
                    ("category", txt(cat)),
                    ("priority", txt(prio)),
                    ("stated_eur", Cell::Eur(*stated)),
                    ("offered_eur", Cell::Eur(*com)),
                    ("committed_eur", Cell::Eur(*com)),
                    ("delivered_eur", Cell::Eur(0)),
                    ("covered_ratio", Cell::Ratio(None)),
                    ("status", txt(status)),
                ],
            )
        })
        .collect(),
        "overdue" => [
            ("tranche", 10, 1_000),
            ("receipt", 45, 2_000),
            ("tranche", 200, 4_000),
            ("tranche", 31, 8_000),
        ]
        .iter()
        .map(|(k, d, e)| {
            row(
                t,
                &[
                    ("kind", txt(k)),
                    ("item", txt(HOSTILE)),
                    ("days_overdue", Cell::Int(*d)),
                    ("eur", Cell::Eur(*e)),
                ],
            )
        })
        .collect(),
        "changes" => (1..=250u64)
            .map(|i| {
                row(
                    t,
                    &[
                        ("position", Cell::Int(i)),
                        (
                            "kind",
                            txt(if i % 2 == 0 { "amended" } else { "cancelled" }),
                        ),
                        ("target", txt(&format!("ITEM-{i}"))),
                        ("reason", txt(if i == 250 { HOSTILE } else { ATTR })),
                    ],
                )
            })
            .collect(),
        "chain_heads" => vec![row(
            t,
            &[
                ("member", txt(HOSTILE)),
                ("seq", Cell::Int(3)),
                ("head", txt("abcd")),
            ],
        )],
        "rejected" => vec![row(
            t,
            &[
                ("position", Cell::Int(7)),
                ("member", txt("DE-AA")),
                ("code", txt("bad_signature")),
                ("reason", txt(HOSTILE)),
            ],
        )],
        _ => return None,
    };
    Some(rows)
}

fn filled(page: Page) -> Vec<Vec<Table>> {
    let mut views = empty(page);
    views.iter_mut().flatten().for_each(fill);
    views
}

fn meta(as_of: Option<&'static str>) -> PageMeta<'static> {
    PageMeta {
        as_of,
        today: DAY,
        position: 42,
        log_length: 45,
        digest: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        generated_at: "2026-06-30T12:00:00Z",
        origin: "example.org/tallinn",
        checkpoint: None,
        live: false,
    }
}

/// Every element opened is closed in order (void elements and `/>` aside).
fn balanced(html: &str) -> Result<(), String> {
    const VOID: [&str; 5] = ["meta", "link", "input", "br", "img"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or("a < without >")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if top != name {
                return Err(format!("</{name}> closes <{top}>"));
            }
        } else {
            let name: String = tag
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("left open: {stack:?}"))
    }
}

#[test]
fn overview_bars_carry_the_exact_cents() {
    let html = render(Page::Overview, &filled(Page::Overview), &meta(None));
    for (series, value) in [
        ("offered_eur", 123_456_789),
        ("committed_eur", 98_765_432),
        ("delivered_eur", 5_000_050),
        ("acknowledged_eur", 1),
    ] {
        let bar = format!(
            r#"<rect class="bar" data-series="{series}" data-category="DE-AA" data-value="{value}""#
        );
        assert!(html.contains(&bar), "missing {bar}");
    }
    // The TOTAL row is a card and a table row, not a bar.
    assert!(!html.contains(r#"data-category="TOTAL""#));
    assert_eq!(
        html.matches(r#"<rect class="bar""#).count(),
        12,
        "three donors, four series"
    );
    assert!(
        html.contains(r#"<dd data-value="98765582">EUR 987,656</dd>"#),
        "committed total card"
    );
    assert!(
        html.contains(r#"data-value="123456789">EUR 1,234,568</td>"#),
        "table cell rounded, exact value kept"
    );
}

#[test]
fn hostile_text_is_inert_on_every_page() {
    for page in Page::ALL {
        let html = render(page, &filled(page), &meta(Some(DAY)));
        assert!(
            !html.contains("<script>alert"),
            "{page:?} has a live script"
        );
        assert!(!html.contains("\"onload="), "{page:?} has a raw attribute");
        assert!(!html.to_lowercase().contains("<script>"), "{page:?}");
    }
    let html = render(Page::Overview, &filled(Page::Overview), &meta(None));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&quot;onload=alert(1) x=&quot;"));
}

#[test]
fn every_page_has_the_layout_the_charts_tables_and_csv_links() {
    for page in Page::ALL {
        let html = render(page, &filled(page), &meta(Some(DAY)));
        let nav = &html[html.find("<nav").expect("nav")..html.find("</nav>").expect("nav end")];
        assert_eq!(nav.matches("<a href=").count(), Page::ALL.len(), "{page:?}");
        assert_eq!(nav.matches(r#"aria-current="page""#).count(), 1, "{page:?}");
        assert_eq!(
            nav.matches("?as_of=2026-06-30").count(),
            Page::ALL.len(),
            "{page:?}: nav keeps as_of"
        );
        let current = format!(
            r#"href="/{}?as_of=2026-06-30" aria-current="page""#,
            page.slug()
        );
        assert!(nav.contains(&current), "{page:?}");
        assert!(html.contains(r#"<form class="as-of" method="get""#));
        assert!(html.contains(r#"<input type="date" id="as_of" name="as_of" value="2026-06-30">"#));
        // A CSV link per table: the view's own, or each of a view of several.
        for v in page.views() {
            let tables = build(&Model::new(), *v, &params());
            for t in &tables {
                let csv = match tables.len() {
                    1 => format!(
                        "/api/v1/reports/{}?format=csv&amp;as_of=2026-06-30",
                        v.name()
                    ),
                    _ => format!(
                        "/api/v1/reports/{}?format=csv&amp;table={}&amp;as_of=2026-06-30",
                        v.name(),
                        t.title
                    ),
                };
                assert!(html.contains(&csv), "{page:?}: no {csv}");
            }
        }
        if page == Page::Overview {
            assert!(html.contains(r#"<a href="/pipeline?as_of=2026-06-30">The pipeline"#));
        }
        let (svgs, tables) = (html.matches("<svg").count(), html.matches("<table").count());
        assert!(svgs >= 1 || page == Page::Changes, "{page:?} has a chart");
        assert!(tables >= svgs, "{page:?}: {svgs} charts, {tables} tables");
        assert_eq!(html.matches("<caption>").count(), tables, "{page:?}");
        assert!(html.contains(r#"<th scope="col""#) && html.contains(r#"<th scope="row""#));
        assert!(
            html.contains(r#"<main id="content">"#)
                && html.contains(r#"<body data-position="42">"#)
        );
        assert!(html.contains(r#"<footer id="footer""#) && html.contains("42 of 45"));
        assert!(html.contains(r#"title="0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef">0123456789ab…"#));
        assert!(!html.contains("/assets/live.js"), "not live");
        balanced(&html).unwrap_or_else(|e| panic!("{page:?}: {e}"));
    }
}

#[test]
fn without_as_of_links_are_plain_and_live_adds_the_script() {
    let mut m = meta(None);
    m.live = true;
    let html = render(Page::Needs, &filled(Page::Needs), &m);
    assert!(html.contains(r#"<a href="/needs" aria-current="page">"#));
    assert!(html.contains(r#"href="/api/v1/reports/needs?format=csv""#));
    assert!(!html.contains("as_of=2"));
    assert!(html.contains(r#"<script src="/assets/live.js" defer></script>"#));
    assert!(html.contains("overdue items judged on <strong>2026-06-30</strong>"));
}

#[test]
fn empty_views_say_no_data_and_draw_no_nan() {
    for page in Page::ALL {
        let html = render(page, &empty(page), &meta(None));
        for bad in ["NaN", "inf", "undefined"] {
            assert!(!html.contains(bad), "{page:?} has {bad}");
        }
        if page != Page::Pipeline {
            assert!(html.contains("No data"), "{page:?}");
        }
        balanced(&html).unwrap_or_else(|e| panic!("{page:?}: {e}"));
        // No views at all, or an empty list of tables: no panic, no data.
        let none = render(page, &[], &meta(None));
        assert!(none.contains("No data"), "{page:?}");
        let blank = render(page, &[Vec::new(), Vec::new()], &meta(None));
        assert!(blank.contains("No data"), "{page:?}");
    }
}

#[test]
fn ragged_rows_do_not_panic() {
    for page in Page::ALL {
        let mut views = filled(page);
        for t in views.iter_mut().flatten() {
            t.rows.push(Vec::new());
            t.rows.push(vec![Cell::Int(1)]);
            t.rows
                .push(vec![Cell::Ratio(Some(f64::NAN)); t.columns.len() + 5]);
            t.rows.push(vec![Cell::Eur(u128::MAX); t.columns.len()]);
        }
        let html = render(page, &views, &meta(None));
        assert!(html.contains("</html>"), "{page:?}");
        assert!(!html.contains("NaN"), "{page:?}");
        balanced(&html).unwrap_or_else(|e| panic!("{page:?}: {e}"));
    }
}

#[test]
fn changes_are_newest_first_and_bounded() {
    let html = render(Page::Changes, &filled(Page::Changes), &meta(None));
    let (a, b) = (
        html.find(">ITEM-250<").expect("newest"),
        html.find(">ITEM-249<").expect("next"),
    );
    assert!(a < b, "newest first");
    assert!(
        html.contains(">ITEM-51<") && !html.contains(">ITEM-50<"),
        "the latest 200"
    );
    assert!(html.contains("Showing 200 of 250"));
    assert!(html.contains(r#"data-value="125">125</dd>"#), "125 amended");
}

#[test]
fn needs_are_summed_by_category_and_priority_without_withdrawn() {
    let html = render(Page::Needs, &filled(Page::Needs), &meta(None));
    let bar = r#"data-series="stated_eur" data-category="hardware" data-value="400000""#;
    assert!(html.contains(bar), "hardware: 1,000 + 3,000 EUR");
    assert!(
        !html.contains(r#"data-category="software""#),
        "withdrawn only"
    );
    assert!(html.contains("1 withdrawn need is left out"));
    assert!(html
        .contains(r#"data-series="committed_eur" data-category="critical" data-value="110000""#));
}

#[test]
fn overdue_items_fall_in_their_age_buckets() {
    let html = render(Page::Overdue, &filled(Page::Overdue), &meta(None));
    for (series, bucket, cents) in [
        ("tranche", "0-30 days", 1_000),
        ("receipt", "31-90 days", 2_000),
        ("tranche", "31-90 days", 8_000),
        ("tranche", "over 180 days", 4_000),
        ("tranche", "91-180 days", 0),
    ] {
        let bar =
            format!(r#"data-series="{series}" data-category="{bucket}" data-value="{cents}""#);
        assert!(html.contains(&bar), "missing {bar}");
    }
}

#[test]
fn integrity_shows_the_checkpoint_and_its_cosignatures() {
    let root = format!("{}=", "A".repeat(43));
    let log_sig = format!("{}=", "A".repeat(91));
    let cosig = format!("{}==", "A".repeat(102));
    let text = format!("example.org/tallinn\n40\n{root}\ntime 1782820800\n\n— coordinator {log_sig}\n— witness-ee {cosig}\n— witness-de {cosig}\n");
    let mut m = meta(None);
    m.checkpoint = Some(&text);
    let html = render(Page::Integrity, &filled(Page::Integrity), &m);
    assert!(html.contains(r#"<span data-value="40">40</span> of 45 events"#));
    assert!(html.contains(r#"<span data-value="2" data-live="cosignatures">2</span>: witness-ee"#));
    assert!(html.contains(r#"<span data-value="1">1</span>: coordinator"#));
    assert!(
        html.contains("2026-06-30T12:00:00Z"),
        "signed time as a date"
    );
    m.checkpoint = Some("not <b>a</b> checkpoint");
    let html = render(Page::Integrity, &filled(Page::Integrity), &m);
    assert!(
        html.contains("could not be read") && html.contains("not &lt;b&gt;a&lt;/b&gt; checkpoint")
    );
    m.checkpoint = None;
    assert!(render(Page::Integrity, &[], &m).contains("No signed checkpoint yet"));
}

#[test]
fn the_error_page_escapes_its_message() {
    let html = error_page("bad date <script>alert(1)</script>");
    assert!(html.contains("bad date &lt;script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(!html.contains("aria-current"));
    assert_eq!(html.matches("<li><a href=").count(), Page::ALL.len());
    balanced(&html).expect("balanced");
}

#[test]
fn slugs_and_views() {
    for p in Page::ALL {
        assert_eq!(Page::from_slug(p.slug()), Some(p));
        assert!(!p.views().is_empty());
    }
    assert_eq!(Page::Overview.slug(), "");
    assert_eq!(Page::from_slug("nope"), None);
    let hrefs: Vec<String> = Page::ALL
        .iter()
        .map(|p| p.href(Some("2026-01-01&x=<")))
        .collect();
    assert_eq!(hrefs[1], "/pipeline?as_of=2026-01-01%26x%3D%3C");
}

#[test]
fn months_without_rows_are_drawn_with_the_cumulative_figures_carried() {
    let mut views = filled(Page::Months);
    for t in views.iter_mut().flatten() {
        for r in t
            .rows
            .iter_mut()
            .filter(|r| r.first() == Some(&txt("2026-02")))
        {
            r[0] = txt("2026-04");
        }
    }
    let html = render(Page::Months, &views, &meta(None));
    for point in [
        r#"data-series="cumulative_committed_eur" data-x="2026-03" data-value="100000""#,
        r#"data-series="cumulative_committed_eur" data-x="2026-04" data-value="150000""#,
        r#"data-series="committed_eur" data-category="2026-03" data-value="0""#,
    ] {
        assert!(html.contains(point), "missing {point}");
    }
}
