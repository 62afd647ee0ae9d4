//! Workspace-level tests (spec, generated client and simulator together) live in `tests/workspace`;
//! this crate has no code of its own.
