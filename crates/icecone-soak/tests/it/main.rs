//! `icecone-soak` run as a binary: bad arguments are refused, by name, before it creates a
//! database or starts anything (the run itself is not a test: it takes minutes).

use std::process::Command;

fn soak(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_icecone-soak"))
        .args(args)
        // No server listens here: an argument check that came too late would fail on it.
        .args(["--database-url", "postgres://nobody@127.0.0.1:9/none"])
        .output()
        .expect("icecone-soak runs");
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.code(), text)
}

#[test]
fn bad_arguments_are_refused_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (&["--rate", "0"], "rate"),
        (&["--rate=-3"], "rate"),
        (&["--duration", "0s"], "duration"),
        (&["--duration", "10d"], "unit"),
        (&["--faults", "maybe"], "faults"),
        (&["--instances", "0"], "instances"),
        (&["--icecone", "/nonexistent/icecone"], "no icecone binary"),
    ];
    for (args, named) in cases {
        let (code, text) = soak(args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(text.contains(named), "{args:?} names {named}: {text}");
        assert!(
            !text.contains("soak_"),
            "{args:?}: no database was created: {text}"
        );
    }
}

#[test]
fn the_help_names_every_setting_of_a_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_icecone-soak"))
        .arg("--help")
        .output()
        .expect("icecone-soak runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--duration",
        "--rate",
        "--database-url",
        "--faults",
        "--restart-database",
        "--report",
        "--memory-bound-mib",
        "--icecone",
    ] {
        assert!(help.contains(option), "{option}: {help}");
    }
    assert!(!help.contains("--break-invariant"), "hidden: {help}");
}
