//! The GraphQL schema: roots merged from one module per feature, the SDL export, and the
//! schema extensions every transport goes through ([`limits::RequestLimits`],
//! [`error::ErrorCodes`]).

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, SDLExportOptions, Schema};
use icecone_core::provider::ProviderAdapter;

pub mod error;
pub mod limits;
mod providers;
mod scalars;

/// The query root.
#[derive(MergedObject, Default, Debug)]
pub struct Query(providers::ProvidersQuery);

/// The gateway's schema type.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// What resolvers can reach through the context.
#[derive(Debug, Clone)]
pub struct Services {
    /// The configured provider adapters, in the order they are listed.
    pub providers: Arc<[Arc<dyn ProviderAdapter>]>,
    /// Seals and opens personal data; resolvers decrypt through it and nowhere else.
    pub vault: Arc<crate::keys::vault::Vault>,
}

/// Builds the schema that serves requests.
pub fn build_schema(services: Services, limits: limits::Limits) -> AppSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .data(services)
        .extension(error::ErrorCodes)
        .extension(limits::RequestLimits(limits))
        .finish()
}

/// The SDL of the schema, sorted so that it is stable: what `icecone schema` prints, what
/// `GET /schema.graphql` serves, and what the committed `schema.graphql` must equal.
pub fn sdl() -> String {
    let schema = Schema::build(Query::default(), EmptyMutation, EmptySubscription).finish();
    sdl_of(&schema)
}

/// The sorted SDL of a built schema.
pub fn sdl_of(schema: &AppSchema) -> String {
    schema.sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items()
            .include_specified_by(),
    )
}

/// The standard introspection query (graphql-js `getIntrospectionQuery` with every option
/// on, and a deep `TypeRef`), which GraphiQL and partners' tools send. It must always pass
/// the request limits.
pub const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes { ...TypeRef }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"#;
