//! The export job (`rights.export`, GDPR Art. 15 and 20): one bundle of everything IceCone
//! holds about a person, as a ZIP — `export.json`, valid against the published JSON Schema
//! `docs/schemas/export-v1.schema.json` (served at `/schemas/export-v1.json`), and each
//! generation's media beside it as `media/<generation-id>.<ext>`.
//!
//! | step | what it does | resumed after a crash |
//! | --- | --- | --- |
//! | `build` | moves the request to `IN_PROGRESS`, reads and decrypts the person's data, writes the ZIP, seals it under the person's key and stores it with the digest of its download link, completing the request in one transaction; queues the "export ready" notification | a request already completed or closed is left as it is: nothing is built twice |
//!
//! The download link's token is derived from the request id with a key of the vault (a
//! keyed hash, 32 bytes, base64url): only its SHA-256 digest is stored, and the owner is
//! shown the link again (`DataRequest.downloadUrl`) while it is valid and unused without the
//! token ever being written down. The bundle is deleted when the link is used or expires
//! ([`spawn_purge`]).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use icecone_core::consent::background::StepUse;
use icecone_core::consent::ledger::Change;
use icecone_core::rights::{DataRequestEvent, DataRequestStatus, transition};
use icecone_store::Store;
use icecone_store::accounts::{AccountKind, AccountRecord};
use icecone_store::data_requests::{DataRequestRecord, SealedExport, Transition};
use icecone_store::generations::GenerationPosition;
use icecone_store::jobs::JobRecord;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{SYSTEM, now, reason_field};
use crate::audit::{self, AuditEvent};
use crate::auth::accounts;
use crate::config::RightsConfig;
use crate::generation::Generations;
use crate::jobs::{JobHandler, Leased, Outcome, Step};
use crate::keys::vault::{Field, Vault};
use crate::notify::{self, NotificationKind};

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
/// How often stored exports whose link expired are deleted.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3_600);
/// The blind-index purpose the download token is derived under.
const LINK_PURPOSE: &str = "rights.export_link";
/// Generations read per page while building.
const PAGE: u64 = 200;

/// The binding of a stored export bundle.
fn bundle_field(request: &str) -> Field<'_> {
    Field {
        table: "data_exports",
        column: "sealed",
        row_id: request,
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

/// Opens a stored bundle of `owner`'s request `id`.
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

/// Everything the bundle holds: `export.json` and the media files.
struct Bundle {
    document: Value,
    media: Vec<(String, Vec<u8>)>,
}

/// The handler of `rights.export` jobs.
#[derive(Debug)]
pub struct ExportJobs {
    generations: Arc<Generations>,
    vault: Arc<Vault>,
    config: RightsConfig,
}

impl ExportJobs {
    /// The handler; `config` sets how long a download link works.
    pub fn new(generations: Arc<Generations>, vault: Arc<Vault>, config: RightsConfig) -> Self {
        Self {
            generations,
            vault,
            config,
        }
    }

    fn store(&self) -> &Store {
        self.generations.store()
    }

    async fn build(&self, job: &JobRecord) -> anyhow::Result<Outcome> {
        let Ok(id) = Uuid::try_parse(&job.subject) else {
            anyhow::bail!("an export job without a request id");
        };
        let store = self.store();
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
        let bundle = self.collect(&owner).await?;
        let zip = write_zip(&bundle)?;
        let sealed = self
            .vault
            .seal(owner.subject, bundle_field(&id.to_string()), &zip)
            .await?;
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
                    sealed,
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

    /// Reads and decrypts everything about `owner`.
    async fn collect(&self, owner: &AccountRecord) -> anyhow::Result<Bundle> {
        let store = self.store();
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

        let (generations, disclosures, media) = self.generations_of(owner).await?;

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
                json!({
                    "id": ticket.id.to_string(),
                    "receivedAt": time(ticket.received_at),
                    "replyEmail": ticket.email,
                    "subject": ticket.subject,
                    "message": ticket.message,
                    "status": ticket.status,
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

        let document = json!({
            "schema": SCHEMA,
            "generatedAt": time(now()),
            "account": account,
            "consentHistory": consent,
            "generations": generations,
            "sessions": sessions,
            "dataRequests": requests,
            "privacyTickets": tickets,
            "auditEntries": audit_entries,
            "partnerGrants": grants,
            "usage": usage,
            "providerDisclosures": disclosures,
        });
        Ok(Bundle { document, media })
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
            .store()
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

    /// The generations (prompts and texts decrypted, media as files) and what each provider
    /// received.
    async fn generations_of(
        &self,
        owner: &AccountRecord,
    ) -> anyhow::Result<(Vec<Value>, Vec<Value>, Vec<(String, Vec<u8>)>)> {
        let generations = &self.generations;
        let mut list = Vec::new();
        let mut disclosures = Vec::new();
        let mut media = Vec::new();
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
            for record in &page {
                let prompt = generations.prompt(owner.subject, record).await?;
                let text = generations.text(owner.subject, record).await?;
                // Only a generation with a media type has media bytes to read.
                let found = match record.media_type {
                    Some(_) => generations.media(owner, record.id).await?,
                    None => None,
                };
                let file = match found {
                    Some(found) => {
                        let name = format!("media/{}.{}", record.id, extension(&found.media_type));
                        media.push((name.clone(), found.bytes));
                        Some(name)
                    }
                    None => None,
                };
                let kind = match record.kind {
                    icecone_core::personalization::GenerationKind::Text => "TEXT",
                    icecone_core::personalization::GenerationKind::Image => "IMAGE",
                    icecone_core::personalization::GenerationKind::Video => "VIDEO",
                };
                list.push(json!({
                    "id": record.id.to_string(),
                    "kind": kind,
                    "status": record.status.as_str(),
                    "provider": record.provider,
                    "createdAt": time(record.created_at),
                    "completedAt": time_opt(record.completed_at),
                    "prompt": prompt,
                    "text": text,
                    "mediaFile": file,
                    "mediaType": record.media_type,
                    "errorCode": record.error_code,
                    "remoteCopy": record.remote_copy.map(|copy| copy.as_str()),
                    "usage": {
                        "tokens": record.usage.tokens,
                        "images": record.usage.images,
                        "videoSeconds": record.usage.video_seconds,
                    },
                }));
                let categories: Vec<&str> = generations
                    .router()
                    .entries()
                    .iter()
                    .find(|entry| entry.adapter().id().as_str() == record.provider)
                    .map(|entry| {
                        entry
                            .effective()
                            .data_categories
                            .iter()
                            .map(|category| category.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                disclosures.push(json!({
                    "provider": record.provider,
                    "generationId": record.id.to_string(),
                    "kind": kind,
                    "at": time(record.created_at),
                    "dataCategories": categories,
                }));
            }
        }
        Ok((list, disclosures, media))
    }
}

/// Writes `export.json` (deflated) and the media (stored: they are compressed already).
fn write_zip(bundle: &Bundle) -> anyhow::Result<Vec<u8>> {
    use zip::CompressionMethod;
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    writer.start_file("export.json", deflated)?;
    writer.write_all(&serde_json::to_vec_pretty(&bundle.document)?)?;
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(false);
    for (name, bytes) in &bundle.media {
        writer.start_file(name.as_str(), stored)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
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
        _job: &'a JobRecord,
        code: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // The request stays open: DPO staff see it in `dataRequests` and can complete
            // it by hand before its due date.
            tracing::error!(code, "an export could not be built");
            Ok(())
        })
    }
}

/// Starts the purge of stored exports whose link expired: at once, then every `interval`.
pub fn spawn_purge(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.purge_expired_exports(Utc::now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired data exports deleted"),
                Err(error) => tracing::warn!(
                    error = %crate::http::error_chain(&error),
                    "the data export purge failed"
                ),
            }
        }
    })
}
