//! The dashboard of `tallinn serve` in a real browser (headless chromium
//! through chromedriver): every page loads without a console error, the
//! overview's bars are the donors report's exact figures, the "as of" form
//! rebuilds them for a past date, the live script swaps the figures in place
//! when an event is appended (on JetStream and on the embedded log), the pages
//! are complete with scripts disabled, and screenshots for the record.
//!
//! Needs chromium and chromedriver (`scripts/install-chromium.sh`); without
//! them these tests fail, they are never skipped.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::browser::{png_size, poll, screenshot_dir, Browser};
use common::http::get;
use common::nats::NatsServer;
use common::node::{demo, Node};
use common::{ok, tallinn};
use serde_json::Value;

/// The dashboard's pages: path and title.
const PAGES: [(&str, &str); 7] = [
    ("/", "Overview"),
    ("/pipeline", "Pipeline"),
    ("/months", "Months"),
    ("/needs", "Needs coverage"),
    ("/overdue", "Overdue"),
    ("/changes", "Changes"),
    ("/integrity", "Integrity"),
];

/// The donors' series the overview draws.
const SERIES: [&str; 4] = [
    "offered_eur",
    "committed_eur",
    "delivered_eur",
    "acknowledged_eur",
];

/// `(series, donor) -> cents`.
type Figures = BTreeMap<(String, String), u128>;

/// Exact cents of the API's EUR decimal string (`"408000.00"`).
fn cents(s: &str) -> u128 {
    let (whole, frac) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("not a EUR amount: {s:?}"));
    assert!(
        frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit()),
        "not a EUR amount: {s:?}"
    );
    let whole: u128 = whole
        .parse()
        .unwrap_or_else(|_| panic!("not a EUR amount: {s:?}"));
    whole * 100 + frac.parse::<u128>().unwrap()
}

/// The donors report's figures from the API (`?as_of=` when given): the
/// donors' rows and their totals (kept apart from the rows).
fn api_donors(addr: &str, as_of: Option<&str>) -> (Figures, BTreeMap<String, u128>) {
    let path = match as_of {
        Some(d) => format!("/api/v1/reports/donors?as_of={d}"),
        None => "/api/v1/reports/donors".to_string(),
    };
    let a = get(addr, &path);
    assert_eq!(a.status, 200, "{path}: {}", a.text());
    let v = a.json();
    let rows = v["tables"]["donors"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no donors table: {v}"));
    let (mut donors, mut total) = (Figures::new(), BTreeMap::new());
    for r in rows {
        let donor = r["donor"].as_str().expect("a donor id").to_string();
        for s in SERIES {
            let eur = r[s]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: {donor} has no {s}: {r}"));
            donors.insert((s.to_string(), donor.clone()), cents(eur));
        }
    }
    let t = &v["totals"]["donors"];
    assert_eq!(
        t["donor"],
        serde_json::Value::Null,
        "{path}: totals have no key: {t}"
    );
    for s in SERIES {
        let eur = t[s]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no total {s}: {t}"));
        total.insert(s.to_string(), cents(eur));
    }
    (donors, total)
}

/// The overview's bars as the browser has them (WebDriver element reads).
async fn page_bars(b: &Browser) -> Figures {
    let mut out = Figures::new();
    for bar in b
        .all("svg#chart-donors rect.bar[data-series][data-category][data-value]")
        .await
    {
        let attr = |name: &'static str| {
            let bar = bar.clone();
            async move {
                bar.attr(name)
                    .await
                    .expect("attribute")
                    .unwrap_or_else(|| panic!("a bar without {name}"))
            }
        };
        let series = attr("data-series").await;
        let category = attr("data-category").await;
        let value = attr("data-value").await;
        let value: u128 = value
            .parse()
            .unwrap_or_else(|_| panic!("{series} {category}: data-value {value:?}"));
        let old = out.insert((series.clone(), category.clone()), value);
        assert!(old.is_none(), "two bars for {series} {category}");
    }
    out
}

/// Asserts the page's bars are `want` exactly, every one; their number.
async fn assert_bars(b: &Browser, want: &Figures, what: &str) -> usize {
    let got = page_bars(b).await;
    assert!(!got.is_empty(), "{what}: no bars");
    for (k, v) in want {
        assert_eq!(got.get(k), Some(v), "{what}: the bar of {k:?}");
    }
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "{what}: bars not in the report: {extra:?}"
    );
    got.len()
}

/// The donors table's cells as `(donor, column) -> data-value`, and the
/// headline cards as `label -> data-value`, read in one script.
async fn table_and_cards(
    b: &Browser,
) -> (BTreeMap<(String, String), String>, BTreeMap<String, String>) {
    let v = b
        .js(r#"
            var t = document.querySelector('table[data-table="donors"]');
            var keys = Array.from(t.querySelectorAll('thead th')).map(function (th) { return th.getAttribute('data-key'); });
            var cells = [];
            t.querySelectorAll('tbody tr').forEach(function (tr) {
                var donor = tr.querySelector('th').textContent;
                Array.from(tr.children).forEach(function (c, i) {
                    if (c.hasAttribute('data-value')) { cells.push([donor, keys[i], c.getAttribute('data-value')]); }
                });
            });
            var cards = Array.from(document.querySelectorAll('dl.cards div.card')).map(function (d) {
                return [d.querySelector('dt').textContent, d.querySelector('dd').getAttribute('data-value')];
            });
            return [cells, cards];
        "#)
        .await;
    let s = |x: &Value| x.as_str().expect("a string").to_string();
    let cells = v[0]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| ((s(&c[0]), s(&c[1])), s(&c[2])))
        .collect();
    let cards = v[1]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| (s(&c[0]), s(&c[1])))
        .collect();
    (cells, cards)
}

/// How many times the node's live stream was opened (its request counter).
fn stream_opens(addr: &str) -> u64 {
    let text = get(addr, "/metrics").text();
    text.lines()
        .filter(|l| {
            l.starts_with("tallinn_http_requests_total{") && l.contains(r#"route="/api/v1/stream""#)
        })
        .map(|l| {
            l.rsplit_once(' ')
                .and_then(|(_, v)| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("bad metrics line {l:?}"))
        })
        .sum::<f64>() as u64
}

/// Whether the browser rendered a `<noscript>` paragraph (it does only when
/// the page's scripts are disabled).
async fn noscript_shown(b: &Browser) -> bool {
    b.goto("data:text/html,<title>x</title><noscript><p id=ns>scripts are off</p></noscript>")
        .await;
    !b.all("#ns").await.is_empty()
}

/// `data-value` of the pipeline table's `stage` row: (count, cents).
async fn pipeline_row(b: &Browser, stage: &str) -> (u64, u128) {
    let v = b
        .js(&format!(
            r#"var r = Array.from(document.querySelectorAll('table[data-table="pipeline"] tbody tr'))
                 .find(function (tr) {{ return tr.querySelector('th').textContent === '{stage}'; }});
               return r ? Array.from(r.querySelectorAll('td[data-value]')).map(function (c) {{ return c.getAttribute('data-value'); }}) : null;"#
        ))
        .await;
    let cells = v
        .as_array()
        .unwrap_or_else(|| panic!("no {stage} row in the pipeline table"));
    let n = |i: usize| cells[i].as_str().expect("a data-value").to_string();
    (n(0).parse().unwrap(), n(1).parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_without_a_console_error() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let b = Browser::start(true).await;
    let base = format!("http://{}", node.addr);

    assert_eq!(stream_opens(&node.addr), 0);
    for (i, (path, title)) in PAGES.iter().enumerate() {
        b.goto(&format!("{base}{path}")).await;
        let v = b
            .js("var n = performance.getEntriesByType('navigation')[0];
                 return [n.responseStatus, document.title, document.querySelector('h1').textContent,
                         !!document.querySelector('main#content'), document.body.getAttribute('data-position'),
                         document.querySelector('nav a[aria-current=page]').textContent];")
            .await;
        assert_eq!(v[0], 200, "{path}: status");
        assert_eq!(
            v[1],
            format!("{title} · Tallinn Mechanism"),
            "{path}: title"
        );
        assert_eq!(v[2], *title, "{path}: heading");
        assert_eq!(v[3], true, "{path}: main#content");
        assert_eq!(v[4], "52", "{path}: body[data-position]");
        assert_eq!(v[5], *title, "{path}: the current page in the navigation");
        // The live script ran and opened its stream (one per page so far).
        let opens = i as u64 + 1;
        let addr = node.addr.clone();
        poll(&format!("{path}: the live stream opened"), 20, || {
            let addr = addr.clone();
            async move { (stream_opens(&addr) >= opens).then_some(()) }
        })
        .await;
        let severe = b.severe();
        assert!(severe.is_empty(), "{path}: console errors: {severe:?}");
    }

    // The log catches what it must (so the empty logs above mean something):
    // a load-time exception, a failed load.
    b.goto("data:text/html,<title>x</title><script>throw new Error('boom at load')</script>")
        .await;
    let severe = b.severe();
    assert!(
        severe.iter().any(|e| e.contains("boom at load")),
        "the console log missed an uncaught exception: {severe:?}"
    );
    // A resource the node does not have, loaded by a dashboard page.
    b.goto(&format!("{base}/")).await;
    b.js("var i = document.createElement('img'); i.src = '/assets/missing.png'; document.body.appendChild(i); return null")
        .await;
    let severe = poll("the 404 in the console log", 10, || async {
        let s = b.severe();
        (!s.is_empty()).then_some(s)
    })
    .await;
    assert!(
        severe
            .iter()
            .any(|e| e.contains("/assets/missing.png") && e.contains("404")),
        "the console log missed a 404: {severe:?}"
    );
    // Scripts run in this session: no <noscript> content.
    assert!(
        !noscript_shown(&b).await,
        "scripts are off in the scripted session"
    );
    let left = b.severe();
    assert!(left.is_empty(), "entries left over: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_bars_are_the_donors_report() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let (want, total) = api_donors(&node.addr, None);
    // The demo's 12 donor members: 11 with figures (UA-MFA has none, so no row),
    // and the report's TOTAL row, which the chart leaves out.
    let donors: std::collections::BTreeSet<&str> = want.keys().map(|(_, d)| d.as_str()).collect();
    assert_eq!(donors.len(), 11, "{donors:?}");
    assert_eq!(total.len(), 4, "a TOTAL row: {total:?}");
    let b = Browser::start(true).await;
    b.goto(&format!("http://{}/", node.addr)).await;
    // Every donor has its four bars, zero ones too (drawn zero wide).
    let n = assert_bars(&b, &want, "overview").await;
    assert_eq!(n, 11 * 4);
    assert!(want.values().any(|v| *v == 0), "the demo has a zero bar");
    assert!(want.values().any(|v| v % 100 != 0), "the demo has cents");

    // The table beside the chart: the same cents under the same columns,
    // its TOTAL row too.
    let (cells, cards) = table_and_cards(&b).await;
    for ((series, donor), v) in &want {
        assert_eq!(
            cells.get(&(donor.clone(), series.clone())),
            Some(&v.to_string()),
            "donors table, {donor} {series}"
        );
    }
    // The cards: the TOTAL row, which is the sum of the bars.
    for (label, series) in [
        ("Offered", "offered_eur"),
        ("Committed", "committed_eur"),
        ("Delivered", "delivered_eur"),
        ("Acknowledged", "acknowledged_eur"),
    ] {
        let sum: u128 = want
            .iter()
            .filter(|((s, _), _)| s == series)
            .map(|(_, v)| v)
            .sum();
        assert_eq!(total[series], sum, "TOTAL {series}");
        assert_eq!(
            cells.get(&("TOTAL".to_string(), series.to_string())),
            Some(&sum.to_string()),
            "donors table, TOTAL {series}"
        );
        assert_eq!(cards.get(label), Some(&sum.to_string()), "card {label}");
    }
    assert_eq!(cards.get("Donors").map(String::as_str), Some("11"));
    assert!(b.severe().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_as_of_form_rebuilds_the_bars_for_a_past_date() {
    let date = "2025-07-01";
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let (now, _) = api_donors(&node.addr, None);
    let (then, _) = api_donors(&node.addr, Some(date));
    assert_ne!(now, then, "the demo's figures moved after {date}");
    let b = Browser::start(true).await;
    b.goto(&format!("http://{}/", node.addr)).await;
    assert_bars(&b, &now, "current overview").await;

    let input = b
        .one(r#"form.as-of input[type="date"][name="as_of"]"#)
        .await;
    // A date input takes its segments in the locale's order (en-US: MM DD YYYY);
    // typing focuses its first segment (a click would land in the middle one).
    let (y, m, d) = (&date[0..4], &date[5..7], &date[8..10]);
    input
        .send_keys(&format!("{m}{d}{y}"))
        .await
        .expect("typing the date");
    let typed = b.js("return document.getElementById('as_of').value").await;
    assert_eq!(typed, date, "the date typed into the date input");
    b.one(r#"form.as-of button[type="submit"]"#)
        .await
        .click()
        .await
        .expect("submit");

    let url = poll("the as-of page", 20, || async {
        let u = b.client.current_url().await.ok()?;
        u.query_pairs()
            .any(|(k, v)| k == "as_of" && v == date)
            .then_some(u)
    })
    .await;
    assert_eq!(url.path(), "/", "{url}");
    // The new page is there (not the old one mid-navigation): its form keeps the date.
    poll("the as-of page rendered", 20, || async {
        // (A script run mid-navigation may fail: polled again.)
        let v = b
            .client
            .execute("var i = document.getElementById('as_of'); var r = document.querySelector('form.as-of a.reset');
                 return document.readyState === 'complete' && i && i.getAttribute('value') && r ? i.getAttribute('value') : null;", vec![])
            .await
            .ok()?;
        v.as_str().map(str::to_string)
    })
    .await;
    assert_eq!(
        b.js("return document.getElementById('as_of').getAttribute('value')")
            .await,
        date
    );
    let n = assert_bars(&b, &then, &format!("overview as of {date}")).await;
    assert_eq!(n, then.len());
    let moved = now.iter().filter(|(k, v)| then.get(*k) != Some(*v)).count();
    assert!(moved > 0, "no bar differs between now and {date}");
    // The navigation keeps the date.
    let href = b
        .one(r#"nav a[href^="/pipeline"]"#)
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(href, format!("/pipeline?as_of={date}"));
    assert!(b.severe().is_empty());
}

/// A need by UA-SSSCIP through the CLI (`pre`: e.g. `--nats URL`): a producer
/// in another process, which the node folds live.
fn need(pre: &[&str], dir: &Path, id: &str) {
    let key = dir.join("keys/UA-SSSCIP.key");
    let mut c = tallinn();
    c.args(pre).arg("--dir").arg(dir).args([
        "need",
        "--key",
        key.to_str().unwrap(),
        "--id",
        id,
        "--category",
        "hardware",
        "--description",
        "appended while a browser watches",
        "--quantity",
        "5",
        "--unit",
        "pcs",
        "--value",
        "1234.56",
    ]);
    ok(c);
}

/// Opens the overview, appends a need, and waits for the page to show it
/// without reloading.
async fn live_update(node: &Node, pre: &[&str], dir: &Path) {
    let b = Browser::start(true).await;
    b.goto(&format!("http://{}/", node.addr)).await;
    let position = b
        .js("return document.body.getAttribute('data-position')")
        .await;
    assert_eq!(position, "52");
    let (count, eur) = pipeline_row(&b, "need").await;
    // The live script is connected before the event is appended.
    let addr = node.addr.clone();
    poll("the live stream opened", 20, || {
        let addr = addr.clone();
        async move { (stream_opens(&addr) >= 1).then_some(()) }
    })
    .await;
    b.js("window.__marker = 1; return null").await;

    need(pre, dir, "N-BROWSER-1");

    poll("body[data-position] 53 without a reload", 20, || async {
        let v = b
            .js("return document.body.getAttribute('data-position')")
            .await;
        (v == "53").then_some(())
    })
    .await;
    assert_eq!(
        b.js("return window.__marker === 1").await,
        true,
        "the page was reloaded, not updated in place"
    );
    assert_eq!(
        b.js("return performance.getEntriesByType('navigation').length")
            .await,
        1
    );
    // The figures were swapped with the position.
    assert_eq!(
        pipeline_row(&b, "need").await,
        (count + 1, eur + 123_456),
        "the pipeline's needs after the new need"
    );
    let footer = b.one(r#"footer dd[data-live="position"]"#).await;
    assert_eq!(footer.text().await.unwrap(), "53 of 53");
    let severe = b.severe();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_appended_on_jetstream_shows_live_without_a_reload() {
    let server = NatsServer::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut c = tallinn();
    c.args(["--nats", &url, "--dir"])
        .arg(&dir)
        .args(["demo", "--seed", "7"]);
    ok(c);
    let pre = ["--nats", url.as_str()];
    let node = Node::start(&pre, &dir, &[]);
    live_update(&node, &pre, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_appended_to_the_embedded_log_shows_live_without_a_reload() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    live_update(&node, &[], &dir).await;
}

/// `id`s of the page's charts and names of its tables, from served HTML.
fn served_parts(html: &str) -> (Vec<String>, Vec<String>) {
    let attr = |needle: &str| -> Vec<String> {
        html.split(needle)
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    let charts = html
        .split("<svg ")
        .skip(1)
        .filter_map(|s| {
            let tag = s.split('>').next().unwrap();
            tag.split(r#" id=""#)
                .nth(1)
                .map(|x| x.split('"').next().unwrap().to_string())
        })
        .collect();
    (charts, attr(r#"<table data-table=""#))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_are_complete_with_scripts_disabled() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let b = Browser::start(false).await;
    assert!(
        noscript_shown(&b).await,
        "scripts still run in this session"
    );
    for (path, title) in PAGES {
        let (charts, tables) = served_parts(&node.get(path).text());
        b.goto(&format!("http://{}{path}", node.addr)).await;
        assert_eq!(
            b.client.title().await.unwrap(),
            format!("{title} · Tallinn Mechanism")
        );
        let mut got_charts = Vec::new();
        for e in b.all("svg.chart").await {
            got_charts.push(e.attr("id").await.unwrap().unwrap_or_default());
        }
        let mut got_tables = Vec::new();
        for e in b.all("table[data-table]").await {
            got_tables.push(e.attr("data-table").await.unwrap().unwrap_or_default());
        }
        assert_eq!(got_charts, charts, "{path}: charts");
        assert_eq!(got_tables, tables, "{path}: tables");
        if path == "/" {
            assert_eq!(charts, ["chart-donors"]);
            assert_eq!(tables, ["donors", "pipeline"]);
        }
        // A chart is laid out, not just in the DOM.
        if let Some(first) = charts.first() {
            let (_, _, w, h) = b
                .one(&format!("svg#{first}"))
                .await
                .rectangle()
                .await
                .unwrap();
            assert!(w > 100.0 && h > 50.0, "{path}: {first} is {w} x {h}");
        }
    }
    b.goto(&format!("http://{}/", node.addr)).await;
    let (want, _) = api_donors(&node.addr, None);
    assert_eq!(assert_bars(&b, &want, "overview without scripts").await, 44);
    // The live script never ran: its stream was never opened.
    assert_eq!(
        stream_opens(&node.addr),
        0,
        "a stream was opened without scripts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_every_page() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let out = screenshot_dir();
    let b = Browser::start(true).await;
    for (path, _) in PAGES {
        b.goto(&format!("http://{}{path}", node.addr)).await;
        let name = match path.trim_start_matches('/') {
            "" => "overview",
            s => s,
        };
        let png = b.full_page_png();
        let (w, h) = png_size(&png);
        assert_eq!(w, 1280, "{path}: full-page width");
        let scroll_h = b
            .js("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .unwrap();
        assert_eq!(u64::from(h), scroll_h, "{path}: the whole page");
        std::fs::write(out.join(format!("{name}.png")), &png).unwrap();
        if path == "/" {
            let png = b.viewport_png().await;
            assert_eq!(png_size(&png).0, 1280);
            std::fs::write(out.join("overview-viewport.png"), &png).unwrap();
        }
    }
    // A phone: 375 x 812 CSS pixels, mobile viewport.
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": true}),
    );
    b.goto(&format!("http://{}/", node.addr)).await;
    let png = b.viewport_png().await;
    assert_eq!(png_size(&png), (375, 812), "phone screenshot");
    // The page fits the phone's width: only the tables scroll sideways, inside their boxes.
    let wide = b.js("return document.documentElement.scrollWidth").await;
    assert_eq!(wide, 375, "the overview overflows a phone's width");
    std::fs::write(out.join("overview-phone.png"), &png).unwrap();
    assert!(b.severe().is_empty());
    eprintln!("screenshots in {}", out.display());
}
