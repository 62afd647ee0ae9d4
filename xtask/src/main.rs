//! `cargo xtask` — maintainer commands for ontime-rs.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen [--check]   validate openapi/ontime.json and regenerate crates/ontime-raw/src/generated.rs
                      (the client), crates/ontime-raw/src/index/data.rs (the spec index: records,
                      fields, operations, enums), the spec's copy in crates/ontime-mock and the
                      event schemas in schemas/ (from ontime-sync's types); with
                      --check, fail (with a diff) when a checked-in file is stale
  bench [NAME] [--quick]
                      run the benchmark binaries of crates/ontime-bench (all, or NAME) in
                      release mode, print their RESULT lines, write target/bench/results.json;
                      fails if any figure misses its goal
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen(xtask::codegen::Mode::Write),
        ["codegen", "--check"] => codegen(xtask::codegen::Mode::Check),
        ["bench", rest @ ..] => {
            let quick = rest.contains(&"--quick");
            let names: Vec<&str> = rest.iter().copied().filter(|a| *a != "--quick").collect();
            match names.as_slice() {
                [] => xtask::bench::run(None, quick),
                [name] if !name.starts_with('-') => xtask::bench::run(Some(name), quick),
                _ => {
                    eprint!("{USAGE}");
                    return ExitCode::from(2);
                }
            }
        }
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The generated client, then the packaged copies of the spec, then the event schemas.
fn codegen(mode: xtask::codegen::Mode) -> anyhow::Result<String> {
    let generated = xtask::codegen::run(mode)?;
    let copies = xtask::spec_copy::run(mode)?;
    Ok(format!(
        "{generated}\n{copies}\n{}",
        xtask::schemas::run(mode)?
    ))
}
