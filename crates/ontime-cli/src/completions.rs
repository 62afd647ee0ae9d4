//! `ontime completions SHELL` and `ontime man`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use crate::error::CliError;

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ontime completions bash > ~/.local/share/bash-completion/completions/ontime
  ontime completions zsh > ~/.zfunc/_ontime
  ontime completions fish > ~/.config/fish/completions/ontime.fish")]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ontime man | man -l -
  ontime man --out-dir ~/.local/share/man/man1")]
pub struct ManArgs {
    /// Write ontime.1 and one page per command (ontime-orders-find.1, ...) into this directory
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out_dir: Option<PathBuf>,
}

/// Prints the completion script of `command` (the whole command tree).
pub fn completions(mut command: clap::Command, args: CompletionsArgs) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ontime", &mut out);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

/// Prints the man page of `command` (the whole command tree), or writes one page per command.
pub fn man(command: clap::Command, args: ManArgs) -> Result<(), CliError> {
    let Some(dir) = args.out_dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut out)
            .map_err(CliError::internal)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&out)?;
        stdout.flush()?;
        return Ok(());
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::other(format!("could not create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    write_pages(&dir, command, "ontime", &mut written)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}

/// Writes the page of `command` and of each subcommand, named `ontime-orders-find.1`.
fn write_pages(
    dir: &std::path::Path,
    command: clap::Command,
    name: &str,
    written: &mut Vec<PathBuf>,
) -> Result<(), CliError> {
    let command = command
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut out)
        .map_err(CliError::internal)?;
    std::fs::write(&path, out)
        .map_err(|e| CliError::other(format!("could not write {}: {e}", path.display())))?;
    written.push(path);
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_name = format!("{name}-{}", sub.get_name());
        write_pages(dir, sub.clone(), &sub_name, written)?;
    }
    Ok(())
}
