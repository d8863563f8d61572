//! Writing a members file: the template, keys by file, every problem at once.

mod common;

use common::*;

#[test]
fn the_template_with_keys_by_file_creates_a_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tallinn().args(["init", "--template"]).output().unwrap();
    assert!(out.status.success());
    let template: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members = tmp.path().join("members.json");
    std::fs::write(&members, &out.stdout).unwrap();
    let mut ids = vec![template["coordinator"]["id"].as_str().unwrap().to_string()];
    for m in template["members"].as_array().unwrap() {
        ids.push(m["id"].as_str().unwrap().to_string());
        assert!(m["key_file"].is_string(), "{m}");
    }
    for id in &ids {
        let key = tmp.path().join("keys").join(format!("{id}.key"));
        let out = tallinn()
            .args(["key", "new", "--name", id, "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let data = tmp.path().join("data");
    let coord_key = tmp.path().join("keys").join(format!("{}.key", ids[0]));
    let out = tallinn()
        .arg("--dir")
        .arg(&data)
        .args(["init", "--key"])
        .arg(&coord_key)
        .arg("--members")
        .arg(&members)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tallinn()
        .arg("--dir")
        .arg(&data)
        .args(["--json", "member", "list"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), ids.len(), "{listed}");
    // The same file (keys by file) generates the NATS access control: a user
    // per member, each allowed to publish on its own subject.
    let out = tallinn()
        .args(["deploy", "nats-config", "--members"])
        .arg(&members)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = String::from_utf8(out.stdout).unwrap();
    for id in &ids {
        assert!(conf.contains(&format!("user: \"{id}\"")), "{id} in\n{conf}");
        assert!(conf.contains(&format!(".events.{id}\"")), "{id}'s subject");
    }
}

#[test]
fn every_problem_of_a_members_file_is_reported_at_once() {
    let fx = Fixture::keys_only();
    let text = std::fs::read_to_string(fx.members_file()).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let members = doc["members"].as_array_mut().unwrap();
    members[0]["country"] = "Estonia".into();
    members[1]["kye"] = "typo".into();
    let key = members[2].as_object_mut().unwrap().remove("key").unwrap();
    members[2]["key_file"] = "missing.pub".into();
    // And one by file that works.
    let pub_file = fx.path("third.pub");
    std::fs::write(&pub_file, format!("{}\n", key.as_str().unwrap())).unwrap();
    let bad = fx.path("bad-members.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let err = fx.fail([
        "init",
        "--key",
        &fx.key_str(COORD),
        "--members",
        bad.to_str().unwrap(),
    ]);
    assert_one_line(
        &err,
        &[
            "3 problem(s)",
            "members[0]",
            "country",
            "members[1]",
            "kye",
            "members[2]",
            "missing.pub",
        ],
    );
    assert!(!fx.data.join("log").exists(), "nothing created");
    // Fixed by file: the same member's key from its .pub file.
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = doc["members"][2].as_object_mut().unwrap();
    m.remove("key");
    m.insert("key_file".into(), "third.pub".into());
    let good = fx.path("good-members.json");
    std::fs::write(&good, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    fx.ok([
        "init",
        "--key",
        &fx.key_str(COORD),
        "--members",
        good.to_str().unwrap(),
    ]);
}
