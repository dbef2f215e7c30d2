//! The erasure job (`rights.erasure`): a person's account erased in idempotent steps
//! recorded on the job; a job taken over after a crash resumes at the step it reached, and
//! every step touches only the account of its deletion request.
//!
//! | step | what it does | resumed after a crash |
//! | --- | --- | --- |
//! | `start` | reads the request (the job's subject is its id — the job row names no account); cancelled, superseded or already erased: done; a legal hold in force: the request is held, the person told the ground, done (releasing the hold queues a new job); else the request is `running` | read again |
//! | `revoke_sessions` | revokes every session and cancels every job acting for the account (a video in progress) | revokes again (no-op) |
//! | `remote_copies` | asks each provider to delete its copy of the person's generations (`ProviderAdapter::delete_remote`) and records what became of it on the generation, then deletes the person's Stripe customer (`Billing::delete_customer`; a customer already gone counts as deleted); a transient failure is retried by the runner with backoff up to [`REMOTE_ATTEMPTS`] claims; then, or on a permanent failure, the copy or customer is recorded in `erasure_followups` for DPO staff and the erasure goes on — neither a provider nor Stripe blocks local erasure | only copies not settled yet are asked again; deleting a deleted customer is harmless |
//! | `anonymous_traces` | deletes what names the person without their account id, which only their address finds: the anonymous messages to the DPO sent from their verified address with their history, the DPO's replies queued or sent to that address, and that address's rate-limit windows (`rights::tickets::forget_anonymous`), and their analytics events of every day whose key still lives, found by their pseudonym (`analytics::forget`) — before the key is shredded, while the address can be read | deletes again (no-op) |
//! | `shred_key` | destroys the person's data key (crypto-shredding): from here every ciphertext of theirs is unreadable, in the database and in every backup | destroying twice is harmless |
//! | `delete_rows` | deletes every row of the person, table by table as the personal-data registry orders them, and writes the tombstone — one transaction (`Store::erase_account`) | the account is gone: done |

use std::sync::Arc;

use futures_util::future::BoxFuture;
use icecone_core::consent::Purpose;
use icecone_core::consent::background::StepUse;
use icecone_core::generation::RemoteCopy;
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::JobHandle;
use icecone_store::Store;
use icecone_store::accounts::AccountRecord;
use icecone_store::erasure::{AccountDeletion, DeletionState, ErasureFollowup};
use icecone_store::jobs::JobRecord;
use uuid::Uuid;

use super::now;
use crate::billing::Billing;
use crate::generation::remote::{self, CopyDeletion};
use crate::generation::video::code_of;
use crate::jobs::{JobHandler, Leased, Outcome, Step};
use crate::keys::vault::Vault;
use crate::providers::router::Router;

/// The kind of the job.
pub const KIND: &str = "rights.erasure";
/// Check the request and the holds.
pub const START: &str = "start";
/// Revoke the sessions, cancel the account's jobs.
pub const REVOKE_SESSIONS: &str = "revoke_sessions";
/// Ask providers to delete their copies.
pub const REMOTE_COPIES: &str = "remote_copies";
/// Delete the anonymous messages found by the person's address.
pub const ANONYMOUS_TRACES: &str = "anonymous_traces";
/// Destroy the data key.
pub const SHRED_KEY: &str = "shred_key";
/// Delete the rows and leave the tombstone.
pub const DELETE_ROWS: &str = "delete_rows";
/// What each step does with the person's data: erasing it is a legal obligation (GDPR
/// Art. 17), which a restriction does not hold back.
pub const STEPS: &[Step] = &[
    Step {
        name: START,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
    Step {
        name: REVOKE_SESSIONS,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
    Step {
        name: REMOTE_COPIES,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
    Step {
        name: ANONYMOUS_TRACES,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
    Step {
        name: SHRED_KEY,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
    Step {
        name: DELETE_ROWS,
        uses: StepUse::Process(Purpose::LegalCompliance),
    },
];
/// The follow-up's provider name of a Stripe customer left to delete.
pub const STRIPE: &str = "stripe";
/// Claims without progress before the job fails for good (a store that keeps failing).
pub const MAX_ATTEMPTS: u32 = 10;
/// Claims of the `remote_copies` step before a provider that keeps failing is recorded
/// for follow-up and the erasure goes on.
pub const REMOTE_ATTEMPTS: u32 = 3;

/// The handler of `rights.erasure` jobs.
#[derive(Debug)]
pub struct ErasureJobs {
    store: Store,
    vault: Arc<Vault>,
    router: Arc<Router>,
    billing: Option<Arc<Billing>>,
}

impl ErasureJobs {
    /// The handler over the store, the vault (for shredding) and the providers.
    pub fn new(store: Store, vault: Arc<Vault>, router: Arc<Router>) -> Self {
        Self {
            store,
            vault,
            router,
            billing: None,
        }
    }

    /// Deletes the person's Stripe customer too, through `billing`.
    pub fn with_billing(mut self, billing: Option<Arc<Billing>>) -> Self {
        self.billing = billing;
        self
    }

    /// Deletes the person's Stripe customer (Stripe cancels their subscription with it). A
    /// transient failure is retried like a provider's; a lasting one, or billing turned
    /// off with a customer left, is recorded in `erasure_followups` (provider `stripe`,
    /// the customer's id) for DPO staff, and the erasure goes on.
    async fn stripe_customer(
        &self,
        request: &AccountDeletion,
        account: &AccountRecord,
        may_retry: bool,
    ) -> anyhow::Result<Option<Outcome>> {
        let failure = match &self.billing {
            Some(billing) => match billing.delete_customer(account.id).await {
                Ok(_) => return Ok(None),
                Err((_, error)) if error.is_transient() && may_retry => {
                    tracing::info!(
                        code = error.code(),
                        "the Stripe customer could not be deleted yet: retried"
                    );
                    return Ok(Some(Outcome::Retry { code: error.code() }));
                }
                Err((customer, error)) => Some((customer, error.code())),
            },
            None => self
                .store
                .billing_customer(account.id)
                .await?
                .and_then(|customer| customer.customer_id)
                .map(|customer| (customer, "BILLING_UNAVAILABLE")),
        };
        if let Some((customer, code)) = failure {
            tracing::warn!(
                code,
                "the Stripe customer could not be deleted: recorded for DPO follow-up"
            );
            self.store
                .record_erasure_followup(&ErasureFollowup {
                    tombstone: request.id,
                    provider: ProviderId::parse(STRIPE)?,
                    remote_ref: customer,
                    error_code: code.to_owned(),
                    recorded_at: now(),
                })
                .await?;
        }
        Ok(None)
    }

    /// The request and its account; `None` when there is nothing (more) to erase.
    async fn subject(
        &self,
        job: &JobRecord,
    ) -> anyhow::Result<Option<(AccountDeletion, AccountRecord)>> {
        let Ok(id) = Uuid::try_parse(&job.subject) else {
            anyhow::bail!("an erasure job whose subject is not a request id");
        };
        let Some(request) = self.store.account_deletion(id).await? else {
            // Erased (the row went with the account) or never there.
            return Ok(None);
        };
        if request.state == DeletionState::Cancelled || request.job != Some(job.id) {
            return Ok(None);
        }
        Ok(self
            .store
            .account(request.account)
            .await?
            .map(|account| (request, account)))
    }

    async fn start(
        &self,
        job: &mut Leased<'_>,
        request: &AccountDeletion,
        account: &AccountRecord,
    ) -> anyhow::Result<Outcome> {
        let holds = self.store.active_legal_holds(account.id).await?;
        if !holds.is_empty() {
            if request.state != DeletionState::Held {
                self.store
                    .set_account_deletion_state(request.id, DeletionState::Held, None)
                    .await?;
                super::tell_held(&self.store, &self.vault, account, &holds).await?;
            }
            tracing::info!("the erasure is held by a legal hold");
            return Ok(Outcome::Done);
        }
        if !self
            .store
            .set_account_deletion_state(request.id, DeletionState::Running, None)
            .await?
        {
            return Ok(Outcome::Done);
        }
        if !job.advance(REVOKE_SESSIONS).await? {
            return Ok(Outcome::Done);
        }
        self.revoke_sessions(job, request, account).await
    }

    async fn revoke_sessions(
        &self,
        job: &mut Leased<'_>,
        request: &AccountDeletion,
        account: &AccountRecord,
    ) -> anyhow::Result<Outcome> {
        let now = now();
        self.store
            .revoke_all_sessions(account.id, "erasure", now)
            .await?;
        self.store.cancel_jobs_of_account(account.id, now).await?;
        if !job.advance(REMOTE_COPIES).await? {
            return Ok(Outcome::Done);
        }
        self.remote_copies(job, request, account).await
    }

    async fn remote_copies(
        &self,
        job: &mut Leased<'_>,
        request: &AccountDeletion,
        account: &AccountRecord,
    ) -> anyhow::Result<Outcome> {
        let copies = self
            .store
            .remote_copies_to_delete(request.id, account.id)
            .await?;
        let may_retry = job.record().attempts < REMOTE_ATTEMPTS;
        for copy in copies {
            let deletion = match self.router.adapter(&copy.provider) {
                None => Err("PROVIDER_UNKNOWN"),
                Some(adapter) => {
                    let handle = JobHandle::new(copy.remote_ref.clone());
                    match remote::delete_copy(&**adapter, &handle, may_retry).await {
                        CopyDeletion::Settled(settled) => Ok(settled),
                        CopyDeletion::Retry(error) => {
                            let code = code_of(&error);
                            tracing::info!(provider = %copy.provider, code, "a provider's copy could not be deleted yet: retried");
                            return Ok(Outcome::Retry { code });
                        }
                        CopyDeletion::Failed(error) => Err(code_of(&error)),
                    }
                }
            };
            let settled = match deletion {
                Ok(settled) => settled,
                Err(code) => {
                    tracing::warn!(provider = %copy.provider, code, "a provider's copy could not be deleted: recorded for DPO follow-up");
                    self.store
                        .record_erasure_followup(&ErasureFollowup {
                            tombstone: request.id,
                            provider: copy.provider.clone(),
                            remote_ref: copy.remote_ref.clone(),
                            error_code: code.to_owned(),
                            recorded_at: now(),
                        })
                        .await?;
                    RemoteCopy::DeleteFailed
                }
            };
            self.store
                .record_remote_copy(account.id, copy.generation, settled)
                .await?;
        }
        if let Some(outcome) = self.stripe_customer(request, account, may_retry).await? {
            return Ok(outcome);
        }
        if !job.advance(ANONYMOUS_TRACES).await? {
            return Ok(Outcome::Done);
        }
        self.anonymous_traces(job, request, account).await
    }

    async fn anonymous_traces(
        &self,
        job: &mut Leased<'_>,
        request: &AccountDeletion,
        account: &AccountRecord,
    ) -> anyhow::Result<Outcome> {
        let deleted =
            crate::rights::tickets::forget_anonymous(&self.store, &self.vault, account).await?;
        tracing::info!(
            tickets = deleted,
            "anonymous messages of the person deleted"
        );
        let events = crate::analytics::forget(&self.store, &self.vault, account.id).await?;
        tracing::info!(events, "the person's analytics events of the day deleted");
        if !job.advance(SHRED_KEY).await? {
            return Ok(Outcome::Done);
        }
        self.shred_key(job, request, account).await
    }

    async fn shred_key(
        &self,
        job: &mut Leased<'_>,
        request: &AccountDeletion,
        account: &AccountRecord,
    ) -> anyhow::Result<Outcome> {
        self.vault.shred(account.subject).await?;
        if !job.advance(DELETE_ROWS).await? {
            return Ok(Outcome::Done);
        }
        self.delete_rows(request, account).await
    }

    async fn delete_rows(
        &self,
        request: &AccountDeletion,
        account: &AccountRecord,
    ) -> anyhow::Result<Outcome> {
        self.store
            .erase_account(request.id, account.id, request.requested_at, now())
            .await?;
        tracing::info!(tombstone = %request.id, "account erased");
        Ok(Outcome::Done)
    }

    async fn run_job(&self, job: &mut Leased<'_>) -> anyhow::Result<Outcome> {
        let Some((request, account)) = self.subject(job.record()).await? else {
            return Ok(Outcome::Done);
        };
        match job.record().step.as_str() {
            START => self.start(job, &request, &account).await,
            REVOKE_SESSIONS => self.revoke_sessions(job, &request, &account).await,
            REMOTE_COPIES => self.remote_copies(job, &request, &account).await,
            ANONYMOUS_TRACES => self.anonymous_traces(job, &request, &account).await,
            SHRED_KEY => self.shred_key(job, &request, &account).await,
            DELETE_ROWS => self.delete_rows(&request, &account).await,
            other => anyhow::bail!("an erasure job at an unknown step `{other}`"),
        }
    }
}

impl JobHandler for ErasureJobs {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn steps(&self) -> &'static [Step] {
        STEPS
    }

    fn run<'a>(&'a self, job: &'a mut Leased<'_>) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        Box::pin(self.run_job(job))
    }

    fn give_up<'a>(
        &'a self,
        job: &'a JobRecord,
        code: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // Nothing to undo: what ran is erasure, and must not be undone. The request stays
            // `running` with its job failed, which DPO staff see; a new job resumes it.
            tracing::error!(job = %job.id, code, "an erasure job failed for good: it needs an operator");
            Ok(())
        })
    }
}
