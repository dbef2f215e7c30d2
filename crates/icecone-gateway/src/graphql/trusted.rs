//! Trusted documents (persisted operations) on the request path: a request may name a
//! registered document by its hash (Apollo's APQ wire format,
//! `"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`, over POST
//! and GET) instead of sending it, and core's
//! [`admission`](icecone_core::trusted_documents::admission) decides who may run a document
//! that is not registered.
//!
//! | request | answer |
//! | --- | --- |
//! | hash of a registered document, no `query` | the registered document runs |
//! | hash not registered, no `query` | `PERSISTED_QUERY_NOT_FOUND`, message `PersistedQueryNotFound` (APQ clients then send the text) |
//! | hash and a `query` whose SHA-256 differs | `BAD_USER_INPUT` (`provided sha does not match query`) |
//! | a `query` (with or without its hash) | runs when registered or when `admission` allows it, else `TRUSTED_DOCUMENT_REQUIRED` |
//!
//! Nothing is ever registered by a request: a deployment's registered documents are its
//! manifest's (`trusted_documents_file`). Their parsed documents are made once at start-up.

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, Value};
use icecone_app::auth::viewer::Viewer;
use icecone_core::trusted_documents::{Admission, Caller, DocumentHash, Manifest, admission};
use icecone_store::Store;

use super::error::ApiError;

/// The key of Apollo's APQ extension in a request's `extensions`.
pub(crate) const PERSISTED_QUERY: &str = "persistedQuery";

/// The registered documents, parsed, and whether the rule is enforced.
pub(crate) struct TrustedDocuments {
    /// The manifest's documents by hash, each with its text and parsed document.
    documents: Option<HashMap<DocumentHash, (Arc<str>, ExecutableDocument)>>,
    production: bool,
    store: Arc<Store>,
    /// The registered documents, by operation name, that passed async-graphql's full
    /// validation once: they run under its fast validation after that (see `Executor`).
    validated: Mutex<HashSet<Validated>>,
}

/// A registered document and the operation of it that was run.
pub(crate) type Validated = (DocumentHash, Option<String>);

/// A request ready to run, and whether its document is registered.
pub(crate) struct Admitted {
    /// The request, its document resolved (and parsed, when registered).
    pub(crate) request: Request,
    /// The hash of its document, when registered.
    pub(crate) registered: Option<DocumentHash>,
}

impl std::fmt::Debug for TrustedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedDocuments")
            .field("registered", &self.documents.as_ref().map(HashMap::len))
            .field("production", &self.production)
            .finish_non_exhaustive()
    }
}

/// What a request's `persistedQuery` extension asks for.
fn requested_hash(request: &mut Request) -> Result<Option<DocumentHash>, ApiError> {
    let Some(extension) = request.extensions.0.remove(PERSISTED_QUERY) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::BadUserInput(
            "`extensions.persistedQuery` must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}"
                .to_owned(),
        )
    };
    let Value::Object(fields) = extension else {
        return Err(invalid());
    };
    let version_one =
        matches!(fields.get("version"), Some(Value::Number(n)) if n.as_u64() == Some(1));
    let Some(Value::String(hash)) = fields.get("sha256Hash") else {
        return Err(invalid());
    };
    if !version_one {
        return Err(invalid());
    }
    DocumentHash::parse(hash).map(Some).map_err(|_| invalid())
}

impl TrustedDocuments {
    /// The manifest's documents parsed once (the configuration checked that they parse).
    pub(crate) fn new(manifest: Option<&Manifest>, production: bool, store: Arc<Store>) -> Self {
        let documents = manifest.map(|manifest| {
            manifest
                .iter()
                .filter_map(|(hash, text)| {
                    let parsed = async_graphql::parser::parse_query(text).ok()?;
                    Some((*hash, (Arc::from(text), parsed)))
                })
                .collect()
        });
        Self {
            documents,
            production,
            store,
            validated: Mutex::new(HashSet::new()),
        }
    }

    /// Whether this registered document's operation passed full validation before.
    pub(crate) fn is_validated(&self, key: &Validated) -> bool {
        self.validated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }

    /// Records that a registered document's operation passed full validation. Only
    /// registered documents are recorded, and only operations they hold pass, so the set
    /// stays as small as the manifest.
    pub(crate) fn mark_validated(&self, key: Validated) {
        self.validated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
    }

    /// Resolves the request's document (the registered text for a bare hash, with its parsed
    /// document) and applies the rule for unregistered documents. The refusal is a request
    /// error: nothing runs.
    pub(crate) async fn admit(&self, mut request: Request) -> Result<Admitted, ServerError> {
        let hash = requested_hash(&mut request).map_err(into_request_error)?;
        let hash = match hash {
            Some(hash) if request.query.is_empty() => {
                let Some((text, parsed)) = self.documents.as_ref().and_then(|d| d.get(&hash))
                else {
                    return Err(into_request_error(ApiError::PersistedQueryNotFound));
                };
                request.query = text.to_string();
                request.set_parsed_query(parsed.clone());
                return Ok(Admitted {
                    request,
                    registered: Some(hash),
                });
            }
            Some(hash) => {
                if DocumentHash::of(&request.query) != hash {
                    return Err(into_request_error(ApiError::BadUserInput(
                        "provided sha does not match query".to_owned(),
                    )));
                }
                Some(hash)
            }
            None if self.documents.is_some() => Some(DocumentHash::of(&request.query)),
            None => None,
        };
        let registered = hash.filter(|hash| self.attach_registered(&mut request, hash));
        let manifest = self.documents.is_some();
        let caller = match viewer(&request) {
            Some(Viewer::Partner(_)) => Caller::Partner,
            Some(Viewer::Account(account)) => {
                // Staff write their own operations in the console; only a person whose
                // document the rule would refuse costs the look-up of their roles.
                let refused = admission(
                    self.production,
                    Caller::Person,
                    manifest,
                    registered.is_some(),
                ) == Admission::TrustedDocumentRequired;
                if refused && self.holds_staff_role(account.account).await? {
                    Caller::Staff
                } else {
                    Caller::Person
                }
            }
            Some(Viewer::Anonymous) | None => Caller::Anonymous,
        };
        match admission(self.production, caller, manifest, registered.is_some()) {
            Admission::Allowed => Ok(Admitted {
                request,
                registered,
            }),
            Admission::TrustedDocumentRequired => {
                Err(into_request_error(ApiError::TrustedDocumentRequired))
            }
        }
    }

    async fn holds_staff_role(&self, account: uuid::Uuid) -> Result<bool, ServerError> {
        let roles = self
            .store
            .staff_roles(account)
            .await
            .map_err(|error| into_request_error(ApiError::Internal(error.into())))?;
        Ok(!roles.is_empty())
    }

    /// Whether `hash` is registered; if so, `request` gets its parsed document.
    fn attach_registered(&self, request: &mut Request, hash: &DocumentHash) -> bool {
        match self.documents.as_ref().and_then(|d| d.get(hash)) {
            Some((_, parsed)) => {
                request.set_parsed_query(parsed.clone());
                true
            }
            None => false,
        }
    }

    /// The registered text of `hash`, for a transport that must know the operation's type
    /// before running it (GET runs queries only).
    pub(crate) fn text_of(&self, hash: &DocumentHash) -> Option<&str> {
        self.documents
            .as_ref()?
            .get(hash)
            .map(|(text, _)| text.as_ref())
    }
}

/// The caller every transport attaches to a request as its data.
fn viewer(request: &Request) -> Option<&Viewer> {
    request
        .data
        .get(&TypeId::of::<Viewer>())
        .and_then(|data| data.downcast_ref::<Viewer>())
}

fn into_request_error(error: ApiError) -> ServerError {
    async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default())
}
