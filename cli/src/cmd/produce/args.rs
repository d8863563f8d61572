//! The flags of the producer commands.

use std::path::PathBuf;

use clap::Args;

/// The signer of a producer command.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// Your key file (its name is your member id).
    #[arg(long, env = "TALLINN_KEY")]
    pub key: PathBuf,
}

/// A money amount on the command line.
#[derive(Debug, Args, Clone)]
pub struct MoneyArgs {
    /// Amount in major units with up to the currency's decimals, e.g. 125000.50.
    #[arg(long)]
    pub value: String,
    /// ISO 4217 currency.
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    /// EUR equivalent in euros (required unless the currency is EUR).
    #[arg(long)]
    pub eur: Option<String>,
}

/// `need`.
#[derive(Debug, Args)]
pub struct NeedArgs {
    /// Signer (a recipient institution).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new need (prefixed with your member id), e.g. N-2024-001.
    #[arg(long)]
    pub id: String,
    /// The institution in need (default: the signer).
    #[arg(long)]
    pub recipient: Option<String>,
    /// Category code (schemas/CATEGORIES.md), e.g. hardware.
    #[arg(long)]
    pub category: String,
    /// OECD DAC 5-digit sector code.
    #[arg(long)]
    pub dac: Option<u32>,
    /// What is needed.
    #[arg(long)]
    pub description: String,
    /// How many.
    #[arg(long)]
    pub quantity: u64,
    /// Of what unit.
    #[arg(long)]
    pub unit: String,
    /// Estimated value.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// critical, high, medium or low.
    #[arg(long, default_value = "medium")]
    pub priority: String,
    /// Date needed by (YYYY-MM-DD).
    #[arg(long)]
    pub needed_by: Option<String>,
}

/// `offer`.
#[derive(Debug, Args)]
pub struct OfferArgs {
    /// Signer (a donor).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new offer, e.g. O-2024-001.
    #[arg(long)]
    pub id: String,
    /// Category code.
    #[arg(long)]
    pub category: String,
    /// OECD DAC 5-digit sector code.
    #[arg(long)]
    pub dac: Option<u32>,
    /// financial, goods, services or training.
    #[arg(long)]
    pub modality: String,
    /// What is offered.
    #[arg(long)]
    pub description: String,
    /// How many.
    #[arg(long)]
    pub quantity: u64,
    /// Of what unit.
    #[arg(long)]
    pub unit: String,
    /// Indicative value.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// Last day the offer stands (YYYY-MM-DD).
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Needs it answers (full item ids, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub answers: Vec<String>,
    /// Company or NGO the offer is made for: NAME.
    #[arg(long)]
    pub on_behalf_of: Option<String>,
    /// Kind of that contributor (company, ngo, agency).
    #[arg(long, default_value = "company")]
    pub contributor_kind: String,
    /// Country of that contributor.
    #[arg(long)]
    pub contributor_country: Option<String>,
}

/// `commit`.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Signer (a donor).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new commitment, e.g. C-2024-001.
    #[arg(long)]
    pub id: String,
    /// Your offer it fulfils (full id or local ref).
    #[arg(long)]
    pub offer: Option<String>,
    /// Needs it covers (full item ids, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub needs: Vec<String>,
    /// Recipient institution.
    #[arg(long)]
    pub recipient: String,
    /// Category code.
    #[arg(long)]
    pub category: String,
    /// What is committed.
    #[arg(long)]
    pub description: String,
    /// How many.
    #[arg(long)]
    pub quantity: u64,
    /// Of what unit.
    #[arg(long)]
    pub unit: String,
    /// Value.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// Tranche DATE:QUANTITY:VALUE (repeat), e.g. 2024-06-30:50:25000.00.
    #[arg(long = "tranche")]
    pub tranches: Vec<String>,
}

/// `deliver`.
#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Signer (the donor).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new delivery, e.g. D-2024-001.
    #[arg(long)]
    pub id: String,
    /// Your commitment (full id or local ref).
    #[arg(long)]
    pub commitment: String,
    /// Quantity delivered.
    #[arg(long)]
    pub quantity: u64,
    /// Value delivered.
    #[command(flatten)]
    pub money: MoneyArgs,
    /// Delivery date (YYYY-MM-DD).
    #[arg(long)]
    pub date: String,
    /// Evidence: a file to hash, or a SHA-256 in hex.
    #[arg(long)]
    pub evidence: Option<String>,
}

/// `receipt`.
#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// Signer (the recipient).
    #[command(flatten)]
    pub key: KeyArg,
    /// Local ref of the new receipt, e.g. R-2024-001.
    #[arg(long)]
    pub id: String,
    /// The delivery (full item id).
    #[arg(long)]
    pub delivery: String,
    /// Quantity accepted.
    #[arg(long)]
    pub quantity_accepted: u64,
    /// Date received (YYYY-MM-DD).
    #[arg(long)]
    pub date: String,
    /// What differed (required when less is accepted than delivered).
    #[arg(long)]
    pub discrepancy: Option<String>,
}

/// `amend` and `correct`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Signer (the item's owner).
    #[command(flatten)]
    pub key: KeyArg,
    /// The item (full id or local ref).
    #[arg(long)]
    pub target: String,
    /// New quantity.
    #[arg(long)]
    pub quantity: Option<u64>,
    /// New value in major units.
    #[arg(long)]
    pub value: Option<String>,
    /// Currency of the new value.
    #[arg(long, default_value = "EUR")]
    pub currency: String,
    /// EUR equivalent of the new value.
    #[arg(long)]
    pub eur: Option<String>,
    /// New date (needed_by, valid_until, delivered_on or received_on).
    #[arg(long)]
    pub date: Option<String>,
    /// New priority.
    #[arg(long)]
    pub priority: Option<String>,
    /// New tranches DATE:QUANTITY:VALUE (repeat).
    #[arg(long = "tranche")]
    pub tranches: Vec<String>,
    /// New description (or discrepancy note of a receipt).
    #[arg(long)]
    pub description: Option<String>,
    /// Why.
    #[arg(long)]
    pub reason: String,
}

/// `cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Signer (the item's owner).
    #[command(flatten)]
    pub key: KeyArg,
    /// The item (full id or local ref).
    #[arg(long)]
    pub target: String,
    /// whole or remaining_balance.
    #[arg(long, default_value = "whole")]
    pub scope: String,
    /// Why.
    #[arg(long)]
    pub reason: String,
}
