//! Command dispatch: keys, genesis, membership, coordination bodies, publish, log.

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, bail, Context, Result};
use ledger::body::{
    Body, Cancellation, Change, ChangeFields, Commitment, Contributor, Delivery, Genesis,
    KeyRevoked, KeyRotated, MemberAdmitted, MemberSuspended, Need, Offer, Receipt,
};
use ledger::event::Event;
use ledger::keys::Signer;
use ledger::member::{member_vkey, Member};
use ledger::money::Quantity;
use serde_json::json;

use crate::args::{ChangeArgs, Cli, Command, KeyCommand, MemberCommand};
use crate::context::{now, signer, Ledger};
use crate::flags;

/// Runs one command.
pub async fn dispatch(cli: Cli) -> Result<()> {
    let g = &cli.global;
    let dir = g.dir.as_path();
    let json = g.json;
    let now = || now(g.now.as_deref());
    match cli.command {
        Command::Key(KeyCommand::New { name, out }) => {
            let signer = Signer::generate(&name)?;
            if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            ledger::keyfile::write(&out, &signer)?;
            if json {
                println!(
                    "{}",
                    json!({"vkey": signer.vkey(), "key_file": out, "vkey_file": ledger::keyfile::pub_path(&out)})
                );
            } else {
                println!("{}", signer.vkey());
            }
            Ok(())
        }
        Command::Key(KeyCommand::Show { key }) => {
            let s = signer(&key)?;
            if json {
                println!("{}", json!({"member": s.name(), "vkey": s.vkey()}));
            } else {
                println!("{}", s.vkey());
            }
            Ok(())
        }
        Command::Init(a) => {
            if a.template {
                if std::io::stderr().is_terminal() {
                    eprintln!("{}", crate::members_file::TEMPLATE_GUIDE);
                }
                print!("{}", crate::members_file::template());
                return Ok(());
            }
            let (Some(key), Some(members)) = (&a.key, &a.members) else {
                bail!("init: --key and --members are required (or --template)");
            };
            let signer = signer(key)?;
            let genesis: Genesis = crate::members_file::load(members)?;
            if genesis.coordinator.key != signer.public_key()
                || genesis.coordinator.id.as_str() != signer.name()
            {
                bail!(
                    "{}: the coordinator's id and key must be those of --key ({})",
                    members.display(),
                    signer.vkey()
                );
            }
            Body::Genesis(genesis.clone())
                .validate()
                .map_err(|e| anyhow!("{e}"))?;
            if g.nats.enabled() {
                // JetStream: create (or check) the stream, then append the genesis.
                let t = now()?;
                let state = ledger::state::State::new();
                let origin = genesis.origin.clone();
                let producer = genesis.coordinator.id.clone();
                let event = ledger::producer::next_event(
                    &state,
                    &origin,
                    &producer,
                    Body::Genesis(genesis),
                    t,
                    &signer,
                )?;
                let outcome = ledger::rules::evaluate(
                    &state,
                    &event,
                    Some(&producer),
                    ledger::rules::SignatureCheck::Verify,
                );
                if outcome != ledger::rules::Outcome::Accepted {
                    bail!("genesis rejected, nothing written: {outcome:?}");
                }
                let pos = crate::nats::init(&g.nats, &event, t).await?;
                print_event(json, &event, pos);
                return Ok(());
            }
            let l = Ledger::open_or_create(dir).await?;
            if !l.judged.is_empty() {
                bail!(
                    "{} already holds a ledger ({} events); nothing written",
                    dir.display(),
                    l.judged.len()
                );
            }
            // The genesis is judged against the empty state like any event.
            let origin = genesis.origin.clone();
            let producer = genesis.coordinator.id.clone();
            let t = now()?;
            let event = ledger::producer::next_event(
                &l.state,
                &origin,
                &producer,
                Body::Genesis(genesis),
                t,
                &signer,
            )?;
            let outcome = ledger::rules::evaluate(
                &l.state,
                &event,
                Some(&producer),
                ledger::rules::SignatureCheck::Verify,
            );
            if outcome != ledger::rules::Outcome::Accepted {
                bail!("genesis rejected, nothing written: {outcome:?}");
            }
            let pos = l
                .store
                .append_sync(&producer, None, &[event.bytes().to_vec()], t)?;
            print_event(json, &event, pos[0]);
            Ok(())
        }
        Command::Member(MemberCommand::List) => {
            // From the projector's state (folding only what is new), not a replay.
            let log = crate::nats::open_log(&g.nats, dir).await?;
            let p = crate::producer::Producer::open(log, dir).await?;
            let state = p.projector().rules_state();
            if state.origin.is_none() {
                bail!("the ledger has no genesis yet: run `tallinn init`");
            }
            let members: Vec<_> = state.members.values().collect();
            if json {
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
        Command::Member(cmd) => {
            let (key, build): (_, Box<dyn FnOnce(&ledger::ids::MemberId) -> Result<Body>>) =
                match cmd {
                    MemberCommand::Admit(a) => (
                        a.key.key.clone(),
                        Box::new(move |_| {
                            let id = flags::member("id", &a.id)?;
                            let vkey = flags::vkey_text("vkey", &a.vkey)?;
                            let key =
                                member_vkey(&id, &vkey).map_err(|e| anyhow!("--vkey: {e}"))?;
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
                            let new_key = member_vkey(&member, &vkey)
                                .map_err(|e| anyhow!("--new-vkey: {e}"))?;
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
            emit_one(g, json, &key, now()?, build).await
        }
        Command::Need(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::NeedStated(Need {
                    need: flags::item("id", &a.id, me)?,
                    recipient: member_or_signer("recipient", a.recipient.as_deref(), me)?,
                    category: flags::category(&a.category)?,
                    dac_sector: a.dac,
                    description: a.description,
                    quantity: Quantity {
                        amount: a.quantity,
                        unit: a.unit,
                    },
                    estimated_value: flags::money(&a.money)?,
                    priority: flags::priority(&a.priority)?,
                    needed_by: a
                        .needed_by
                        .as_deref()
                        .map(|d| flags::date("needed-by", d))
                        .transpose()?,
                }))
            })
            .await
        }
        Command::Offer(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                let on_behalf_of = match a.on_behalf_of {
                    Some(name) => Some(Contributor {
                        name,
                        kind: flags::kind("contributor-kind", &a.contributor_kind)?,
                        country: a.contributor_country.ok_or_else(|| {
                            anyhow!("--contributor-country is required with --on-behalf-of")
                        })?,
                    }),
                    None => None,
                };
                Ok(Body::OfferMade(Offer {
                    offer: flags::item("id", &a.id, me)?,
                    on_behalf_of,
                    category: flags::category(&a.category)?,
                    dac_sector: a.dac,
                    modality: flags::modality(&a.modality)?,
                    description: a.description,
                    quantity: Quantity {
                        amount: a.quantity,
                        unit: a.unit,
                    },
                    value: flags::money(&a.money)?,
                    valid_until: a
                        .valid_until
                        .as_deref()
                        .map(|d| flags::date("valid-until", d))
                        .transpose()?,
                    answers: flags::items("answers", &a.answers, me)?,
                }))
            })
            .await
        }
        Command::Commit(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::CommitmentMade(Commitment {
                    commitment: flags::item("id", &a.id, me)?,
                    offer: a
                        .offer
                        .as_deref()
                        .map(|o| flags::item("offer", o, me))
                        .transpose()?,
                    needs: flags::items("needs", &a.needs, me)?,
                    recipient: flags::member("recipient", &a.recipient)?,
                    category: flags::category(&a.category)?,
                    description: a.description,
                    quantity: Quantity {
                        amount: a.quantity,
                        unit: a.unit,
                    },
                    value: flags::money(&a.money)?,
                    tranches: a
                        .tranches
                        .iter()
                        .map(|t| flags::tranche(t, &a.money.currency))
                        .collect::<Result<_>>()?,
                }))
            })
            .await
        }
        Command::Deliver(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::DeliveryRecorded(Delivery {
                    delivery: flags::item("id", &a.id, me)?,
                    commitment: flags::item("commitment", &a.commitment, me)?,
                    quantity: a.quantity,
                    value: flags::money(&a.money)?,
                    delivered_on: flags::date("date", &a.date)?,
                    evidence: a.evidence.as_deref().map(flags::evidence).transpose()?,
                }))
            })
            .await
        }
        Command::Receipt(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::ReceiptAcknowledged(Receipt {
                    receipt: flags::item("id", &a.id, me)?,
                    delivery: flags::item("delivery", &a.delivery, me)?,
                    quantity_accepted: a.quantity_accepted,
                    received_on: flags::date("date", &a.date)?,
                    discrepancy: a.discrepancy,
                }))
            })
            .await
        }
        Command::Amend(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::Amended(change(a, me)?))
            })
            .await
        }
        Command::Correct(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::Corrected(change(a, me)?))
            })
            .await
        }
        Command::Cancel(a) => {
            emit_one(g, json, &a.key.key.clone(), now()?, move |me| {
                Ok(Body::Cancelled(Cancellation {
                    target: flags::item("target", &a.target, me)?,
                    scope: flags::scope(&a.scope)?,
                    reason: a.reason,
                }))
            })
            .await
        }
        Command::Publish(a) => {
            crate::publish::publish(&g.nats, dir, json, g.dry_run, now()?, a).await
        }
        Command::Log(a) => crate::log_cmd::log(&g.nats, dir, json, a).await,
        Command::Projector(c) => crate::project::projector(&g.nats, dir, c, g.now.as_deref()).await,
        Command::Digest => crate::project::digest(&g.nats, dir, json).await,
        Command::Status => crate::project::status(&g.nats, dir, json).await,
        Command::Report(mut a) => {
            // `--json` asks for JSON wherever it is given.
            if json {
                a.format = crate::render::Format::Json;
            }
            crate::project::report(&g.nats, dir, a).await
        }
        Command::Demo(a) if g.nats.enabled() => {
            if !g.dir_given() {
                bail!("--dir: demo --nats needs a directory for its projector and keys");
            }
            crate::nats::demo(&g.nats, dir, a.seed.unwrap_or(1), a.events).await
        }
        Command::Demo(a) => crate::project::demo(dir, g.dir_given(), a).await,
        Command::Audit(crate::audit::AuditCommand::Mirror) if g.nats.enabled() => {
            crate::nats::mirror(&g.nats, dir, json).await
        }
        Command::Bench(crate::args::BenchCommand::Pipeline { events }) => {
            crate::bench::pipeline(&g.nats, events).await
        }
        Command::Bench(crate::args::BenchCommand::Projection { events }) => {
            crate::bench::projection(events).await
        }
        Command::Bench(crate::args::BenchCommand::Audit { events }) => {
            crate::bench_audit::audit(events).await
        }
        Command::Bench(crate::args::BenchCommand::Producer { events, runs }) => {
            crate::bench_producer::producer(events, runs).await
        }
        Command::Checkpoint(c) => crate::checkpoint::run(&g.nats, dir, json, now()?.0, c).await,
        Command::Audit(c) => crate::audit::run(&g.nats, dir, json, c).await,
        Command::Deploy(c) => crate::deploy::run(&g.nats, dir, c).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = crate::args::Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "tallinn", &mut script);
            std::io::stdout().write_all(&script)?;
            Ok(())
        }
    }
}

fn change(a: ChangeArgs, me: &ledger::ids::MemberId) -> Result<Change> {
    let value = a
        .value
        .as_deref()
        .map(|v| flags::money_of(v, &a.currency, a.eur.as_deref()))
        .transpose()?;
    let tranches = if a.tranches.is_empty() {
        None
    } else {
        Some(
            a.tranches
                .iter()
                .map(|t| flags::tranche(t, &a.currency))
                .collect::<Result<Vec<_>>>()?,
        )
    };
    Ok(Change {
        target: flags::item("target", &a.target, me)?,
        fields: ChangeFields {
            quantity: a.quantity,
            value,
            date: a
                .date
                .as_deref()
                .map(|d| flags::date("date", d))
                .transpose()?,
            priority: a.priority.as_deref().map(flags::priority).transpose()?,
            tranches,
            description: a.description,
        },
        reason: a.reason,
    })
}

/// Parses JSON, naming the field path of the first error.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            anyhow!("{inner}")
        } else {
            anyhow!("{path}: {inner}")
        }
    })
}

async fn emit_one(
    g: &crate::args::Global,
    json: bool,
    key: &std::path::Path,
    now: ledger::calendar::Timestamp,
    build: impl FnOnce(&ledger::ids::MemberId) -> Result<Body>,
) -> Result<()> {
    let signer = signer(key)?;
    let log = crate::nats::open_log(&g.nats, &g.dir).await?;
    let mut p = crate::producer::Producer::open(log, &g.dir).await?;
    let me = p.producer(&signer)?;
    let body = build(&me)?;
    body.validate().map_err(|e| anyhow!("{e}"))?;
    let emitted = p.emit(&signer, vec![body], now, g.dry_run).await?;
    print_emitted(json, &emitted);
    Ok(())
}

/// Prints what an emit stored (or, dry run, would store; or found stored).
pub fn print_emitted(json: bool, emitted: &crate::producer::Emitted) {
    for (event, pos) in &emitted.events {
        let env = event.envelope();
        if json {
            println!(
                "{}",
                json!({"id": event.id(), "position": pos, "member": env.producer, "seq": env.seq,
                    "kind": env.body.kind().name(), "dry_run": pos.is_none(), "already_stored": emitted.already_stored})
            );
        } else if pos.is_none() {
            println!("{}  (dry run: checked, not appended)", event.id());
        } else {
            println!("{}", event.id());
        }
    }
    if emitted.already_stored && !json {
        eprintln!("already stored (an identical event): nothing appended");
    }
}

fn print_event(json: bool, event: &Event, position: u64) {
    let env = event.envelope();
    if json {
        println!(
            "{}",
            json!({"id": event.id(), "position": position, "member": env.producer, "seq": env.seq, "kind": env.body.kind().name()})
        );
    } else {
        println!("{}", event.id());
    }
}

/// The member named by `--flag`, or the signer itself when the flag is absent.
fn member_or_signer(
    flag: &str,
    value: Option<&str>,
    me: &ledger::ids::MemberId,
) -> Result<ledger::ids::MemberId> {
    Ok(value
        .map(|v| flags::member(flag, v))
        .transpose()?
        .unwrap_or_else(|| me.clone()))
}
