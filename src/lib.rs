//! sitrep: a terminal incident console. The library holds everything; `main.rs` only parses the CLI.
//! Layout follows docs/architecture.md: sources -> Event -> Model::apply -> ui.

pub mod lab;
pub mod clock;
pub mod config;
pub mod data_files;
pub mod model;
pub mod sanitize;
pub mod ui;
pub mod sources;
pub mod app;
pub mod check;
pub mod cli;
pub mod logging;
pub mod terminal;
