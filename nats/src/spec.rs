//! A ledger's stream: [`StreamSpec`], the configuration a ledger needs of its
//! stream (checked, never changed silently), the subjects of members, and
//! creating or opening the [`NatsLog`] of a stream.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use ledger::ids::MemberId;

use crate::connection::supports_atomic;
use crate::{Batches, Connection, NatsError, NatsLog, MAX_ATOMIC_BATCH};

/// The stream of one ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// Subject prefix: producers publish on `<prefix>.events.<member>`.
    pub prefix: String,
    /// Replicas (1 on a single server, 3 on a cluster).
    pub replicas: usize,
    /// Duplicate window for `Nats-Msg-Id`.
    pub duplicate_window: Duration,
}

impl StreamSpec {
    /// The default stream of a ledger with this origin: name `TALLINN_<ORIGIN>`, prefix
    /// `tallinn.<origin>` (characters other than letters, digits and `-` become `_`).
    pub fn for_origin(origin: &str) -> StreamSpec {
        let token: String = origin
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        StreamSpec {
            name: format!("TALLINN_{}", token.to_ascii_uppercase().replace('-', "_")),
            prefix: format!("tallinn.{token}"),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
        }
    }

    /// The subject of a producer.
    pub fn subject(&self, producer: &MemberId) -> String {
        subject(&self.prefix, producer)
    }

    fn config(&self, atomic: bool) -> stream::Config {
        stream::Config {
            allow_atomic_publish: atomic,
            name: self.name.clone(),
            subjects: vec![format!("{}.events.>", self.prefix)],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: self.duplicate_window,
            num_replicas: self.replicas,
            allow_direct: true,
            deny_delete: true,
            deny_purge: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        }
    }
}

/// The subject of `producer` under `prefix`; `.` in member ids becomes `~`.
pub fn subject(prefix: &str, producer: &MemberId) -> String {
    format!("{prefix}.events.{}", producer.as_str().replace('.', "~"))
}

/// The member whose subject `<prefix>.events.<member>` a message was read from
/// ([`subject`] reversed); [`MemberId::unnamed_subject`] for any other subject.
pub fn subject_member(prefix: &str, subject: &str) -> MemberId {
    subject
        .strip_prefix(prefix)
        .and_then(|s| s.strip_prefix(".events."))
        // One token: [`subject`] writes a member id's `.` as `~`, so a deeper
        // subject such as `<prefix>.events.EE.X` (which the stream's
        // `events.>` filter stores) is no member's, not member `EE.X`'s.
        .filter(|token| !token.contains('.'))
        .and_then(|token| token.replace('~', ".").parse().ok())
        .unwrap_or_else(MemberId::unnamed_subject)
}

/// Checks an existing stream's configuration against what a ledger needs.
pub(crate) fn check_config(
    name: &str,
    found: &stream::Config,
    want: &stream::Config,
    check_replicas: bool,
) -> Result<(), NatsError> {
    let differ = |field: &'static str, f: String, e: String| NatsError::ConfigMismatch {
        stream: name.to_string(),
        field,
        found: f,
        expected: e,
    };
    if found.subjects != want.subjects {
        return Err(differ(
            "subjects",
            format!("{:?}", found.subjects),
            format!("{:?}", want.subjects),
        ));
    }
    if found.storage != want.storage {
        return Err(differ(
            "storage",
            format!("{:?}", found.storage),
            format!("{:?}", want.storage),
        ));
    }
    if !found.deny_delete {
        return Err(differ("deny_delete", "false".into(), "true".into()));
    }
    if !found.deny_purge {
        return Err(differ("deny_purge", "false".into(), "true".into()));
    }
    if found.retention != want.retention {
        return Err(differ(
            "retention",
            format!("{:?}", found.retention),
            format!("{:?}", want.retention),
        ));
    }
    if found.max_messages > 0 || found.max_bytes > 0 || !found.max_age.is_zero() {
        return Err(differ(
            "limits",
            format!(
                "max_msgs {} max_bytes {} max_age {:?}",
                found.max_messages, found.max_bytes, found.max_age
            ),
            "none".into(),
        ));
    }
    if !found.allow_direct {
        return Err(differ("allow_direct", "false".into(), "true".into()));
    }
    if check_replicas && found.num_replicas.max(1) != want.num_replicas.max(1) {
        return Err(differ(
            "replicas",
            found.num_replicas.to_string(),
            want.num_replicas.to_string(),
        ));
    }
    if check_replicas && found.duplicate_window != want.duplicate_window {
        return Err(differ(
            "duplicate_window",
            format!("{:?}", found.duplicate_window),
            format!("{:?}", want.duplicate_window),
        ));
    }
    Ok(())
}

impl NatsLog {
    /// Creates the stream of `spec`, or checks the existing one has its configuration
    /// (replicas and duplicate window included).
    pub async fn create_or_check(
        conn: &Connection,
        spec: &StreamSpec,
    ) -> Result<NatsLog, NatsError> {
        let want = spec.config(supports_atomic(conn));
        let stream = match conn.js.get_stream(&spec.name).await {
            Ok(mut s) => {
                let info = s.info().await.map_err(|e| conn.explain(e))?;
                check_config(&spec.name, &info.config, &want, true)?;
                s
            }
            Err(e) => match map_get_stream(conn, &spec.name, e) {
                NatsError::MissingStream(_) => conn.js.create_stream(want).await.map_err(|e| {
                    let text = e.to_string();
                    if text.contains("not enabled") {
                        NatsError::NoJetStream(text)
                    } else {
                        conn.explain(e)
                    }
                })?,
                other => return Err(other),
            },
        };
        Ok(NatsLog::from_stream(
            conn.clone(),
            stream,
            spec.name.clone(),
            spec.prefix.clone(),
        ))
    }

    /// Opens an existing stream (`name`, or the only ledger stream on the server).
    pub async fn open(conn: &Connection, name: Option<&str>) -> Result<NatsLog, NatsError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                let mut names = conn.ledger_streams().await?;
                match names.len() {
                    0 => return Err(NatsError::NoStreamChosen(
                        "no ledger stream (TALLINN_*) on the server: create one with `tallinn init --nats URL`".into(),
                    )),
                    1 => names.remove(0),
                    _ => return Err(NatsError::NoStreamChosen(format!(
                        "several ledger streams on the server ({}): choose one with --stream",
                        names.join(", ")
                    ))),
                }
            }
        };
        let mut stream = get_existing_stream(conn, &name).await?;
        let info = stream.info().await.map_err(|e| match conn.explain(e) {
            NatsError::JetStream(t) if t.contains("timed out") => {
                NatsError::NotAnswering(format!("stream {name}: {t} (no leader answered)"))
            }
            other => other,
        })?;
        let subj = info.config.subjects.first().cloned().unwrap_or_default();
        let Some(prefix) = subj.strip_suffix(".events.>") else {
            return Err(NatsError::ConfigMismatch {
                stream: name,
                field: "subjects",
                found: format!("{:?}", info.config.subjects),
                expected: "[\"<prefix>.events.>\"]".into(),
            });
        };
        let spec = StreamSpec {
            name: name.clone(),
            prefix: prefix.to_string(),
            replicas: info.config.num_replicas,
            duplicate_window: info.config.duplicate_window,
        };
        check_config(&name, &info.config, &spec.config(false), false)?;
        Ok(NatsLog::from_stream(
            conn.clone(),
            stream,
            name,
            spec.prefix,
        ))
    }

    fn from_stream(
        conn: Connection,
        stream: stream::Stream<stream::Info>,
        name: String,
        prefix: String,
    ) -> NatsLog {
        let allowed = supports_atomic(&conn) && stream.cached_info().config.allow_atomic_publish;
        let inbox = conn.client.new_inbox();
        let nonce = inbox.rsplit('.').next().unwrap_or("tallinn").to_string();
        NatsLog {
            conn,
            stream,
            name,
            prefix,
            allowed: Arc::new(AtomicBool::new(allowed)),
            batches: Arc::new(AtomicU8::new(Batches::Auto as u8)),
            batch_max: Arc::new(AtomicUsize::new(MAX_ATOMIC_BATCH)),
            batch_nonce: nonce.into(),
            batch_counter: Arc::new(AtomicU64::new(0)),
            checkpoints: Arc::default(),
        }
    }
}

/// Attempts at the stream's info while the server lists the stream but none
/// of its replicas answers (a leader election), with growing pauses.
const ELECTION_ATTEMPTS: u32 = 6;

/// The stream `name`. A "stream not found" while the server still lists the
/// stream among its streams is a stream without a leader (a cluster electing
/// one): retried for a few seconds, then reported as a retryable
/// unavailability, never as a missing ledger.
pub(crate) async fn get_existing_stream(
    conn: &Connection,
    name: &str,
) -> Result<jetstream::stream::Stream, NatsError> {
    let mut attempt = 0;
    loop {
        let e = match conn.js.get_stream(name).await {
            Ok(stream) => return Ok(stream),
            Err(e) => map_get_stream(conn, name, e),
        };
        let timed_out = matches!(&e, NatsError::JetStream(t) if t.contains("timed out"));
        if !matches!(e, NatsError::MissingStream(_)) && !timed_out {
            return Err(e);
        }
        // A timeout is retried as such; a "not found" only while listed.
        let listed = timed_out
            || listed_streams(conn)
                .await
                .is_ok_and(|names| names.iter().any(|n| n == name));
        if !listed {
            return Err(e);
        }
        attempt += 1;
        if attempt >= ELECTION_ATTEMPTS {
            return Err(NatsError::NotAnswering(format!(
                "stream {name} exists but none of its servers answers (a leader election?)"
            )));
        }
        tracing::debug!(
            stream = name,
            attempt,
            "stream listed but not answering; retrying"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250 << attempt.min(3))).await;
    }
}

/// The names of every stream the server lists.
async fn listed_streams(conn: &Connection) -> Result<Vec<String>, NatsError> {
    use futures_util::StreamExt;
    let mut names = conn.js.stream_names();
    let mut out = Vec::new();
    while let Some(n) = names.next().await {
        out.push(n.map_err(|e| conn.explain(e))?);
    }
    Ok(out)
}

pub(crate) fn map_get_stream(
    conn: &Connection,
    name: &str,
    e: jetstream::context::GetStreamError,
) -> NatsError {
    match e.kind() {
        jetstream::context::GetStreamErrorKind::JetStream(j)
            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
        {
            NatsError::MissingStream(name.to_string())
        }
        _ => {
            let text = e.to_string();
            if text.contains("not enabled") {
                NatsError::NoJetStream(text)
            } else {
                conn.explain(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_come_from_the_origin() {
        let s = StreamSpec::for_origin("tallinn-mechanism.example/ledger");
        assert_eq!(s.name, "TALLINN_TALLINN_MECHANISM_EXAMPLE_LEDGER");
        assert_eq!(s.prefix, "tallinn.tallinn-mechanism_example_ledger");
        let m: MemberId = "EE-MFA.X".parse().unwrap();
        assert_eq!(
            s.subject(&m),
            "tallinn.tallinn-mechanism_example_ledger.events.EE-MFA~X"
        );
    }

    #[test]
    fn subject_member_reverses_subject_exactly() {
        let p = "tallinn.tallinn-mechanism_example_ledger";
        let m: MemberId = "EE-MFA.X".parse().unwrap();
        assert_eq!(subject_member(p, &subject(p, &m)), m);
        assert_eq!(
            subject_member(p, &format!("{p}.events.EE-MFA")).as_str(),
            "EE-MFA"
        );
        // Fuzz finding (nats_entry): a deeper subject is no member's; it was
        // read as member `TM-.ECRETARIAT`, whose subject is `...TM-~ECRETARIAT`.
        for other in [
            format!("{p}.events.TM-.ECRETARIAT"),
            format!("{p}.events.EE-MFA.X"),
            format!("{p}.events."),
            format!("{p}.checkpoints"),
            "other.events.EE-MFA".to_string(),
        ] {
            assert_eq!(
                subject_member(p, &other),
                MemberId::unnamed_subject(),
                "{other}"
            );
        }
    }
}
