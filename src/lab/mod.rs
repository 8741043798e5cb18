//! The real-parts lab: real Postgres+Patroni, Redis+Sentinels, an S3 server and a Kubernetes API stand-in.
//! Used by `sitrep lab`, the demo, the drills and the integration tests; see docs/lab.md.

pub mod alertmanager;
pub mod backup_tools;
pub mod celery;
pub mod cli;
pub mod kube;
pub mod monitoring;
pub mod oracle;
pub mod soak;
mod soak_faults;
pub mod soak_report;

pub mod config;
pub mod control;
pub mod drill;
pub mod error;
mod fault_actions;
pub mod faults;
mod handle;
pub mod health;
pub mod info;
mod kube_link;
pub mod pki;
pub mod ports;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod s3;
pub mod scenarios;
pub mod supervisor;
pub mod tools;

pub use error::LabError;
pub use handle::{Lab, LabOptions};
pub use info::LabInfo;
