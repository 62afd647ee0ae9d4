//! `ontime attachments list|get|put|delete`

use serde_json::Value;

use crate::common::{GUID, Sim, snapshot_filtered};

#[test]
fn put_list_get_and_delete() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("delivery note.txt");
    let contents = b"Delivered to reception; signed by R. Thomas.\n";
    std::fs::write(&file, contents).expect("write");
    let filters = [(GUID, "[guid]"), (r"\d{4}-\d\d-\d\d \d\d:\d\d", "[time]")];

    let put = sim.run(&[
        "attachments",
        "put",
        "-t",
        "1000004",
        file.to_str().expect("utf8"),
        "-o",
        "table",
    ]);
    snapshot_filtered("attachments_put_table", &put, &filters);
    let put = sim.run(&[
        "attachments",
        "put",
        "-t",
        "1000004",
        file.to_str().expect("utf8"),
        "--name",
        "second.txt",
        "-o",
        "json",
    ]);
    let second: Value = serde_json::from_str(put.ok()).expect("json");
    assert_eq!(second["FileName"], "second.txt");
    assert_eq!(second["Size"], contents.len());

    let list = sim.run(&["attachments", "list", "-t", "1000004", "-o", "table"]);
    snapshot_filtered("attachments_list_table", &list, &filters);
    let listed = sim.json(&["attachments", "list", "-t", "1000004"]);
    let listed = listed.as_array().expect("array");
    assert!(listed.iter().any(|a| a["FileName"] == "delivery note.txt"));

    // Download: to a chosen path, to stdout, and to the stored (made safe) name.
    let id = second["ID"].as_str().expect("id");
    let out = dir.path().join("out.txt");
    sim.run(&[
        "attachments",
        "get",
        id,
        "--out",
        out.to_str().expect("utf8"),
    ])
    .ok();
    assert_eq!(std::fs::read(&out).expect("written"), contents);
    let to_stdout = sim.run(&["attachments", "get", id, "--out", "-"]);
    assert_eq!(to_stdout.ok().as_bytes(), contents);
    let here = sim.run_with(&["attachments", "get", id, "-o", "json"], |cmd| {
        cmd.current_dir(dir.path());
    });
    let written: Value = serde_json::from_str(here.ok()).expect("json");
    assert_eq!(written["File"], "second.txt");
    assert_eq!(
        std::fs::read(dir.path().join("second.txt")).expect("written"),
        contents
    );

    let delete = sim.run(&["attachments", "delete", id, "-o", "table"]);
    snapshot_filtered("attachments_delete_table", &delete, &filters);
    let again = sim.run(&["attachments", "get", id]);
    assert_eq!(again.code, 5, "{}", again.transcript());
    let remaining = sim.json(&["attachments", "list", "-t", "1000004"]);
    assert!(
        remaining
            .as_array()
            .expect("array")
            .iter()
            .all(|a| a["ID"] != id)
    );

    let missing = sim.run(&[
        "attachments",
        "put",
        "-t",
        "1000004",
        "/nonexistent/file.pdf",
    ]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("could not read /nonexistent/file.pdf")
    );
}
