//! Recording and replay: the console's own event stream, written compactly as it happens and
//! played back through the same Model and render — any size, any pane, no network.

pub mod format;
pub mod player;
pub mod reader;
pub mod replay;
pub mod writer;

pub use format::{Header, KeyRecord, Record};
pub use reader::{Recording, read};
pub use writer::{RecordError, Recorder};
