//! `cargo xtask codegen [--check]`: validate `openapi/ontime.json`, generate the raw client with
//! progenitor, format it with prettyplease, and write it to (or compare it with)
//! `crates/ontime-raw/src/generated.rs`; generate the spec index next to it (see [`crate::index`]).
//!
//! Here: what `run` writes or checks. The spec's contract (the operations it must have, the
//! types it maps onto) and how it is validated and adapted for progenitor are in `spec`;
//! turning it into source text (progenitor settings, header, formatting) is in `generate`.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};

mod generate;
mod spec;

pub use generate::{generate, generate_index};
pub use spec::{
    DATE_TIME_FORMAT, ENDPOINTS, ID_TYPES, LENIENT_ENUMS, LENIENT_FORMATS, TIMESPAN_FORMAT,
    is_null_schema, normalise, validate,
};

/// Path of the spec, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/ontime.json";
/// Path of the generated file, relative to the workspace root.
pub const GENERATED_PATH: &str = "crates/ontime-raw/src/generated.rs";
pub use crate::index::INDEX_PATH;

/// What `run` should do with the generated text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Overwrite the checked-in file.
    Write,
    /// Compare with the checked-in file and fail with a diff when they differ.
    Check,
}

/// Validates the spec, generates the client and the spec index, and writes or checks them.
/// Returns a summary.
pub fn run(mode: Mode) -> Result<String> {
    let root = crate::workspace_root();
    let spec_text = std::fs::read_to_string(root.join(SPEC_PATH))
        .with_context(|| format!("reading {SPEC_PATH}"))?;
    let generated = generate(&spec_text, &root.join("Cargo.lock"))?;
    let index = generate_index(&spec_text)?;
    let outputs = [
        (GENERATED_PATH.to_owned(), generated),
        (INDEX_PATH.to_owned(), index),
    ];
    write_or_check(mode, &outputs, SPEC_PATH)
}

/// Writes each `(path, text)` of `outputs` (paths relative to the workspace root), or compares
/// them with the checked-in files and fails with a short diff of each stale one and the advice to
/// run `cargo xtask codegen`. `source` names what the files are generated from.
pub(crate) fn write_or_check(
    mode: Mode,
    outputs: &[(String, String)],
    source: &str,
) -> Result<String> {
    let root = crate::workspace_root();
    let mut summary = Vec::new();
    let mut stale = Vec::new();
    for (path, text) in outputs {
        let target = root.join(path);
        match mode {
            Mode::Write => {
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {path}"))?;
                }
                std::fs::write(&target, text).with_context(|| format!("writing {path}"))?;
                summary.push(format!("wrote {path} ({} lines)", text.lines().count()));
            }
            Mode::Check => {
                let current = std::fs::read_to_string(&target).unwrap_or_default();
                // Git may check files out with CRLF line ends on some machines.
                let current = current.replace("\r\n", "\n");
                if current == *text {
                    summary.push(format!("{path} is up to date with {source}"));
                } else {
                    stale.push(format!(
                        "{path} is stale relative to {source}:\n{}",
                        short_diff(&current, text)
                    ));
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "{}\nrun `cargo xtask codegen` and commit the result",
            stale.join("\n")
        );
    }
    Ok(summary.join("\n"))
}

fn short_diff(old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header("checked in", "generated")
        .to_string();
    const MAX_LINES: usize = 60;
    let total = text.lines().count();
    let mut shown: String = text.lines().take(MAX_LINES).collect::<Vec<_>>().join("\n");
    if total > MAX_LINES {
        let _ = write!(shown, "\n... ({} more diff lines)", total - MAX_LINES);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_diff_names_the_changed_lines() {
        let diff = short_diff("a\nb\n", "a\nc\n");
        assert!(diff.contains("-b") && diff.contains("+c"), "{diff}");
    }
}
