//! Parsed documents by their text: clients send the same few documents over and over, and
//! parsing (a PEG parser) and async-graphql's full validation are a large share of a small
//! request's cost. A document that parsed is kept and handed to the next request with the
//! same text, which still goes through the request limits. An operation of it that passed
//! full validation in a request without variables is remembered: the next such request
//! runs under async-graphql's fast validation (what the registered trusted documents get).
//! Validation reads nothing but the schema, the document, the operation's name and the
//! variables (no field of the schema is hidden per caller), so the outcome of a request
//! without variables is the same for every later one.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;

/// Documents longer than this are parsed every time (they are rare, and would crowd out
/// the common ones).
const MAX_CACHED_LEN: usize = 4096;
/// The most documents kept; past it the cache starts over.
const MAX_DOCUMENTS: usize = 512;
/// The most operations of one document remembered as validated (a document holds few).
const MAX_VALIDATED_OPERATIONS: usize = 8;

/// A parsed document and the operations of it that passed full validation without
/// variables.
#[derive(Debug)]
struct Cached {
    document: ExecutableDocument,
    validated: Vec<Option<String>>,
}

/// The cache of parsed documents.
#[derive(Debug, Default)]
pub(crate) struct Documents(Mutex<HashMap<String, Cached>>);

/// What [`Documents::attach`] found for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attached {
    /// Not cached: the request parses and validates its text.
    No,
    /// Its parsed document: the request is validated in full.
    Parsed,
    /// Its parsed document, and its operation passed full validation before with no
    /// variables, as this request has none: fast validation is enough.
    Validated,
}

impl Documents {
    /// Gives `request` its parsed document when this text was parsed before.
    pub(crate) fn attach(&self, request: &mut Request) -> Attached {
        if request.query.len() > MAX_CACHED_LEN {
            return Attached::No;
        }
        let documents = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(cached) = documents.get(&request.query) else {
            return Attached::No;
        };
        let validated =
            request.variables.is_empty() && cached.validated.contains(&request.operation_name);
        let document = cached.document.clone();
        drop(documents);
        request.set_parsed_query(document);
        if validated {
            Attached::Validated
        } else {
            Attached::Parsed
        }
    }

    /// Keeps the parsed document of a request that passed the limits.
    pub(crate) fn keep(&self, request: &mut Request) {
        if request.query.len() > MAX_CACHED_LEN {
            return;
        }
        let mut documents = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if documents.contains_key(&request.query) {
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let document = document.clone();
        if documents.len() >= MAX_DOCUMENTS {
            documents.clear();
        }
        documents.insert(
            request.query.clone(),
            Cached {
                document,
                validated: Vec::new(),
            },
        );
    }

    /// The key under which a request's validation is remembered, if it may be: a cached
    /// text, asked without variables.
    pub(crate) fn validation_key(&self, request: &Request) -> Option<(String, Option<String>)> {
        (request.variables.is_empty() && request.query.len() <= MAX_CACHED_LEN)
            .then(|| (request.query.clone(), request.operation_name.clone()))
    }

    /// Records that the operation `key` names passed full validation without variables.
    pub(crate) fn mark_validated(&self, (query, operation): (String, Option<String>)) {
        let mut documents = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = documents.get_mut(&query)
            && !cached.validated.contains(&operation)
            && cached.validated.len() < MAX_VALIDATED_OPERATIONS
        {
            cached.validated.push(operation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parsed_document_is_reused_for_the_same_text_only() {
        let documents = Documents::default();
        let mut first = Request::new("{ me { id } }");
        first.parsed_query().expect("parses");
        documents.keep(&mut first);

        let mut same = Request::new("{ me { id } }");
        assert_eq!(documents.attach(&mut same), Attached::Parsed);
        // A request given the cached document does not parse its text again: break the
        // text, and the cached document is still what it holds.
        same.query = "not graphql".to_owned();
        assert!(same.parsed_query().is_ok());

        let mut other = Request::new("{ me { email } }");
        assert_eq!(documents.attach(&mut other), Attached::No);
        other.query = "not graphql".to_owned();
        assert!(
            other.parsed_query().is_err(),
            "a different text is parsed afresh"
        );

        let mut long = Request::new(format!("{{ me {{ id }} }} #{}", "x".repeat(MAX_CACHED_LEN)));
        long.parsed_query().expect("parses");
        documents.keep(&mut long);
        assert_eq!(documents.0.lock().expect("lock").len(), 1);
    }

    #[test]
    fn only_an_operation_validated_without_variables_is_attached_as_validated() {
        let documents = Documents::default();
        let text = "query A { me { id } } query B { providers { id } }";
        let mut first = Request::new(text).operation_name("A");
        first.parsed_query().expect("parses");
        documents.keep(&mut first);
        let key = documents.validation_key(&first).expect("no variables");
        documents.mark_validated(key);

        let with_variables = |request: Request| {
            request.variables(async_graphql::Variables::from_json(
                serde_json::json!({ "x": 1 }),
            ))
        };
        // (operation, with variables, expected)
        let cases = [
            (Some("A"), false, Attached::Validated),
            (Some("A"), true, Attached::Parsed),
            (Some("B"), false, Attached::Parsed),
            (None, false, Attached::Parsed),
        ];
        for (operation, variables, expected) in cases {
            let mut request = Request::new(text);
            if let Some(operation) = operation {
                request = request.operation_name(operation);
            }
            if variables {
                request = with_variables(request);
            }
            assert_eq!(
                documents.attach(&mut request),
                expected,
                "{operation:?} with variables: {variables}"
            );
        }
        assert!(
            documents
                .validation_key(&with_variables(Request::new(text)))
                .is_none(),
            "a request with variables is never remembered"
        );
    }
}
