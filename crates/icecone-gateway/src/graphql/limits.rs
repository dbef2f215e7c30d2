//! Limits on what one GraphQL document may ask for, checked before anything runs.
//!
//! async-graphql's own `limit_depth`/`limit_complexity` also count introspection, which
//! breaks the standard introspection query that GraphiQL and partners send (async-graphql
//! issue #1696). This module measures documents itself instead:
//!
//! - tokens and bracket nesting, on the raw text before it is parsed (this bounds the parser);
//! - per operation, with fragments counted where they are spread: depth of data fields,
//!   fields selected (complexity), aliases, and root fields;
//! - introspection (`__schema`, `__type`) is exempt from the data depth limit but has fixed
//!   bounds of its own: nesting depth [`INTROSPECTION_MAX_DEPTH`] and at most
//!   [`INTROSPECTION_MAX_LIST_NESTING`] nested list fields, which is what the standard query
//!   needs (`types → fields → args`) and keeps the answer proportional to the schema's size.
//!
//! Over-limit documents are refused with `QUERY_TOO_COMPLEX`.

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, ServerError};

use super::error::ApiError;

/// Deepest nesting allowed inside `__schema`/`__type`.
pub const INTROSPECTION_MAX_DEPTH: usize = 20;
/// Most nested list fields allowed inside `__schema`/`__type`.
pub const INTROSPECTION_MAX_LIST_NESTING: usize = 3;
/// Deepest bracket nesting (`{`, `[`, `(`) in the raw text.
pub const MAX_BRACKET_NESTING: usize = 64;

/// Introspection fields that return lists.
const INTROSPECTION_LIST_FIELDS: &[&str] = &[
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];

pub use crate::config::Limits;

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitExceeded {
    /// More tokens than allowed.
    Tokens(usize),
    /// Brackets nested deeper than [`MAX_BRACKET_NESTING`].
    Nesting,
    /// Data fields nested deeper than allowed.
    Depth(usize),
    /// Introspection nested deeper than its fixed bound.
    IntrospectionDepth,
    /// Introspection list fields nested deeper than its fixed bound.
    IntrospectionLists,
    /// More fields than allowed.
    Complexity(usize),
    /// More aliases than allowed.
    Aliases(usize),
    /// More root fields than allowed.
    RootFields(usize),
}

impl LimitExceeded {
    fn message(&self) -> String {
        match self {
            Self::Tokens(max) => format!("the query has more than {max} tokens"),
            Self::Nesting => format!("the query nests brackets deeper than {MAX_BRACKET_NESTING}"),
            Self::Depth(max) => format!("the query is nested deeper than {max} levels"),
            Self::IntrospectionDepth => {
                format!(
                    "the introspection query is nested deeper than {INTROSPECTION_MAX_DEPTH} levels"
                )
            }
            Self::IntrospectionLists => format!(
                "the introspection query nests more than {INTROSPECTION_MAX_LIST_NESTING} list fields"
            ),
            Self::Complexity(max) => format!("the query selects more than {max} fields"),
            Self::Aliases(max) => format!("the query uses more than {max} aliases"),
            Self::RootFields(max) => format!("the operation has more than {max} root fields"),
        }
    }

    fn into_server_error(self) -> ServerError {
        async_graphql::Error::from(ApiError::QueryTooComplex(self.message()))
            .into_server_error(async_graphql::Pos::default())
    }
}

/// Counts the lexical tokens of a GraphQL document, stopping early once over `max`, and
/// checks bracket nesting.
pub fn check_tokens(source: &str, max: usize) -> Result<usize, LimitExceeded> {
    let bytes = source.as_bytes();
    let (mut i, mut tokens, mut nesting) = (0, 0usize, 0usize);
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'{' | b'[' | b'(' => {
                nesting += 1;
                if nesting > MAX_BRACKET_NESTING {
                    return Err(LimitExceeded::Nesting);
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                nesting = nesting.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            // Punctuators and anything the parser will reject anyway: one token each.
            _ => i += source[i..].chars().next().map_or(1, char::len_utf8),
        }
        tokens += 1;
        if tokens > max {
            return Err(LimitExceeded::Tokens(max));
        }
    }
    Ok(tokens)
}

/// Measures every operation of a parsed document against `limits`.
pub fn check_document(document: &ExecutableDocument, limits: &Limits) -> Result<(), LimitExceeded> {
    for (_, operation) in document.operations.iter() {
        let mut walk = Walk {
            document,
            limits,
            fields: 0,
            aliases: 0,
            active_fragments: HashSet::new(),
        };
        let root_fields = walk.count_root_fields(&operation.node.selection_set.node)?;
        if root_fields > limits.max_root_fields {
            return Err(LimitExceeded::RootFields(limits.max_root_fields));
        }
        walk.selection_set(&operation.node.selection_set.node, 1, None)?;
    }
    Ok(())
}

/// Where a walk is inside introspection: its depth and list nesting there.
#[derive(Clone, Copy)]
struct Introspection {
    depth: usize,
    lists: usize,
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    limits: &'a Limits,
    fields: usize,
    aliases: usize,
    /// Fragments being expanded on the current path: a cycle is left for validation to
    /// reject, and is not followed here.
    active_fragments: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn count_root_fields(&mut self, set: &'a SelectionSet) -> Result<usize, LimitExceeded> {
        let mut count = 0;
        for selection in &set.items {
            count += match &selection.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(fragment) => {
                    self.count_root_fields(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self
                        .document
                        .fragments
                        .get(spread.node.fragment_name.node.as_str())
                    {
                        Some(fragment) if self.active_fragments.insert(name) => {
                            let n = self.count_root_fields(&fragment.node.selection_set.node);
                            self.active_fragments.remove(name);
                            n?
                        }
                        _ => 0,
                    }
                }
            };
            if count > self.limits.max_root_fields {
                break;
            }
        }
        Ok(count)
    }

    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        depth: usize,
        introspection: Option<Introspection>,
    ) -> Result<(), LimitExceeded> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.fields += 1;
                    if self.fields > self.limits.max_complexity {
                        return Err(LimitExceeded::Complexity(self.limits.max_complexity));
                    }
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > self.limits.max_aliases {
                            return Err(LimitExceeded::Aliases(self.limits.max_aliases));
                        }
                    }
                    let name = field.name.node.as_str();
                    let inner = match introspection {
                        Some(outer) => {
                            let lists = outer.lists
                                + usize::from(INTROSPECTION_LIST_FIELDS.contains(&name));
                            Some(Introspection {
                                depth: outer.depth + 1,
                                lists,
                            })
                        }
                        None if name == "__schema" || name == "__type" => {
                            Some(Introspection { depth: 1, lists: 0 })
                        }
                        None => None,
                    };
                    match inner {
                        Some(i) if i.depth > INTROSPECTION_MAX_DEPTH => {
                            return Err(LimitExceeded::IntrospectionDepth);
                        }
                        Some(i) if i.lists > INTROSPECTION_MAX_LIST_NESTING => {
                            return Err(LimitExceeded::IntrospectionLists);
                        }
                        None if depth > self.limits.max_depth => {
                            return Err(LimitExceeded::Depth(self.limits.max_depth));
                        }
                        _ => {}
                    }
                    self.selection_set(&field.selection_set.node, depth + 1, inner)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, depth, introspection)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let fragment = self
                        .document
                        .fragments
                        .get(spread.node.fragment_name.node.as_str());
                    if let Some(fragment) = fragment
                        && self.active_fragments.insert(name)
                    {
                        let result = self.selection_set(
                            &fragment.node.selection_set.node,
                            depth,
                            introspection,
                        );
                        self.active_fragments.remove(name);
                        result?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks a request against `limits` before it runs: tokens and bracket nesting on the raw
/// text, then the parsed document, which stays in the request so it is parsed only once. A
/// syntax error comes back as the parser reports it.
pub fn prepare(mut request: Request, limits: &Limits) -> Result<Request, ServerError> {
    check_tokens(&request.query, limits.max_tokens).map_err(LimitExceeded::into_server_error)?;
    let document = request.parsed_query()?;
    check_document(document, limits).map_err(LimitExceeded::into_server_error)?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(query: &str, limits: Limits) -> Result<(), LimitExceeded> {
        check_tokens(query, limits.max_tokens)?;
        let document = async_graphql::parser::parse_query(query).expect("test documents parse");
        check_document(&document, &limits)
    }

    const SMALL: Limits = Limits {
        max_depth: 3,
        max_complexity: 6,
        max_aliases: 2,
        max_root_fields: 3,
        max_tokens: 60,
    };

    #[test]
    fn documents_are_measured_against_each_limit() {
        let cases: &[(&str, Result<(), LimitExceeded>)] = &[
            ("{ a }", Ok(())),
            ("{ a { b { c } } }", Ok(())),
            ("{ a { b { c { d } } } }", Err(LimitExceeded::Depth(3))),
            ("{ a b c }", Ok(())),
            ("{ a b c d }", Err(LimitExceeded::RootFields(3))),
            (
                "{ ...F } fragment F on Query { a b c d }",
                Err(LimitExceeded::RootFields(3)),
            ),
            (
                "{ ... on Query { a b } c d }",
                Err(LimitExceeded::RootFields(3)),
            ),
            ("{ x: a y: b }", Ok(())),
            ("{ x: a y: b z: c }", Err(LimitExceeded::Aliases(2))),
            ("{ a { x: b y: b z: b } }", Err(LimitExceeded::Aliases(2))),
            ("{ a { b c d e f g } }", Err(LimitExceeded::Complexity(6))),
            (
                "{ a { ...F ...F } } fragment F on T { b c d }",
                Err(LimitExceeded::Complexity(6)),
            ),
            (
                "{ a { ...F } } fragment F on T { b { c { d } } }",
                Err(LimitExceeded::Depth(3)),
            ),
            ("{ a { ...F } } fragment F on T { b { ...F } }", Ok(())),
            (
                "query A { a } query B { a { b { c { d } } } }",
                Err(LimitExceeded::Depth(3)),
            ),
            ("{ a { __typename } }", Ok(())),
        ];
        for (query, expected) in cases {
            assert_eq!(&check(query, SMALL), expected, "query: {query}");
        }
    }

    #[test]
    fn introspection_has_bounds_of_its_own() {
        let deep_of_type = format!(
            "{{ __type(name: \"T\") {}name{} }}",
            "{ ofType ".repeat(20),
            " }".repeat(20)
        );
        let cases: &[(&str, Result<(), LimitExceeded>)] = &[
            (
                "{ __schema { types { fields { args { type { ofType { ofType { name } } } } } } } }",
                Ok(()),
            ),
            (
                "{ __type(name: \"T\") { fields { type { fields { type { fields { name } } } } } } }",
                Ok(()),
            ),
            (
                "{ __type(name: \"T\") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }",
                Err(LimitExceeded::IntrospectionLists),
            ),
            (&deep_of_type, Err(LimitExceeded::IntrospectionDepth)),
        ];
        for (query, expected) in cases {
            assert_eq!(&check(query, Limits::default()), expected, "query: {query}");
        }
    }

    #[test]
    fn tokens_are_counted_on_the_raw_text() {
        let cases: &[(&str, usize)] = &[
            ("{ a }", 3),
            ("query Q($x: Int = 1) { a(x: $x) }", 19),
            ("{ a(s: \"x y, z } \\\" {\") }", 8),
            ("{ a(s: \"\"\"block { \\\"\"\" } \"\"\") }", 8),
            ("# comment { { {\n{ a }", 3),
            ("{ ...F } fragment F on Q { a }", 11),
            ("{ a(n: -1.5e3) }", 8),
        ];
        for (query, expected) in cases {
            assert_eq!(check_tokens(query, 1000), Ok(*expected), "query: {query}");
        }
        assert_eq!(check_tokens("{ a b c }", 4), Err(LimitExceeded::Tokens(4)));
    }

    #[test]
    fn deep_bracket_nesting_is_refused_before_parsing() {
        let deep = format!("{{ a(x: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        assert_eq!(check_tokens(&deep, 10_000), Err(LimitExceeded::Nesting));
        let fine = format!("{{ a(x: {}1{}) }}", "[".repeat(10), "]".repeat(10));
        assert!(check_tokens(&fine, 10_000).is_ok());
    }

    #[test]
    fn the_standard_introspection_query_fits_the_default_limits() {
        check(crate::graphql::INTROSPECTION_QUERY, Limits::default())
            .expect("introspection is allowed");
    }

    #[test]
    fn every_limit_error_carries_the_query_too_complex_code() {
        let error = LimitExceeded::Depth(3).into_server_error();
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        assert_eq!(code, Some(async_graphql::Value::from("QUERY_TOO_COMPLEX")));
    }
}
