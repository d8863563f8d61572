//! Real nats-server processes for the JetStream tests: one server or a 3-node
//! cluster on free loopback ports, each with a temporary store directory and a
//! configuration file, killed on drop.
//!
//! The binary: `NATS_SERVER_BIN`, else `.tools/` (installed by
//! `scripts/install-nats-server.sh`), else `nats-server` on PATH; it must be 2.10 or
//! newer. Without one the tests fail (they are never skipped).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn version_of(bin: &Path) -> Option<(u64, u64)> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // "nats-server: v2.15.1"
    let v = text.split_whitespace().last()?.trim_start_matches('v');
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn find_in(dir: &Path) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_in(&p) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == "nats-server") {
            return Some(p);
        }
    }
    None
}

/// The nats-server binary to test with (>= 2.10), or a panic saying how to get one.
pub fn server_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let mut candidates = Vec::new();
        if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
            // Named explicitly: it must be usable, never silently replaced.
            let p = PathBuf::from(p);
            match version_of(&p) {
                Some(v) if v >= (2, 10) => return p,
                Some(v) => panic!(
                    "NATS_SERVER_BIN={} is nats-server {v:?}; 2.10 or newer is needed",
                    p.display()
                ),
                None => panic!(
                    "NATS_SERVER_BIN={} is not a runnable nats-server",
                    p.display()
                ),
            }
        }
        if let Some(p) = find_in(&workspace_root().join(".tools")) {
            candidates.push(p);
        }
        if let Some(path) = std::env::var_os("PATH") {
            for d in std::env::split_paths(&path) {
                candidates.push(d.join("nats-server"));
            }
        }
        for c in &candidates {
            if c.is_file() && version_of(c).is_some_and(|v| v >= (2, 10)) {
                return c.clone();
            }
        }
        panic!(
            "no nats-server >= 2.10 found (NATS_SERVER_BIN, .tools/, PATH; tried {candidates:?}): \
             run scripts/install-nats-server.sh, or run the tests with scripts/test.sh"
        );
    })
}

/// Whether the server under test has atomic batch publishing (ADR-50, 2.12+);
/// on 2.10 and 2.11 the tests check the pipelined path in its place.
pub fn atomic_batches() -> bool {
    version_of(server_bin()).is_some_and(|v| v >= (2, 12))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One nats-server process.
pub struct NatsServer {
    /// Holds the store directory and configuration.
    pub dir: tempfile::TempDir,
    /// Client port.
    pub port: u16,
    /// Monitoring port.
    pub http: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// A single JetStream server.
    pub fn start() -> NatsServer {
        NatsServer::with_config("")
    }

    /// A single JetStream server whose configuration also holds `extra`
    /// (e.g. an `authorization` block, or `include ./acl.conf` with files written
    /// into [`NatsServer::dir`] by `files`).
    pub fn with_config(extra: &str) -> NatsServer {
        NatsServer::with_files(extra, &[])
    }

    /// Like [`NatsServer::with_config`], writing `files` (name, text) beside the configuration.
    pub fn with_files(extra: &str, files: &[(&str, &str)]) -> NatsServer {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("writing a config file");
        }
        let port = free_port();
        let http = free_port();
        let conf = dir.path().join("server.conf");
        let store = dir.path().join("store");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\nserver_name: single\n\
                 jetstream {{ store_dir: \"{}\" }}\n{extra}\n",
                store.display()
            ),
        )
        .expect("writing server.conf");
        let mut s = NatsServer {
            dir,
            port,
            http,
            conf,
            child: None,
        };
        s.spawn();
        s.wait_ready(Duration::from_secs(20));
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("server log");
        let child = Command::new(server_bin())
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawning nats-server");
        self.child = Some(child);
    }

    /// Waits until the server answers `/healthz` with JetStream ready.
    pub fn wait_ready(&self, timeout: Duration) {
        let start = Instant::now();
        loop {
            if healthz(self.http) {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "nats-server on port {} not ready after {timeout:?}; log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server at once (SIGKILL): no clean shutdown.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the killed server again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// GET /healthz on the monitoring port: true when it answers 200.
fn healthz(http: u16) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(
        &format!("127.0.0.1:{http}").parse().expect("addr"),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200")
}

/// A 3-node JetStream cluster.
pub struct Cluster {
    /// The nodes.
    pub nodes: Vec<NatsServer>,
}

impl Cluster {
    /// Starts three routed nodes and waits until each is healthy.
    pub fn start() -> Cluster {
        let ports: Vec<(u16, u16, u16)> = (0..3)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, _, r)| format!("nats-route://127.0.0.1:{r}"))
            .collect();
        let mut nodes = Vec::new();
        for (i, (port, http, route)) in ports.iter().enumerate() {
            let dir = tempfile::tempdir().expect("tempdir");
            let conf = dir.path().join("server.conf");
            let store = dir.path().join("store");
            std::fs::write(
                &conf,
                format!(
                    "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\nserver_name: n{i}\n\
                     jetstream {{ store_dir: \"{}\" }}\n\
                     cluster {{ name: tallinn-test, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                    store.display(),
                    routes.join(", ")
                ),
            )
            .expect("writing server.conf");
            let mut s = NatsServer {
                dir,
                port: *port,
                http: *http,
                conf,
                child: None,
            };
            s.spawn();
            nodes.push(s);
        }
        for n in &nodes {
            n.wait_ready(Duration::from_secs(30));
        }
        Cluster { nodes }
    }

    /// Every node's URL, comma-separated (what `--nats` takes).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}
