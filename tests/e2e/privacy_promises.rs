//! The promise matrix (`docs/privacy-promises.toml`, parsed by
//! `icecone_app::transparency::promises`) names, for each line of the policy, the tests that
//! prove it. A promise whose test was renamed or removed must not keep looking proven; a
//! line of the policy must not be left out; and `docs/privacy-promises.md` is generated
//! from the matrix.

use std::path::{Path, PathBuf};

use icecone_app::transparency::promises;

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

#[test]
fn every_test_named_in_privacy_promises_exists() {
    let cited: Vec<&str> = promises::matrix()
        .iter()
        .flat_map(|row| row.tests.iter().map(String::as_str))
        .collect();
    assert!(cited.len() >= 100, "the matrix names its tests: {cited:?}");
    let names = test_function_names();
    let missing: Vec<_> = cited
        .iter()
        .filter(|name| !names.iter().any(|n| n == *name))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/privacy-promises.toml cites tests that do not exist: {missing:?}"
    );
}

#[test]
fn every_line_of_the_privacy_policy_has_a_row() {
    let lines: Vec<&str> = promises::policy_lines().collect();
    assert!(lines.len() >= 40, "{lines:?}");
    let covered: Vec<&str> = promises::matrix()
        .iter()
        .flat_map(|row| row.covers.iter().map(String::as_str))
        .collect();
    let uncovered: Vec<_> = lines
        .iter()
        .filter(|line| !covered.contains(line))
        .collect();
    assert!(
        uncovered.is_empty(),
        "lines of docs/privacy-policy.txt without a row in docs/privacy-promises.toml: {uncovered:?}"
    );
    let unknown: Vec<_> = covered
        .iter()
        .filter(|line| !lines.contains(line))
        .collect();
    assert!(
        unknown.is_empty(),
        "rows cover lines that are not in docs/privacy-policy.txt: {unknown:?}"
    );
}

#[test]
fn the_committed_promises_document_is_the_generated_one() {
    let committed = std::fs::read_to_string(root().join("docs/privacy-promises.md"))
        .expect("docs/privacy-promises.md");
    assert!(
        committed == promises::markdown(promises::matrix()),
        "docs/privacy-promises.md is not the one docs/privacy-promises.toml makes: run `cargo run -p icecone-gateway -- privacy-promises > docs/privacy-promises.md`"
    );
}
