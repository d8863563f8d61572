//! `tallinn member list|admit|rotate-key|revoke-key|suspend`: membership.

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use ledger::body::{Body, KeyRevoked, KeyRotated, MemberAdmitted, MemberSuspended};
use ledger::member::{member_vkey, Member};
use serde_json::json;

use crate::backend::open_log;
use crate::cmd::produce::{emit_one, member_or_signer, KeyArg};
use crate::cmd::Global;
use crate::context::now;
use crate::flags;
use crate::producer::Producer;

/// Member commands.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Admit a member (coordinator).
    Admit(AdmitArgs),
    /// Give a member a new key (the member itself, or the coordinator).
    RotateKey {
        /// Signer.
        #[command(flatten)]
        key: KeyArg,
        /// Whose key (default: the signer).
        #[arg(long)]
        member: Option<String>,
        /// The new verifier key, or a file holding it (e.g. NEW.key.pub).
        #[arg(long)]
        new_vkey: String,
    },
    /// Revoke a member's current key (the member itself, or the coordinator).
    RevokeKey {
        /// Signer.
        #[command(flatten)]
        key: KeyArg,
        /// Whose key (default: the signer).
        #[arg(long)]
        member: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Suspend a member (coordinator).
    Suspend {
        /// Signer.
        #[command(flatten)]
        key: KeyArg,
        /// Who.
        #[arg(long)]
        member: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// List members, their roles and keys.
    List,
}

/// `member admit`.
#[derive(Debug, Args)]
pub struct AdmitArgs {
    /// Signer (the coordinator).
    #[command(flatten)]
    pub key: KeyArg,
    /// Member id, e.g. EE-MFA or GB-GOV-1.
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// ministry, agency, company, ngo, recipient_institution, secretariat.
    #[arg(long)]
    pub kind: String,
    /// ISO 3166-1 alpha-2 country.
    #[arg(long)]
    pub country: String,
    /// Roles (repeat or comma-separate): donor, recipient, coordinator, auditor.
    #[arg(long = "role", value_delimiter = ',', required = true)]
    pub roles: Vec<String>,
    /// The member's verifier key, or a file holding it.
    #[arg(long)]
    pub vkey: String,
}

/// Runs a member command.
pub async fn run(g: &Global, cmd: MemberCommand) -> Result<()> {
    match cmd {
        MemberCommand::List => list(g).await,
        cmd => change(g, cmd).await,
    }
}

/// `member list`, from the projector's state (folding only what is new), not a replay.
async fn list(g: &Global) -> Result<()> {
    // From the projector's state (folding only what is new), not a replay.
    let log = open_log(&g.nats, &g.dir).await?;
    let p = Producer::open(log, &g.dir).await?;
    let state = p.projector().rules_state();
    if state.origin.is_none() {
        bail!("the ledger has no genesis yet: run `tallinn init`");
    }
    let members: Vec<_> = state.members.values().collect();
    if g.json {
        let out: Vec<_> = members
            .iter()
            .map(|m| json!({"member": m.member, "suspended": m.suspended, "key_revoked": m.active_key.is_none(),
                "active_vkey": m.active_key.map(|k| k.vkey(m.member.id.as_str()))}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for m in members {
            let roles: Vec<String> = m
                .member
                .roles
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect();
            let status = if m.suspended {
                "suspended"
            } else if m.active_key.is_none() {
                "key revoked"
            } else {
                "active"
            };
            println!(
                "{:<16} {:<2} {:<24} {:<11} {}",
                m.member.id,
                m.member.country,
                roles.join(","),
                status,
                m.member.name
            );
        }
    }
    Ok(())
}

/// Builds an event's body once the signer's member id is known.
type BuildBody = Box<dyn FnOnce(&ledger::ids::MemberId) -> Result<Body>>;

/// Admissions, key rotations and revocations, suspensions: one event each.
async fn change(g: &Global, cmd: MemberCommand) -> Result<()> {
    let (key, build): (_, BuildBody) = match cmd {
        MemberCommand::Admit(a) => (
            a.key.key.clone(),
            Box::new(move |_| {
                let id = flags::member("id", &a.id)?;
                let vkey = flags::vkey_text("vkey", &a.vkey)?;
                let key = member_vkey(&id, &vkey).map_err(|e| anyhow!("--vkey: {e}"))?;
                let mut roles = a
                    .roles
                    .iter()
                    .map(|r| flags::role(r))
                    .collect::<Result<Vec<_>>>()?;
                roles.sort();
                roles.dedup();
                let member = Member {
                    id,
                    name: a.name,
                    kind: flags::kind("kind", &a.kind)?,
                    country: a.country,
                    roles,
                    key,
                };
                Ok(Body::MemberAdmitted(MemberAdmitted { member }))
            }),
        ),
        MemberCommand::RotateKey {
            key,
            member,
            new_vkey,
        } => (
            key.key,
            Box::new(move |me| {
                let member = member_or_signer("member", member.as_deref(), me)?;
                let vkey = flags::vkey_text("new-vkey", &new_vkey)?;
                let new_key =
                    member_vkey(&member, &vkey).map_err(|e| anyhow!("--new-vkey: {e}"))?;
                Ok(Body::KeyRotated(KeyRotated { member, new_key }))
            }),
        ),
        MemberCommand::RevokeKey {
            key,
            member,
            reason,
        } => (
            key.key,
            Box::new(move |me| {
                let member = member_or_signer("member", member.as_deref(), me)?;
                Ok(Body::KeyRevoked(KeyRevoked { member, reason }))
            }),
        ),
        MemberCommand::Suspend {
            key,
            member,
            reason,
        } => (
            key.key,
            Box::new(move |_| {
                Ok(Body::MemberSuspended(MemberSuspended {
                    member: flags::member("member", &member)?,
                    reason,
                }))
            }),
        ),
        MemberCommand::List => unreachable!("handled above"),
    };
    emit_one(g, &key, now(g.now.as_deref())?, build).await
}
