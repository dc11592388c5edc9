//! Test harness shared by gdalert's integration tests. Real servers on
//! loopback, never in-process fakes: a scripted HTTP receiver (chat and
//! webhook destinations), a Lambda Runtime API (the function binaries), and
//! handles on the local AWS API server (moto) and SMTP sink (aiosmtpd) that
//! `.ci/run` starts — or that these helpers start when run by hand.
// A test harness: panicking with a clear message is its job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod aws;
pub mod delivery;
pub mod jira;
pub mod proxy;
pub mod receiver;
pub mod runtime_api;
pub mod servers;
pub mod smtp_script;

pub use delivery::{deliveries, Delivery};
pub use jira::JiraSite;
pub use proxy::{silent_listener, CountingProxy};
pub use receiver::{refused_base, Receiver, Reply, Request};
pub use runtime_api::RuntimeApi;
pub use servers::{fixture, moto_url, sdk_config, smtp_sink, unique};
pub use smtp_script::{ScriptedSmtp, SmtpReply};
