//! `tallinn serve` through the real binary: the API's answers are the CLI's
//! reports (refusals are in `serve_refusals.rs`), metrics and readiness move
//! as events arrive, the live stream, proofs that
//! verify, the OpenAPI document lists every route, and a clean shutdown saves.

mod common;

use common::http::{next_data, open_stream};
use common::node::*;
use common::*;

/// Every report view's name.
fn views() -> Vec<&'static str> {
    projector::views::View::ALL
        .iter()
        .map(|v| v.name())
        .collect()
}

#[test]
fn the_api_answers_are_the_cli_reports_for_every_view_and_date() {
    let (_tmp, dir) = demo();
    let digest = cli(&dir, &["digest"]).trim().to_string();
    let node = Node::start(&[], &dir, &[]);
    for as_of in [
        None,
        Some("2025-03-31"),
        Some("2025-07-01"),
        Some("2025-10-15"),
    ] {
        for view in views() {
            let mut args = vec!["report", view, "--format", "json"];
            let mut q = String::new();
            if let Some(d) = as_of {
                args.extend(["--as-of", d]);
                q = format!("&as_of={d}");
            }
            let want: serde_json::Value = serde_json::from_str(&cli(&dir, &args)).unwrap();
            let a = node.get(&format!("/api/v1/reports/{view}?format=json{q}"));
            assert_eq!(a.status, 200, "{view} {as_of:?}: {}", a.text());
            assert_eq!(a.header("content-type"), Some("application/json"));
            let got = a.json();
            common::assert_same_report(&got, &want, &format!("{view} as of {as_of:?}"));
            assert_eq!(got["view"], view);
            assert_eq!(got["position"], 52);
            assert_eq!(got["digest"], digest.as_str());
            assert_eq!(got["as_of"], serde_json::json!(as_of));
            // CSV: the CLI's bytes, a table at a time for a view of several.
            let tables: Vec<String> = want["tables"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let choices: Vec<Option<&str>> = match tables.as_slice() {
                [_] => vec![None],
                _ => tables.iter().map(|t| Some(t.as_str())).collect(),
            };
            args[3] = "csv";
            for table in choices {
                let (mut args, mut q) = (args.clone(), q.clone());
                if let Some(t) = table {
                    args.extend(["--table", t, "--totals"]);
                    q.push_str(&format!("&table={t}&totals=true"));
                }
                let want = cli(&dir, &args);
                let a = node.get(&format!("/api/v1/reports/{view}?format=csv{q}"));
                assert_eq!(a.status, 200, "{view} {table:?}: {}", a.text());
                assert_eq!(a.header("content-type"), Some("text/csv; charset=utf-8"));
                assert_eq!(a.header("x-tallinn-position"), Some("52"));
                assert_eq!(a.text(), want, "{view} {table:?} csv as of {as_of:?}");
            }
        }
    }
    // Paging: two rows of each table, and the totals.
    let a = node.get("/api/v1/reports/donors?limit=2&offset=1").json();
    assert_eq!(a["tables"]["donors"].as_array().unwrap().len(), 2);
    assert_eq!(
        a["rows_total"]["donors"], 11,
        "11 donors; the totals are apart"
    );
    assert_eq!(a["totals"], all_totals(&node));
    let all = node.get("/api/v1/reports/donors").json();
    assert_eq!(a["tables"]["donors"][0], all["tables"]["donors"][1]);
}

/// The donors report's totals, unpaged.
fn all_totals(node: &Node) -> serde_json::Value {
    let t = node.get("/api/v1/reports/donors").json()["totals"].clone();
    assert!(t["donors"]["committed_eur"].is_string(), "{t}");
    t
}

/// `name{labels} value` of a Prometheus text exposition, every line checked.
fn metrics(node: &Node) -> Vec<(String, f64)> {
    let a = node.get("/metrics");
    assert_eq!(a.status, 200);
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));
    let mut out = Vec::new();
    for line in a.text().lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty() || line.starts_with("# HELP") || line.starts_with("# TYPE"),
                "{line}"
            );
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let bare = name.split('{').next().unwrap();
        assert!(
            bare.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name in {line:?}"
        );
        if name.contains('{') {
            assert!(name.ends_with('}'), "bad labels in {line:?}");
        }
        out.push((name.to_string(), value));
    }
    out
}

fn metric(m: &[(String, f64)], name: &str) -> Option<f64> {
    m.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

#[test]
fn metrics_readiness_and_the_stream_move_when_events_arrive() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let m = metrics(&node);
    assert_eq!(metric(&m, "tallinn_projector_position"), Some(52.0));
    assert_eq!(metric(&m, "tallinn_projector_lag"), Some(0.0));
    assert_eq!(
        metric(&m, "tallinn_events_folded_total{verdict=\"accepted\"}"),
        Some(48.0)
    );
    assert_eq!(metric(&m, "tallinn_checkpoint_size"), Some(52.0));
    assert_eq!(metric(&m, "tallinn_checkpoint_cosignatures"), Some(2.0));
    assert_eq!(node.get("/readyz").status, 200);
    let rejected: f64 = m
        .iter()
        .filter(|(n, _)| {
            n.starts_with("tallinn_events_folded_total")
                && !n.contains("accepted")
                && !n.contains("duplicate")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(rejected, 4.0, "the demo's four planted invalid events");
    let mut stream = open_stream(&node.addr, "/api/v1/stream");
    let first: serde_json::Value = serde_json::from_str(&next_data(&mut stream)).unwrap();
    assert_eq!(first["position"], 52);

    need(&dir, "N-LIVE-1");
    let next: serde_json::Value = serde_json::from_str(&next_data(&mut stream)).unwrap();
    assert_eq!(next["position"], 53);
    assert_ne!(next["digest"], first["digest"]);
    let m = until("metrics at 53", || {
        let m = metrics(&node);
        (metric(&m, "tallinn_projector_position") == Some(53.0)).then_some(m)
    });
    assert_eq!(
        metric(&m, "tallinn_events_folded_total{verdict=\"accepted\"}"),
        Some(49.0)
    );
    assert_eq!(metric(&m, "tallinn_log_entries"), Some(53.0));
    let served: f64 = m
        .iter()
        .filter(|(n, _)| n.starts_with("tallinn_http_requests_total{route=\"/metrics\""))
        .map(|(_, v)| v)
        .sum();
    // Each scrape counts the ones before it.
    assert!(served >= 1.0, "requests are counted: {m:?}");
    assert_eq!(
        metric(
            &m,
            "tallinn_http_requests_total{route=\"/readyz\",status=\"200\"}"
        ),
        Some(1.0)
    );
    // The new need is in the API and in the needs report.
    let needs = node.get("/api/v1/reports/needs").json();
    let found = needs["tables"]["needs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["need"] == "UA-SSSCIP/N-LIVE-1" && r["stated_eur"] == "1234.56");
    assert!(found, "{needs}");
    let status = node.get("/api/v1/status").json();
    assert_eq!(status["position"], 53);
    assert_eq!(status["lag"], 0);
    assert_eq!(status["ready"], true);
    assert_eq!(status["heads"]["UA-SSSCIP"]["seq"], 8);
}

#[test]
fn events_paging_ids_and_proofs() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    // Pages of 20 cover the log once, in order, and end with next_after null.
    let mut positions = Vec::new();
    let mut after = 0;
    loop {
        let a = node
            .get(&format!("/api/v1/events?after={after}&limit=20"))
            .json();
        let evs = a["events"].as_array().unwrap();
        positions.extend(evs.iter().map(|e| e["position"].as_u64().unwrap()));
        match a["next_after"].as_u64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(positions, (1..=52).collect::<Vec<u64>>());
    // The CLI's `log --json` objects.
    let log: Vec<serde_json::Value> = cli(&dir, &["--json", "log", "--member", "EE-MFA"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let api = node.get("/api/v1/events?member=EE-MFA&limit=1000").json();
    assert_eq!(api["events"].as_array().unwrap(), &log);
    // One event by id, with its signed bytes.
    let id = log[1]["id"].as_str().unwrap();
    let one = node.get(&format!("/api/v1/events/{id}")).json();
    assert_eq!(one["position"], log[1]["position"]);
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(one["bytes"].as_str().unwrap())
        .unwrap();
    let leaf = ledger::event::leaf_hash(&bytes);
    assert_eq!(leaf.to_hex(), id);
    // Inclusion at a size, verified against the root the API states, which
    // is the root of the signed checkpoint at 52.
    let pos = one["position"].as_u64().unwrap();
    let p = node
        .get(&format!("/api/v1/proofs/inclusion/{id}?size=52"))
        .json();
    let proof: Vec<ledger::ids::Digest> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect();
    let root: ledger::ids::Digest = p["root"].as_str().unwrap().parse().unwrap();
    ledger::merkle::verify_inclusion(&leaf, pos - 1, 52, &proof, &root)
        .expect("inclusion verifies");
    let cp = node.get("/api/v1/checkpoint");
    assert_eq!(cp.status, 200);
    use base64::engine::general_purpose::STANDARD as B64;
    assert!(cp.text().contains(&B64.encode(root.0)), "{}", cp.text());
    // Without a size: the CLI's tlog-proof, byte for byte.
    let tlog = node.get(&format!("/api/v1/proofs/inclusion/{id}"));
    assert_eq!(tlog.status, 200);
    assert_eq!(tlog.text(), cli(&dir, &["audit", "prove", id]));
    // Consistency between two sizes verifies.
    let c = node.get("/api/v1/proofs/consistency?from=13&to=52").json();
    let hashes: Vec<ledger::ids::Digest> = c["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect();
    let r1: ledger::ids::Digest = c["root_from"].as_str().unwrap().parse().unwrap();
    let r2: ledger::ids::Digest = c["root_to"].as_str().unwrap().parse().unwrap();
    assert_eq!(r2, root);
    ledger::merkle::verify_consistency(13, 52, &hashes, &r1, &r2).expect("consistency verifies");
}

#[test]
fn the_openapi_document_lists_every_route_and_every_route_answers() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let doc = node.get("/api/v1/openapi.json").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let id = node.get("/api/v1/events?limit=1").json()["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Every route the node serves besides the document and the dashboard,
    // with arguments that answer 200.
    let routes = [
        (
            "/api/v1/reports/{view}",
            "/api/v1/reports/pipeline".to_string(),
        ),
        ("/api/v1/events", "/api/v1/events".to_string()),
        ("/api/v1/events/{id}", format!("/api/v1/events/{id}")),
        ("/api/v1/status", "/api/v1/status".to_string()),
        ("/api/v1/checkpoint", "/api/v1/checkpoint".to_string()),
        (
            "/api/v1/proofs/inclusion/{id}",
            format!("/api/v1/proofs/inclusion/{id}"),
        ),
        (
            "/api/v1/proofs/consistency",
            "/api/v1/proofs/consistency?from=1".to_string(),
        ),
        ("/healthz", "/healthz".to_string()),
        ("/readyz", "/readyz".to_string()),
        ("/metrics", "/metrics".to_string()),
    ];
    for (route, path) in &routes {
        assert!(
            paths.contains(route),
            "{route} is not in the OpenAPI document: {paths:?}"
        );
        assert_eq!(node.get(path).status, 200, "{path}");
        let op = &doc["paths"][route]["get"];
        assert!(
            op["responses"]["200"].is_object(),
            "{route} documents no 200"
        );
    }
    let mut stream = open_stream(&node.addr, "/api/v1/stream");
    assert!(next_data(&mut stream).contains("\"position\":52"));
    assert!(paths.contains(&"/api/v1/stream"));
    assert_eq!(paths.len(), routes.len() + 1, "{paths:?}");
    // Parameters are documented.
    let params = doc["paths"]["/api/v1/reports/{view}"]["get"]["parameters"].to_string();
    for p in ["view", "as_of", "format", "offset", "limit"] {
        assert!(
            params.contains(&format!("\"name\":\"{p}\"")),
            "{p}: {params}"
        );
    }
}

#[test]
fn a_clean_shutdown_saves_what_was_folded() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    need(&dir, "N-SAVE-1");
    until("position 53", || {
        (node.get("/api/v1/status").json()["position"] == 53).then_some(())
    });
    let (status, stderr) = node.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("stopped at position 53"), "{stderr}");
    // `status` reads the saved projector without folding: it is at 53.
    let s: serde_json::Value = serde_json::from_str(&cli(&dir, &["--json", "status"])).unwrap();
    assert_eq!(s["projector"]["position"], 53, "{s}");
    assert_eq!(s["projector"]["lag"], 0);
}

#[test]
fn a_jetstream_ledger_is_served_and_followed_live() {
    let server = common::nats::NatsServer::start();
    let url = server.url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("js");
    let mut c = tallinn();
    c.args(["--nats", &url, "--dir"])
        .arg(&dir)
        .args(["demo", "--seed", "7"]);
    ok(c);
    let on = |args: &[&str]| {
        let mut c = tallinn();
        c.args(["--nats", &url, "--dir"]).arg(&dir).args(args);
        ok(c)
    };
    let node = Node::start(&["--nats", &url], &dir, &[]);
    for view in ["donors", "pipeline", "integrity"] {
        let want: serde_json::Value =
            serde_json::from_str(&on(&["report", view, "--format", "json"])).unwrap();
        let got = node.get(&format!("/api/v1/reports/{view}")).json();
        common::assert_same_report(&got, &want, view);
    }
    let status = node.get("/api/v1/status").json();
    assert_eq!(status["backend"], "jetstream");
    let before = status["position"].as_u64().unwrap();
    let key = dir.join("keys/UA-SSSCIP.key");
    let id = on(&[
        "need",
        "--key",
        key.to_str().unwrap(),
        "--id",
        "N-JS-1",
        "--category",
        "hardware",
        "--description",
        "live",
        "--quantity",
        "1",
        "--unit",
        "pcs",
        "--value",
        "99",
    ]);
    let id = id.trim();
    assert!(is_id(id), "{id}");
    let one = until("the event is served", || {
        let a = node.get(&format!("/api/v1/events/{id}"));
        (a.status == 200).then(|| a.json())
    });
    assert_eq!(one["position"], before + 1);
    assert_eq!(one["member"], "UA-SSSCIP");
    until("the needs report has it", || {
        let v = node.get("/api/v1/reports/needs").json();
        v["tables"]["needs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["need"] == "UA-SSSCIP/N-JS-1")
            .then_some(())
    });
    let m = node.get("/metrics").text();
    assert!(m.contains("tallinn_nats_connected 1"), "{m}");
    let (status, _) = node.stop();
    assert!(status.success());
}

/// A service manager may stop the node the moment it says where it serves:
/// SIGTERM then is a clean stop (exit 0, the position saved), not the
/// default action of a signal nobody caught yet.
#[test]
fn sigterm_as_soon_as_the_address_is_printed_stops_cleanly() {
    let (_tmp, dir) = demo();
    for round in 0..5 {
        let node = Node::start(&[], &dir, &[]);
        let (status, stderr) = node.stop();
        assert!(status.success(), "round {round}: {status:?}\n{stderr}");
        assert!(
            stderr.contains("stopped at position 52"),
            "round {round}: {stderr}"
        );
    }
}

#[test]
fn log_lines_are_json_for_collectors() {
    let (_tmp, dir) = demo();
    let node = Node::start(&["-v", "--log-format", "json"], &dir, &[]);
    assert_eq!(node.get("/healthz").status, 200);
    let (status, stderr) = node.stop();
    assert!(status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let loaded = lines
        .iter()
        .find(|l| l["fields"]["message"] == "node loaded")
        .unwrap_or_else(|| panic!("no 'node loaded' line in {stderr}"));
    assert_eq!(loaded["level"], "INFO");
    assert_eq!(loaded["fields"]["position"], 52);
}

/// The node's mirror of the read model, fed only the rows each folded event
/// names, must equal the projector's: after a chain of live events of every
/// kind (linking needs, offers, commitments, deliveries, receipts, an
/// amendment and a cancellation), every view and the digest equal the CLI's.
#[test]
fn after_live_events_of_every_kind_every_view_and_the_digest_equal_the_cli() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let key = |m: &str| dir.join(format!("keys/{m}.key")).display().to_string();
    let (ua, ee) = (key("UA-SSSCIP"), key("EE-MFA"));
    let steps: Vec<Vec<&str>> = vec![
        vec![
            "need",
            "--key",
            &ua,
            "--id",
            "N-M1",
            "--category",
            "hardware",
            "--description",
            "m",
            "--quantity",
            "10",
            "--unit",
            "pcs",
            "--value",
            "1000",
        ],
        vec![
            "offer",
            "--key",
            &ee,
            "--id",
            "O-M1",
            "--category",
            "hardware",
            "--modality",
            "goods",
            "--description",
            "m",
            "--quantity",
            "10",
            "--unit",
            "pcs",
            "--value",
            "1000",
            "--answers",
            "UA-SSSCIP/N-M1",
        ],
        vec![
            "commit",
            "--key",
            &ee,
            "--id",
            "C-M1",
            "--offer",
            "O-M1",
            "--needs",
            "UA-SSSCIP/N-M1",
            "--recipient",
            "UA-SSSCIP",
            "--category",
            "hardware",
            "--description",
            "m",
            "--quantity",
            "10",
            "--unit",
            "pcs",
            "--value",
            "1000",
            "--tranche",
            "2026-05-01:5:500",
            "--tranche",
            "2026-07-01:5:500",
        ],
        vec![
            "deliver",
            "--key",
            &ee,
            "--id",
            "D-M1",
            "--commitment",
            "C-M1",
            "--quantity",
            "5",
            "--value",
            "500",
            "--date",
            "2026-05-02",
        ],
        vec![
            "receipt",
            "--key",
            &ua,
            "--id",
            "R-M1",
            "--delivery",
            "EE-MFA/D-M1",
            "--quantity-accepted",
            "4",
            "--date",
            "2026-05-03",
            "--discrepancy",
            "one broken",
        ],
        vec![
            "amend",
            "--key",
            &ee,
            "--target",
            "EE-MFA/C-M1",
            "--tranche",
            "2026-05-01:5:500",
            "--tranche",
            "2026-09-01:5:500",
            "--reason",
            "later",
        ],
        vec![
            "cancel",
            "--key",
            &ua,
            "--target",
            "UA-SSSCIP/N-M1",
            "--reason",
            "covered",
        ],
    ];
    for args in &steps {
        cli(&dir, args);
    }
    until("the node at 59", || {
        (node.get("/api/v1/reports/pipeline").json()["position"] == 59).then_some(())
    });
    let digest = cli(&dir, &["digest"]).trim().to_string();
    for view in views() {
        let want: serde_json::Value =
            serde_json::from_str(&cli(&dir, &["report", view, "--format", "json"])).unwrap();
        let got = node.get(&format!("/api/v1/reports/{view}")).json();
        assert_eq!(got["position"], 59, "{view}");
        assert_eq!(got["digest"], digest.as_str(), "{view}");
        common::assert_same_report(&got, &want, &format!("{view} after live events"));
    }
}
