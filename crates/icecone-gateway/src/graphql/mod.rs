//! The GraphQL schema: roots merged from one module per feature, the SDL export, and the
//! [`Executor`] every transport goes through: it reuses the parsed document of a text seen
//! before (`documents`), applies the request [`limits`] before a request runs and gives
//! every error of the answer its code ([`error::finish_response`]).
//!
//! These are deliberately not async-graphql schema extensions: once any extension is
//! registered, every resolved field passes through every extension's boxed `resolve` hook,
//! which the load benchmark showed as a per-field cost neither check needs.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::{
    BatchRequest, BatchResponse, MergedObject, MergedSubscription, Request, Response,
    SDLExportOptions, Schema, ValidationMode,
};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

mod account;
mod arguments;
mod auth;
mod billing;
mod caller;
mod classification;
mod consent;
mod data_request;
mod disclosures;
mod documents;
mod erasure;
pub mod error;
mod generation;
pub mod limits;
mod mfa;
mod partners;
mod profile;
mod providers;
mod ratings;
mod rights;
mod scalars;
mod sessions;
mod sign_up;
mod staff;
mod subprocessors;
pub(crate) mod trusted;

/// The query root.
#[derive(MergedObject, Default, Debug)]
pub struct Query(
    account::AccountQuery,
    consent::ConsentQuery,
    partners::PartnerQuery,
    generation::GenerationQuery,
    providers::ProvidersQuery,
    staff::StaffQuery,
);

/// The mutation root.
#[derive(MergedObject, Default, Debug)]
pub struct Mutation(
    auth::AuthMutation,
    billing::BillingMutation,
    consent::ConsentMutation,
    erasure::ErasureMutation,
    generation::GenerationMutation,
    mfa::MfaMutation,
    partners::PartnerMutation,
    rights::RightsMutation,
    profile::ProfileMutation,
    ratings::RatingMutation,
    sessions::SessionMutation,
    sign_up::SignUpMutation,
    staff::StaffMutation,
);

/// The subscription root.
#[derive(MergedSubscription, Default, Debug)]
pub struct Subscription(generation::GenerationSubscription);

/// The gateway's schema type.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// What resolvers can reach through the context.
#[derive(Debug, Clone)]
pub struct Services {
    /// The provider adapters with their effective policies, and the router.
    pub providers: Arc<icecone_app::providers::router::Router>,
    /// Seals and opens personal data; resolvers decrypt through it and nowhere else.
    pub vault: Arc<icecone_app::keys::vault::Vault>,
    /// The database.
    pub store: Arc<icecone_store::Store>,
    /// Signs and verifies access tokens.
    pub tokens: Arc<icecone_app::tokens::TokenSigner>,
    /// The generation pipeline and the stored generations.
    pub generations: Arc<icecone_app::generation::Generations>,
    /// Anonymised analytics (aggregates for staff; forgetting on consent changes).
    pub analytics: Arc<icecone_app::analytics::Analytics>,
    /// How long after `requestAccountDeletion` the erasure runs.
    pub erasure_grace: std::time::Duration,
    /// How long invoice records are kept (`billing_record_retention`).
    pub billing_records: std::time::Duration,
    /// Billing through Stripe; `None`: billing is off.
    pub billing: Option<Arc<icecone_app::billing::Billing>>,
    /// The privacy policy versions the gateway runs with (the last in force).
    pub policy: icecone_core::consent::policy::PolicyHistory,
    /// What the privacy page, `privacy.json` and `privacyPolicy` publish.
    pub transparency: Arc<icecone_app::transparency::Sources>,
}

/// The schema with the checks every request goes through.
pub struct Executor {
    schema: AppSchema,
    /// The same schema under async-graphql's fast validation, which leaves out the rules a
    /// document passes for good once it has passed them: it runs registered documents
    /// whose operation passed the full validation of `schema` before (`trusted`).
    prevalidated: AppSchema,
    limits: limits::Limits,
    documents: documents::Documents,
    trusted: trusted::TrustedDocuments,
    /// Where every request is counted and timed; `None` when metrics are off.
    metrics: Option<RequestMetrics>,
    /// The operation names of the registered documents.
    registered: Vec<String>,
}

/// The request instruments and the closed set of operation labels.
#[derive(Debug)]
struct RequestMetrics {
    instruments: crate::metrics::GraphqlMetrics,
    operations: crate::metrics::operation::OperationNames,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("limits", &self.limits)
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// Builds the schema that serves requests, with the first-party app's registered
    /// documents (`trusted_documents`) and whether their rule is enforced (`production`).
    pub fn new(
        services: Services,
        limits: limits::Limits,
        trusted_documents: Option<&icecone_core::trusted_documents::Manifest>,
        production: bool,
    ) -> Self {
        let trusted =
            trusted::TrustedDocuments::new(trusted_documents, production, services.store.clone());
        let registered = registered_operation_names(trusted_documents);
        let build = || {
            Schema::build(
                Query::default(),
                Mutation::default(),
                Subscription::default(),
            )
            .data(services.clone())
        };
        let schema = build().finish();
        let prevalidated = build().validation_mode(ValidationMode::Fast).finish();
        Self {
            schema,
            prevalidated,
            limits,
            documents: documents::Documents::default(),
            trusted,
            metrics: None,
            registered,
        }
    }

    /// The executor counting and timing every request in `instruments`, labelled with
    /// operation names from the schema's root fields and the registered documents.
    pub fn with_metrics(mut self, instruments: crate::metrics::GraphqlMetrics) -> Self {
        let operations = crate::metrics::operation::OperationNames::new(
            &self.sdl(),
            self.registered.iter().map(String::as_str),
        );
        self.metrics = Some(RequestMetrics {
            instruments,
            operations,
        });
        self
    }

    /// Every `operation` label a request may be counted under (none when metrics are off).
    pub fn operation_labels(&self) -> Vec<String> {
        self.metrics
            .as_ref()
            .map(|metrics| {
                metrics
                    .operations
                    .all()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs one request: its persisted document resolved and the trusted-documents rule
    /// applied ([`Executor::admit`]), refused with `QUERY_TOO_COMPLEX` when over a limit
    /// (nothing runs), and every error of the answer carries a code.
    pub async fn execute(&self, request: Request) -> Response {
        let Some(metrics) = &self.metrics else {
            return self.execute_labelled(request, None).await;
        };
        let started = Instant::now();
        let mut operation = None;
        let response = self
            .execute_labelled(request, Some((&metrics.operations, &mut operation)))
            .await;
        let code = error::ErrorCode::of_response(&response)
            .map_or(crate::metrics::OK, error::ErrorCode::as_str);
        metrics.instruments.record(
            operation.unwrap_or_else(|| metrics.operations.other()),
            code,
            started,
        );
        response
    }

    /// [`Executor::execute`], writing the request's operation label into `label` once its
    /// document is known, when asked to.
    async fn execute_labelled(
        &self,
        request: Request,
        label: Option<(
            &crate::metrics::operation::OperationNames,
            &mut Option<Arc<str>>,
        )>,
    ) -> Response {
        let trusted::Admitted {
            mut request,
            registered,
        } = match self.trusted.admit(request).await {
            Ok(admitted) => admitted,
            Err(error) => return refused(error),
        };
        // An operation that passed full validation before runs under fast validation: a
        // registered one by its hash, another by its text when it has no variables.
        let fast = match registered {
            Some(hash) => self
                .trusted
                .is_validated(&(hash, request.operation_name.clone())),
            None => self.documents.attach(&mut request) == documents::Attached::Validated,
        };
        let mut prepared = limits::prepare(request, &self.limits);
        if let (Ok(request), Some((operations, label))) = (&mut prepared, label) {
            let operation_name = request.operation_name.clone();
            if let Ok(document) = request.parsed_query() {
                *label = Some(operations.label(
                    document,
                    operation_name.as_deref(),
                    registered.is_some(),
                ));
            }
        }
        let mut response = match prepared {
            Ok(request) if fast => self.prevalidated.execute(request).await,
            Ok(mut request) => {
                let remember = match registered {
                    Some(hash) => Remember::Registered((hash, request.operation_name.clone())),
                    None => {
                        self.documents.keep(&mut request);
                        self.documents
                            .validation_key(&request)
                            .map_or(Remember::Nothing, Remember::Text)
                    }
                };
                let response = self.schema.execute(request).await;
                if !is_request_error(&response) {
                    match remember {
                        Remember::Registered(key) => self.trusted.mark_validated(key),
                        Remember::Text(key) => self.documents.mark_validated(key),
                        Remember::Nothing => {}
                    }
                }
                response
            }
            Err(error) => Response::from_errors(vec![error]),
        };
        error::finish_response(&mut response);
        response
    }

    /// Runs a batch, one request after the other.
    pub async fn execute_batch(&self, batch: BatchRequest) -> BatchResponse {
        match batch {
            BatchRequest::Single(request) => BatchResponse::Single(self.execute(request).await),
            BatchRequest::Batch(requests) => {
                let mut responses = Vec::with_capacity(requests.len());
                for request in requests {
                    responses.push(self.execute(request).await);
                }
                BatchResponse::Batch(responses)
            }
        }
    }

    /// The registered text of a persisted document's hash, if any.
    pub fn trusted_text(
        &self,
        hash: &icecone_core::trusted_documents::DocumentHash,
    ) -> Option<&str> {
        self.trusted.text_of(hash)
    }

    /// The sorted SDL of the schema.
    pub fn sdl(&self) -> String {
        sdl_of(&self.schema)
    }

    /// Resolves a request's persisted document and applies the trusted-documents rule
    /// (`trusted`), as [`Executor::execute`] does: what a transport calls before
    /// [`Executor::subscribe`] or before looking at the operation it would run.
    pub async fn admit(&self, request: Request) -> Result<Request, Response> {
        match self.trusted.admit(request).await {
            Ok(admitted) => Ok(admitted.request),
            Err(error) => Err(refused(error)),
        }
    }

    /// Runs one subscription (or any operation) as a stream of answers, through the same
    /// document cache, limits and error codes as [`Executor::execute`]: what `/graphql/ws`
    /// runs each `subscribe` with, after [`Executor::admit`].
    pub fn subscribe(&self, mut request: Request) -> BoxStream<'static, Response> {
        self.documents.attach(&mut request);
        let stream = match limits::prepare(request, &self.limits) {
            Ok(mut request) => {
                self.documents.keep(&mut request);
                self.schema.execute_stream(request)
            }
            Err(error) => {
                futures_util::stream::once(std::future::ready(Response::from_errors(vec![error])))
                    .boxed()
            }
        };
        stream
            .map(|mut response| {
                error::finish_response(&mut response);
                response
            })
            .boxed()
    }
}

/// The names of the operations the trusted-documents manifest registers.
fn registered_operation_names(
    manifest: Option<&icecone_core::trusted_documents::Manifest>,
) -> Vec<String> {
    let mut names: Vec<String> = manifest
        .into_iter()
        .flat_map(|manifest| manifest.iter())
        .filter_map(|(_, text)| async_graphql::parser::parse_query(text).ok())
        .flat_map(|document| match document.operations {
            async_graphql::parser::types::DocumentOperations::Single(_) => Vec::new(),
            async_graphql::parser::types::DocumentOperations::Multiple(operations) => operations
                .into_keys()
                .map(|name| name.to_string())
                .collect(),
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Where a request's passing full validation is remembered.
enum Remember {
    /// A registered document's operation.
    Registered(trusted::Validated),
    /// An unregistered document's operation, asked without variables.
    Text((String, Option<String>)),
    /// Nowhere (variables, or a text too long to cache).
    Nothing,
}

/// The answer to a request refused before it ran.
fn refused(error: async_graphql::ServerError) -> Response {
    let mut response = Response::from_errors(vec![error]);
    error::finish_response(&mut response);
    response
}

/// A request error: nothing was executed, so there is no data and no error has a path.
pub(crate) fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The SDL of the schema, sorted so that it is stable: what `icecone schema` prints, what
/// `GET /schema.graphql` serves, and what the committed `schema.graphql` must equal.
pub fn sdl() -> String {
    let schema = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish();
    sdl_of(&schema)
}

fn sdl_of(schema: &AppSchema) -> String {
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
