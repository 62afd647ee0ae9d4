//! Writing downloaded bytes (reports, signatures, attachments) to a file or stdout, and
//! reporting what was written.

use std::path::Path;

use serde::Serialize;

use crate::cells;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Format;
use crate::views::{Fmt, View};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Written {
    pub file: String,
    pub bytes: usize,
    pub content_type: Option<String>,
}

pub static WRITTEN_VIEW: View = View {
    singular: "file",
    plural: "files",
    fields: &[
        ("File", Fmt::Text),
        ("Bytes", Fmt::Num),
        ("ContentType", Fmt::Text),
    ],
    columns: &[],
};

/// Writes downloaded bytes to `out` (`-` is stdout) and reports it (on stderr for tables).
pub fn write_download(
    ctx: &Ctx,
    out: &Path,
    bytes: &[u8],
    content_type: Option<String>,
) -> Result<(), CliError> {
    if out == Path::new("-") {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(());
    }
    std::fs::write(out, bytes)
        .map_err(|e| CliError::other(format!("could not write {}: {e}", out.display())))?;
    let written = Written {
        file: out.display().to_string(),
        bytes: bytes.len(),
        content_type,
    };
    if ctx.format == Format::Table {
        let kind = written
            .content_type
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        return ctx.output().text(&format!(
            "Wrote {}{kind} to {}\n",
            cells::human_size(written.bytes),
            written.file
        ));
    }
    ctx.output().one_with(&WRITTEN_VIEW, &written)
}

/// A file name made of the safe characters of `text`.
pub fn safe_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() {
        "download".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe() {
        assert_eq!(safe_name("../etc/passwd"), "_etc_passwd");
        assert_eq!(safe_name("1009214-SL.pdf"), "1009214-SL.pdf");
        assert_eq!(safe_name("..."), "download");
    }
}
