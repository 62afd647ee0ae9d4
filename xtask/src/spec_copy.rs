//! Copies of `openapi/ontime.json` inside packages that embed the spec (a published crate cannot
//! read files outside its own directory): written by `cargo xtask codegen`, compared by
//! `cargo xtask codegen --check`.

use anyhow::{Context, Result, bail};

use crate::codegen::{Mode, SPEC_PATH};

/// Where the copies live, relative to the workspace root.
pub const COPIES: &[&str] = &["crates/ontime-mock/ontime.json"];

/// Writes the copies (`Mode::Write`) or fails naming each copy that differs from the spec
/// (`Mode::Check`).
pub fn run(mode: Mode) -> Result<String> {
    let root = crate::workspace_root();
    let spec =
        std::fs::read(root.join(SPEC_PATH)).with_context(|| format!("reading {SPEC_PATH}"))?;
    let mut stale = Vec::new();
    for copy in COPIES {
        let path = root.join(copy);
        match mode {
            Mode::Write => {
                std::fs::write(&path, &spec).with_context(|| format!("writing {copy}"))?
            }
            Mode::Check => {
                // Git may check files out with CRLF line ends on some machines.
                let current = std::fs::read(&path).unwrap_or_default();
                if normalise(&current) != normalise(&spec) {
                    stale.push(*copy);
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} differ(s) from {SPEC_PATH}: run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        );
    }
    Ok(match mode {
        Mode::Write => format!("copied {SPEC_PATH} to {}", COPIES.join(", ")),
        Mode::Check => format!("{} match(es) {SPEC_PATH}", COPIES.join(", ")),
    })
}

fn normalise(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .into_bytes()
}
