//! Maintainer commands for ontime-rs, as a library so that tests can run them too.

pub mod bench;
pub mod codegen;
pub mod index;
pub mod schemas;
pub mod spec_copy;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
