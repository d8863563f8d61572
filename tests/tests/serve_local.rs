//! A node on an embedded ledger holds its store and serves it on the
//! ledger's socket (`node.sock`): producers append through the node, readers
//! read through it, a stopped node's socket is passed over, and bytes that
//! are not a message close only their own connection.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::node::*;
use common::*;

/// The value of a sample of `name` whose labels contain every one of `labels`.
fn sample(node: &Node, name: &str, labels: &[&str]) -> f64 {
    node.get("/metrics")
        .text()
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn position(node: &Node) -> u64 {
    node.get("/api/v1/status").json()["position"]
        .as_u64()
        .unwrap()
}

#[test]
fn producers_and_readers_reach_the_log_through_the_node() {
    let (_tmp, dir) = demo();
    let checkpoints = cli(&dir, &["checkpoint", "show"]);
    let log_before = cli(&dir, &["log", "--limit", "5"]);
    let node = Node::start(&[], &dir, &[]);
    let sock = dir.join("node.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "node.sock is the node user's only");
    assert_eq!(position(&node), 52);
    let appends = |n: &Node| {
        sample(
            n,
            "tallinn_node_socket_requests_total",
            &["op=\"append\"", "status=\"ok\""],
        )
    };
    assert_eq!(appends(&node), 0.0);

    // A producer appends while the node holds the store: through the node.
    need(&dir, "N-THROUGH-NODE");
    assert_eq!(
        appends(&node),
        1.0,
        "the append went through the node's socket"
    );
    until("the node folded the need", || {
        (position(&node) == 53).then_some(())
    });
    let events = node.get("/api/v1/events?after=52&limit=5").json();
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "{events}");

    // Readers read through it: what they print is what the node serves.
    let status: serde_json::Value =
        serde_json::from_str(&cli(&dir, &["status", "--json"])).unwrap();
    assert_eq!(status["log_length"], 53);
    let donors: serde_json::Value =
        serde_json::from_str(&cli(&dir, &["report", "needs", "--format", "json"])).unwrap();
    common::assert_same_report(&node.get("/api/v1/reports/needs").json(), &donors, "needs");
    assert_eq!(cli(&dir, &["log", "--limit", "5"]), log_before);
    assert_eq!(cli(&dir, &["checkpoint", "show"]), checkpoints);
    let reads = sample(
        &node,
        "tallinn_node_socket_requests_total",
        &["op=\"read\""],
    );
    assert!(reads > 0.0, "readers read through the socket");

    let (status, stderr) = node.stop();
    assert!(status.success(), "{stderr}");
    assert!(!sock.exists(), "a clean stop removes the socket");
    let digest = cli(&dir, &["digest"]);
    assert!(
        stderr.contains(digest.trim()),
        "the node stopped at the digest a reader computes: {stderr}"
    );
}

#[test]
fn a_stopped_nodes_socket_is_passed_over_and_replaced() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    drop(node); // SIGKILL: the socket file stays, nothing answers it
    let sock = dir.join("node.sock");
    assert!(sock.exists());
    need(&dir, "N-AFTER-KILL"); // opens the store itself
    let status: serde_json::Value =
        serde_json::from_str(&cli(&dir, &["status", "--json"])).unwrap();
    assert_eq!(status["log_length"], 53);
    let node = Node::start(&[], &dir, &[]);
    assert_eq!(position(&node), 53);
    need(&dir, "N-NEW-NODE");
    until("the new node folded the need", || {
        (position(&node) == 54).then_some(())
    });
}

#[test]
fn a_second_node_on_the_ledger_is_refused() {
    let (_tmp, dir) = demo();
    let _node = Node::start(&[], &dir, &[]);
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&dir)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let err = fail(c);
    assert_one_line(&err, &["node.sock", "another node serves this ledger"]);
}

#[test]
fn bytes_that_are_not_a_message_close_only_their_connection() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let sock = dir.join("node.sock");
    let closed = |bytes: &[u8]| {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(bytes).unwrap();
        let mut rest = Vec::new();
        // The node answers nothing and closes the connection.
        let n = s.read_to_end(&mut rest).unwrap();
        assert_eq!(n, 0, "no answer to {bytes:?}");
    };
    closed(&u32::MAX.to_be_bytes()); // a length over the limit
    closed(&[0, 0, 0, 3, 0xff, 0xff, 0xff]); // not a request
    closed(&[0, 0, 0, 1, 42]); // an unknown request kind
    closed(&[0, 0, 0, 2, 3, 0]); // a request followed by a stray byte
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend([1u8; 10]);
    let mut s = UnixStream::connect(&sock).unwrap();
    s.write_all(&truncated).unwrap();
    drop(s); // a message cut short
    assert_eq!(node.get("/healthz").status, 200);
    need(&dir, "N-AFTER-GARBAGE");
    until("the node folded the need", || {
        (position(&node) == 53).then_some(())
    });
    let failed = sample(
        &node,
        "tallinn_node_socket_requests_total",
        &["status=\"failed\""],
    );
    assert_eq!(failed, 0.0, "garbage is not a request");
}

#[test]
fn a_coordinators_node_signs_checkpoints_into_the_store_it_holds() {
    let (_tmp, dir) = demo();
    let key = dir.join("keys/TM-SECRETARIAT.key");
    let key = key.to_str().unwrap();
    let node = Node::start(
        &[],
        &dir,
        &["--checkpoint-key", key, "--checkpoint-every", "1"],
    );
    need(&dir, "N-CHECKPOINTED");
    let size = |n: &Node| sample(n, "tallinn_checkpoint_size", &[]);
    until("the node signed a checkpoint of 53", || {
        (size(&node) == 53.0).then_some(())
    });
    let shown = cli(&dir, &["checkpoint", "show", "--json"]);
    let last: serde_json::Value = serde_json::from_str(shown.lines().last().unwrap()).unwrap();
    assert_eq!(last["size"], 53, "read through the node: {shown}");
    assert_eq!(last["signers"], serde_json::json!(["TM-SECRETARIAT"]));
    // Another process cannot sign into the store the node holds: one line.
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&dir)
        .args(["checkpoint", "sign", "--key", key]);
    assert_one_line(&fail(c), &["node.sock", "a node serves this ledger"]);
    let (status, stderr) = node.stop();
    assert!(status.success(), "{stderr}");
    // After the node: the checkpoint is in the store and verifies (no
    // witness has cosigned it yet).
    let verified = cli(&dir, &["audit", "verify", "--threshold", "0"]);
    let line = |name: &str| {
        verified
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        verified
            .lines()
            .any(|l| l.starts_with("checkpoints verified") && l.ends_with(" 2 of 2")),
        "{verified}"
    );
    assert_eq!(line("covered by checkpoints"), "53", "{verified}");
}

#[test]
fn a_node_that_does_not_answer_is_reported_not_waited_for() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let pid = node.pid().to_string();
    let signal = |s: &str| {
        assert!(std::process::Command::new("kill")
            .args([s, &pid])
            .status()
            .unwrap()
            .success())
    };
    signal("-STOP");
    let mut c = tallinn();
    c.env("TALLINN_NODE_ANSWER_SECS", "2")
        .arg("--dir")
        .arg(&dir)
        .arg("status");
    let out = c.output().unwrap();
    signal("-CONT");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(5),
        "unavailable, may be retried: {err}"
    );
    assert_one_line(&err, &["node.sock", "did not answer within 2 s"]);
    // The node goes on once it runs again.
    need(&dir, "N-AFTER-STOP");
    until("the node folded the need", || {
        (position(&node) == 53).then_some(())
    });
}
