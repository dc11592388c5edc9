//! A report's deliveries as one enum to match on in tests.

use gdalert_pipeline::{Failure, Report, Status};

/// What one run did at one destination.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Delivered {
        receipt: String,
    },
    AlreadyDelivered {
        receipt: String,
    },
    Failed(Failure),
    /// Not sent, and why in one word (suppressed, grouped, dropped, dry_run).
    NotSent(Status),
}

/// The deliveries of `report`, in order.
pub fn deliveries(report: &Report) -> Vec<Delivery> {
    report
        .deliveries
        .iter()
        .map(|d| {
            let receipt = d.receipt.clone().unwrap_or_default();
            match d.status {
                Status::Sent => Delivery::Delivered { receipt },
                Status::AlreadyDelivered => Delivery::AlreadyDelivered { receipt },
                Status::Failed => {
                    Delivery::Failed(d.error.clone().unwrap_or(Failure::fatal(d.reason.clone())))
                }
                other => Delivery::NotSent(other),
            }
        })
        .collect()
}
