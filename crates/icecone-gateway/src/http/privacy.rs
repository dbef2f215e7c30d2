//! `GET /privacy`, the privacy page: server-rendered HTML made at request time from
//! [`Facts`] (no script, no style, nothing from another origin; every value escaped);
//! `GET /privacy.json`, the same facts as JSON; and `GET /schemas/privacy-v1.json`, their
//! published JSON Schema.
//!
//! Each section of the page is one render function of one part of [`Facts`]; a new section
//! is a new field there and a new function here, listed in [`SECTIONS`].

use std::fmt::Write as _;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use icecone_app::mail::templates::escape;
use icecone_app::transparency::facts::SubprocessorListFacts;
use icecone_app::transparency::promises::{PromiseStatus, SECTIONS as PROMISE_SECTIONS};
use icecone_app::transparency::{self, Facts};

use chrono::Utc;

use super::AppState;
use super::page::page as html_page;
use crate::graphql::error::{ErrorCode, INTERNAL_MESSAGE};

/// A section's renderer: the section's HTML from the facts.
type Render = fn(&Facts) -> String;

/// The page's sections in order: the `id` of its heading, the heading, and its renderer.
const SECTIONS: &[(&str, &str, Render)] = &[
    ("purposes", "What we collect and why", purposes),
    (
        "providers",
        "The AI providers and how they handle your data",
        providers,
    ),
    ("security", "How your data is protected", security),
    (
        "minimisation",
        "What we withhold from AI providers",
        minimisation,
    ),
    ("rights", "Your rights and how to exercise them", rights),
    (
        "retention",
        "How long we keep your data, and why",
        retention,
    ),
    (
        "subprocessors",
        "Who processes your data on our behalf",
        subprocessors,
    ),
    (
        "transparency-report",
        "Disclosures required by law",
        transparency_report,
    ),
    ("dpo", "Our Data Protection Officer", dpo),
    ("history", "Versions of this policy", history),
    ("promises", "How each promise is kept", promises),
];

/// `GET /privacy`.
pub(crate) async fn page(state: web::Data<AppState>) -> HttpResponse {
    match facts(&state).await {
        Some(facts) => html_page(StatusCode::OK, "Privacy", &render(&facts)),
        None => html_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "<p>The privacy page cannot be shown just now. Please try again later.</p>",
        ),
    }
}

/// `GET /privacy.json`.
pub(crate) async fn json(state: web::Data<AppState>) -> HttpResponse {
    match facts(&state).await {
        Some(facts) => HttpResponse::Ok().json(facts),
        None => HttpResponse::InternalServerError()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": {
                "code": ErrorCode::InternalServerError.as_str(),
                "message": INTERNAL_MESSAGE,
            } })),
    }
}

/// The facts now; a failure to read a stored part is logged (without internals reaching
/// the answer) and is `None`, never a page with a section left empty.
async fn facts(state: &AppState) -> Option<Facts> {
    match state.transparency.facts(Utc::now()).await {
        Ok(facts) => Some(facts),
        Err(error) => {
            tracing::error!(
                error = %icecone_app::error_chain(&error),
                "the privacy facts could not be assembled"
            );
            None
        }
    }
}

/// `GET /schemas/privacy-v1.json`.
pub(crate) async fn schema() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/schema+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(transparency::SCHEMA_JSON)
}

/// The page's body.
fn render(facts: &Facts) -> String {
    let mut body = format!(
        "<p>Version {version}, in effect since {since}. {summary} The same facts are published as <a href=\"/privacy.json\">privacy.json</a> (JSON Schema: <a href=\"/schemas/privacy-v1.json\">privacy-v1</a>).</p>\n<nav aria-label=\"Sections\"><ul>\n",
        version = escape(facts.policy.version),
        since = escape(&facts.policy.effective_on),
        summary = escape(facts.policy.summary),
    );
    for (id, heading, _) in SECTIONS {
        let _ = writeln!(body, "<li><a href=\"#{id}\">{}</a></li>", escape(heading));
    }
    body.push_str("</ul></nav>\n");
    for (id, heading, section) in SECTIONS {
        let _ = write!(
            body,
            "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{}</h2>\n{}</section>\n",
            escape(heading),
            section(facts)
        );
    }
    body
}

/// A table: its caption, column headings and rows of cells that are HTML already.
fn table(caption: &str, columns: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = format!(
        "<table>\n<caption>{}</caption>\n<thead><tr>",
        escape(caption)
    );
    for column in columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(column));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (index, cell) in row.iter().enumerate() {
            if index == 0 {
                let _ = write!(out, "<th scope=\"row\">{cell}</th>");
            } else {
                let _ = write!(out, "<td>{cell}</td>");
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// Text with `code` spans (the promise matrix's markdown), escaped.
fn with_code(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part).replace("**", "")
            }
        })
        .collect()
}

fn purposes(facts: &Facts) -> String {
    table(
        "Purposes of processing, their legal basis and the data each uses",
        &[
            "Purpose",
            "Why",
            "Legal basis",
            "Data categories",
            "Without your consent",
            "You can withdraw or object",
        ],
        facts.purposes.iter().map(|purpose| {
            vec![
                escape(purpose.purpose),
                escape(purpose.description),
                escape(purpose.legal_basis),
                escape(&purpose.data_categories.join(", ")),
                yes_no(purpose.on_by_default),
                yes_no(purpose.withdrawable),
            ]
        }),
    )
}

fn providers(facts: &Facts) -> String {
    let mut out = String::from(
        "<p>Our requests go only to a provider whose policy below meets our promises; the policy is the provider's own terms with this deployment's agreements applied, clause by clause, each claim with its source. An agreement can only make a claim stronger than the provider's terms; where one does, the claim names it.</p>\n",
    );
    for provider in &facts.providers {
        let _ = writeln!(
            out,
            "<h3>{} (<code>{}</code>)</h3>",
            escape(&provider.name),
            escape(&provider.id)
        );
        out.push_str(&table(
            &format!("How {} handles your data", provider.name),
            &["Fact", "Value"],
            [
                vec![
                    "Generates".to_owned(),
                    escape(&provider.capabilities.join(", ")),
                ],
                vec![
                    "Data sent".to_owned(),
                    escape(&provider.data_categories.join(", ")),
                ],
                vec![
                    "Trains on our requests".to_owned(),
                    escape(provider.training_use),
                ],
                vec!["Keeps our requests".to_owned(), escape(&provider.retention)],
                vec![
                    "Zero data retention".to_owned(),
                    yes_no(provider.zero_data_retention),
                ],
                vec![
                    "Our zero-data-retention contract".to_owned(),
                    yes_no(provider.zero_data_retention_contract),
                ],
                vec![
                    "How zero data retention is had".to_owned(),
                    escape(provider.zero_data_retention_arrangement),
                ],
                vec![
                    "Outputs it holds".to_owned(),
                    escape(&provider.output_retention),
                ],
                vec!["Where".to_owned(), escape(&provider.region)],
                vec![
                    "Passes data on to".to_owned(),
                    escape(&provider.onward_processors),
                ],
            ],
        ));
        if !provider.models.is_empty() {
            out.push_str(&table(
                &format!("Models {} runs for us", provider.name),
                &["Kind", "Model", "Family"],
                provider.models.iter().map(|model| {
                    vec![
                        escape(model.kind),
                        format!("<code>{}</code>", escape(&model.model)),
                        escape(model.family),
                    ]
                }),
            ));
        }
        if !provider.agreements.is_empty() {
            out.push_str(&table(
                &format!("Our agreements with {}", provider.name),
                &["Reference", "Signed on", "What it grants"],
                provider.agreements.iter().map(|agreement| {
                    vec![
                        escape(&agreement.reference),
                        escape(agreement.signed_on.as_deref().unwrap_or("not recorded")),
                        escape(&agreement.clauses.join("; ")),
                    ]
                }),
            ));
        }
        out.push_str(&table(
            &format!("Sources of {}'s claims", provider.name),
            &["Claim", "Source", "Verified on", "Set by our agreement"],
            provider.sources.iter().map(|source| {
                vec![
                    escape(source.claim),
                    format!(
                        "<a href=\"{0}\" rel=\"noreferrer\">{0}</a>",
                        escape(source.url)
                    ),
                    escape(&source.checked_on),
                    escape(
                        source
                            .agreement
                            .as_deref()
                            .unwrap_or("no: the provider's terms"),
                    ),
                ]
            }),
        ));
    }
    out
}

fn security(facts: &Facts) -> String {
    let security = &facts.security;
    table(
        "Security measures as configured now",
        &["Measure", "As configured"],
        [
            vec![
                format!("Encryption at rest: {}", escape(security.cipher.algorithm)),
                escape(&security.cipher.statement),
            ],
            vec![
                format!("Encryption in transit: {}", escape(security.transport.mode)),
                escape(security.transport.statement),
            ],
            vec!["Staff second factor".to_owned(), escape(security.staff_mfa)],
            vec!["Audit trail".to_owned(), escape(security.audit_trail)],
        ],
    )
}

fn minimisation(facts: &Facts) -> String {
    let minimisation = &facts.minimisation;
    let mut out = format!(
        "<p>{}</p>\n",
        with_code(&minimisation.statement.replace(
            minimisation.operation,
            &format!("`{}`", minimisation.operation)
        ))
    );
    out.push_str(&table(
        "What is recognised and replaced",
        &["Kind", "What is recognised"],
        minimisation.recognisers.iter().map(|recogniser| {
            vec![
                format!("<code>{}</code>", escape(recogniser.kind)),
                escape(recogniser.description),
            ]
        }),
    ));
    let _ = writeln!(out, "<p>{}</p>", escape(minimisation.not_recognised));
    out
}

fn rights(facts: &Facts) -> String {
    let mut out = format!("<p>{}</p>\n", escape(&facts.rights.deadline));
    out.push_str(&table(
        "Your rights",
        &["Right", "What it is", "Article", "How (GraphQL operation)"],
        facts.rights.rights.iter().map(|right| {
            vec![
                escape(right.right),
                escape(right.description),
                escape(right.article),
                format!("<code>{}</code>", escape(right.operation)),
            ]
        }),
    ));
    out
}

fn retention(facts: &Facts) -> String {
    table(
        "How long each kind of personal data is kept, as this deployment is configured",
        &["Data", "What it is", "How long we keep it", "Why"],
        facts.retention.iter().map(|entry| {
            vec![
                format!("<code>{}</code>", escape(entry.table)),
                escape(entry.what),
                escape(&entry.how_long),
                escape(entry.why),
            ]
        }),
    )
}

fn subprocessor_list(caption: &str, list: &SubprocessorListFacts) -> String {
    let mut out = table(
        caption,
        &[
            "Name",
            "What it does",
            "Data it receives",
            "Where",
            "Transfer safeguard",
            "Agreement",
        ],
        list.entries.iter().map(|entry| {
            vec![
                escape(&entry.name),
                escape(entry.purpose),
                escape(&entry.data_categories.join(", ")),
                escape(&entry.location),
                escape(entry.transfer_mechanism),
                escape(entry.agreement.as_deref().unwrap_or("none recorded")),
            ]
        }),
    );
    for (what, names) in [
        ("Added", &list.added),
        ("Removed", &list.removed),
        ("Changed", &list.changed),
    ] {
        if !names.is_empty() {
            let _ = writeln!(out, "<p>{what}: {}</p>", escape(&names.join(", ")));
        }
    }
    out
}

fn subprocessors(facts: &Facts) -> String {
    let published = &facts.subprocessors;
    let mut out = match &published.current {
        Some(current) => subprocessor_list(
            &format!(
                "The subprocessors in effect: version {}, since {}",
                current.version, current.takes_effect_at
            ),
            current,
        ),
        None => "<p>No list of subprocessors has been published yet.</p>\n".to_owned(),
    };
    if published.upcoming.is_empty() {
        out.push_str("<p>No change to this list is announced.</p>\n");
    } else {
        out.push_str(
            "<p>Announced changes, each told to every account before it takes effect:</p>\n",
        );
        for upcoming in &published.upcoming {
            out.push_str(&subprocessor_list(
                &format!(
                    "Version {}, taking effect {}",
                    upcoming.version, upcoming.takes_effect_at
                ),
                upcoming,
            ));
        }
    }
    out
}

fn transparency_report(facts: &Facts) -> String {
    let report = &facts.transparency_report;
    let mut out = format!(
        "<p>How many disclosures of personal data to public authorities, required by law, we approved in each of the last {} quarters, by type of authority. A count below {} is shown as \"fewer than {}\", so that no row can single out the few people a request concerned.</p>\n",
        report.quarters, report.suppressed_below, report.suppressed_below
    );
    out.push_str(&table(
        "Disclosures required by law, per quarter and type of authority",
        &["Quarter", "Authority", "Disclosures approved"],
        report.rows.iter().map(|row| {
            vec![
                escape(&row.quarter),
                escape(row.authority),
                escape(&row.count),
            ]
        }),
    ));
    out
}

fn dpo(facts: &Facts) -> String {
    let contact = match &facts.dpo.contact {
        Some(contact) => format!("<p>Contact: <strong>{}</strong></p>", escape(contact)),
        None => "<p>Contact: not configured (a development deployment).</p>".to_owned(),
    };
    format!(
        "{contact}\n<p>Or write to the DPO from the app (<code>{}</code>), with or without an account.</p>\n",
        escape(facts.dpo.operation)
    )
}

fn history(facts: &Facts) -> String {
    table(
        "Every version of this policy, newest first",
        &[
            "Version",
            "In effect since",
            "What changed",
            "Consents to give again",
        ],
        facts.policy.history.iter().map(|version| {
            vec![
                escape(version.version),
                escape(&version.effective_on),
                escape(version.summary),
                escape(&version.changed_purposes.join(", ")),
            ]
        }),
    )
}

fn promises(facts: &Facts) -> String {
    let mut out = String::new();
    for (heading, intro, statuses) in PROMISE_SECTIONS {
        let rows: Vec<_> = facts
            .promises
            .iter()
            .filter(|row| statuses.contains(&row.status))
            .collect();
        let _ = writeln!(
            out,
            "<h3>{}</h3>\n<p>{}</p>",
            escape(heading),
            with_code(intro)
        );
        out.push_str(&table(
            heading,
            &["Policy line", "Status", statuses[0].text_heading(), "Tests"],
            rows.into_iter().map(|row| {
                let mut text = with_code(&row.text);
                if let (PromiseStatus::NotYet, Some(issue)) = (row.status, row.issue) {
                    let _ = write!(text, " (issue #{issue})");
                }
                vec![
                    with_code(&row.line),
                    escape(row.status.as_str()),
                    text,
                    row.tests
                        .iter()
                        .map(|test| format!("<code>{}</code>", escape(test)))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            }),
        ));
    }
    out
}
