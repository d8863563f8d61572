//! Helpers shared by the cross-crate tests: the real `tallinn` binary and a
//! ledger fixture with a coordinator, two donors and two recipient institutions.
#![allow(dead_code)]

pub mod browser;
pub mod http;
pub mod nats;
pub mod node;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The simulated clock every command runs under (`TALLINN_NOW`, the hidden `--now`).
pub const NOW: &str = "2026-06-01T12:00:00Z";
/// The ledger origin of the fixture.
pub const ORIGIN: &str = "tallinn-mechanism.example/ledger";

/// The workspace root (parent of this package's directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Newest modification time of the sources the binary is built from.
fn newest_source() -> Option<SystemTime> {
    fn walk(dir: &Path, newest: &mut Option<SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, newest);
            } else if p
                .extension()
                .is_some_and(|x| x == "rs" || x == "toml" || x == "lock")
            {
                if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                    if newest.is_none_or(|n| t > n) {
                        *newest = Some(t);
                    }
                }
            }
        }
    }
    let root = workspace_root();
    let mut newest = None;
    for sub in ["cli", "ledger", "projector", "nats"] {
        walk(&root.join(sub), &mut newest);
    }
    newest
}

/// The `tallinn` binary beside this test executable's `deps` directory, built
/// (once per test process) if it is missing or older than its sources; if that
/// rebuild fails (sources mid-edit) an existing binary is used with a warning.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let deps = exe.parent().expect("test exe has a directory");
        let profile_dir = deps.parent().expect("deps has a parent");
        let path = profile_dir.join(format!("tallinn{}", std::env::consts::EXE_SUFFIX));
        let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let stale = match (built, newest_source()) {
            (None, _) => true,
            (Some(b), Some(src)) => src > b,
            (Some(_), None) => false,
        };
        if stale {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(workspace_root()).args([
                "build",
                "-p",
                "tallinn-cli",
                "--bin",
                "tallinn",
            ]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("running cargo build");
            if !status.success() {
                // Sources mid-edit: a binary that exists is still the one to test.
                assert!(built.is_some(), "cargo build of tallinn failed");
                eprintln!("warning: rebuilding tallinn failed; testing the existing binary");
            }
        }
        assert!(path.exists(), "{} missing after build", path.display());
        path
    })
}

/// A `tallinn` command with a clean environment and the simulated clock.
pub fn tallinn() -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("TALLINN_NOW", NOW)
        .env_remove("TALLINN_DIR")
        .env_remove("TALLINN_KEY")
        .env_remove("RUST_LOG")
        // Nothing of the `nats` CLI's environment of whoever runs the tests.
        .env_remove("NATS_URL")
        .env_remove("NATS_CREDS")
        .env_remove("NATS_CONTEXT")
        .env("XDG_CONFIG_HOME", "/nonexistent/tallinn-tests-config");
    cmd
}

/// Whether `s` is 64 lower-case hex digits (an event id).
pub fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The member ids of the fixture.
pub const COORD: &str = "TM-SECRETARIAT";
/// A donor.
pub const EE: &str = "EE-MFA";
/// Another donor.
pub const DE: &str = "DE-AA";
/// A recipient institution.
pub const UA: &str = "UA-SSSCIP";
/// Another recipient institution.
pub const UA2: &str = "UA-MINDIGITAL";

/// A ledger in a temporary directory with keys for every fixture member.
pub struct Fixture {
    /// Holds the directory.
    pub tmp: tempfile::TempDir,
    /// The ledger directory (`--dir`).
    pub data: PathBuf,
}

impl Fixture {
    /// Keys and members file only; no ledger yet.
    pub fn keys_only() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let fx = Fixture { tmp, data };
        for id in [COORD, EE, DE, UA, UA2] {
            let key = fx.key(id);
            let out = fx.ok(["key", "new", "--name", id, "--out", key.to_str().unwrap()]);
            assert_eq!(out.trim(), fx.vkey(id), "key new prints the verifier key");
        }
        let member = |id: &str, name: &str, kind: &str, country: &str, role: &str| {
            serde_json::json!({"id": id, "name": name, "kind": kind, "country": country,
                "roles": [role], "key": fx.vkey(id)})
        };
        let members = serde_json::json!({
            "origin": ORIGIN,
            "coordinator": member(COORD, "Tallinn Mechanism Secretariat", "secretariat", "EE", "coordinator"),
            "members": [
                member(EE, "Estonian Ministry of Foreign Affairs", "ministry", "EE", "donor"),
                member(DE, "German Federal Foreign Office", "ministry", "DE", "donor"),
                member(UA, "State Service of Special Communications", "recipient_institution", "UA", "recipient"),
                member(UA2, "Ministry of Digital Transformation", "recipient_institution", "UA", "recipient"),
            ],
        });
        std::fs::write(
            fx.members_file(),
            serde_json::to_string_pretty(&members).unwrap(),
        )
        .unwrap();
        fx
    }

    /// A fresh ledger: keys, members file and `tallinn init`.
    pub fn new() -> Fixture {
        let fx = Fixture::keys_only();
        let out = fx.ok([
            "init",
            "--key",
            &fx.key_str(COORD),
            "--members",
            fx.members_file().to_str().unwrap(),
        ]);
        assert!(is_id(out.trim()), "init prints the genesis id: {out:?}");
        assert_eq!(fx.log_json().len(), 1, "exactly the genesis");
        fx
    }

    /// A path in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The key file of a member.
    pub fn key(&self, id: &str) -> PathBuf {
        self.path(&format!("{}.key", id.to_lowercase()))
    }

    /// The key file of a member, as a string argument.
    pub fn key_str(&self, id: &str) -> String {
        self.key(id).to_str().expect("utf-8 path").to_string()
    }

    /// The verifier key written beside a member's key file.
    pub fn vkey(&self, id: &str) -> String {
        let p = ledger::keyfile::pub_path(&self.key(id));
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .trim()
            .to_string()
    }

    /// The members JSON file.
    pub fn members_file(&self) -> PathBuf {
        self.path("members.json")
    }

    /// A `tallinn --dir <data>` command with `args`.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = tallinn();
        cmd.arg("--dir").arg(&self.data).args(args);
        cmd
    }

    /// Runs `tallinn --dir <data> ARGS`.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd(args).output().expect("running tallinn")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "tallinn {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fail<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            !out.status.success(),
            "tallinn {args:?} unexpectedly succeeded; stdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    /// `tallinn --json log`: one JSON object per line.
    pub fn log_json(&self) -> Vec<serde_json::Value> {
        self.ok(["--json", "log"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
            .collect()
    }

    /// Asserts that `args` fails with a one-line error containing every needle
    /// and that nothing was appended to the log. Returns the error line.
    pub fn refused<I, S>(&self, args: I, needles: &[&str]) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let before = self.log_json().len();
        let err = self.fail(args);
        assert_one_line(&err, needles);
        assert_eq!(
            self.log_json().len(),
            before,
            "a refused command appended events (error was {err:?})"
        );
        err.trim_end().to_string()
    }
}

/// Asserts `stderr` is exactly one JSON error object (what `--json` prints),
/// whose `error` contains every needle; returns it.
#[allow(dead_code)]
pub fn assert_json_error(stderr: &str, needles: &[&str]) -> serde_json::Value {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one JSON error line, got:\n{stderr}"
    );
    let v: serde_json::Value =
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let msg = v["error"].as_str().expect("an error field");
    for n in needles {
        assert!(msg.contains(n), "error {msg:?} does not mention {n:?}");
    }
    assert!(v["exit"].as_u64().is_some_and(|c| c > 0), "{v}");
    v
}

/// Asserts `stderr` is exactly one `error: ...` line containing every needle.
pub fn assert_one_line(stderr: &str, needles: &[&str]) {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "expected a one-line error, got:\n{stderr}");
    assert!(
        lines[0].starts_with("error: "),
        "not an error line: {stderr}"
    );
    for n in needles {
        assert!(
            lines[0].contains(n),
            "error {:?} does not mention {n:?}",
            lines[0]
        );
    }
}

/// Runs a command and asserts success; returns stdout.
pub fn ok(mut c: std::process::Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs a command and asserts failure; returns stderr.
pub fn fail(mut c: std::process::Command) -> String {
    let out = c.output().expect("running tallinn");
    assert!(
        !out.status.success(),
        "{c:?} unexpectedly succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

/// Asserts the node's report document `got` (`/api/v1/reports/VIEW`) says
/// what the CLI's `report VIEW --format json` document `want` says: the same
/// tables and totals, view, dates, position and digest (`generated_at` is
/// each one's own time; the node adds paging).
#[track_caller]
pub fn assert_same_report(got: &serde_json::Value, want: &serde_json::Value, what: &str) {
    for key in [
        "tables", "totals", "view", "as_of", "today", "position", "digest",
    ] {
        assert!(
            want.get(key).is_some(),
            "{what}: the CLI's document has no {key}"
        );
        assert_eq!(got[key], want[key], "{what}: {key}");
    }
    assert!(
        got["generated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{what}: generated_at {}",
        got["generated_at"]
    );
}

/// A deterministic pseudo-random sequence (splitmix64), so a failure can be replayed.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Publishes `bodies` with `member`'s key, recorded at `now`.
pub fn publish_at(
    fx: &Fixture,
    now: &str,
    member: &str,
    name: &str,
    bodies: &[ledger::body::Body],
) {
    let lines: Vec<String> = bodies
        .iter()
        .map(|b| serde_json::to_string(b).unwrap())
        .collect();
    let path = fx.path(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = fx
        .cmd([
            "publish",
            "--key",
            &fx.key_str(member),
            path.to_str().unwrap(),
        ])
        .env("TALLINN_NOW", now)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "publish {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
