//! `tallinn serve` refusing what it must: bad parameters named in a JSON
//! error, routes behind a bearer token, and hostile raw requests answered
//! without taking the node down.

mod common;

use common::http::get_with;
use common::node::*;
use common::*;

#[test]
fn bad_requests_are_refused_naming_the_parameter() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let cases: &[(&str, u16, &str)] = &[
        ("/api/v1/reports/nope", 404, "view"),
        ("/api/v1/reports/%FF%FE", 400, "view"),
        ("/api/v1/reports/donors?as_of=2025-13-01", 400, "as_of"),
        ("/api/v1/reports/donors?as_of=yesterday", 400, "as_of"),
        ("/api/v1/reports/donors?format=xml", 400, "format"),
        ("/api/v1/reports/donors?limit=10001", 400, "limit"),
        ("/api/v1/reports/donors?limit=-1", 400, "limit"),
        ("/api/v1/reports/donors?colour=red", 400, "colour"),
        (
            "/api/v1/reports/donors?as_of=2025-01-01&as_of=2025-02-01",
            400,
            "as_of",
        ),
        ("/api/v1/events?limit=1001", 400, "limit"),
        ("/api/v1/events?after=x", 400, "after"),
        ("/api/v1/events?member=not%20a%20member", 400, "member"),
        ("/api/v1/events/xyz", 400, "id"),
        (
            "/api/v1/events/00000000000000000000000000000000000000000000000000000000000000ff",
            404,
            "id",
        ),
        ("/api/v1/proofs/inclusion/zz", 400, "id"),
        ("/api/v1/proofs/consistency", 400, "from"),
        ("/api/v1/proofs/consistency?from=60", 400, "from"),
        ("/api/v1/proofs/consistency?from=1&to=999", 400, "to"),
        ("/api/v1/nothing", 404, "path"),
    ];
    for (path, status, param) in cases {
        let a = node.get(path);
        assert_eq!(a.status, *status, "{path}: {}", a.text());
        let v = a.json();
        assert_eq!(v["parameter"], *param, "{path}: {v}");
        assert!(
            v["error"].as_str().unwrap().starts_with(param),
            "{path}: {v}"
        );
    }
    // The dashboard refuses a bad date with a page, not a panic.
    let a = node.get("/?as_of=2025-02-30");
    assert_eq!(a.status, 400);
    assert!(a.text().contains("as_of"));
    // Still serving.
    assert_eq!(node.get("/healthz").status, 200);
}

#[test]
fn a_token_guards_everything_but_health_and_metrics() {
    let (tmp, dir) = demo();
    let token = tmp.path().join("token");
    std::fs::write(&token, "s3cret-token-for-tests-0123\n").unwrap();
    let node = Node::start(&[], &dir, &["--token-file", token.to_str().unwrap()]);
    for path in [
        "/api/v1/status",
        "/api/v1/reports/donors",
        "/",
        "/api/v1/openapi.json",
    ] {
        let a = node.get(path);
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.header("www-authenticate"), Some("Bearer"));
        assert_eq!(a.json()["parameter"], "authorization");
        let wrong = get_with(
            &node.addr,
            path,
            &[("Authorization", "Bearer s3cret-token-for-tests-0124")],
        );
        assert_eq!(wrong.status, 401, "{path}");
        let right = get_with(
            &node.addr,
            path,
            &[("Authorization", "Bearer s3cret-token-for-tests-0123")],
        );
        assert_eq!(right.status, 200, "{path}");
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(node.get(path).status, 200, "{path}");
    }
    // A token too short to be one is refused at start, naming the option.
    std::fs::write(&token, "short\n").unwrap();
    let mut c = tallinn();
    c.arg("--dir")
        .arg(&dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(&token);
    let err = fail(c);
    assert_one_line(&err, &["--token-file", "16 characters"]);
}

/// Sends raw bytes and returns the status code of the answer (0 if the
/// server closed the connection without one).
fn raw(addr: &str, bytes: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn hostile_requests_get_an_answer_and_the_node_stays_up() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    let id = node.get("/api/v1/events?limit=1").json()["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let long = format!("/api/v1/reports/{}", "a".repeat(100_000));
    let many_headers = {
        let mut r = String::from("GET /api/v1/status HTTP/1.1\r\nHost: x\r\n");
        for i in 0..2000 {
            r.push_str(&format!("X-H{i}: {}\r\n", "v".repeat(50)));
        }
        r.push_str("Connection: close\r\n\r\n");
        r.into_bytes()
    };
    let big_post = {
        let mut r = b"POST /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n".to_vec();
        r.extend(std::iter::repeat_n(b'x', 1 << 20));
        r
    };
    let cases: Vec<(Vec<u8>, &[u16])> = vec![
        (get("/api/v1/reports/%FF%FE"), &[400]),
        (get("/api/v1/events/%FF%FE"), &[400]),
        (get("/api/v1/reports/donors?as_of=%ZZ"), &[400]),
        (
            get("/api/v1/reports/donors?limit=99999999999999999999999"),
            &[400],
        ),
        (
            get("/api/v1/reports/donors?offset=18446744073709551615"),
            &[200],
        ),
        (
            get(&format!(
                "/api/v1/proofs/inclusion/{id}?size=18446744073709551615"
            )),
            &[400],
        ),
        (get("/api/v1/proofs/consistency?from=0&to=0"), &[200]),
        (get("/api/v1/events?after=18446744073709551615"), &[200]),
        (get("/assets/../../../etc/passwd"), &[404]),
        (get("/%2e%2e/%2e%2e/etc/passwd"), &[404]),
        (get(&long), &[404, 414, 431, 400]),
        (many_headers, &[431, 400, 0]),
        (big_post, &[405, 413, 0]),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-tls-hello\r\n\r\n".to_vec(),
            &[400, 0],
        ),
        (b"GET / HTTP/9.9\r\n\r\n".to_vec(), &[400, 505, 0]),
    ];
    for (req, want) in &cases {
        let status = raw(&node.addr, req);
        let shown = String::from_utf8_lossy(&req[..req.len().min(80)]).to_string();
        assert!(
            want.contains(&status),
            "{shown:?}: {status}, want one of {want:?}"
        );
        assert_eq!(
            node.get("/healthz").status,
            200,
            "the node went down after {shown:?}"
        );
    }
    // Still right after all of it.
    let a = node.get("/api/v1/reports/pipeline").json();
    assert_eq!(a["position"], 52);
    let m = node.get("/metrics").text();
    assert!(!m.contains("status=\"500\""), "{m}");
}

#[test]
fn live_streams_are_bounded_and_a_closed_one_frees_its_place() {
    let (_tmp, dir) = demo();
    let node = Node::start(&[], &dir, &[]);
    // 1,024 streams open (the limit), each answered with its headers.
    let mut open: Vec<_> = (0..1024)
        .map(|_| common::http::open_stream(&node.addr, "/api/v1/stream"))
        .collect();
    let refused = node.get("/api/v1/stream");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["parameter"], "stream");
    assert!(refused.json()["error"].as_str().unwrap().contains("1024"));
    // The node still answers everything else.
    assert_eq!(node.get("/api/v1/reports/donors").status, 200);
    // Closing streams frees their places.
    open.truncate(1000);
    until("a closed stream's place is free", || {
        let mut s = std::net::TcpStream::connect(&node.addr).unwrap();
        use std::io::{Read, Write};
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let req = format!(
            "GET /api/v1/stream HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
            node.addr
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        (&head[9..12] == b"200").then_some(())
    });
    drop(open);
}
