//! The ledger on NATS JetStream: real nats-server processes (one server, or a
//! 3-node cluster) spawned on free loopback ports with temporary stores.

mod common;

use common::nats::{Cluster, NatsServer};
use common::*;

/// `tallinn --nats URL --dir <data> ARGS` on the fixture.
fn on(fx: &Fixture, url: &str, args: &[&str]) -> std::process::Command {
    let mut c = fx.cmd(["--nats", url]);
    c.args(args);
    c
}

fn ok(mut c: std::process::Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fail(mut c: std::process::Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        !out.status.success(),
        "{c:?} unexpectedly succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

/// A fixture ledger whose log is a stream on `url`.
fn nats_fixture(url: &str) -> Fixture {
    let fx = Fixture::keys_only();
    let out = ok(on(
        &fx,
        url,
        &[
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
    ));
    assert!(is_id(out.trim()), "init prints the genesis id: {out:?}");
    fx
}

fn log_json(fx: &Fixture, url: &str) -> Vec<serde_json::Value> {
    ok(on(fx, url, &["--json", "log"]))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn offer_args(fx: &Fixture, who: &str, id: &str) -> Vec<String> {
    [
        "offer",
        "--key",
        &fx.key_str(who),
        "--id",
        id,
        "--category",
        "hardware",
        "--modality",
        "goods",
        "--description",
        "laptops",
        "--quantity",
        "10",
        "--unit",
        "laptops",
        "--value",
        "12000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn offer_line(id: &str, member: &str) -> String {
    serde_json::json!({"offer_made": {"offer": format!("{member}/{id}"), "on_behalf_of": null,
        "category": "hardware", "dac_sector": null, "modality": "goods", "description": "laptops",
        "quantity": {"amount": 10, "unit": "laptops"}, "value": {"amount_minor": 1200000, "currency": "EUR"},
        "valid_until": null, "answers": []}})
    .to_string()
}

#[test]
fn init_produce_log_and_project_through_jetstream() {
    let server = NatsServer::start();
    let url = server.url();
    let fx = nats_fixture(&url);
    let args = offer_args(&fx, EE, "O-1");
    let id = ok(on(
        &fx,
        &url,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(is_id(id.trim()));
    let log = log_json(&fx, &url);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["member"], EE);
    assert_eq!(log[1]["outcome"], "accepted");
    assert_eq!(log[1]["position"], 2);
    // Two projectors in two directories reach the same digest.
    let a = ok(on(&fx, &url, &["projector", "catch-up"]));
    let mut c = tallinn();
    c.args(["--nats", &url, "--dir"])
        .arg(fx.path("p2"))
        .args(["projector", "catch-up"]);
    let b = ok(c);
    assert!(a.starts_with("position 2  digest "), "{a}");
    assert_eq!(a, b);
    // init again: refused, nothing written.
    let err = fail(on(
        &fx,
        &url,
        &[
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ],
    ));
    assert_one_line(&err, &["already holds a ledger"]);
    assert_eq!(log_json(&fx, &url).len(), 2);
}
