//! The IATI 2.03 activity file of a read model (`tallinn export iati`): pure
//! functions from the model, the history of commitment values and the date
//! of "today" to an `iati-activities` document. The mapping is documented in
//! `schemas/IATI.md`.
//!
//! One activity per commitment: an Outgoing Commitment (type 2) of its
//! first value, a type-2 transaction for each later change of value (negative
//! when it is reduced), a negative one for what a cancellation takes off, a
//! Disbursement (3, financial) or Expenditure (4, in kind) per delivery, with
//! the recipient's receipt in its description, and the tranches not yet
//! delivered as planned disbursements. An offer not (yet) committed is an
//! activity in pipeline with an Outgoing Pledge (12).

use std::collections::BTreeMap;
use std::fmt::Write;

use ledger::body::{CancelScope, Modality};
use ledger::calendar::{Date, Timestamp};
use ledger::category::Category;
use ledger::ids::{ItemId, MemberId};
use ledger::member::MemberKind;

use crate::model::{CommitmentRow, MemberRow, Model, OfferRow};
use crate::views::rows::{infallible, Committed, InMemory, Links, Rows};

/// The members, by id.
type Members = BTreeMap<MemberId, MemberRow>;

/// What an export covers and how it names organisations.
#[derive(Debug, Clone)]
pub struct Options {
    /// "Today": nothing is reported as a transaction after it.
    pub today: Date,
    /// The document's `generated-datetime`.
    pub generated: Timestamp,
    /// Only this reporting member's activities (all donors when `None`).
    pub member: Option<MemberId>,
    /// Registered IATI organisation identifiers given for members.
    pub org_refs: BTreeMap<MemberId, String>,
}

/// The values a commitment had, in order: `(date, amount in minor units of
/// its currency)`, from the commitment and each amendment or correction of
/// its value (read from the log by the shell).
pub type ValueHistory = BTreeMap<ItemId, Vec<(Date, u64)>>;

/// The identifier prefix of members without a registered one.
pub const FALLBACK_PREFIX: &str = "XI-TALLINN";

/// Registration agencies whose identifiers member ids already are (a member
/// id such as `GB-GOV-1` or `XM-DAC-7` is used as it is).
const AGENCIES: [&str; 3] = ["GB-GOV-", "XM-DAC-", "XI-IATI-"];

/// The IATI organisation identifier of a member: the one given, the member
/// id where it is one, or the fallback `XI-TALLINN-<member id>`.
pub fn org_ref(opts: &Options, member: &MemberId) -> String {
    if let Some(r) = opts.org_refs.get(member) {
        return r.clone();
    }
    let id = member.as_str();
    if AGENCIES.iter().any(|a| id.starts_with(a)) {
        return id.to_string();
    }
    format!("{FALLBACK_PREFIX}-{id}")
}

/// An identifier part with the characters IATI forbids (white space and
/// `/ & | ?`) replaced by `-`.
pub fn identifier_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_whitespace() || matches!(c, '/' | '&' | '|' | '?') {
                '-'
            } else {
                c
            }
        })
        .collect()
}

pub use crate::views::analysis::category_sector as dac_sector;

/// IATI OrganisationType of a member kind.
fn org_type(kind: MemberKind) -> &'static str {
    match kind {
        MemberKind::Company => "70",
        MemberKind::Ngo => "21",
        MemberKind::Secretariat => "40",
        _ => "10",
    }
}

/// Text made safe for XML 1.0: escaped, and characters it cannot hold removed.
pub fn xml_text(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || (c >= ' ' && !matches!(c, '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}'))
        })
        .collect();
    quick_xml::escape::escape(kept.as_str()).into_owned()
}

/// Minor units as a decimal (two places).
fn amount(minor: i128) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// Writes the document, every activity of the reporting member(s), to `out`
/// as it goes (a writer that fails stops receiving; its owner keeps the
/// error), reading the items from `rows` (the projector's store: memory then
/// holds the record offsets of the offers committed, not the model).
pub fn write_activities<R: Rows + ?Sized>(
    out: &mut impl Write,
    rows: &mut R,
    history: &ValueHistory,
    opts: &Options,
) -> Result<(), R::Error> {
    _ = out.write_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<iati-activities version=\"2.03\" generated-datetime=\"{}\">",
        rfc3339(opts.generated)
    );
    let members = rows.members().clone();
    let wanted = |donor: &MemberId| opts.member.as_ref().is_none_or(|m| m == donor);
    rows.for_each_commitment(Links::All, &mut |id, links, c| {
        if wanted(&c.donor) && c.made_at.date() <= opts.today {
            commitment_activity(out, &members, links, history, opts, id, c);
        }
    })?;
    // An offer any commitment came from (cancelled or not) is no pledge.
    rows.for_each_offer(Some(Committed::Any), &mut |id, o, committed| {
        let open = o.cancelled_at.is_none() && !committed;
        if open && wanted(&o.donor) && o.made_at.date() <= opts.today {
            pledge_activity(out, &members, opts, id, o);
        }
    })?;
    _ = out.write_str("</iati-activities>\n");
    Ok(())
}

/// The document of a whole model as a string (see [`write_activities`]).
pub fn activities(model: &Model, history: &ValueHistory, opts: &Options) -> String {
    let mut out = String::with_capacity(1 << 16);
    infallible(write_activities(
        &mut out,
        &mut InMemory(model),
        history,
        opts,
    ));
    out
}

fn rfc3339(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1000);
    let day = Timestamp(secs * 1000).date();
    let s = secs - day.start().0.div_euclid(1000);
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

fn narrative(out: &mut impl Write, text: &str) {
    let _ = writeln!(out, "   <narrative>{}</narrative>", xml_text(text));
}

/// The opening of an activity: identifier, reporting org, title, description.
fn head(
    out: &mut impl Write,
    members: &Members,
    opts: &Options,
    donor: &MemberId,
    item: &ItemId,
    currency: &str,
) {
    let reporting = org_ref(opts, donor);
    let _ = writeln!(
        out,
        " <iati-activity default-currency=\"{}\" xml:lang=\"en\">",
        xml_text(currency)
    );
    let _ = writeln!(
        out,
        "  <iati-identifier>{}-{}</iati-identifier>",
        xml_text(&reporting),
        xml_text(&identifier_part(item.as_str()))
    );
    let kind = members
        .get(donor)
        .map(|m| m.kind)
        .unwrap_or(MemberKind::Ministry);
    let _ = writeln!(
        out,
        "  <reporting-org ref=\"{}\" type=\"{}\">",
        xml_text(&reporting),
        org_type(kind)
    );
    narrative(out, &member_name(members, donor));
    _ = out.write_str("  </reporting-org>\n");
}

fn member_name(members: &Members, m: &MemberId) -> String {
    members
        .get(m)
        .map(|r| format!("{} ({m})", r.name))
        .unwrap_or_else(|| m.to_string())
}

/// Title and description.
fn texts(out: &mut impl Write, title: &str, description: &str) {
    _ = out.write_str("  <title>\n");
    narrative(out, title);
    _ = out.write_str("  </title>\n  <description type=\"1\">\n");
    narrative(out, description);
    _ = out.write_str("  </description>\n");
}

/// The participating organisations: funding (the contributor an offer was
/// made for, else the donor), extending (the donor), implementing (the
/// recipient institution).
fn participants(
    out: &mut impl Write,
    members: &Members,
    opts: &Options,
    donor: &MemberId,
    contributor: Option<&str>,
    recipient: Option<&MemberId>,
) {
    fn org(out: &mut impl Write, members: &Members, opts: &Options, role: u8, m: &MemberId) {
        let kind = members
            .get(m)
            .map(|r| r.kind)
            .unwrap_or(MemberKind::Ministry);
        let _ = writeln!(
            out,
            "  <participating-org role=\"{role}\" ref=\"{}\" type=\"{}\">",
            xml_text(&org_ref(opts, m)),
            org_type(kind)
        );
        narrative(out, &member_name(members, m));
        _ = out.write_str("  </participating-org>\n");
    }
    match contributor {
        Some(name) => {
            _ = out.write_str("  <participating-org role=\"1\">\n");
            narrative(out, name);
            _ = out.write_str("  </participating-org>\n");
        }
        None => org(out, members, opts, 1, donor),
    }
    org(out, members, opts, 3, donor);
    if let Some(r) = recipient {
        org(out, members, opts, 4, r);
    }
}

/// Country, sectors (DAC and the Mechanism's own), the Mechanism's tag and
/// the defaults.
fn classification(out: &mut impl Write, category: Category, finance: &str) {
    _ = out.write_str("  <recipient-country code=\"UA\" percentage=\"100\"/>\n");
    let _ = writeln!(
        out,
        "  <sector vocabulary=\"1\" code=\"{}\" percentage=\"100\"/>",
        dac_sector(category)
    );
    let _ = writeln!(
        out,
        "  <sector vocabulary=\"99\" vocabulary-uri=\"urn:tallinn-mechanism:categories\" code=\"{}\" percentage=\"100\">",
        category.code()
    );
    narrative(out, category.code());
    _ = out.write_str("  </sector>\n");
    _ = out.write_str("  <tag vocabulary=\"99\" vocabulary-uri=\"urn:tallinn-mechanism\" code=\"TALLINN-MECHANISM\">\n");
    narrative(
        out,
        "Tallinn Mechanism: civilian cyber-security assistance to Ukraine",
    );
    _ = out.write_str("  </tag>\n");
    _ = out.write_str("  <collaboration-type code=\"1\"/>\n");
    let _ = writeln!(out, "  <default-finance-type code=\"{finance}\"/>");
    _ = out.write_str("  <default-aid-type code=\"C01\" vocabulary=\"1\"/>\n");
    _ = out.write_str("  <default-tied-status code=\"5\"/>\n");
}

/// The activity of commitment `c`; `model` holds at least its offer, its
/// deliveries and their receipts.
fn commitment_activity(
    out: &mut impl Write,
    members: &Members,
    model: &Model,
    history: &ValueHistory,
    opts: &Options,
    id: &ItemId,
    c: &CommitmentRow,
) {
    let offer = c.offer.as_ref().and_then(|o| model.offers.get(o));
    let financial = offer.map_or(c.category == Category::Funding, |o| {
        o.modality == Modality::Financial
    });
    head(out, members, opts, &c.donor, id, &c.currency);
    texts(
        out,
        &c.description,
        &format!(
            "{} {}: commitment {id} to {}",
            c.quantity,
            c.unit,
            member_name(members, &c.recipient)
        ),
    );
    let contributor = offer.and_then(|o| o.on_behalf_of.as_deref());
    participants(
        out,
        members,
        opts,
        &c.donor,
        contributor,
        Some(&c.recipient),
    );
    let deliveries: Vec<_> = c
        .deliveries
        .iter()
        .filter_map(|d| model.deliveries.get(d).map(|r| (d, r)))
        .filter(|(_, r)| r.delivered_on <= opts.today)
        .collect();
    let delivered: u64 = deliveries.iter().map(|(_, r)| r.amount).sum();
    let status = match c.cancelled {
        Some(_) => 5,
        None if delivered >= c.amount && c.amount > 0 => 3,
        None => 2,
    };
    let _ = writeln!(out, "  <activity-status code=\"{status}\"/>");
    let start = c.made_at.date();
    let _ = writeln!(out, "  <activity-date type=\"2\" iso-date=\"{start}\"/>");
    if let Some(end) = c
        .tranches
        .iter()
        .map(|t| t.expected)
        .max()
        .filter(|e| *e >= start)
    {
        let _ = writeln!(out, "  <activity-date type=\"3\" iso-date=\"{end}\"/>");
    }
    if status == 3 {
        if let Some(end) = deliveries
            .iter()
            .map(|(_, r)| r.delivered_on)
            .max()
            .filter(|e| *e >= start)
        {
            let _ = writeln!(out, "  <activity-date type=\"4\" iso-date=\"{end}\"/>");
        }
    }
    classification(out, c.category, "110");
    if c.cancelled.is_none() {
        planned(out, c, delivered, opts.today);
    }
    commitments(out, history, opts, id, c, delivered);
    for (d, r) in &deliveries {
        let receipt = r.receipt.as_ref().and_then(|x| model.receipts.get(x));
        let mut text = format!("delivery {d}: {} {}", r.quantity, c.unit);
        match receipt {
            Some(x) => {
                let _ = write!(
                    text,
                    "; receipt acknowledged by {} on {}: {} accepted",
                    x.recipient, x.received_on, x.quantity_accepted
                );
                if let Some(note) = &x.discrepancy {
                    let _ = write!(text, "; discrepancy: {note}");
                }
            }
            None => text.push_str("; receipt not yet acknowledged"),
        }
        let kind = if financial { 3 } else { 4 };
        transaction(
            out,
            kind,
            r.delivered_on,
            i128::from(r.amount),
            &c.currency,
            &text,
        );
    }
    _ = out.write_str(" </iati-activity>\n");
}

/// Type-2 transactions: the first value, each later change, and what a
/// cancellation takes off.
fn commitments(
    out: &mut impl Write,
    history: &ValueHistory,
    opts: &Options,
    id: &ItemId,
    c: &CommitmentRow,
    delivered: u64,
) {
    let start = c.made_at.date();
    let values = history
        .get(id)
        .cloned()
        .unwrap_or_else(|| vec![(start, c.amount)]);
    let mut last: i128 = 0;
    for (i, (on, v)) in values.iter().enumerate() {
        if *on > opts.today {
            break;
        }
        let delta = i128::from(*v) - last;
        last = i128::from(*v);
        let text = if i == 0 {
            format!("commitment {id}")
        } else {
            format!(
                "commitment {id}: value changed to {} {}",
                amount(i128::from(*v)),
                c.currency
            )
        };
        if i == 0 || delta != 0 {
            transaction(out, 2, *on, delta, &c.currency, &text);
        }
    }
    if let Some((scope, at)) = c.cancelled {
        let off = match scope {
            CancelScope::Whole => last,
            CancelScope::RemainingBalance => last - i128::from(delivered),
        };
        if off > 0 && at.date() <= opts.today {
            let text = format!(
                "commitment {id}: cancelled ({})",
                match scope {
                    CancelScope::Whole => "whole",
                    CancelScope::RemainingBalance => "remaining balance",
                }
            );
            transaction(out, 2, at.date(), -off, &c.currency, &text);
        }
    }
}

/// The tranches not yet delivered (by value, in date order) as planned disbursements.
fn planned(out: &mut impl Write, c: &CommitmentRow, delivered: u64, today: Date) {
    let mut tranches = c.tranches.clone();
    tranches.sort_by_key(|t| t.expected);
    let mut covered = delivered;
    for t in tranches {
        if covered >= t.amount_minor {
            covered -= t.amount_minor;
            continue;
        }
        let left = t.amount_minor - covered;
        covered = 0;
        let day = t.expected.max(today);
        let _ = writeln!(out, "  <planned-disbursement type=\"1\">");
        let _ = writeln!(out, "   <period-start iso-date=\"{day}\"/>");
        let _ = writeln!(out, "   <period-end iso-date=\"{day}\"/>");
        let _ = writeln!(
            out,
            "   <value currency=\"{}\" value-date=\"{day}\">{}</value>",
            xml_text(&c.currency),
            amount(i128::from(left))
        );
        _ = out.write_str("  </planned-disbursement>\n");
    }
}

fn transaction(out: &mut impl Write, kind: u8, on: Date, value: i128, currency: &str, text: &str) {
    _ = out.write_str("  <transaction>\n");
    let _ = writeln!(out, "   <transaction-type code=\"{kind}\"/>");
    let _ = writeln!(out, "   <transaction-date iso-date=\"{on}\"/>");
    let _ = writeln!(
        out,
        "   <value currency=\"{}\" value-date=\"{on}\">{}</value>",
        xml_text(currency),
        amount(value)
    );
    _ = out.write_str("   <description>\n");
    let _ = writeln!(out, "    <narrative>{}</narrative>", xml_text(text));
    _ = out.write_str("   </description>\n  </transaction>\n");
}

fn pledge_activity(
    out: &mut impl Write,
    members: &Members,
    opts: &Options,
    id: &ItemId,
    o: &OfferRow,
) {
    head(out, members, opts, &o.donor, id, "EUR");
    texts(
        out,
        &format!("offer {id}"),
        &format!("{} {}: offer {id}, not yet committed", o.quantity, o.unit),
    );
    participants(
        out,
        members,
        opts,
        &o.donor,
        o.on_behalf_of.as_deref(),
        None,
    );
    _ = out.write_str("  <activity-status code=\"1\"/>\n");
    let _ = writeln!(
        out,
        "  <activity-date type=\"1\" iso-date=\"{}\"/>",
        o.made_at.date()
    );
    classification(out, o.category, "110");
    transaction(
        out,
        12,
        o.made_at.date(),
        i128::from(o.eur),
        "EUR",
        &format!("offer {id} (indicative, in EUR)"),
    );
    _ = out.write_str(" </iati-activity>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_characters_xml_cannot_hold_are_dropped() {
        assert_eq!(
            xml_text("a<b>&\"c\"'"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;"
        );
        assert_eq!(xml_text("x\u{1}\u{7f}\u{85}\u{fffe}y\tz\n"), "xy\tz\n");
        assert_eq!(xml_text("Київ ☂"), "Київ ☂");
    }

    #[test]
    fn identifiers_lose_what_iati_forbids() {
        assert_eq!(identifier_part("EE-MFA/C 001&x|y?z"), "EE-MFA-C-001-x-y-z");
    }

    #[test]
    fn amounts_are_decimals_with_two_places() {
        assert_eq!(amount(0), "0.00");
        assert_eq!(amount(5), "0.05");
        assert_eq!(amount(-5_000_000), "-50000.00");
        assert_eq!(amount(123_456_789), "1234567.89");
    }

    #[test]
    fn rfc3339_of_a_timestamp() {
        let t = Date::from_ymd(2026, 6, 1)
            .unwrap()
            .start()
            .add_ms(12 * 3_600_000 + 61_000);
        assert_eq!(rfc3339(t), "2026-06-01T12:01:01Z");
    }
}
