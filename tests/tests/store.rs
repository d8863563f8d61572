//! Storage guarantees: one winner when appends race on a chain, processes that
//! race or collide on a directory, and acknowledged appends surviving `kill -9`.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};

use common::{assert_one_line, is_id, Fixture, NOW, ORIGIN, UA};
use ledger::body::{Body, Genesis, Need, Priority};
use ledger::calendar::Timestamp;
use ledger::category::Category;
use ledger::event::Event;
use ledger::ids::MemberId;
use ledger::keys::Signer;
use ledger::log::LogError;
use ledger::member::{Member, MemberKind, Role};
use ledger::money::{Money, Quantity};
use ledger::producer::next_event;
use ledger::replay::replay;
use ledger::rules::Outcome;
use ledger::state::State;
use ledger::store::Store;

const COORD: &str = "TM-SECRETARIAT";

/// A deterministic signer: the child process derives the same keys.
fn signer(id: &str) -> Signer {
    let mut seed = [0x5a; 32];
    seed[..id.len()].copy_from_slice(id.as_bytes());
    Signer::from_seed(id, seed).unwrap()
}

fn mid(id: &str) -> MemberId {
    id.parse().unwrap()
}

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn member(id: &str, kind: MemberKind, role: Role) -> Member {
    Member {
        id: mid(id),
        name: format!("{id} test"),
        kind,
        country: "EE".into(),
        roles: vec![role],
        key: signer(id).public_key(),
    }
}

/// Opens a store in `dir` and appends a genesis admitting UA-SSSCIP.
fn genesis_store(dir: &Path) -> (Store, State) {
    let store = Store::open(dir, Duration::from_secs(5)).unwrap();
    let genesis = Body::Genesis(Genesis {
        origin: ORIGIN.into(),
        coordinator: member(COORD, MemberKind::Secretariat, Role::Coordinator),
        members: vec![member(
            UA,
            MemberKind::RecipientInstitution,
            Role::Recipient,
        )],
    });
    let mut state = State::new();
    let ev = next_event(&state, ORIGIN, &mid(COORD), genesis, now(), &signer(COORD)).unwrap();
    let pos = store
        .append_sync(&mid(COORD), None, &[ev.bytes().to_vec()], now())
        .unwrap();
    assert_eq!(pos, vec![1]);
    state.apply(&ev, &Outcome::Accepted);
    (store, state)
}

fn need(local: &str) -> Body {
    Body::NeedStated(Need {
        need: format!("{UA}/{local}").parse().unwrap(),
        recipient: mid(UA),
        category: Category::Hardware,
        dac_sector: None,
        description: format!("need {local}"),
        quantity: Quantity {
            amount: 1,
            unit: "pcs".into(),
        },
        estimated_value: Money::eur(100),
        priority: Priority::Medium,
        needed_by: None,
    })
}

/// Replays the whole store; asserts every event is accepted. Returns the state and length.
fn replay_all(store: &Store) -> (State, u64) {
    let entries = store.read_sync(1, usize::MAX).unwrap();
    let len = store.len_sync().unwrap();
    assert_eq!(entries.len() as u64, len, "read returns every entry");
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1, "positions are dense");
    }
    let (state, judged) = replay(&entries);
    for j in &judged {
        assert_eq!(
            j.outcome,
            Some(Outcome::Accepted),
            "entry {} is not accepted",
            j.position
        );
    }
    (state, len)
}

#[test]
fn racing_appends_on_one_chain_have_exactly_one_winner() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 20;
    let tmp = tempfile::tempdir().unwrap();
    let (store, mut state) = genesis_store(&tmp.path().join("log"));
    let ua = mid(UA);
    let ua_signer = signer(UA);
    for round in 0..ROUNDS {
        let events: Vec<Event> = (0..THREADS)
            .map(|i| {
                next_event(
                    &state,
                    ORIGIN,
                    &ua,
                    need(&format!("R{round}-{i}")),
                    now(),
                    &ua_signer,
                )
                .unwrap()
            })
            .collect();
        let seqs: BTreeSet<u64> = events.iter().map(|e| e.envelope().seq).collect();
        assert_eq!(seqs.len(), 1, "every contender has the same seq");
        let ids: BTreeSet<String> = events.iter().map(|e| e.id().to_hex()).collect();
        assert_eq!(ids.len(), THREADS, "every contender is a different event");
        let expected = store.last_of_sync(&ua).unwrap().map(|e| e.position);
        let len_before = store.len_sync().unwrap();
        let barrier = Barrier::new(THREADS);
        let results: Vec<Result<Vec<u64>, LogError>> = std::thread::scope(|s| {
            let handles: Vec<_> = events
                .iter()
                .map(|ev| {
                    let (store, barrier, ua) = (&store, &barrier, &ua);
                    s.spawn(move || {
                        barrier.wait();
                        store.append_sync(ua, expected, &[ev.bytes().to_vec()], now())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<usize> = (0..THREADS).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let w = winners[0];
        let pos = results[w].as_ref().unwrap().clone();
        assert_eq!(pos, vec![len_before + 1], "round {round}");
        for (i, r) in results.iter().enumerate() {
            if i == w {
                continue;
            }
            match r {
                Err(LogError::Conflict {
                    producer,
                    expected: e,
                    actual,
                }) => {
                    assert_eq!(producer, &ua);
                    assert_eq!(*e, expected);
                    assert_eq!(*actual, Some(len_before + 1));
                }
                other => panic!("round {round}: loser {i} got {other:?}, not a conflict"),
            }
        }
        assert_eq!(store.len_sync().unwrap(), len_before + 1, "round {round}");
        let stored = store.read_sync(len_before + 1, 10).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].bytes, events[w].bytes(), "the winner's bytes");
        assert_eq!(
            store.last_of_sync(&ua).unwrap().unwrap().position,
            len_before + 1
        );
        state.apply(&events[w], &Outcome::Accepted);
    }
    // The stored chain is one clean chain: no equivocation, every event accepted.
    let (replayed, len) = replay_all(&store);
    assert_eq!(len, 1 + ROUNDS as u64);
    assert_eq!(replayed.chain(&ua).seq(), ROUNDS as u64);
}

/// Waits for a child's output, failing the test if it takes longer than `limit`.
fn output_within(child: Child, limit: Duration) -> std::process::Output {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(limit)
        .expect("tallinn did not exit in time (hang?)")
        .expect("waiting for tallinn")
}

#[test]
fn racing_processes_serialise_or_fail_clearly() {
    let fx = Fixture::new();
    let ua = fx.key_str(UA);
    let mut printed = Vec::new();
    for round in 0..3 {
        let children: Vec<Child> = (0..2)
            .map(|i| {
                fx.cmd([
                    "need",
                    "--key",
                    &ua,
                    "--id",
                    &format!("P-{round}-{i}"),
                    "--category",
                    "hardware",
                    "--description",
                    "racing",
                    "--quantity",
                    "1",
                    "--unit",
                    "pcs",
                    "--value",
                    "10",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            let out = output_within(child, Duration::from_secs(30));
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
                assert!(is_id(&id), "{id:?}");
                printed.push(id);
            } else {
                assert_one_line(&stderr, &[]);
                assert!(
                    stderr.contains("in use by another process")
                        || stderr.contains("another writer appended first"),
                    "unclear failure: {stderr}"
                );
            }
        }
    }
    let distinct: BTreeSet<&String> = printed.iter().collect();
    assert_eq!(
        distinct.len(),
        printed.len(),
        "every success has its own id"
    );
    let log = fx.log_json();
    let ua_events: Vec<_> = log.iter().filter(|e| e["member"] == UA).collect();
    assert_eq!(ua_events.len(), printed.len(), "one event per success");
    for (k, e) in ua_events.iter().enumerate() {
        assert_eq!(e["seq"], k as u64 + 1, "consecutive seqs");
        assert_eq!(e["outcome"], "accepted", "{e}");
        assert!(distinct.contains(&e["id"].as_str().unwrap().to_string()));
    }
    assert!(
        log.iter().all(|e| e["outcome"] == "accepted"),
        "no equivocation or rejection in the log"
    );
}

#[test]
fn a_second_process_gets_a_clear_error_not_a_hang() {
    let fx = Fixture::new();
    let store = Store::open(&fx.data.join("log"), Duration::from_secs(1)).unwrap();
    for args in [vec!["log".to_string()], {
        let mut a = vec!["need".to_string(), "--key".into(), fx.key_str(UA)];
        a.extend(
            [
                "--id",
                "N-1",
                "--category",
                "hardware",
                "--description",
                "x",
                "--quantity",
                "1",
                "--unit",
                "pcs",
                "--value",
                "1",
            ]
            .map(String::from),
        );
        a
    }] {
        let start = Instant::now();
        let child = fx
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = output_within(child, Duration::from_secs(30));
        assert_eq!(
            out.status.code(),
            Some(5),
            "{args:?} on a held ledger: exit 5, unavailable, retry"
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "took {:?}",
            start.elapsed()
        );
        assert_one_line(
            &String::from_utf8_lossy(&out.stderr),
            &["in use by another process"],
        );
    }
    assert_eq!(store.len_sync().unwrap(), 1, "nothing appended");
    drop(store);
    assert_eq!(fx.log_json().len(), 1, "usable once released");
}

/// Env var naming the store directory the crash child appends to.
const CHILD_ENV: &str = "TALLINN_CRASH_CHILD_DIR";
/// Appends the child makes at most (it is normally killed long before).
const CHILD_MAX: usize = 2000;

/// The child of [`acknowledged_appends_survive_kill_9`]: appends UA-SSSCIP needs
/// forever, printing `ACK <position> <id>` after each acknowledged append.
#[test]
#[ignore = "child process of acknowledged_appends_survive_kill_9"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&dir), Duration::from_secs(10)).unwrap();
    let (mut state, _) = replay_all(&store);
    let ua = mid(UA);
    let ua_signer = signer(UA);
    let mut out = std::io::stdout().lock();
    for _ in 0..CHILD_MAX {
        let seq = state.chain(&ua).seq() + 1;
        let ev = next_event(
            &state,
            ORIGIN,
            &ua,
            need(&format!("K-{seq}")),
            now(),
            &ua_signer,
        )
        .unwrap();
        let expected = store.last_of_sync(&ua).unwrap().map(|e| e.position);
        let pos = store
            .append_sync(&ua, expected, &[ev.bytes().to_vec()], now())
            .unwrap();
        writeln!(out, "ACK {} {}", pos[0], ev.id()).unwrap();
        out.flush().unwrap();
        state.apply(&ev, &Outcome::Accepted);
    }
}

/// Kills the child on drop, so a failing test leaves no process behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn acknowledged_appends_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    drop(genesis_store(&dir));
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(u64, String)> = Vec::new();
    for (round, kill_after) in [30usize, 7, 19, 30, 12].into_iter().enumerate() {
        let mut child = KillOnDrop(
            Command::new(&exe)
                .args([
                    "--exact",
                    "crash_child",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, &dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = 0;
        while seen < kill_after {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("round {round}: child gave {seen} acks, then {e}"));
            let Some(rest) = line.strip_prefix("ACK ") else {
                continue;
            };
            let (pos, id) = rest.split_once(' ').unwrap();
            assert!(is_id(id), "{line}");
            acked.push((pos.parse().unwrap(), id.to_string()));
            seen += 1;
        }
        // SIGKILL, mid-stream: the child is appending its next event.
        child.0.kill().unwrap();
        let status = child.0.wait().unwrap();
        assert!(!status.success(), "round {round}: child was killed");
        drop(child);
        reader.join().unwrap();
        // Acks printed before the kill but not yet read count too.
        for line in rx.try_iter() {
            if let Some((pos, id)) = line.strip_prefix("ACK ").and_then(|r| r.split_once(' ')) {
                acked.push((pos.parse().unwrap(), id.to_string()));
            }
        }

        // Reopening works and every acknowledged append is there, byte for byte.
        let store = Store::open(&dir, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("round {round}: reopening after kill -9: {e}"));
        let (state, len) = replay_all(&store);
        let max_acked = acked.iter().map(|(p, _)| *p).max().unwrap();
        assert!(len >= max_acked, "round {round}: {len} < acked {max_acked}");
        for (pos, id) in &acked {
            let e = store.read_sync(*pos, 1).unwrap();
            assert_eq!(e.len(), 1, "round {round}: acked position {pos} missing");
            assert_eq!(e[0].position, *pos);
            let ev = Event::from_bytes(&e[0].bytes).unwrap();
            assert_eq!(&ev.id().to_hex(), id, "round {round}: position {pos}");
        }
        // The chain has no gap: every entry after genesis is UA-SSSCIP's.
        assert_eq!(state.chain(&mid(UA)).seq(), len - 1);
    }
    let positions: BTreeSet<u64> = acked.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        positions.len(),
        acked.len(),
        "no position acknowledged twice"
    );
    assert!(acked.len() >= 98);
}

/// What a kill while sled writes one of its own snapshots leaves behind: a
/// newer, unfinished `snap.<lsn>.generating` file. sled 0.34 takes it for the
/// newest snapshot; the log store removes it and opens with its data intact.
#[test]
fn a_partial_sled_snapshot_left_by_a_kill_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let log_dir = tmp.path().join("log");
    drop(genesis_store(&log_dir));
    let partial = log_dir
        .join(ledger::store::SLED_DIR)
        .join("snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&partial, b"x").unwrap();
    let store = Store::open(&log_dir, Duration::from_secs(3)).unwrap();
    assert_eq!(store.len_sync().unwrap(), 1);
    assert!(!partial.exists());
}

/// An item id used again after its item was written out of the projector's
/// memory is still refused: the projector loads every item an event names
/// before judging it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_item_id_is_refused_after_its_item_left_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, mut state) = genesis_store(&tmp.path().join("log"));
    append_needs(&store, &mut state, "T", 6);
    let ua = mid(UA);
    let again = next_event(&state, ORIGIN, &ua, need("T-0"), now(), &signer(UA)).unwrap();
    let expected = store.last_of_sync(&ua).unwrap().map(|e| e.position);
    store
        .append_sync(&ua, expected, &[again.bytes().to_vec()], now())
        .unwrap();

    let mut p =
        projector::run::Projector::open(&tmp.path().join("p"), Duration::from_secs(5)).unwrap();
    (p.read_batch, p.working_set) = (1, 0);
    p.catch_up(&store, |_| {}).await.unwrap();
    let model = p.model().unwrap();
    assert_eq!(model.needs.len(), 6);
    assert_eq!(model.rejected.len(), 1, "{:?}", model.rejected);
    assert!(
        model.rejected[0].reason.contains("already used"),
        "{}",
        model.rejected[0].reason
    );
}

/// Appends `n` needs of UA-SSSCIP (named `{tag}-{i}`) to `store`, one append each.
fn append_needs(store: &Store, state: &mut State, tag: &str, n: usize) {
    let ua = mid(UA);
    for i in 0..n {
        let ev = next_event(
            state,
            ORIGIN,
            &ua,
            need(&format!("{tag}-{i}")),
            now(),
            &signer(UA),
        )
        .unwrap();
        let expected = store.last_of_sync(&ua).unwrap().map(|e| e.position);
        store
            .append_sync(&ua, expected, &[ev.bytes().to_vec()], now())
            .unwrap();
        state.apply(&ev, &Outcome::Accepted);
    }
}

/// A follower does not save after every wake-up (a snapshot re-encodes the whole
/// model) but once the log has been quiet for half a second, and at shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_saves_when_the_log_is_quiet_and_at_shutdown() {
    // The follow loop's hook is an async closure (whose future is not
    // `Send`): the follower runs as a local task.
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let tmp = tempfile::tempdir().unwrap();
            let (store, mut state) = genesis_store(&tmp.path().join("log"));
            let proj_dir = tmp.path().join("projector");
            let saved_position = |dir: &Path| {
                projector::run::Projector::open(dir, Duration::from_secs(5))
                    .unwrap()
                    .position
            };

            for round in 0..2 {
                let (tx, mut positions) = tokio::sync::mpsc::unbounded_channel();
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let follower = {
                    let (store, dir) = (store.clone(), proj_dir.clone());
                    tokio::task::spawn_local(async move {
                        let mut p = projector::run::Projector::open(&dir, Duration::from_secs(5))?;
                        p.follow(
                            &store,
                            async {
                                let _ = stopped.await;
                            },
                            async |p: &mut projector::run::Projector| {
                                let _ = tx.send(p.position);
                                Ok::<(), projector::run::RunError>(())
                            },
                        )
                        .await
                    })
                };
                let start = positions.recv().await.unwrap();
                // Bursts with short pauses, then quiet.
                for burst in 0..3 {
                    append_needs(&store, &mut state, &format!("R{round}B{burst}"), 40);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let end = store.len_sync().unwrap();
                assert!(end > start);
                while positions.recv().await.unwrap() < end {}
                tokio::time::sleep(Duration::from_millis(1500)).await;
                if round == 0 {
                    // Killed while idle: what it saved when the log went quiet remains.
                    follower.abort();
                    assert!(follower.await.unwrap_err().is_cancelled());
                } else {
                    // Stopped: it saves before returning (nothing new since the quiet save).
                    stop.send(()).unwrap();
                    follower.await.unwrap().unwrap();
                }
                assert_eq!(saved_position(&proj_dir), end, "round {round}");
            }
        })
        .await;
}

/// A member's entries come from an index, forward from a position and the
/// last few, and the index is built for a log written before it existed.
#[test]
fn a_members_entries_are_read_through_its_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (store, mut state) = genesis_store(&dir);
    append_needs(&store, &mut state, "m", 150);
    let positions = |v: Vec<ledger::log::Entry>| v.iter().map(|e| e.position).collect::<Vec<_>>();
    let check = |store: &Store| {
        let (ua, coord) = (mid(UA), mid(COORD));
        let forward = |from, max| positions(store.member_entries_sync(&ua, from, max).unwrap());
        let last = |max| positions(store.member_last_entries_sync(&ua, max).unwrap());
        // UA-SSSCIP's 150 entries are at positions 2..=151, over three index runs.
        assert_eq!(forward(1, 3), [2, 3, 4]);
        assert_eq!(forward(60, 10), (60..70).collect::<Vec<u64>>());
        assert_eq!(forward(149, 10), [149, 150, 151]);
        assert_eq!(last(2), [150, 151]);
        assert_eq!(last(100), (52..152).collect::<Vec<u64>>());
        assert_eq!(last(1000).len(), 150);
        assert_eq!(
            positions(store.member_last_entries_sync(&coord, 5).unwrap()),
            [1]
        );
        assert!(store
            .member_entries_sync(&mid("XX-NONE"), 1, 5)
            .unwrap()
            .is_empty());
        let newest = store.member_last_entries_sync(&ua, 1).unwrap();
        assert_eq!(
            newest[0].bytes,
            store.last_of_sync(&ua).unwrap().unwrap().bytes
        );
    };
    check(&store);
    drop(store);
    let store = Store::open(&dir, Duration::from_secs(5)).unwrap();
    check(&store);
}

/// A log written before the event files kept its events in sled trees:
/// opening it moves them into the files once, every entry as it was (an
/// entry stored on another chain keeps its subject), and drops the trees; a
/// move a crash interrupted is started again.
#[test]
fn a_log_of_the_sled_layout_is_moved_into_the_event_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (store, mut state) = genesis_store(&dir);
    append_needs(&store, &mut state, "m", 150);
    let coord_event = store.read_sync(1, 1).unwrap().remove(0).bytes;
    store
        .append_verbatim_sync(
            &mid(UA),
            Some(151),
            std::slice::from_ref(&coord_event),
            now(),
        )
        .unwrap();
    let before = store.read_sync(1, 1000).unwrap();
    assert_eq!(before.len(), 152);
    assert_eq!(before[151].member, Some(mid(UA)));
    drop(store);

    let old = tmp.path().join("old");
    write_sled_layout(&old, &before);
    // What a move killed half way leaves.
    std::fs::create_dir_all(old.join("events.moving").join("members")).unwrap();
    std::fs::write(old.join("events.moving").join("events.dat"), b"half").unwrap();
    std::fs::create_dir_all(old.join("events")).unwrap();
    let store = Store::open(&old, Duration::from_secs(5)).unwrap();
    assert_eq!(store.read_sync(1, 1000).unwrap(), before);
    assert_eq!(store.len_sync().unwrap(), 152);
    let ua_last = store.member_last_entries_sync(&mid(UA), 200).unwrap();
    assert_eq!(ua_last.len(), 151);
    assert_eq!(ua_last[150].position, 152);
    assert!(!old.join("events.moving").exists());
    let trees: Vec<String> = store
        .db()
        .tree_names()
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    assert!(
        !trees.iter().any(|t| t == "log" || t == "by_member"),
        "{trees:?}"
    );
    drop(store);
    // A move killed after its commit point left the old database's files.
    write_sled_layout(&tmp.path().join("older"), &before[..3]);
    for name in ["db", "conf"] {
        std::fs::rename(tmp.path().join("older").join(name), old.join(name)).unwrap();
    }
    let store = Store::open(&old, Duration::from_secs(5)).unwrap();
    assert_eq!(store.read_sync(1, 1000).unwrap(), before);
    assert!(!old.join("db").exists());
}

/// Writes `entries` in the sled trees of the layout before the event files.
fn write_sled_layout(dir: &Path, entries: &[ledger::log::Entry]) {
    let db = sled::open(dir).unwrap();
    let (log, last, meta, subject) = (
        db.open_tree("log").unwrap(),
        db.open_tree("last").unwrap(),
        db.open_tree("meta").unwrap(),
        db.open_tree("subject").unwrap(),
    );
    for e in entries {
        let mut value = e.appended_at.0.to_be_bytes().to_vec();
        value.extend_from_slice(&e.bytes);
        log.insert(e.position.to_be_bytes(), value).unwrap();
        let member = match &e.member {
            Some(m) => {
                subject
                    .insert(e.position.to_be_bytes(), m.as_str().as_bytes())
                    .unwrap();
                m.clone()
            }
            None => Event::from_bytes(&e.bytes)
                .unwrap()
                .envelope()
                .producer
                .clone(),
        };
        last.insert(member.as_str().as_bytes(), &e.position.to_be_bytes())
            .unwrap();
    }
    meta.insert("len", &(entries.len() as u64).to_be_bytes())
        .unwrap();
    db.open_tree("checkpoints")
        .unwrap()
        .insert(9u64.to_be_bytes(), &b"a checkpoint note"[..])
        .unwrap();
    db.flush().unwrap();
}

/// The projector keeps the chains on disk: an old event replayed (a
/// duplicate) and a second event signed for an old seq (an equivocation) are
/// judged against the id read back from the chain file, before and after the
/// projector is reopened, exactly as the in-memory fold judges them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_seqs_are_judged_against_the_chains_on_disk() {
    use ledger::envelope::Envelope;
    use ledger::log::Log;
    use projector::fold::{fold_entries, Filter};
    use projector::model::Model;
    use projector::run::Projector;

    let tmp = tempfile::tempdir().unwrap();
    let (store, mut state) = genesis_store(&tmp.path().join("log"));
    append_needs(&store, &mut state, "N", 300);
    let ua = mid(UA);
    let entries = store.read_sync(1, usize::MAX).unwrap();
    let at_seq = |seq: u64| -> Event {
        entries
            .iter()
            .map(|e| Event::from_bytes(&e.bytes).unwrap())
            .find(|ev| ev.envelope().producer == ua && ev.envelope().seq == seq)
            .unwrap()
    };
    // A copy of seq 5, and another event signed for seq 7.
    let replay_old = |seq: u64, store: &Store| {
        let last = store.last_of_sync(&ua).unwrap().map(|e| e.position);
        let bytes = at_seq(seq).bytes().to_vec();
        store.append_sync(&ua, last, &[bytes], now()).unwrap();
    };
    let equivocate = |seq: u64, store: &Store| {
        let old = at_seq(seq);
        let env = Envelope {
            body: need(&format!("OTHER-{seq}")),
            ..old.envelope().clone()
        };
        let ev = Event::sign(env, &signer(UA)).unwrap();
        let last = store.last_of_sync(&ua).unwrap().map(|e| e.position);
        store
            .append_sync(&ua, last, &[ev.bytes().to_vec()], now())
            .unwrap();
    };
    replay_old(5, &store);
    equivocate(7, &store);

    let in_memory = |store: &Store| {
        let entries = store.read_sync(1, usize::MAX).unwrap();
        let (mut s, mut m) = (State::new(), Model::new());
        fold_entries(&mut s, &mut m, &entries, Filter::All);
        m
    };
    let expected = in_memory(&store);
    assert_eq!(expected.rejected.len(), 1, "the equivocation");
    let dir = tmp.path().join("projector");
    let mut p = Projector::open(&dir, Duration::from_secs(5)).unwrap();
    (p.read_batch, p.working_set, p.save_every) = (16, 0, 50);
    p.catch_up(&store, |_| {}).await.unwrap();
    assert!(
        p.rules_state().chain(&ua).saved_len() >= 300,
        "the chain is on disk"
    );
    assert!(p.model().unwrap() == expected);
    drop(p);
    let chain_file = dir.join("chains").join(hex::encode(UA));
    assert_eq!(std::fs::metadata(&chain_file).unwrap().len(), 300 * 36);

    // Reopened (nothing of the chain in memory but its head): the same again.
    replay_old(120, &store);
    equivocate(200, &store);
    let expected = in_memory(&store);
    assert_eq!(expected.rejected.len(), 2);
    let mut p = Projector::open(&dir, Duration::from_secs(5)).unwrap();
    assert_eq!(p.rules_state().chain(&ua).saved_len(), 300);
    p.catch_up(&store, |_| {}).await.unwrap();
    assert!(p.model().unwrap() == expected);
    assert_eq!(p.position, store.len().await.unwrap());
    drop(p);

    // A damaged record is an error naming the file, never a verdict.
    let mut bytes = std::fs::read(&chain_file).unwrap();
    bytes[36 * 9 + 3] ^= 1;
    std::fs::write(&chain_file, &bytes).unwrap();
    replay_old(10, &store);
    let mut p = Projector::open(&dir, Duration::from_secs(5)).unwrap();
    let err = p.catch_up(&store, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("seq 10") && err.contains("checksum"), "{err}");
}
