//! JSON Schemas of ontime-sync's events, generated from its Rust types into `schemas/`: written
//! by `cargo xtask codegen`, compared by `cargo xtask codegen --check`.

use anyhow::{Context, Result, bail};

use crate::codegen::{Mode, short_diff};

/// The directory of the schemas, relative to the workspace root.
pub const SCHEMA_DIR: &str = "schemas";

/// Writes the schemas (`Mode::Write`) or fails with a short diff of each stale one
/// (`Mode::Check`).
pub fn run(mode: Mode) -> Result<String> {
    let root = crate::workspace_root();
    let outputs = [(
        ontime_sync::schema::EVENT_SCHEMA_FILE,
        ontime_sync::schema::event_schema_json(),
    )];
    let mut summary = Vec::new();
    let mut stale = Vec::new();
    for (file, text) in &outputs {
        let relative = format!("{SCHEMA_DIR}/{file}");
        let path = root.join(&relative);
        match mode {
            Mode::Write => {
                std::fs::create_dir_all(root.join(SCHEMA_DIR))
                    .with_context(|| format!("creating {SCHEMA_DIR}/"))?;
                std::fs::write(&path, text).with_context(|| format!("writing {relative}"))?;
                summary.push(format!("wrote {relative}"));
            }
            Mode::Check => {
                // Git may check files out with CRLF line ends on some machines.
                let current = std::fs::read_to_string(&path)
                    .unwrap_or_default()
                    .replace("\r\n", "\n");
                if current == *text {
                    summary.push(format!("{relative} is up to date with the event types"));
                } else {
                    stale.push(format!(
                        "{relative} is stale relative to ontime-sync's event types:\n{}",
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
