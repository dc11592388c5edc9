//! GuardDuty's severity bands: the one place a severity number becomes a band.
//!
//! Kept apart from [`crate::alert`] and [`crate::lifecycle`] so neither
//! imports the other for it (the lifecycle compares bands; the alert shows one).

use serde::{Deserialize, Serialize};

/// GuardDuty's severity bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Band {
    /// No severity given (coverage events, unparseable severities).
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Band {
    /// Low 1.0–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0.
    pub fn of(severity: f64) -> Band {
        if !severity.is_finite() || severity < 1.0 {
            Band::Informational
        } else if severity < 4.0 {
            Band::Low
        } else if severity < 7.0 {
            Band::Medium
        } else if severity < 9.0 {
            Band::High
        } else {
            Band::Critical
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Band::Informational => "Informational",
            Band::Low => "Low",
            Band::Medium => "Medium",
            Band::High => "High",
            Band::Critical => "Critical",
        }
    }

    /// Parses a band name, case-insensitively (for config files).
    pub fn parse(text: &str) -> Option<Band> {
        [
            Band::Informational,
            Band::Low,
            Band::Medium,
            Band::High,
            Band::Critical,
        ]
        .into_iter()
        .find(|band| band.as_str().eq_ignore_ascii_case(text))
    }
}
