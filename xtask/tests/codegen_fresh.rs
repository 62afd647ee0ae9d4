//! Fails `cargo test` when `crates/ontime-raw/src/generated.rs` no longer matches the spec.

#[test]
fn generated_client_is_up_to_date() {
    if let Err(error) = xtask::codegen::run(xtask::codegen::Mode::Check) {
        panic!("{error:#}");
    }
}

#[test]
fn spec_describes_every_ontime_endpoint() {
    let text = std::fs::read_to_string(xtask::workspace_root().join(xtask::codegen::SPEC_PATH))
        .expect("spec readable");
    let spec: serde_json::Value = serde_json::from_str(&text).expect("spec is JSON");
    assert_eq!(xtask::codegen::validate(&spec), Vec::<String>::new());
}

#[test]
fn packaged_spec_copies_match_the_spec() {
    if let Err(error) = xtask::spec_copy::run(xtask::codegen::Mode::Check) {
        panic!("{error:#}");
    }
}

#[test]
fn event_schemas_are_up_to_date() {
    if let Err(error) = xtask::schemas::run(xtask::codegen::Mode::Check) {
        panic!("{error:#}");
    }
}
