//! Totals cut the ways analysts ask for: by donor country, modality, OECD
//! DAC sector and contributor. Each is built from the read model's rows like
//! `donors`, with the same columns after its keys.

use std::collections::BTreeMap;

use ledger::body::Modality;
use ledger::category::Category;
use ledger::member::MemberKind;

use super::rows::{Links, Rows};
use super::totals::{donor_totals_of, totals_by, totals_table, Totals};
use super::{col, text, Cell, Table};
use crate::model::{CommitmentRow, Model, OfferRow};

/// The modality's code (`financial`, `goods`, `services`, `training`).
pub fn modality_code(m: Modality) -> &'static str {
    match m {
        Modality::Financial => "financial",
        Modality::Goods => "goods",
        Modality::Services => "services",
        Modality::Training => "training",
    }
}

/// The member kind's code, as in the members file (`company`, `ngo`, ...).
pub fn kind_code(k: MemberKind) -> &'static str {
    match k {
        MemberKind::Ministry => "ministry",
        MemberKind::Agency => "agency",
        MemberKind::Company => "company",
        MemberKind::Ngo => "ngo",
        MemberKind::RecipientInstitution => "recipient_institution",
        MemberKind::Secretariat => "secretariat",
    }
}

/// The DAC 5-digit purpose code (vocabulary 1) typical of a category, as
/// `schemas/CATEGORIES.md` lists them: what an item without its own code
/// counts under, and what the IATI export writes.
pub fn category_sector(c: Category) -> u32 {
    match c {
        Category::SatelliteCommunications => 22020,
        Category::Consulting => 15110,
        Category::IncidentResponse | Category::SecurityAudit => 15210,
        _ => 22040,
    }
}

/// The name of the DAC codes `schemas/CATEGORIES.md` lists; others have none here.
pub fn sector_name(code: u32) -> Option<&'static str> {
    match code {
        22040 => Some("Information and communication technology (ICT)"),
        22020 => Some("Telecommunications"),
        15210 => Some("Security system management and reform"),
        15110 => Some("Public sector policy and administrative management"),
        _ => None,
    }
}

/// The offer a commitment came from, if it names one the model has.
fn offer_of<'m>(model: &'m Model, c: &CommitmentRow) -> Option<&'m OfferRow> {
    c.offer.as_ref().and_then(|o| model.offers.get(o))
}

/// `countries`: the donors' totals summed per donor's country (the country
/// its genesis or admission gave), with how many donors each sums.
pub(super) fn countries<R: Rows + ?Sized>(rows: &mut R) -> Result<Table, R::Error> {
    let mut per: BTreeMap<String, (u64, Totals)> = BTreeMap::new();
    for (donor, t) in donor_totals_of(rows)? {
        let country = rows
            .members()
            .get(&donor)
            .map(|m| m.country.clone())
            .unwrap_or_default();
        let e = per.entry(country).or_default();
        e.0 += 1;
        e.1.add(&t);
    }
    let donors: u64 = per.values().map(|(n, _)| n).sum();
    let mut t = totals_table(
        "countries",
        vec![col("country", "COUNTRY"), col("donors", "DONORS")],
        per.into_iter().map(|(c, (n, t))| ((c, n), t)),
        |(c, n)| vec![text(c), Cell::Int(*n)],
    );
    if let Some(total) = t.totals.as_mut() {
        total[1] = Cell::Int(donors);
    }
    Ok(t)
}

/// `modalities`: offers by their modality, commitments (and their deliveries)
/// by the modality of the offer they came from; a commitment made without an
/// offer is under a `null` modality.
pub(super) fn modalities<R: Rows + ?Sized>(rows: &mut R) -> Result<Table, R::Error> {
    let per = totals_by(
        rows,
        Links::All,
        |o| Some(Some(modality_code(o.modality))),
        |m, c| Some(offer_of(m, c).map(|o| modality_code(o.modality))),
    )?;
    Ok(totals_table(
        "modalities",
        vec![col("modality", "MODALITY")],
        per,
        |m| vec![m.map_or(Cell::Null, text)],
    ))
}

/// The DAC code an offer counts under: its own, else its category's.
pub fn offer_sector(o: &OfferRow) -> u32 {
    o.dac_sector.unwrap_or_else(|| category_sector(o.category))
}

/// The DAC code a commitment counts under: its offer's own code, else that
/// of the first need it covers that gave one, else its category's.
pub fn commitment_sector(model: &Model, c: &CommitmentRow) -> u32 {
    offer_of(model, c)
        .and_then(|o| o.dac_sector)
        .or_else(|| {
            c.needs
                .iter()
                .filter_map(|n| model.needs.get(n))
                .find_map(|n| n.dac_sector)
        })
        .unwrap_or_else(|| category_sector(c.category))
}

/// `sectors`: offers by [`offer_sector`], commitments by [`commitment_sector`].
pub(super) fn sectors<R: Rows + ?Sized>(rows: &mut R) -> Result<Table, R::Error> {
    let per = totals_by(
        rows,
        Links::All,
        |o| Some(Some(offer_sector(o))),
        |m, c| Some(Some(commitment_sector(m, c))),
    )?;
    Ok(totals_table(
        "sectors",
        vec![col("dac_sector", "DAC"), col("sector_name", "SECTOR")],
        per,
        |code| match code {
            Some(code) => vec![
                Cell::Int(u64::from(*code)),
                sector_name(*code).map_or(Cell::Null, text),
            ],
            None => vec![Cell::Null, Cell::Null],
        },
    ))
}

/// A contributor and the donor offering for it.
type ContributorKey = (String, Option<&'static str>, Option<String>, String);

fn contributor_key(o: &OfferRow) -> Option<ContributorKey> {
    let name = o.on_behalf_of.clone()?;
    let (kind, country) = match &o.contributor {
        Some((k, c)) => (Some(kind_code(*k)), Some(c.clone())),
        None => (None, None),
    };
    Some((name, kind, country, o.donor.to_string()))
}

/// `contributors`: offers made on behalf of a company or NGO, per
/// contributor and donor, with the commitments made from them; offers a
/// ministry makes on its own account are not in this view.
pub(super) fn contributors<R: Rows + ?Sized>(rows: &mut R) -> Result<Table, R::Error> {
    let per = totals_by(rows, Links::All, contributor_key, |m, c| {
        offer_of(m, c).and_then(contributor_key)
    })?;
    Ok(totals_table(
        "contributors",
        vec![
            col("contributor", "CONTRIBUTOR"),
            col("kind", "KIND"),
            col("country", "CTRY"),
            col("donor", "DONOR"),
        ],
        per,
        |(name, kind, country, donor)| {
            vec![
                text(name),
                kind.map_or(Cell::Null, text),
                country.as_ref().map_or(Cell::Null, text),
                text(donor),
            ]
        },
    ))
}
