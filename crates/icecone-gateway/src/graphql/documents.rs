//! Parsed documents by their text: clients send the same few documents over and over, and
//! parsing (a PEG parser) is a large share of a small request's cost. A document that
//! parsed is kept and handed to the next request with the same text, which still goes
//! through the request limits and async-graphql's validation.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;

/// Documents longer than this are parsed every time (they are rare, and would crowd out
/// the common ones).
const MAX_CACHED_LEN: usize = 4096;
/// The most documents kept; past it the cache starts over.
const MAX_DOCUMENTS: usize = 512;

/// The cache of parsed documents.
#[derive(Debug, Default)]
pub(crate) struct Documents(Mutex<HashMap<String, ExecutableDocument>>);

impl Documents {
    /// Gives `request` its parsed document when this text was parsed before.
    pub(crate) fn attach(&self, request: &mut Request) {
        if request.query.len() > MAX_CACHED_LEN {
            return;
        }
        let cached = self
            .0
            .lock()
            .ok()
            .and_then(|documents| documents.get(&request.query).cloned());
        if let Some(document) = cached {
            request.set_parsed_query(document);
        }
    }

    /// Keeps the parsed document of a request that passed the limits.
    pub(crate) fn keep(&self, request: &mut Request) {
        if request.query.len() > MAX_CACHED_LEN {
            return;
        }
        let Ok(mut documents) = self.0.lock() else {
            return;
        };
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
        documents.insert(request.query.clone(), document);
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
        documents.attach(&mut same);
        // A request given the cached document does not parse its text again: break the
        // text, and the cached document is still what it holds.
        same.query = "not graphql".to_owned();
        assert!(same.parsed_query().is_ok());

        let mut other = Request::new("{ me { email } }");
        documents.attach(&mut other);
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
}
