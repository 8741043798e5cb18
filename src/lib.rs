//! sitrep: a terminal incident console. The library holds everything; `main.rs` only parses the CLI.
//! Layout follows docs/architecture.md: sources -> Event -> Model::apply -> ui.

pub mod app;
pub mod backends;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod data_files;
pub mod detect;
pub mod diag;
#[doc(hidden)]
pub mod fuzzing;
pub mod human;
pub mod lab;
pub mod logging;
pub mod model;
pub mod programs;
pub mod quantity;
pub mod record;
pub mod replay;
pub mod runbook;
pub mod sanitize;
pub mod sources;
pub mod terminal;
pub mod timeline;
pub mod ui;
