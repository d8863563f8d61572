//! The members file of `tallinn init`: the JSON of the genesis body
//! (`schemas/genesis.schema.json`), with two conveniences for the people who
//! write it: a member may name its verifier-key file (`key_file`, the `.pub`
//! file `tallinn key new` writes, relative to the members file) instead of
//! pasting `key`, and every member's problems are reported at once.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use ledger::body::Genesis;
use ledger::member::Member;
use serde_json::Value;

/// Largest members file read (a genesis of many members is a few KiB).
const MAX_FILE: u64 = 1 << 20;

/// Largest verifier-key file read (one line).
const MAX_KEY_FILE: u64 = ledger::keyfile::MAX_KEY_FILE_BYTES;

/// A members file with every field, for `tallinn init --template`: the
/// coordinator and one member of each common kind, keys named by file.
pub fn template() -> String {
    TEMPLATE.to_string()
}

/// The template, in the order a person reads it.
const TEMPLATE: &str = r#"{
  "origin": "tallinn-mechanism.example/ledger",
  "coordinator": {
    "id": "TM-SECRETARIAT",
    "name": "Tallinn Mechanism Secretariat",
    "kind": "secretariat",
    "country": "EE",
    "roles": ["coordinator"],
    "key_file": "keys/TM-SECRETARIAT.key.pub"
  },
  "members": [
    {
      "id": "EE-MFA",
      "name": "Estonian Ministry of Foreign Affairs",
      "kind": "ministry",
      "country": "EE",
      "roles": ["donor"],
      "key_file": "keys/EE-MFA.key.pub"
    },
    {
      "id": "UA-SSSCIP",
      "name": "State Service of Special Communications and Information Protection",
      "kind": "recipient_institution",
      "country": "UA",
      "roles": ["recipient"],
      "key_file": "keys/UA-SSSCIP.key.pub"
    }
  ]
}
"#;

/// What the template's fields mean (printed beside it on a terminal).
pub const TEMPLATE_GUIDE: &str = "\
members file: origin (the ledger's name, the same for every member), coordinator (who signs the genesis: \
the id and key of `init --key`), members (admitted from the start). Per member: id (e.g. EE-MFA), name, \
kind (ministry, agency, company, ngo, recipient_institution, secretariat), country (ISO 3166-1 alpha-2), \
roles (donor, recipient, coordinator, auditor), and key (the text of the .pub file of `tallinn key new`) \
or key_file (the path of that .pub file, relative to the members file).";

/// Reads and checks the members file `path`: `key_file`s resolved, every
/// member checked, all problems in one error.
pub fn load(path: &Path) -> Result<Genesis> {
    let shown = path.display();
    let text = read_small(path, MAX_FILE)?;
    let mut doc: Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{shown}: not JSON: {e}"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    let Some(obj) = doc.as_object_mut() else {
        bail!("{shown}: a JSON object with origin, coordinator and members is expected");
    };
    if let Some(c) = obj.get_mut("coordinator") {
        check_member(c, "coordinator", base, &mut problems);
    }
    if let Some(Value::Array(members)) = obj.get_mut("members") {
        for (i, m) in members.iter_mut().enumerate() {
            check_member(m, &format!("members[{i}]"), base, &mut problems);
        }
    }
    if !problems.is_empty() {
        bail!(
            "{shown}: {} problem(s): {}",
            problems.len(),
            problems.join("; ")
        );
    }
    let genesis: Genesis = serde_path_to_error::deserialize(doc).map_err(|e| {
        let at = e.path().to_string();
        anyhow!("{shown}: {at}: {}", e.into_inner())
    })?;
    Ok(genesis)
}

/// Resolves `key_file` in one member object and checks it as a member;
/// problems go to `problems`, labelled `at` (and the member id).
fn check_member(m: &mut Value, at: &str, base: &Path, problems: &mut Vec<String>) {
    let id = m
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let label = format!("{at} ({id})");
    if let Some(obj) = m.as_object_mut() {
        if let Some(file) = obj.remove("key_file") {
            if obj.contains_key("key") {
                problems.push(format!("{label}: give key or key_file, not both"));
                return;
            }
            match file.as_str().map(|f| key_text(&base.join(f))) {
                Some(Ok(key)) => {
                    obj.insert("key".into(), Value::String(key));
                }
                Some(Err(e)) => {
                    problems.push(format!("{label}: key_file: {e:#}"));
                    return;
                }
                None => {
                    problems.push(format!("{label}: key_file: a path is expected"));
                    return;
                }
            }
        }
    }
    match serde_path_to_error::deserialize::<_, Member>(m.clone()) {
        Err(e) => {
            let field = e.path().to_string();
            let field = if field == "." {
                String::new()
            } else {
                format!("{field}: ")
            };
            problems.push(format!("{label}: {field}{}", e.into_inner()));
        }
        // The field checks of an admission (name, country, roles), which the
        // genesis applies to each of its members.
        Ok(member) => {
            let admitted =
                ledger::body::Body::MemberAdmitted(ledger::body::MemberAdmitted { member });
            if let Err(e) = admitted.validate() {
                problems.push(format!("{label}: {e}"));
            }
        }
    }
}

/// The verifier key in a `.pub` file.
fn key_text(path: &Path) -> Result<String> {
    Ok(read_small(path, MAX_KEY_FILE)?.trim().to_string())
}

/// A regular file of at most `max` bytes (`keyfile::read_small`: a FIFO or
/// a huge file is refused before it is read).
fn read_small(path: &Path, max: u64) -> Result<String> {
    Ok(ledger::keyfile::read_small(path, max)?)
}
