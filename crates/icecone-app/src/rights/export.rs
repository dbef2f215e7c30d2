//! The export job (`rights.export`, GDPR Art. 15 and 20): one bundle of everything IceCone
//! holds about a person, as a ZIP — `export.json`, valid against the published JSON Schema
//! `docs/schemas/export-v1.schema.json` (served at `/schemas/export-v1.json`), and each
//! generation's media beside it as `media/<generation-id>.<ext>`.
//!
//! | step | what it does | resumed after a crash |
//! | --- | --- | --- |
//! | `build` | moves the request to `IN_PROGRESS`, reads and decrypts the person's data and writes the ZIP as it goes — sealed under the person's key in chunks of [`CHUNK_BYTES`], each stored as soon as it is full — then completes the request with the digest of its download link; queues the "export ready" notification | a request already completed or closed is left as it is: nothing is built twice; chunks of an unfinished build are deleted and the build starts over |
//!
//! **Bounded memory.** Nothing holds the whole bundle: the media are written first, one
//! generation at a time, in slices of [`SLICE_BYTES`]; then `export.json`, streamed (one
//! page of [`PAGE`] generations decrypted at a time); the ZIP writer's output is sealed and
//! stored a chunk at a time. What the build holds at once is one media file (at most
//! `max_output_bytes`, like the generation that made it), one page of generations' text,
//! one chunk and the smaller sections of `export.json`. The download ([`chunks`]) opens and
//! sends one chunk at a time. Each chunk is bound to its request and position, the last
//! one as last, so chunks cannot be reordered, swapped between requests or cut off.
//!
//! The download link's token is derived from the request id with a key of the vault (a
//! keyed hash, 32 bytes, base64url): only its SHA-256 digest is stored, and the owner is
//! shown the link again (`DataRequest.downloadUrl`) while it is valid and unused without the
//! token ever being written down. The bundle is deleted when the link is used or expires
//! (`Store::purge_expired_exports`, run by [`crate::retention::housekeeping`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use icecone_core::consent::background::StepUse;
use icecone_core::consent::ledger::Change;
use icecone_core::rights::{DataRequestEvent, DataRequestStatus, transition};
use icecone_store::Store;
use icecone_store::accounts::{AccountKind, AccountRecord};
use icecone_store::data_requests::{DataRequestRecord, SealedExport, Transition};
use icecone_store::generations::{GenerationPosition, GenerationRecord};
use icecone_store::jobs::JobRecord;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{SYSTEM, now, reason_field};
use crate::accounts;
use crate::audit::{self, AuditEvent};
use crate::generation::Generations;
use crate::jobs::{JobHandler, Leased, Outcome, Step};
use crate::keys::vault::{Field, Vault};
use crate::notify::{self, NotificationKind};
use crate::providers::router::Router;
use crate::settings::RightsConfig;

/// The kind of the job.
pub const KIND: &str = "rights.export";
/// Its one step.
pub const BUILD: &str = "build";
/// What its step does with the person's data: building their export is their own right
/// (GDPR Art. 15 and 20), which a restriction does not hold back.
pub const STEPS: &[Step] = &[Step {
    name: BUILD,
    uses: StepUse::OwnRights,
}];
/// Claims without progress before the job fails (the request then stays open, and DPO
/// staff see it in their queue as it nears its due date).
pub const MAX_ATTEMPTS: u32 = 5;
/// The `schema` of `export.json`: the path its JSON Schema is served at.
pub const SCHEMA: &str = "/schemas/export-v1.json";
/// The JSON Schema itself, as published.
pub const SCHEMA_JSON: &str = include_str!("../../../../docs/schemas/export-v1.schema.json");
/// The blind-index purpose the download token is derived under.
const LINK_PURPOSE: &str = "rights.export_link";
/// Generations read per page while building.
pub const PAGE: u64 = 200;
/// Plaintext bytes of the ZIP sealed and stored per chunk.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Bytes of a media file written to the ZIP at once.
pub const SLICE_BYTES: usize = 64 * 1024;

/// The binding of a stored export bundle sealed whole (made before bundles were chunked).
fn bundle_field(request: &str) -> Field<'_> {
    Field {
        table: "data_exports",
        column: "sealed",
        row_id: request,
    }
}

/// What chunk `seq` of request `request`'s bundle is bound to: its request and position,
/// and whether it is the last.
fn chunk_row(request: Uuid, seq: u32, last: bool) -> String {
    if last {
        format!("{request}:{seq}:last")
    } else {
        format!("{request}:{seq}")
    }
}

fn chunk_field(row: &str) -> Field<'_> {
    Field {
        table: "data_export_chunks",
        column: "sealed",
        row_id: row,
    }
}

/// The download token of request `id` (base64url of 32 bytes).
pub fn link_token(vault: &Vault, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(vault.blind_index(LINK_PURPOSE, id.as_bytes()))
}

/// The download path of request `id`.
pub fn download_path(vault: &Vault, id: Uuid) -> String {
    format!("/exports/{}", link_token(vault, id))
}

/// Opens a bundle of `owner`'s request `id` that was stored whole.
pub async fn open_bundle(
    vault: &Vault,
    owner: &AccountRecord,
    id: Uuid,
    sealed: &[u8],
) -> anyhow::Result<Vec<u8>> {
    Ok(vault
        .open_field(owner.subject, bundle_field(&id.to_string()), sealed)
        .await?
        .to_vec())
}

/// The file extension of a media type.
fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/png" => "png",
        "image/apng" => "apng",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        _ => "bin",
    }
}

fn change_json(change: &Change) -> Value {
    match change {
        Change::Consent { purpose, granted } => {
            json!({ "change": "CONSENT", "purpose": purpose.as_str(), "granted": granted })
        }
        Change::Objection { purpose } => {
            json!({ "change": "OBJECTION", "purpose": purpose.as_str() })
        }
        Change::Restriction { restricted } => {
            json!({ "change": "RESTRICTION", "restricted": restricted })
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn time_opt(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(time(at)))
}

/// What the ZIP writer wrote and the packer has not stored yet.
#[derive(Debug, Clone, Default)]
struct Spool(Arc<Mutex<Vec<u8>>>);

impl Spool {
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Takes the first `n` bytes (all when fewer).
    fn take(&self, n: usize) -> Vec<u8> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = n.min(buffer.len());
        buffer.drain(..n).collect()
    }
}

impl Write for Spool {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Seals chunks of a request's bundle under the owner's key and stores them in order.
struct Chunks<'a> {
    store: &'a Store,
    vault: &'a Vault,
    owner: &'a AccountRecord,
    request: Uuid,
    next: u32,
}

impl Chunks<'_> {
    async fn put(&mut self, plain: &[u8], last: bool) -> anyhow::Result<()> {
        let row = chunk_row(self.request, self.next, last);
        let sealed = self
            .vault
            .seal(self.owner.subject, chunk_field(&row), plain)
            .await?;
        self.store
            .store_export_chunk(self.request, self.owner.id, self.next, sealed)
            .await?;
        self.next += 1;
        Ok(())
    }
}

/// Writes a ZIP as a stream and stores it a chunk at a time, as it is produced.
struct Packer<'a> {
    zip: zip::ZipWriter<zip::write::StreamWriter<Spool>>,
    spool: Spool,
    chunks: Chunks<'a>,
}

impl<'a> Packer<'a> {
    fn new(chunks: Chunks<'a>) -> Self {
        let spool = Spool::default();
        Self {
            zip: zip::ZipWriter::new_stream(spool.clone()),
            spool,
            chunks,
        }
    }

    /// Stores every full chunk the writer has produced, keeping the rest (never empty
    /// once anything was written, so that the last chunk is stored by [`Packer::finish`]).
    async fn drain(spool: &Spool, chunks: &mut Chunks<'_>) -> anyhow::Result<()> {
        while spool.len() > CHUNK_BYTES {
            let chunk = spool.take(CHUNK_BYTES);
            chunks.put(&chunk, false).await?;
        }
        Ok(())
    }

    fn start(&mut self, name: &str, deflated: bool) -> anyhow::Result<()> {
        use zip::CompressionMethod;
        use zip::write::SimpleFileOptions;
        let options = if deflated {
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
        } else {
            // Media are compressed already.
            SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(false)
        };
        self.zip.start_file(name, options)?;
        Ok(())
    }

    /// Writes `bytes` to the open entry, a slice at a time.
    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        for slice in bytes.chunks(SLICE_BYTES) {
            self.zip.write_all(slice)?;
            Self::drain(&self.spool, &mut self.chunks).await?;
        }
        Ok(())
    }

    /// Writes `value` as JSON to the open entry.
    async fn json(&mut self, value: &Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.zip, value)?;
        Self::drain(&self.spool, &mut self.chunks).await
    }

    /// Ends the archive and stores what is left as the last chunk; returns how many
    /// chunks the bundle has.
    async fn finish(self) -> anyhow::Result<u32> {
        let Self {
            zip,
            spool,
            mut chunks,
        } = self;
        zip.finish()?;
        Self::drain(&spool, &mut chunks).await?;
        let last = spool.take(usize::MAX);
        chunks.put(&last, true).await?;
        Ok(chunks.next)
    }
}

/// The chunks of `owner`'s bundle of request `id`, opened one at a time and in order. The
/// bundle is deleted from the store before the last chunk is handed over, or when the
/// stream is dropped before its end (the link was spent already). A chunk missing, out of
/// place or not the last where the bundle should end fails the stream.
pub fn chunks(
    store: Store,
    vault: Arc<Vault>,
    owner: AccountRecord,
    id: Uuid,
    count: u32,
) -> impl Stream<Item = anyhow::Result<Vec<u8>>> + Send + 'static {
    /// Deletes the bundle when a download is dropped before its end.
    struct Cleanup {
        store: Store,
        id: Uuid,
        armed: bool,
    }
    impl Cleanup {
        async fn now(mut self) {
            self.armed = false;
            if let Err(error) = self.store.delete_export(self.id).await {
                tracing::warn!(
                    error = %crate::error_chain(&error),
                    "a downloaded export could not be deleted (the purge will)"
                );
            }
        }
    }
    impl Drop for Cleanup {
        fn drop(&mut self) {
            if !self.armed {
                return;
            }
            let (store, id) = (self.store.clone(), self.id);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { store.delete_export(id).await });
            }
        }
    }
    let cleanup = Cleanup {
        store: store.clone(),
        id,
        armed: true,
    };
    futures_util::stream::unfold(Some((0_u32, cleanup)), move |state| {
        let (store, vault, owner) = (store.clone(), vault.clone(), owner.clone());
        async move {
            let (seq, cleanup) = state?;
            if seq >= count {
                cleanup.now().await;
                return None;
            }
            let last = seq + 1 == count;
            let opened = async {
                let sealed = store
                    .export_chunk(owner.id, id, seq)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("a chunk of an export is missing"))?;
                let row = chunk_row(id, seq, last);
                let plain = vault
                    .open_field(owner.subject, chunk_field(&row), &sealed)
                    .await?;
                anyhow::Ok(plain.to_vec())
            }
            .await;
            match opened {
                Ok(plain) if last => {
                    cleanup.now().await;
                    Some((Ok(plain), None))
                }
                Ok(plain) => Some((Ok(plain), Some((seq + 1, cleanup)))),
                Err(error) => Some((Err(error), None)),
            }
        }
    })
}

/// The handler of `rights.export` jobs.
#[derive(Debug)]
pub struct ExportJobs {
    store: Store,
    vault: Arc<Vault>,
    generations: Arc<Generations>,
    router: Arc<Router>,
    config: RightsConfig,
}

impl ExportJobs {
    /// The handler over the store and the vault, reading the person's generations through
    /// the pipeline (decrypted) and what each provider received from the router's
    /// effective policies; `config` sets how long a download link works.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        generations: Arc<Generations>,
        router: Arc<Router>,
        config: RightsConfig,
    ) -> Self {
        Self {
            store,
            vault,
            generations,
            router,
            config,
        }
    }

    async fn build(&self, job: &JobRecord) -> anyhow::Result<Outcome> {
        let Ok(id) = Uuid::try_parse(&job.subject) else {
            anyhow::bail!("an export job without a request id");
        };
        let store = &self.store;
        let Some(mut request) = store.data_request(id).await? else {
            return Ok(Outcome::Failed {
                code: "REQUEST_GONE",
            });
        };
        if !request.status.is_open() {
            return Ok(Outcome::Done);
        }
        if request.status == DataRequestStatus::Received {
            let target = super::audit_target(request.account, id);
            audit::record(
                store,
                &self.vault,
                AuditEvent {
                    actor: SYSTEM,
                    action: "data_request.start",
                    target: Some(&target),
                    reason: None,
                    request_id: None,
                },
            )
            .await?;
            let started = Transition {
                from: request.status,
                to: transition(request.status, DataRequestEvent::Start)?,
                at: now(),
                actor: SYSTEM,
                note_code: Some("export_started"),
            };
            store.transition_data_request(id, &started).await?;
            let Some(reread) = store.data_request(id).await? else {
                return Ok(Outcome::Failed {
                    code: "REQUEST_GONE",
                });
            };
            request = reread;
            if !request.status.is_open() {
                return Ok(Outcome::Done);
            }
        }
        let Some(owner) = store.account(request.account).await? else {
            return Ok(Outcome::Failed {
                code: "ACCOUNT_GONE",
            });
        };
        // What an earlier, unfinished attempt stored goes first.
        store.delete_export_chunks(id).await?;
        let mut packer = Packer::new(Chunks {
            store,
            vault: &self.vault,
            owner: &owner,
            request: id,
            next: 0,
        });
        let media = self.write_media(&mut packer, &owner).await?;
        packer.start("export.json", true)?;
        self.write_document(&mut packer, &owner, &media).await?;
        let chunks = packer.finish().await?;
        let token = link_token(&self.vault, id);
        let ttl = chrono::TimeDelta::from_std(self.config.export_link_ttl)
            .unwrap_or(chrono::TimeDelta::MAX);
        let at = now();
        let done = Transition {
            from: request.status,
            to: transition(request.status, DataRequestEvent::Complete)?,
            at,
            actor: SYSTEM,
            note_code: Some("export_ready"),
        };
        // Recorded before the change, like every step (a retry may record it twice).
        let target = super::audit_target(owner.id, id);
        audit::record(
            store,
            &self.vault,
            AuditEvent {
                actor: SYSTEM,
                action: "data_request.export_ready",
                target: Some(&target),
                reason: None,
                request_id: None,
            },
        )
        .await?;
        let completed = store
            .complete_export(
                id,
                &done,
                SealedExport {
                    chunks,
                    download_digest: crate::auth::login::digest(&token),
                    expires_at: at
                        .checked_add_signed(ttl)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC),
                },
            )
            .await?;
        if !completed {
            // Changed meanwhile: closed (cancelled, completed by DPO) — nothing more to do —
            // or still open in another status (extended by DPO): built again on the retry.
            let open = store
                .data_request(id)
                .await?
                .is_some_and(|request| request.status.is_open());
            return Ok(if open {
                Outcome::Retry {
                    code: "REQUEST_CHANGED",
                }
            } else {
                Outcome::Done
            });
        }
        notify::enqueue(store, owner.id, NotificationKind::DataExportReady).await?;
        Ok(Outcome::Done)
    }

    /// Writes `export.json` — everything about `owner`, decrypted — to the open entry,
    /// streaming the generations a page at a time; `media` names each generation's media
    /// file already in the archive.
    async fn write_document(
        &self,
        packer: &mut Packer<'_>,
        owner: &AccountRecord,
        media: &HashMap<Uuid, String>,
    ) -> anyhow::Result<()> {
        let store = &self.store;
        let vault = &self.vault;
        let email = accounts::email_of(vault, owner).await?;
        let roles = store.staff_roles(owner.id).await?;
        let mfa = store
            .totp_factor(owner.id)
            .await?
            .is_some_and(|factor| factor.confirmed_at.is_some());
        let account = json!({
            "id": owner.id.to_string(),
            "email": email,
            "emailVerifiedAt": time_opt(owner.email_verified_at),
            "kind": match owner.kind { AccountKind::User => "USER", AccountKind::Staff => "STAFF" },
            "plan": owner.plan.as_str(),
            "policyVersion": owner.policy_version,
            "createdAt": time(owner.created_at),
            "suspendedAt": time_opt(owner.suspended_at),
            "mfaEnabled": mfa,
            "staffRoles": roles,
            "promptMinimization": owner.minimize_prompts,
        });

        let consent: Vec<Value> = store
            .consent_entries(owner.id)
            .await?
            .iter()
            .map(|entry| {
                let mut value = change_json(&entry.change);
                value["policyVersion"] = json!(entry.policy_version);
                value["source"] = json!(entry.source.as_str());
                value["at"] = json!(time(entry.at));
                value
            })
            .collect();

        let sessions: Vec<Value> = store
            .sessions_of(owner.id)
            .await?
            .into_iter()
            .map(|session| {
                json!({
                    "id": session.id.to_string(),
                    "createdAt": time(session.created_at),
                    "authenticatedAt": time(session.auth_time),
                    "lastRefreshedAt": time(session.last_refreshed_at),
                    "secondFactorAt": time_opt(session.mfa_at),
                    "methods": session.amr,
                    "revokedAt": time_opt(session.revoked_at),
                    "revokedReason": session.revoked_reason,
                })
            })
            .collect();

        let mut requests = Vec::new();
        for request in store.data_requests_of(owner.id).await? {
            requests.push(self.request_json(owner, &request).await?);
        }

        let tickets: Vec<Value> = super::tickets::read_of(store, vault, owner)
            .await?
            .into_iter()
            .map(|ticket| {
                // The history without the staff member who acted: the person is answered
                // by "the Data Protection Officer", never by a named employee.
                let history: Vec<Value> = ticket
                    .history
                    .iter()
                    .map(|event| {
                        json!({
                            "at": time(event.at),
                            "kind": event.kind.as_str(),
                            "reply": event.reply,
                        })
                    })
                    .collect();
                json!({
                    "id": ticket.id.to_string(),
                    "receivedAt": time(ticket.received_at),
                    "replyEmail": ticket.email,
                    "subject": ticket.subject,
                    "message": ticket.message,
                    "status": ticket.status.as_str(),
                    "history": history,
                })
            })
            .collect();

        let mut audit_entries = Vec::new();
        for entry in audit::entries_of_account(store, vault, owner.id).await? {
            audit_entries.push(json!({
                "seq": entry.seq,
                "at": time(entry.at),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "reason": entry.reason,
            }));
        }

        let mut grants = Vec::new();
        for grant in store.partner_grants_of(owner.id).await? {
            let partner = store.partner(grant.partner).await?;
            grants.push(json!({
                "id": grant.id.to_string(),
                "partnerId": grant.partner.to_string(),
                "partnerName": partner.map(|partner| partner.name),
                "scopes": grant.scopes.scopes().iter().map(|scope| scope.as_str()).collect::<Vec<_>>(),
                "grantedAt": time(grant.granted_at),
                "revokedAt": time_opt(grant.revoked_at),
            }));
        }

        let usage: Vec<Value> = store
            .usage_counters_of(owner.id)
            .await?
            .into_iter()
            .map(|(period, usage)| {
                json!({
                    "period": period,
                    "tokens": usage.tokens,
                    "images": usage.images,
                    "videoSeconds": usage.video_seconds,
                })
            })
            .collect();

        // Which notices were queued for the person and when they went out; never what a
        // message carries (a verification link's token is a credential, not information).
        let mut queued = store.notifications_of(owner.id).await?;
        // The DPO's replies to messages the person sent from their verified address
        // without an account.
        if let Some(index) = super::tickets::verified_address_index(owner) {
            queued.extend(store.notifications_to_address(index).await?);
            queued.sort_by_key(|notification| std::cmp::Reverse(notification.created_at));
        }
        let notifications: Vec<Value> = queued
            .into_iter()
            .map(|notification| {
                json!({
                    "id": notification.id.to_string(),
                    "kind": notification.kind,
                    "queuedAt": time(notification.created_at),
                    "deliveredAt": time_opt(notification.delivered_at),
                })
            })
            .collect();

        // The legal holds placed on the account, with their grounds — never the DPO's note,
        // which the person is not told either.
        let legal_holds: Vec<Value> = store
            .legal_holds_of(owner.id)
            .await?
            .into_iter()
            .map(|hold| {
                json!({
                    "id": hold.id.to_string(),
                    "ground": hold.ground,
                    "setAt": time(hold.set_at),
                    "releasedAt": time_opt(hold.released_at),
                })
            })
            .collect();

        // Disclosures required by law, once the person may be shown them (never one under
        // a live confidentiality order): the same decision as `me { disclosures }`.
        let legal_disclosures: Vec<Value> =
            crate::disclosures::shown_to(store, vault, owner.id, now())
                .await?
                .into_iter()
                .map(|shown| {
                    json!({
                        "id": shown.id.to_string(),
                        "authorityName": shown.authority_name,
                        "authorityType": shown.authority_type.as_str(),
                        "legalBasis": shown.legal_basis,
                        "reference": shown.reference,
                        "categories": shown.categories.iter().map(|category| category.as_str()).collect::<Vec<_>>(),
                        "requestedAt": time(shown.requested_at),
                        "disclosedAt": time(shown.disclosed_at),
                        "confidentialUntil": time_opt(shown.confidential_until),
                    })
                })
                .collect();

        // Analytics: what is still linkable to the person (their events of each day whose
        // key lives) and what is not (everything aggregated); and their ratings.
        let about = crate::analytics::about(store, vault, owner.id).await?;
        let analytics = json!({
            "statement": crate::analytics::EXPORT_STATEMENT,
            "linkableEvents": about
                .linkable_events
                .iter()
                .map(|(day, events)| json!({ "day": day.to_string(), "events": events }))
                .collect::<Vec<_>>(),
        });
        let ratings: Vec<Value> = store
            .ratings_of(owner.id)
            .await?
            .into_iter()
            .map(|rating| {
                json!({
                    "generationId": rating.generation.to_string(),
                    "kind": rating.kind.as_str(),
                    "provider": rating.provider,
                    "rating": rating.rating.as_str(),
                    "ratedAt": time(rating.rated_at),
                })
            })
            .collect();

        // Billing: the plan, the subscription as last observed, the invoices. Stripe's
        // customer and subscription ids are included: they are the person's references
        // at Stripe, where the rest of their payment data is (its Customer Portal).
        let overview = crate::billing::overview(store, owner.id, owner.plan).await?;
        let customer = store.billing_customer(owner.id).await?;
        let billing = json!({
            "plan": owner.plan.as_str(),
            "stripeCustomerId": customer.as_ref().and_then(|customer| customer.customer_id.clone()),
            "subscriptionId": customer.as_ref().and_then(|customer| customer.subscription_id.clone()),
            "status": overview.status.map(|status| status.as_str()),
            "renewsOn": time_opt(overview.renews_on),
            "invoices": overview
                .invoices
                .iter()
                .map(|invoice| {
                    json!({
                        "id": invoice.id,
                        "amount": invoice.amount,
                        "currency": invoice.currency,
                        "issuedAt": time(invoice.issued_at),
                        "status": invoice.status,
                    })
                })
                .collect::<Vec<_>>(),
        });

        // Written as it goes, a key at a time: the generations and the providers' share
        // of them are read in pages between the other sections.
        let head = [
            ("schema", json!(SCHEMA)),
            ("generatedAt", json!(time(now()))),
            ("account", account),
            ("consentHistory", Value::Array(consent)),
        ];
        packer.write(b"{").await?;
        for (key, value) in head {
            packer.json(&json!(key)).await?;
            packer.write(b":").await?;
            packer.json(&value).await?;
            packer.write(b",").await?;
        }
        packer.write(b"\"generations\":[").await?;
        self.each_generation(owner, packer, true, |record, prompt, text| {
            generation_json(record, prompt, text, media.get(&record.id))
        })
        .await?;
        packer.write(b"]").await?;
        let tail = [
            ("sessions", Value::Array(sessions)),
            ("dataRequests", Value::Array(requests)),
            ("privacyTickets", Value::Array(tickets)),
            ("auditEntries", Value::Array(audit_entries)),
            ("partnerGrants", Value::Array(grants)),
            ("usage", Value::Array(usage)),
            ("notifications", Value::Array(notifications)),
            ("legalHolds", Value::Array(legal_holds)),
            ("legalDisclosures", Value::Array(legal_disclosures)),
            ("analytics", analytics),
            ("ratings", Value::Array(ratings)),
            ("billing", billing),
        ];
        for (key, value) in tail {
            packer.write(b",").await?;
            packer.json(&json!(key)).await?;
            packer.write(b":").await?;
            packer.json(&value).await?;
        }
        packer.write(b",\"providerDisclosures\":[").await?;
        let router = &self.router;
        self.each_generation(owner, packer, false, |record, _, _| {
            disclosure_json(router, record)
        })
        .await?;
        packer.write(b"]}").await
    }

    /// Writes one JSON value per generation of `owner` (`make` given the record and, when
    /// `decrypt`, its prompt and text), comma-separated, reading a page of [`PAGE`] at a
    /// time.
    async fn each_generation(
        &self,
        owner: &AccountRecord,
        packer: &mut Packer<'_>,
        decrypt: bool,
        make: impl Fn(&GenerationRecord, Option<&str>, Option<&str>) -> Value,
    ) -> anyhow::Result<()> {
        let generations = &self.generations;
        let mut after = None;
        let mut first = true;
        loop {
            let page = generations.page(owner.id, after, PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(GenerationPosition {
                created_at: last.created_at,
                id: last.id,
            });
            for record in &page {
                let (prompt, text) = if decrypt {
                    (
                        Some(generations.prompt(owner.subject, record).await?),
                        generations.text(owner.subject, record).await?,
                    )
                } else {
                    (None, None)
                };
                if !first {
                    packer.write(b",").await?;
                }
                first = false;
                packer
                    .json(&make(record, prompt.as_deref(), text.as_deref()))
                    .await?;
            }
        }
        Ok(())
    }

    async fn request_json(
        &self,
        owner: &AccountRecord,
        request: &DataRequestRecord,
    ) -> anyhow::Result<Value> {
        let reason = match &request.extension_reason_sealed {
            Some(sealed) => {
                let plain = self
                    .vault
                    .open_field(owner.subject, reason_field(&request.id.to_string()), sealed)
                    .await?;
                Some(String::from_utf8_lossy(&plain).into_owned())
            }
            None => None,
        };
        let history: Vec<Value> = self
            .store
            .data_request_events(request.id)
            .await?
            .into_iter()
            .map(|event| {
                json!({
                    "at": time(event.at),
                    "from": event.from.map(|status| status.as_str()),
                    "to": event.to.as_str(),
                    "actor": event.actor,
                    "note": event.note_code,
                })
            })
            .collect();
        Ok(json!({
            "id": request.id.to_string(),
            "kind": request.kind.as_str(),
            "status": request.status.as_str(),
            "receivedAt": time(request.received_at),
            "dueAt": time(request.due_at),
            "extendedDueAt": time_opt(request.extended_due_at),
            "extensionReason": reason,
            "completedAt": time_opt(request.completed_at),
            "history": history,
        }))
    }

    /// Writes the media of `owner`'s generations to the archive, one file at a time
    /// (`media/<generation-id>.<ext>`, stored: they are compressed already); returns each
    /// written file's name by generation.
    async fn write_media(
        &self,
        packer: &mut Packer<'_>,
        owner: &AccountRecord,
    ) -> anyhow::Result<HashMap<Uuid, String>> {
        let generations = &self.generations;
        let mut names = HashMap::new();
        let mut after = None;
        loop {
            let page = generations.page(owner.id, after, PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(GenerationPosition {
                created_at: last.created_at,
                id: last.id,
            });
            // Only a generation with a media type has media bytes to read.
            for record in page.iter().filter(|record| record.media_type.is_some()) {
                let Some(found) = generations.media(owner, record.id).await? else {
                    continue;
                };
                let name = format!("media/{}.{}", record.id, extension(&found.media_type));
                packer.start(&name, false)?;
                packer.write(&found.bytes).await?;
                names.insert(record.id, name);
            }
        }
        Ok(names)
    }
}

/// A generation in `export.json`, with its prompt and text decrypted and the name of its
/// media file in the archive.
fn generation_json(
    record: &GenerationRecord,
    prompt: Option<&str>,
    text: Option<&str>,
    media_file: Option<&String>,
) -> Value {
    json!({
        "id": record.id.to_string(),
        "kind": record.kind.as_str(),
        "status": record.status.as_str(),
        "provider": record.provider.as_str(),
        "createdAt": time(record.created_at),
        "completedAt": time_opt(record.completed_at),
        "prompt": prompt,
        "text": text,
        "mediaFile": media_file,
        "mediaType": record.media_type,
        "errorCode": record.error_code,
        "remoteCopy": record.remote_copy.map(|copy| copy.as_str()),
        "usage": {
            "tokens": record.usage.tokens,
            "images": record.usage.images,
            "videoSeconds": record.usage.video_seconds,
        },
        "redactions": record.redactions.as_ref().map(|redactions| {
            redactions
                .as_slice()
                .iter()
                .map(|redaction| json!({ "kind": redaction.kind.as_str(), "count": redaction.count }))
                .collect::<Vec<_>>()
        }),
    })
}

/// What the provider of a generation received: the data categories its policy declares.
fn disclosure_json(router: &Router, record: &GenerationRecord) -> Value {
    let categories: Vec<&str> = router
        .entry(&record.provider)
        .map(|entry| {
            entry
                .effective()
                .data_categories
                .iter()
                .map(|category| category.as_str())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "provider": record.provider.as_str(),
        "generationId": record.id.to_string(),
        "kind": record.kind.as_str(),
        "at": time(record.created_at),
        "dataCategories": categories,
    })
}

impl JobHandler for ExportJobs {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn steps(&self) -> &'static [Step] {
        STEPS
    }

    fn run<'a>(&'a self, job: &'a mut Leased<'_>) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        Box::pin(async move { self.build(job.record()).await })
    }

    fn give_up<'a>(
        &'a self,
        job: &'a JobRecord,
        code: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // The request stays open: DPO staff see it in `dataRequests` and can complete
            // it by hand before its due date. What the build stored of it goes.
            tracing::error!(code, "an export could not be built");
            if let Ok(id) = Uuid::try_parse(&job.subject) {
                self.store.delete_export_chunks(id).await?;
            }
            Ok(())
        })
    }
}
