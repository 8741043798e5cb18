//! The incident timeline: append-only, crash-safe, exported as a post-mortem draft.
//! See docs/timeline.md.
