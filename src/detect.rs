//! Detection: state transitions in the Model become timeline entries, one per transition.
//! Pure; flapping is folded.
