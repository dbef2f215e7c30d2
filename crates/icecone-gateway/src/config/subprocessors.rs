//! The subprocessors file (`subprocessors_file`, `ICECONE_SUBPROCESSORS_FILE`).
//!
//! It also holds the deployment's agreements with AI providers (`[[agreement]]`), next to
//! the list they belong with: an agreement is what the operator signed with a processor.
//!
//! TOML, because operators write and review it by hand: comments beside an entry (why it
//! is there, who signed the agreement), dates as dates, no quoting of keys, and the same
//! format as `icecone.toml`. Every entry is parsed by core (`Subprocessor::parse`); a fault
//! stops start-up naming the file's line and the reason, never the value found there.
//!
//! ```toml
//! # The day this version of the list takes effect (optional; at least the notice period
//! # after the gateway first starts with it).
//! takes_effect_on = 2027-02-01
//!
//! [[subprocessor]]
//! name = "Hetzner Online GmbH"
//! purpose = "hosting"
//! data_categories = ["user.account", "user.contact.email", "user.content.private"]
//! location = "DE"
//! transfer = "none_needed"
//! agreement = "AV-Vertrag 2026-03-14"
//! since = 2026-03-14
//!
//! # An agreement with an AI provider beyond its published terms: it can make a claim of
//! # the provider's policy stronger, clause by clause (core's `provider::agreement`).
//! [[agreement]]
//! provider = "stability"
//! reference = "Stability AI Enterprise Agreement SA-2026-118"
//! signed_on = 2026-10-01
//! no_training = true
//! retention_days = 0
//! region = "EU"
//! ```

use std::path::Path;

use chrono::{NaiveDate, Utc};
use icecone_app::providers::REGISTRY;
use icecone_core::provider::agreement::{Agreement, AgreementError, WrittenAgreement};
use icecone_core::subprocessor::{Registry, Subprocessor, SubprocessorError, Written};
use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;

/// What the file holds.
#[derive(Debug, Default)]
pub(super) struct SubprocessorsFile {
    /// The operator's subprocessors.
    pub(super) entries: Vec<Subprocessor>,
    /// The day the list is to take effect, if given.
    pub(super) takes_effect_on: Option<NaiveDate>,
    /// The deployment's agreements with AI providers.
    pub(super) agreements: Vec<Agreement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    takes_effect_on: Option<Spanned<toml::Value>>,
    #[serde(default)]
    subprocessor: Vec<EntryText>,
    #[serde(default)]
    agreement: Vec<AgreementText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementText {
    provider: Spanned<String>,
    reference: Spanned<String>,
    signed_on: Spanned<toml::Value>,
    no_training: Option<Spanned<bool>>,
    zero_data_retention: Option<Spanned<bool>>,
    retention_days: Option<Spanned<i64>>,
    region: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryText {
    name: Spanned<String>,
    purpose: Spanned<String>,
    data_categories: Spanned<Vec<String>>,
    location: Spanned<String>,
    transfer: Spanned<String>,
    agreement: Spanned<String>,
    since: Spanned<toml::Value>,
}

/// Reads and checks the file; any fault stops start-up, naming the setting, the line and
/// the reason.
pub(super) fn read(path: &Path) -> Result<SubprocessorsFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|_| {
        ConfigError::Invalid(format!(
            "subprocessors_file (ICECONE_SUBPROCESSORS_FILE) {}: cannot be read",
            path.display()
        ))
    })?;
    parse(&text).map_err(|why| {
        ConfigError::Invalid(format!(
            "subprocessors_file (ICECONE_SUBPROCESSORS_FILE) {}: {why}",
            path.display()
        ))
    })
}

/// The line (from 1) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// A date written as a TOML date (`2026-03-14`) or as text in that form.
fn date(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::Datetime(datetime) if datetime.time.is_none() && datetime.offset.is_none() => {
            Some(datetime.to_string())
        }
        toml::Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// Parses the file's text: the reason of the first fault, with its line.
pub(super) fn parse(text: &str) -> Result<SubprocessorsFile, String> {
    let file: FileText = toml::from_str(text).map_err(|error| {
        // toml's message names the key or the expected type; its first line only, without
        // the excerpt of the file it adds.
        let line = error.span().map_or(1, |span| line_of(text, span.start));
        let message = error
            .message()
            .lines()
            .next()
            .unwrap_or("not TOML")
            .to_owned();
        format!("line {line}: {message}")
    })?;
    let takes_effect_on = file
        .takes_effect_on
        .map(|value| {
            date(value.get_ref())
                .and_then(|day| NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok())
                .ok_or_else(|| {
                    format!(
                        "line {}: `takes_effect_on` must be a date, YYYY-MM-DD",
                        line_of(text, value.span().start)
                    )
                })
        })
        .transpose()?;
    let mut entries = Vec::with_capacity(file.subprocessor.len());
    for entry in &file.subprocessor {
        let categories: Vec<&str> = entry
            .data_categories
            .get_ref()
            .iter()
            .map(String::as_str)
            .collect();
        let since = date(entry.since.get_ref()).unwrap_or_default();
        let written = Written {
            name: entry.name.get_ref(),
            purpose: entry.purpose.get_ref(),
            data_categories: &categories,
            location: entry.location.get_ref(),
            transfer: entry.transfer.get_ref(),
            agreement: entry.agreement.get_ref(),
            since: &since,
        };
        let parsed = Subprocessor::parse(written).map_err(|error| {
            let span = match error {
                SubprocessorError::InvalidName | SubprocessorError::DuplicateName => {
                    entry.name.span()
                }
                SubprocessorError::UnknownPurpose => entry.purpose.span(),
                SubprocessorError::UnknownCategory | SubprocessorError::NoCategory => {
                    entry.data_categories.span()
                }
                SubprocessorError::InvalidLocation => entry.location.span(),
                SubprocessorError::UnknownTransferMechanism
                | SubprocessorError::TransferDoesNotFit => entry.transfer.span(),
                SubprocessorError::InvalidAgreement => entry.agreement.span(),
                SubprocessorError::InvalidSince => entry.since.span(),
            };
            format!("line {}: {error}", line_of(text, span.start))
        })?;
        entries.push(parsed);
    }
    // Names are unique: the second of two alike is named by its line.
    if let Err(error) = Registry::new(entries.clone()) {
        let mut seen = std::collections::HashSet::new();
        let twice = file
            .subprocessor
            .iter()
            .find(|entry| !seen.insert(entry.name.get_ref().trim()))
            .map_or(1, |entry| line_of(text, entry.name.span().start));
        return Err(format!("line {twice}: {error}"));
    }
    let agreements = file
        .agreement
        .iter()
        .map(|written| agreement(text, written))
        .collect::<Result<_, _>>()?;
    Ok(SubprocessorsFile {
        entries,
        takes_effect_on,
        agreements,
    })
}

/// One `[[agreement]]`, parsed by core, with a provider this gateway can be configured with.
fn agreement(text: &str, written: &AgreementText) -> Result<Agreement, String> {
    let at = |span: std::ops::Range<usize>| line_of(text, span.start);
    let provider = written.provider.get_ref().trim();
    if super::registration(provider).is_none() {
        let known: Vec<&str> = REGISTRY
            .iter()
            .map(|registration| registration.id())
            .collect();
        return Err(format!(
            "line {}: `provider` must be one of the AI providers this gateway can be configured with ({})",
            at(written.provider.span()),
            known.join(", ")
        ));
    }
    let signed_on = date(written.signed_on.get_ref()).unwrap_or_default();
    let parsed = Agreement::parse(
        WrittenAgreement {
            provider,
            reference: written.reference.get_ref(),
            signed_on: &signed_on,
            no_training: written
                .no_training
                .as_ref()
                .is_some_and(|set| *set.get_ref()),
            zero_data_retention: written
                .zero_data_retention
                .as_ref()
                .is_some_and(|set| *set.get_ref()),
            retention_days: written.retention_days.as_ref().map(|days| *days.get_ref()),
            region: written
                .region
                .as_ref()
                .map(|region| region.get_ref().as_str()),
        },
        Utc::now().date_naive(),
    );
    parsed.map_err(|error| {
        let span = match error {
            AgreementError::InvalidProvider => Some(written.provider.span()),
            AgreementError::InvalidReference => Some(written.reference.span()),
            AgreementError::InvalidSignedOn | AgreementError::SignedInTheFuture => {
                Some(written.signed_on.span())
            }
            AgreementError::TwoRetentionClauses | AgreementError::InvalidRetentionDays => {
                written.retention_days.as_ref().map(Spanned::span)
            }
            AgreementError::UnknownRegion => written.region.as_ref().map(Spanned::span),
            AgreementError::NoClause => None,
        };
        let span = span.unwrap_or_else(|| written.provider.span());
        format!("line {}: {error}", at(span))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# Hosting in Falkenstein.
takes_effect_on = 2027-02-01

[[subprocessor]]
name = "Hetzner Online GmbH"
purpose = "hosting"
data_categories = ["user.account", "user.content.private"]
location = "DE"
transfer = "none_needed"
agreement = "AV-Vertrag 2026-03-14"
since = 2026-03-14

[[subprocessor]]
name = "Postmark"
purpose = "email"
data_categories = ["user.contact.email"]
location = "US"
transfer = "scc"
agreement = "DPA v3, 2026-02-01"
since = "2026-02-01"
"#;

    #[test]
    fn a_subprocessors_file_gives_its_entries_and_the_day_it_takes_effect() {
        let file = parse(GOOD).expect("a valid file");
        let names: Vec<&str> = file.entries.iter().map(|e| e.name().as_str()).collect();
        assert_eq!(names, ["Hetzner Online GmbH", "Postmark"]);
        assert_eq!(file.takes_effect_on, NaiveDate::from_ymd_opt(2027, 2, 1));
        assert_eq!(
            file.entries[1].since(),
            NaiveDate::from_ymd_opt(2026, 2, 1),
            "a date may be written as text"
        );
        let empty = parse("").expect("an empty file");
        assert!(empty.entries.is_empty() && empty.takes_effect_on.is_none());
    }

    #[test]
    fn a_bad_subprocessors_file_is_refused_naming_the_line_and_the_reason() {
        let cases = [
            (
                "location = \"DE\"",
                "location = \"US\"",
                "line 9: `transfer` does not fit",
            ),
            (
                "location = \"DE\"",
                "location = \"Germany\"",
                "line 8: `location` must be",
            ),
            (
                "purpose = \"hosting\"",
                "purpose = \"cloud\"",
                "line 6: `purpose` must be",
            ),
            (
                "agreement = \"AV-Vertrag 2026-03-14\"",
                "agreement = \"\"",
                "line 10: `agreement`",
            ),
            (
                "since = 2026-03-14",
                "since = 2026-03-14T10:00:00Z",
                "line 11: `since` must be a date",
            ),
            (
                "\"user.account\", ",
                "\"user.accounts\", ",
                "line 7: `data_categories`",
            ),
            (
                "name = \"Postmark\"",
                "name = \"Hetzner Online GmbH\"",
                "line 14: two subprocessors",
            ),
            (
                "takes_effect_on = 2027-02-01",
                "takes_effect_on = \"soon\"",
                "line 2: `takes_effect_on`",
            ),
            (
                "location = \"DE\"",
                "locaton = \"DE\"",
                "line 8: unknown field `locaton`",
            ),
            ("since = 2026-03-14\n", "", "missing field `since`"),
            (
                "[[subprocessor]]\nname = \"Postmark\"",
                "[[subprocessor]\nname = \"Postmark\"",
                "line 13:",
            ),
        ];
        for (from, to, expected) in cases {
            let text = GOOD.replacen(from, to, 1);
            assert_ne!(text, GOOD, "{from}");
            let error = parse(&text).map(|_| ()).expect_err(expected);
            assert!(error.contains(expected), "{expected}: {error}");
            assert!(
                !error.contains("Falkenstein"),
                "no other content of the file: {error}"
            );
        }
    }

    #[test]
    fn agreements_are_read_clause_by_clause_and_a_bad_one_is_refused_naming_its_line() {
        let agreement = "\n[[agreement]]\nprovider = \"runway\"\nreference = \"RW-ENT-7\"\nsigned_on = 2026-10-01\nno_training = true\nretention_days = 30\nregion = \"eu\"\n";
        let file = parse(&format!("{GOOD}{agreement}")).expect("valid");
        assert_eq!(file.agreements.len(), 1);
        let parsed = &file.agreements[0];
        assert_eq!(parsed.provider().as_str(), "runway");
        assert_eq!(parsed.reference(), "RW-ENT-7");
        assert!(parsed.clauses().no_training);
        // The agreement's table starts on line 22 of the joined text.
        let cases = [
            (
                "provider = \"runway\"",
                "provider = \"local\"",
                "line 23: `provider` must be one of",
            ),
            (
                "provider = \"runway\"",
                "provider = \"acme\"",
                "line 23: `provider` must be one of",
            ),
            (
                "reference = \"RW-ENT-7\"",
                "reference = \"\"",
                "line 24: `reference`",
            ),
            (
                "signed_on = 2026-10-01",
                "signed_on = 2999-01-01",
                "line 25: `signed_on` must not be in the future",
            ),
            (
                "signed_on = 2026-10-01",
                "signed_on = \"October\"",
                "line 25: `signed_on` must be a date",
            ),
            (
                "retention_days = 30",
                "retention_days = -3",
                "line 27: `retention_days`",
            ),
            (
                "region = \"eu\"",
                "region = \"Mars\"",
                "line 28: `region` must be one of",
            ),
            (
                "no_training = true\nretention_days = 30\nregion = \"eu\"\n",
                "",
                "line 23: an agreement must grant",
            ),
            (
                "no_training = true",
                "no_training = \"yes\"",
                "line 26: invalid type",
            ),
            (
                "region = \"eu\"",
                "territory = \"eu\"",
                "line 28: unknown field `territory`",
            ),
        ];
        for (from, to, expected) in cases {
            let text = format!("{GOOD}{}", agreement.replacen(from, to, 1));
            let error = parse(&text).map(|_| ()).expect_err(expected);
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn the_example_subprocessors_file_is_valid() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/subprocessors.example.toml");
        let file = read(&path).expect("the example is valid");
        assert_eq!(file.entries.len(), 2);
        assert_eq!(file.agreements.len(), 1);
    }

    #[test]
    fn an_unreadable_subprocessors_file_stops_start_up_naming_the_setting() {
        let error = read(Path::new("/nonexistent/subprocessors.toml"))
            .map(|_| ())
            .expect_err("refused")
            .to_string();
        assert!(error.contains("ICECONE_SUBPROCESSORS_FILE"), "{error}");
        assert!(error.contains("cannot be read"), "{error}");
    }
}
