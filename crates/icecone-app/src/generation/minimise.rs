//! Minimisation in the generation pipeline: which requests are minimised, with whose
//! identifiers, and what becomes of the mapping.
//!
//! A prompt is minimised (core's `minimise::minimise`) before it is routed to any provider
//! but the in-process `local`, unless the request or — when the request does not say — the
//! person's account setting turns it off. The mapping from placeholders back to values is
//! held in memory for the request and dropped with it (its values are wiped); nothing of
//! it is logged, traced or stored. A queued video keeps the prompt as written (sealed with
//! the person's key) and is minimised again by its job just before submission, so it needs
//! no stored mapping.

use icecone_core::minimise::{self, Mapping, OwnIdentifiers, Redactions};
use icecone_core::provider::ProviderId;
use icecone_core::provider::adapter::{
    GenerationRequest, ImageRequest, Output, Prompt, ProviderError, TextRequest, VideoRequest,
};
use icecone_store::Store;
use icecone_store::accounts::AccountRecord;
use uuid::Uuid;

use crate::accounts;
use crate::keys::vault::Vault;
use crate::providers::router::RouteError;

/// Whether a request sent to `provider` (`None`: whichever routing picks) is minimised
/// when `minimize` is asked for, or — when it is not said — by the account's setting.
pub fn applies(
    account: &AccountRecord,
    provider: Option<&ProviderId>,
    minimize: Option<bool>,
) -> bool {
    let in_process = provider.is_some_and(|id| id.as_str() == icecone_provider_local::ID);
    !in_process && minimize.unwrap_or(account.minimize_prompts)
}

/// Sets whether `account`'s prompts are minimised when a request does not say; `false`
/// when there is no such account.
pub async fn set_default(store: &Store, account: Uuid, enabled: bool) -> anyhow::Result<bool> {
    Ok(store
        .set_minimize_prompts(account, enabled, super::now())
        .await?)
}

/// The person's e-mail address and display name, opened with their key.
pub(crate) async fn own_identifiers(
    vault: &Vault,
    account: &AccountRecord,
) -> anyhow::Result<OwnIdentifiers> {
    let email = accounts::email_of(vault, account).await?;
    let name = match &account.display_name_sealed {
        Some(sealed) => {
            let id = account.id.to_string();
            let opened = vault
                .open_field(
                    account.subject,
                    crate::auth::profile::display_name_field(&id),
                    sealed,
                )
                .await?;
            Some(
                String::from_utf8(opened.to_vec())
                    .map_err(|_| anyhow::anyhow!("a sealed display name is not UTF-8"))?,
            )
        }
        None => None,
    };
    Ok(OwnIdentifiers::new(Some(&email), name.as_deref()))
}

/// A request as it is sent, with what was withheld from it and the way back.
#[derive(Debug)]
pub(crate) struct Minimised {
    /// The request with placeholders in its prompt.
    pub(crate) request: GenerationRequest,
    /// From placeholders back to values; in memory only.
    pub(crate) mapping: Mapping,
    /// What was withheld, per kind.
    pub(crate) redactions: Redactions,
}

/// `request` with its prompt minimised. A prompt that the placeholders make longer than any
/// provider is given is refused as too long.
pub(crate) fn request(
    request: &GenerationRequest,
    own: &OwnIdentifiers,
) -> Result<Minimised, RouteError> {
    let found = minimise::minimise(request.prompt().as_str(), own);
    let prompt = Prompt::parse(&found.text)
        .map_err(|invalid| RouteError::Refused(ProviderError::InvalidRequest(invalid)))?;
    let request = match request {
        GenerationRequest::Text(text) => GenerationRequest::Text(TextRequest {
            prompt,
            max_tokens: text.max_tokens,
        }),
        GenerationRequest::Image(image) => GenerationRequest::Image(ImageRequest {
            prompt,
            size: image.size,
        }),
        GenerationRequest::Video(video) => GenerationRequest::Video(VideoRequest {
            prompt,
            image: video.image.clone(),
            duration_seconds: video.duration_seconds,
        }),
    };
    Ok(Minimised {
        request,
        mapping: found.mapping,
        redactions: found.redactions,
    })
}

/// `output` with the placeholders of a text put back; media as it is (only redacted).
pub(crate) fn restore(output: Output, mapping: &Mapping) -> Output {
    match output {
        Output::Text { text, usage } => Output::Text {
            text: mapping.restore(&text),
            usage,
        },
        media @ Output::Media { .. } => media,
    }
}
