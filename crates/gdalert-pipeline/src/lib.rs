//! The alert pipeline: from a GuardDuty event to the alerts it should cause.
//!
//! ```text
//!  event ──► route (patterns) ──► classify (lifecycle) ──► dedupe / group / storm guard
//!                                                               │
//!                  senders ◄── render (per destination) ◄── enrich (catalogue, links)
//! ```
//!
//! Pure: no AWS SDK, no HTTP. State lives behind [`store::Store`]; delivery
//! behind [`engine::Sender`]. The Lambda functions, `gdalert replay`,
//! `redrive` and `test` run exactly this code ([`Pipeline::run_event`],
//! [`Pipeline::run_digest`]) with different stores and senders.

pub mod alert;
pub mod catalogue;
pub mod config;
pub mod coverage;
pub mod engine;
pub mod failure;
pub mod input;
pub mod lifecycle;
pub mod load;
pub mod render;
pub mod samples;
mod sequence;
pub mod severity;
pub mod silence;
pub mod store;

pub use alert::{Alert, AlertKind, Band, Verdict};
pub use config::{Config, ConfigError, Destination, DestinationKind};
pub use engine::{Decided, Decision, DeliveryReport, Pipeline, Report, RunOptions, Sender, Status};
pub use failure::Failure;
pub use input::{read, Input, InputError};
pub use lifecycle::Lifecycle;
pub use render::{render, Payload};
pub use store::{MemoryStore, Store, StoreError};
