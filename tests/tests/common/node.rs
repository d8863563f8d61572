//! A `tallinn serve` process for the tests, and the ledgers it serves.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::http::{get, Answer};
use super::{ok, tallinn};

/// A running `tallinn serve`.
pub struct Node {
    child: Option<Child>,
    /// `host:port` it listens on.
    pub addr: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Node {
    /// Starts `tallinn [pre] --dir DIR serve --listen 127.0.0.1:0 [args]`.
    pub fn start(pre: &[&str], dir: &Path, args: &[&str]) -> Node {
        let mut c = tallinn();
        c.args(pre)
            .arg("--dir")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn tallinn serve");
        let stderr = child.stderr.take().unwrap();
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let keep = text.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" on http://").nth(1) {
                    let _ = tx.send(
                        rest.trim_end_matches(|c| c != '/')
                            .trim_end_matches('/')
                            .to_string(),
                    );
                }
                keep.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(a) => a.split('/').next().unwrap().to_string(),
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start: {}", text.lock().unwrap());
            }
        };
        Node {
            child: Some(child),
            addr,
            stderr: text,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        get(&self.addr, path)
    }

    /// SIGTERM; the exit status and what it printed.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.stderr.lock().unwrap().clone());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The seed-7 demo ledger in a new directory.
pub fn demo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut c = tallinn();
    c.arg("--dir").arg(&dir).args(["demo", "--seed", "7"]);
    ok(c);
    (tmp, dir)
}

/// `tallinn --dir DIR ARGS`, asserted to succeed; its stdout.
pub fn cli(dir: &Path, args: &[&str]) -> String {
    let mut c = tallinn();
    c.arg("--dir").arg(dir).args(args);
    ok(c)
}

/// A need stated by UA-SSSCIP (EUR 1,234.56).
pub fn need(dir: &Path, id: &str) {
    let key = dir.join("keys/UA-SSSCIP.key");
    let key = key.to_str().unwrap();
    cli(
        dir,
        &[
            "need",
            "--key",
            key,
            "--id",
            id,
            "--category",
            "hardware",
            "--description",
            "live",
            "--quantity",
            "5",
            "--unit",
            "pcs",
            "--value",
            "1234.56",
        ],
    );
}

/// Polls `f` until it returns something, for at most 30 s.
pub fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
