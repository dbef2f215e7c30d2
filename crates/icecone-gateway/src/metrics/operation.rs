//! The `operation` label of a GraphQL request, from a closed set: a client chooses its
//! operation's name and its aliases freely, so neither may become a label by itself — an
//! attacker would make a new series per request, and could smuggle personal data into the
//! metrics through it. A request is labelled
//!
//! - with its operation's name when it ran a registered (trusted) document and the name is
//!   one of the manifest's operations;
//! - otherwise with its operation's root field when the operation selects exactly one (not
//!   counting `__typename`) and that field is a root field of the schema (`me`,
//!   `generateText`, `__schema`), whatever alias it was given;
//! - [`OTHER`] in every other case (several root fields, a fragment at the root, a name
//!   the schema does not have, a document that does not parse).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, ServiceDocument, TypeKind,
    TypeSystemDefinition,
};

/// The label of every request that has no label of its own.
pub const OTHER: &str = "other";

/// The labels a request may be given: the schema's root fields and the registered
/// operations' names.
#[derive(Debug, Clone)]
pub struct OperationNames {
    roots: HashMap<String, Arc<str>>,
    registered: HashMap<String, Arc<str>>,
    other: Arc<str>,
}

impl OperationNames {
    /// The root fields of `sdl`'s `Query`, `Mutation` and `Subscription` types (and
    /// introspection's `__schema` and `__type`), and the operation names `registered`.
    pub fn new<'a>(sdl: &str, registered: impl IntoIterator<Item = &'a str>) -> Self {
        let mut roots: HashMap<String, Arc<str>> = ["__schema", "__type"]
            .into_iter()
            .map(|name| (name.to_owned(), Arc::from(name)))
            .collect();
        if let Ok(document) = async_graphql::parser::parse_schema(sdl) {
            roots.extend(root_fields(&document).map(|name| (name.to_owned(), Arc::from(name))));
        }
        let registered = registered
            .into_iter()
            .map(|name| (name.to_owned(), Arc::from(name)))
            .collect();
        Self {
            roots,
            registered,
            other: Arc::from(OTHER),
        }
    }

    /// Every label a request may get, sorted.
    pub fn all(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .roots
            .values()
            .chain(self.registered.values())
            .map(|name| &**name)
            .chain([OTHER])
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The label of the operation `operation_name` of `document`; `registered` when the
    /// document is one of the manifest's.
    pub fn label(
        &self,
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        registered: bool,
    ) -> Arc<str> {
        if registered
            && let Some(name) = operation_name
            && let Some(label) = self.registered.get(name)
        {
            return label.clone();
        }
        let operation = match (&document.operations, operation_name) {
            (DocumentOperations::Single(operation), _) => operation,
            (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
                Some(operation) => operation,
                None => return self.other.clone(),
            },
            // One named operation runs without its name being given.
            (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
                match operations.values().next() {
                    Some(operation) => operation,
                    None => return self.other.clone(),
                }
            }
            (DocumentOperations::Multiple(_), None) => return self.other.clone(),
        };
        let mut fields = operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .filter(|selection| !is_typename(&selection.node));
        match (fields.next(), fields.next()) {
            (Some(only), None) => match &only.node {
                Selection::Field(field) => self
                    .roots
                    .get(field.node.name.node.as_str())
                    .cloned()
                    .unwrap_or_else(|| self.other.clone()),
                _ => self.other.clone(),
            },
            _ => self.other.clone(),
        }
    }

    /// The label of a request refused before its document was looked at.
    pub fn other(&self) -> Arc<str> {
        self.other.clone()
    }
}

fn is_typename(selection: &Selection) -> bool {
    matches!(selection, Selection::Field(field) if field.node.name.node == "__typename")
}

fn root_fields(document: &ServiceDocument) -> impl Iterator<Item = &str> {
    document.definitions.iter().flat_map(|definition| {
        let fields = match definition {
            TypeSystemDefinition::Type(definition)
                if matches!(
                    definition.node.name.node.as_str(),
                    "Query" | "Mutation" | "Subscription"
                ) =>
            {
                match &definition.node.kind {
                    TypeKind::Object(object) => Some(&object.fields),
                    _ => None,
                }
            }
            _ => None,
        };
        fields
            .into_iter()
            .flatten()
            .map(|field| &*field.node.name.node)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = "type Query { me: Account providers: [Int] }\n\
                       type Mutation { logIn(email: String): Int generateText: Int }\n\
                       type Subscription { generationUpdated: Int }\n\
                       type Account { id: ID email: String }";

    fn check(document: &str, operation: Option<&str>, registered: bool, expected: &str) {
        let names = OperationNames::new(SDL, ["SignIn"]);
        let parsed = async_graphql::parser::parse_query(document).expect("parses");
        assert_eq!(
            &*names.label(&parsed, operation, registered),
            expected,
            "{document} ({operation:?}, registered: {registered})"
        );
    }

    #[test]
    fn only_root_fields_of_the_schema_and_registered_names_become_labels() {
        let cases: &[(&str, Option<&str>, bool, &str)] = &[
            ("{ me { id } }", None, false, "me"),
            ("query { me { id } __typename }", None, false, "me"),
            ("query AnyName { me { id } }", Some("AnyName"), false, "me"),
            ("query AnyName { me { id } }", None, false, "me"),
            // An alias is the client's string: the field's name is the label.
            ("{ alice_example_com: me { id } }", None, false, "me"),
            ("mutation { logIn(email: \"a@b.c\") }", None, false, "logIn"),
            ("mutation { generateText }", None, false, "generateText"),
            (
                "subscription { generationUpdated }",
                None,
                false,
                "generationUpdated",
            ),
            ("{ __schema { types { name } } }", None, false, "__schema"),
            ("{ __typename }", None, false, OTHER),
            ("{ me { id } providers }", None, false, OTHER),
            (
                "{ ...F } fragment F on Query { me { id } }",
                None,
                false,
                OTHER,
            ),
            ("{ ... on Query { me { id } } }", None, false, OTHER),
            ("{ alice_at_example_com }", None, false, OTHER),
            // A registered document is labelled with its operation's name from the manifest.
            ("query SignIn { me { id } }", Some("SignIn"), true, "SignIn"),
            // The same name in an unregistered document is the client's string.
            (
                "query SignIn { providers }",
                Some("SignIn"),
                false,
                "providers",
            ),
            // A registered document asked with a name the manifest does not hold.
            ("query Other { me { id } }", Some("Other"), true, "me"),
            (
                "query A { me { id } } query B { providers }",
                Some("B"),
                false,
                "providers",
            ),
            (
                "query A { me { id } } query B { providers }",
                None,
                false,
                OTHER,
            ),
            (
                "query A { me { id } } query B { providers }",
                Some("C"),
                false,
                OTHER,
            ),
        ];
        for (document, operation, registered, expected) in cases {
            check(document, *operation, *registered, expected);
        }
    }

    #[test]
    fn the_label_set_is_the_root_fields_the_registered_names_and_other() {
        let names = OperationNames::new(SDL, ["SignIn"]);
        assert_eq!(
            names.all(),
            [
                "SignIn",
                "__schema",
                "__type",
                "generateText",
                "generationUpdated",
                "logIn",
                "me",
                "other",
                "providers"
            ]
        );
    }
}
