//! The replay frontend: a recording driven through the same Console, Model and render — frames at
//! any size (`player`) and the interactive player with its own keys (`interactive`). It sits above
//! `app` and `ui`; `record` (format, writer, reader) imports neither, so the two never form a circle.

pub mod interactive;
pub mod player;
