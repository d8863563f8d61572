//! The dashboard's pages (placeholder until the dashboard lands).

use projector::views::{Table, View};

/// The stylesheet.
pub const STYLE_CSS: &str = "body{font-family:sans-serif}";
/// The live-update script.
pub const LIVE_JS: &str = "";

/// A dashboard page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Per donor.
    Overview,
    /// Funnel.
    Pipeline,
    /// Months.
    Months,
    /// Needs.
    Needs,
    /// Overdue.
    Overdue,
    /// Changes.
    Changes,
    /// Integrity.
    Integrity,
}

impl Page {
    /// Every page.
    pub const ALL: [Page; 7] = [Page::Overview, Page::Pipeline, Page::Months, Page::Needs, Page::Overdue, Page::Changes, Page::Integrity];
    /// Its path.
    pub fn slug(self) -> &'static str {
        match self {
            Page::Overview => "",
            Page::Pipeline => "pipeline",
            Page::Months => "months",
            Page::Needs => "needs",
            Page::Overdue => "overdue",
            Page::Changes => "changes",
            Page::Integrity => "integrity",
        }
    }
    /// The page of a path.
    pub fn from_slug(s: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|p| p.slug() == s)
    }
    /// Its views.
    pub fn views(self) -> &'static [View] {
        match self {
            Page::Overview => &[View::Donors, View::Pipeline],
            Page::Pipeline => &[View::Pipeline],
            Page::Months => &[View::Months],
            Page::Needs => &[View::Needs, View::Categories],
            Page::Overdue => &[View::Overdue],
            Page::Changes => &[View::Changes],
            Page::Integrity => &[View::Integrity],
        }
    }
}

/// What a page shows besides its tables.
pub struct PageMeta<'a> {
    /// As of.
    pub as_of: Option<&'a str>,
    /// Report date.
    pub today: &'a str,
    /// Position.
    pub position: u64,
    /// Log length.
    pub log_length: u64,
    /// Digest.
    pub digest: &'a str,
    /// Built at.
    pub generated_at: &'a str,
    /// Origin.
    pub origin: &'a str,
    /// Checkpoint.
    pub checkpoint: Option<&'a str>,
    /// Live script.
    pub live: bool,
}

/// The page.
pub fn render(page: Page, views: &[Vec<Table>], meta: &PageMeta) -> String {
    format!("<!doctype html><title>{:?}</title><body data-position=\"{}\">{} views</body>", page, meta.position, views.len())
}

/// An error page.
pub fn error_page(message: &str) -> String {
    format!("<!doctype html><p>{}</p>", message.replace('<', "&lt;"))
}
