//! The provider's copy of a generation made by a provider job: asking for it to be deleted,
//! and what that came to — written once for the video job, the deletion of a generation
//! and the erasure of an account.

use std::time::Duration;

use icecone_core::generation::RemoteCopy;
use icecone_core::provider::adapter::{JobHandle, ProviderAdapter, ProviderError};

/// The longest one call to a provider about its copy may take.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What asking a provider to delete its copy came to.
#[derive(Debug)]
pub(crate) enum CopyDeletion {
    /// The copy is settled: deleted, nothing kept, or no deletion offered (then the
    /// provider's declared output retention applies).
    Settled(RemoteCopy),
    /// A transient failure, with attempts left: ask again later.
    Retry(ProviderError),
    /// Deleting failed for good: the copy is [`RemoteCopy::DeleteFailed`].
    Failed(ProviderError),
}

/// Asks `adapter` to delete its copy of job `job`'s output, within [`CALL_TIMEOUT`]; a
/// transient failure is worth a retry only while `may_retry`.
pub(crate) async fn delete_copy(
    adapter: &dyn ProviderAdapter,
    job: &JobHandle,
    may_retry: bool,
) -> CopyDeletion {
    let answer = tokio::time::timeout(CALL_TIMEOUT, adapter.delete_remote(job))
        .await
        .unwrap_or(Err(ProviderError::Timeout));
    match answer {
        Ok(answer) => {
            let copy = RemoteCopy::from(answer);
            if copy == RemoteCopy::NotSupported {
                tracing::info!(provider = %adapter.id(), "the provider cannot delete its copy of an output: its declared output retention applies");
            }
            CopyDeletion::Settled(copy)
        }
        Err(error) if error.is_transient() && may_retry => CopyDeletion::Retry(error),
        Err(error) => CopyDeletion::Failed(error),
    }
}

/// Asks `adapter` to cancel job `job` (when `cancel`: it may still be running) and to
/// delete what it kept of it, each within [`CALL_TIMEOUT`]; what came of it is logged
/// only — for a job whose generation is gone, nothing is left to record it on.
pub(crate) async fn forget(adapter: &dyn ProviderAdapter, job: &JobHandle, cancel: bool) {
    if cancel {
        match tokio::time::timeout(CALL_TIMEOUT, adapter.cancel(job)).await {
            Ok(Ok(())) => {
                tracing::info!(provider = %adapter.id(), "the provider's job was cancelled");
            }
            Ok(Err(error)) => {
                tracing::warn!(provider = %adapter.id(), error = %error, "the provider's job could not be cancelled");
            }
            Err(_) => {
                tracing::warn!(provider = %adapter.id(), "cancelling the provider's job timed out");
            }
        }
    }
    match delete_copy(adapter, job, false).await {
        CopyDeletion::Settled(copy) => {
            tracing::info!(provider = %adapter.id(), outcome = copy.as_str(), "the provider's copy of a forgotten job");
        }
        CopyDeletion::Retry(error) | CopyDeletion::Failed(error) => {
            tracing::warn!(provider = %adapter.id(), error = %error, "the provider's copy of a forgotten job could not be deleted");
        }
    }
}
