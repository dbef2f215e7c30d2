//! `docs/privacy-promises.md` names, for each promise, the tests that prove it. A promise
//! whose test was renamed or removed must not keep looking proven.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `fn name(` in the Rust sources of the workspace.
fn test_function_names() -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = vec![root().join("crates"), root().join("tests")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                for line in text.lines() {
                    let line = line.trim_start();
                    let rest = line
                        .strip_prefix("async fn ")
                        .or_else(|| line.strip_prefix("fn "));
                    if let Some(name) = rest.and_then(|r| r.split('(').next()) {
                        names.push(name.trim().to_owned());
                    }
                }
            }
        }
    }
    names
}

/// The test names the document cites: every `` `name` `` in a "Tests" column that looks
/// like a Rust function name.
fn cited_tests(document: &str) -> Vec<String> {
    let mut cited = Vec::new();
    for line in document.lines().filter(|l| l.starts_with('|')) {
        let Some(tests_cell) = line.trim_end_matches('|').rsplit('|').next() else {
            continue;
        };
        for (i, part) in tests_cell.split('`').enumerate() {
            if i % 2 == 1
                && !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                cited.push(part.to_owned());
            }
        }
    }
    cited
}

#[test]
fn every_test_named_in_privacy_promises_exists() {
    let document = std::fs::read_to_string(root().join("docs/privacy-promises.md"))
        .expect("docs/privacy-promises.md");
    let cited = cited_tests(&document);
    assert!(
        cited.len() >= 10,
        "the document cites its tests in the last column: found {cited:?}"
    );
    let names = test_function_names();
    let missing: Vec<_> = cited.iter().filter(|name| !names.contains(name)).collect();
    assert!(
        missing.is_empty(),
        "docs/privacy-promises.md cites tests that do not exist: {missing:?}"
    );
}

#[test]
fn cited_tests_are_read_from_the_last_column() {
    let document = "| promise | mechanism | tests |\n|---|---|---|\n| a | `not_a_test_mechanism` | `real_test`, `other_test` |\n";
    assert_eq!(cited_tests(document), ["real_test", "other_test"]);
}
