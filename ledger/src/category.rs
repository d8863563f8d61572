//! The Mechanism's own category code list (see `schemas/CATEGORIES.md`).

use serde::{Deserialize, Serialize};

/// What is needed, offered or committed. The code list is the Mechanism's own;
/// an optional OECD DAC 5-digit sector code may be given beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Servers, laptops, network and frontline hardware.
    Hardware,
    /// Software licences and subscriptions.
    SoftwareLicences,
    /// Endpoint detection and response.
    EndpointDetectionResponse,
    /// Incident response services.
    IncidentResponse,
    /// Training of officials and specialists.
    Training,
    /// Satellite communications (terminals, airtime).
    SatelliteCommunications,
    /// Security audits and assessments.
    SecurityAudit,
    /// Consulting and advisory services.
    Consulting,
    /// Direct funding.
    Funding,
    /// Network security (firewalls, DDoS protection).
    NetworkSecurity,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in code-list order.
    pub const ALL: [Category; 11] = [
        Category::Hardware,
        Category::SoftwareLicences,
        Category::EndpointDetectionResponse,
        Category::IncidentResponse,
        Category::Training,
        Category::SatelliteCommunications,
        Category::SecurityAudit,
        Category::Consulting,
        Category::Funding,
        Category::NetworkSecurity,
        Category::Other,
    ];

    /// The snake_case code used in JSON and on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Category::Hardware => "hardware",
            Category::SoftwareLicences => "software_licences",
            Category::EndpointDetectionResponse => "endpoint_detection_response",
            Category::IncidentResponse => "incident_response",
            Category::Training => "training",
            Category::SatelliteCommunications => "satellite_communications",
            Category::SecurityAudit => "security_audit",
            Category::Consulting => "consulting",
            Category::Funding => "funding",
            Category::NetworkSecurity => "network_security",
            Category::Other => "other",
        }
    }

    /// The category with this code.
    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }
}
