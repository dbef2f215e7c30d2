//! "How each promise is kept": every line of the privacy policy with its status, the
//! mechanism that keeps it (or, for an organisational line, the evidence the software
//! gives; for a line not yet true, what is missing and the issue that will make it true)
//! and the tests that prove it.
//!
//! The matrix is data, `docs/privacy-promises.toml`, embedded here and parsed once into
//! typed [`Promise`]s. The privacy page's section and `docs/privacy-promises.md`
//! ([`markdown`]) are both made from it; the end-to-end tests check that the committed
//! markdown is the generated one, that every test a row names exists and that every line of
//! `docs/privacy-policy.txt` has a row.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The matrix as committed.
pub const MATRIX_TOML: &str = include_str!("../../../../docs/privacy-promises.toml");

/// The privacy policy's text as published, one line of the policy a line.
pub const POLICY_TEXT: &str = include_str!("../../../../docs/privacy-policy.txt");

/// How far the code makes a line true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromiseStatus {
    /// The whole line is true of this code.
    Enforced,
    /// The part the mechanism names is enforced; the rest is not yet.
    Partly,
    /// Software cannot make it true (people and contracts do); the row gives the evidence
    /// the software gives.
    Organisational,
    /// Not true yet: the row says what is missing and names the issue that will.
    NotYet,
}

impl PromiseStatus {
    /// The status as the matrix writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforced => "enforced",
            Self::Partly => "partly",
            Self::Organisational => "organisational",
            Self::NotYet => "not yet",
        }
    }

    /// What the row's text is, by status (the column heading).
    pub fn text_heading(self) -> &'static str {
        match self {
            Self::Enforced | Self::Partly => "Mechanism",
            Self::Organisational => "Evidence the software gives",
            Self::NotYet => "What is missing",
        }
    }
}

/// One row of the matrix, as written in the TOML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromise {
    line: String,
    covers: Vec<String>,
    status: PromiseStatus,
    mechanism: Option<String>,
    evidence: Option<String>,
    missing: Option<String>,
    issue: Option<u32>,
    #[serde(default)]
    tests: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    promise: Vec<RawPromise>,
}

/// One line (or part of a line) of the policy and how it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Promise {
    /// The policy line as the row quotes it (markdown: `code`, **bold**), with the aspect
    /// it is about in parentheses when several rows share a line.
    pub line: String,
    /// The full lines of the policy the row is about, verbatim.
    pub covers: Vec<String>,
    /// How far it is true.
    pub status: PromiseStatus,
    /// The mechanism, the evidence or what is missing, by status (markdown).
    pub text: String,
    /// The open issue that will make a line true.
    pub issue: Option<u32>,
    /// The tests that fail if the row stops being true.
    pub tests: Vec<String>,
}

/// Why the matrix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    /// Not TOML of the expected shape.
    #[error("docs/privacy-promises.toml: {0}")]
    Malformed(String),
    /// A row breaks a rule of its status.
    #[error("docs/privacy-promises.toml, row {row} ({line}): {why}")]
    Row {
        /// The row, counting from 1.
        row: usize,
        /// Its policy line.
        line: String,
        /// The rule it breaks.
        why: &'static str,
    },
}

/// Parses a matrix: each row has the one text field its status calls for (`mechanism`,
/// `evidence` or `missing`), enforced and partly rows name at least one test, a row names
/// at least one line of the policy, and a test name is a Rust function name.
pub fn parse(text: &str) -> Result<Vec<Promise>, MatrixError> {
    let raw: RawMatrix =
        toml::from_str(text).map_err(|error| MatrixError::Malformed(error.message().to_owned()))?;
    raw.promise
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let fail = |why| MatrixError::Row {
                row: index + 1,
                line: row.line.clone(),
                why,
            };
            let text = match (row.status, &row.mechanism, &row.evidence, &row.missing) {
                (PromiseStatus::Enforced | PromiseStatus::Partly, Some(text), None, None)
                | (PromiseStatus::Organisational, None, Some(text), None)
                | (PromiseStatus::NotYet, None, None, Some(text)) => text.trim().to_owned(),
                _ => {
                    return Err(fail(
                        "enforced and partly rows have a mechanism, organisational rows evidence, not-yet rows what is missing (and only that)",
                    ));
                }
            };
            if text.is_empty() || row.line.trim().is_empty() {
                return Err(fail("the line and its text may not be blank"));
            }
            if text.contains('\n') || row.line.contains('\n') || text.contains('|') {
                return Err(fail("a row's text is one line without `|`"));
            }
            if row.covers.is_empty() {
                return Err(fail("a row covers at least one line of the policy"));
            }
            if matches!(row.status, PromiseStatus::Enforced | PromiseStatus::Partly)
                && row.tests.is_empty()
            {
                return Err(fail("an enforced or partly row names the tests that prove it"));
            }
            if row.issue.is_some() && row.status != PromiseStatus::NotYet {
                return Err(fail("only a not-yet row names an issue"));
            }
            let is_function_name = |name: &String| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            if !row.tests.iter().all(is_function_name) {
                return Err(fail("a test is named as its function is"));
            }
            Ok(Promise {
                line: row.line,
                covers: row.covers,
                status: row.status,
                text,
                issue: row.issue,
                tests: row.tests,
            })
        })
        .collect()
}

/// The committed matrix, parsed once (a malformed file fails the tests that read it, and
/// `matrix_is_well_formed` names the row).
pub fn matrix() -> &'static [Promise] {
    static MATRIX: LazyLock<Vec<Promise>> =
        LazyLock::new(|| parse(MATRIX_TOML).unwrap_or_else(|error| panic!("{error}")));
    &MATRIX
}

/// The lines of the published policy, trimmed, without blank ones.
pub fn policy_lines() -> impl Iterator<Item = &'static str> {
    POLICY_TEXT
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// The sections of the document and the page, in order: a heading, what it holds, and the
/// statuses of its rows.
pub const SECTIONS: [(&str, &str, &[PromiseStatus]); 3] = [
    (
        "Enforced",
        "Status: **enforced** means the whole line is true of this code; **partly** means the part named in the mechanism column is enforced and the rest is listed under \"Not yet true\".",
        &[PromiseStatus::Enforced, PromiseStatus::Partly],
    ),
    (
        "Organisational",
        "Lines that people and contracts make true, not software; each row gives the evidence the software gives.",
        &[PromiseStatus::Organisational],
    ),
    (
        "Not yet true",
        "These lines of the policy are not yet made true by this code base. Each says what is missing and, where one is open, names the issue that will.",
        &[PromiseStatus::NotYet],
    ),
];

/// `docs/privacy-promises.md`, generated from `rows` (`icecone privacy-promises`).
pub fn markdown(rows: &[Promise]) -> String {
    let mut out = String::from(
        "# Privacy promises: what enforces them, and the tests that prove it\n\
         \n\
         <!-- Generated from docs/privacy-promises.toml by `cargo run -p icecone-gateway -- privacy-promises > docs/privacy-promises.md`: edit the TOML file, not this one. -->\n\
         \n\
         Every line of IceCone's privacy policy (`docs/privacy-policy.txt`) is listed here with\n\
         the mechanism that enforces it and the tests that fail if it stops being true; the\n\
         privacy page (`GET /privacy`, section \"How each promise is kept\") shows the same rows.\n\
         The test `every_test_named_in_privacy_promises_exists` checks that every test named\n\
         here exists, and `every_line_of_the_privacy_policy_has_a_row` that no line is left out.\n",
    );
    for (heading, intro, statuses) in SECTIONS {
        out.push_str(&format!("\n## {heading}\n\n{intro}\n\n"));
        let heading_of_text = statuses[0].text_heading();
        let issue_column = statuses.contains(&PromiseStatus::NotYet);
        if issue_column {
            out.push_str(&format!(
                "| Policy line | Status | {heading_of_text} | Issue | Tests |\n| --- | --- | --- | --- | --- |\n"
            ));
        } else {
            out.push_str(&format!(
                "| Policy line | Status | {heading_of_text} | Tests |\n| --- | --- | --- | --- |\n"
            ));
        }
        for row in rows.iter().filter(|row| statuses.contains(&row.status)) {
            let tests = row
                .tests
                .iter()
                .map(|test| format!("`{test}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if issue_column {
                let issue = row.issue.map(|n| format!("#{n}")).unwrap_or_default();
                out.push_str(&format!(
                    "| {} | {} | {} | {issue} | {tests} |\n",
                    row.line,
                    row.status.as_str(),
                    row.text
                ));
            } else {
                out.push_str(&format!(
                    "| {} | {} | {} | {tests} |\n",
                    row.line,
                    row.status.as_str(),
                    row.text
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_is_well_formed() {
        let rows = parse(MATRIX_TOML).unwrap_or_else(|error| panic!("{error}"));
        assert!(rows.len() >= 40, "{} rows", rows.len());
    }

    #[test]
    fn each_status_takes_its_own_text_and_enforced_rows_need_tests() {
        // (a row's fields after `line` and `covers`, accepted)
        let cases = [
            (
                "status = \"enforced\"\nmechanism = \"m\"\ntests = [\"a_test\"]",
                true,
            ),
            ("status = \"enforced\"\nmechanism = \"m\"", false),
            (
                "status = \"partly\"\nevidence = \"e\"\ntests = [\"a_test\"]",
                false,
            ),
            ("status = \"organisational\"\nevidence = \"e\"", true),
            (
                "status = \"organisational\"\nevidence = \"e\"\nissue = 20",
                false,
            ),
            ("status = \"not-yet\"\nmissing = \"x\"\nissue = 20", true),
            (
                "status = \"not-yet\"\nmissing = \"x\"\nmechanism = \"m\"",
                false,
            ),
            (
                "status = \"enforced\"\nmechanism = \"a | b\"\ntests = [\"a_test\"]",
                false,
            ),
            (
                "status = \"enforced\"\nmechanism = \"m\"\ntests = [\"Not A Test\"]",
                false,
            ),
            (
                "status = \"sometimes\"\nmechanism = \"m\"\ntests = [\"a_test\"]",
                false,
            ),
        ];
        for (fields, accepted) in cases {
            let text = format!("[[promise]]\nline = \"l\"\ncovers = [\"c\"]\n{fields}\n");
            assert_eq!(
                parse(&text).is_ok(),
                accepted,
                "{fields}: {:?}",
                parse(&text)
            );
        }
        let uncovered = "[[promise]]\nline = \"l\"\ncovers = []\nstatus = \"organisational\"\nevidence = \"e\"\n";
        assert!(parse(uncovered).is_err());
    }

    #[test]
    fn the_markdown_puts_each_row_under_its_status_with_its_tests() {
        let rows = parse(
            "[[promise]]\nline = '\"A\" (x)'\ncovers = [\"A\"]\nstatus = \"partly\"\nmechanism = \"`f` does it\"\ntests = [\"t_one\", \"t_two\"]\n\
             [[promise]]\nline = '\"B\"'\ncovers = [\"B\"]\nstatus = \"not-yet\"\nmissing = \"nothing yet\"\nissue = 20\n\
             [[promise]]\nline = '\"C\"'\ncovers = [\"C\"]\nstatus = \"organisational\"\nevidence = \"a log\"\n",
        )
        .expect("parses");
        let text = markdown(&rows);
        assert!(text.contains("## Enforced\n\nStatus: **enforced**"));
        assert!(
            text.contains("| \"A\" (x) | partly | `f` does it | `t_one`, `t_two` |\n"),
            "{text}"
        );
        assert!(text.contains("| Policy line | Status | Evidence the software gives | Tests |\n| --- | --- | --- | --- |\n| \"C\" | organisational | a log |  |\n"), "{text}");
        assert!(text.contains("| Policy line | Status | What is missing | Issue | Tests |\n| --- | --- | --- | --- | --- |\n| \"B\" | not yet | nothing yet | #20 |  |\n"), "{text}");
    }
}
