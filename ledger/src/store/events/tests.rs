//! The event files: round trips, crashes and damage.

use super::*;

fn m(s: &str) -> MemberId {
    s.parse().unwrap()
}

fn fill(events: &Events, n: u64) {
    for i in 0..n {
        let member = if i % 3 == 0 { m("UA-A") } else { m("DE-B") };
        let last = events.last_position(&member).unwrap();
        let leaf = format!("leaf {i}").into_bytes();
        events
            .append(
                &member,
                last,
                &[leaf],
                Timestamp(i as i64),
                &[i == 5],
                false,
            )
            .unwrap();
    }
}

#[test]
fn entries_read_back_through_both_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let events = Events::open(dir.path()).unwrap();
    fill(&events, 10);
    let all = events.read(1, 100).unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[4].bytes, b"leaf 4");
    assert_eq!(all[5].member, Some(m("DE-B")));
    assert_eq!(all[4].member, None);
    let ua: Vec<u64> = events
        .member_entries(&m("UA-A"), 2, 10)
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(ua, [4, 7, 10]);
    let last: Vec<u64> = events
        .member_last_entries(&m("DE-B"), 2)
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(last, [8, 9]);
    let err = events
        .append(
            &m("UA-A"),
            Some(7),
            &[b"x".to_vec()],
            Timestamp(0),
            &[],
            true,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        LogError::Conflict {
            actual: Some(10),
            ..
        }
    ));
}

#[test]
fn a_torn_tail_is_cut_off_and_the_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let events = Events::open(dir.path()).unwrap();
    fill(&events, 6);
    events.commit().unwrap();
    fill(&events, 4);
    std::mem::forget(events); // a kill: no commit at drop
    let data = dir.path().join(DATA);
    let full = std::fs::metadata(&data).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&data)
        .unwrap()
        .set_len(full - 3)
        .unwrap();
    let events = Events::open(dir.path()).unwrap();
    assert_eq!(events.len(), 9);
    assert_eq!(events.read(9, 5).unwrap()[0].bytes, b"leaf 2");
    assert_eq!(
        events.last_position(&m("UA-A")).unwrap(),
        Some(7),
        "the cut entry 10 left UA-A's index"
    );
    let next = events
        .append(
            &m("UA-A"),
            Some(7),
            &[b"again".to_vec()],
            Timestamp(1),
            &[],
            true,
        )
        .unwrap();
    assert_eq!(next, [10]);
}

#[test]
fn a_damaged_committed_record_is_reported_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let events = Events::open(dir.path()).unwrap();
    fill(&events, 5);
    drop(events);
    let data = dir.path().join(DATA);
    let mut bytes = std::fs::read(&data).unwrap();
    let at = bytes.len() - 30;
    bytes[at] ^= 0x40;
    std::fs::write(&data, &bytes).unwrap();
    let events = Events::open(dir.path()).unwrap();
    assert_eq!(events.len(), 5);
    let err = events.read(1, 10).unwrap_err().to_string();
    assert!(err.contains("entry 4") && err.contains("checksum"), "{err}");
}

#[test]
fn a_damaged_index_is_reported_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let events = Events::open(dir.path()).unwrap();
    fill(&events, 8);
    drop(events);
    let index = dir.path().join(INDEX);
    let good = std::fs::read(&index).unwrap();
    let member = dir.path().join(MEMBERS).join("UA-A");
    let chain = std::fs::read(&member).unwrap();
    let damages: [(&Path, usize, u64); 4] = [
        (&index, 3, 1),        // an offset into the middle of a record
        (&index, 4, 0),        // offsets going backwards
        (&index, 5, u64::MAX), // past any file
        (&member, 1, 0),       // a chain naming position 0
    ];
    for (file, at, value) in damages {
        let mut bytes = if file == index {
            good.clone()
        } else {
            chain.clone()
        };
        bytes[at * 8..at * 8 + 8].copy_from_slice(&value.to_le_bytes());
        std::fs::write(file, &bytes).unwrap();
        let events = Events::open(dir.path()).unwrap();
        let read = events
            .read(1, 100)
            .and_then(|_| events.member_last_entries(&m("UA-A"), 9));
        let err = read.expect_err("damage is found").to_string();
        assert!(err.contains("corrupt"), "{err}");
        drop(events);
        std::fs::write(&index, &good).unwrap();
        std::fs::write(&member, &chain).unwrap();
    }
}

#[test]
fn a_lost_commit_note_indexes_everything_again() {
    let dir = tempfile::tempdir().unwrap();
    let events = Events::open(dir.path()).unwrap();
    fill(&events, 20);
    drop(events);
    std::fs::write(dir.path().join(COMMIT), b"garbage").unwrap();
    std::fs::write(dir.path().join(INDEX), b"").unwrap();
    let events = Events::open(dir.path()).unwrap();
    assert_eq!(events.len(), 20);
    assert_eq!(
        events.member_last_entries(&m("UA-A"), 100).unwrap().len(),
        7
    );
    assert_eq!(events.read(20, 1).unwrap()[0].bytes, b"leaf 19");
}
