//! The AI provider adapters this gateway runs with, each with its effective policy (the
//! declared policy with this deployment's agreements applied), the [`REGISTRY`] of the
//! external providers it can be configured with, and the [`router::Router`] that picks one
//! for a request.

use std::sync::Arc;

use anyhow::Context as _;
use icecone_core::provider::adapter::ProviderAdapter;
use icecone_core::provider::agreement::Agreement;
use icecone_core::provider::policy::{EffectivePolicy, effective_policy};
use icecone_core::provider::{Capability, ModelFamily, ModelRoute};
use icecone_provider_http::settings::Registration;
use icecone_provider_local::LocalProvider;

use crate::settings::ProvidersConfig;

pub mod credentials;
pub mod metrics;
pub mod router;

/// Every external provider the gateway can be configured with, in the order `providers`
/// lists them: the configuration reads each one's section (`[providers.<id>]`,
/// `ICECONE_<ID>_<KEY>`) and documents its settings from here, and [`entries`] builds
/// their adapters in this order. Adding a provider is one line here.
pub static REGISTRY: &[&dyn Registration] = &[
    &icecone_provider_openai::REGISTRATION,
    &icecone_provider_stability::REGISTRATION,
    &icecone_provider_luma::REGISTRATION,
    &icecone_provider_runway::REGISTRATION,
    &icecone_provider_heygen::REGISTRATION,
    &icecone_provider_bedrock::REGISTRATION,
];

/// An adapter with the policy our requests to it are held to and the models it runs.
#[derive(Debug, Clone)]
pub struct Entry {
    adapter: Arc<dyn ProviderAdapter>,
    /// Shared: `providers` answers with every entry, and a clone must not copy the
    /// policy's claims and sources.
    effective: Arc<EffectivePolicy>,
    /// The adapter's models per kind, asked once.
    models: Arc<[ModelRoute]>,
}

impl Entry {
    /// Pairs an adapter with its declared policy and the deployment's agreements.
    pub fn new(adapter: Arc<dyn ProviderAdapter>, agreements: &[Agreement]) -> Self {
        let effective = Arc::new(effective_policy(adapter.id(), adapter.policy(), agreements));
        let models = adapter.models().into();
        Self {
            adapter,
            effective,
            models,
        }
    }

    /// The model this deployment uses for each kind the adapter generates.
    pub fn models(&self) -> &[ModelRoute] {
        &self.models
    }

    /// The family of the model used for `kind`, where the adapter declares one.
    pub fn family(&self, kind: Capability) -> Option<ModelFamily> {
        self.models
            .iter()
            .find(|model| model.capability == kind)
            .map(|model| model.family)
    }

    /// The adapter.
    pub fn adapter(&self) -> &Arc<dyn ProviderAdapter> {
        &self.adapter
    }

    /// The effective policy: what is published and what routing decides on.
    pub fn effective(&self) -> &EffectivePolicy {
        &self.effective
    }
}

/// Every adapter the gateway knows, in the order `providers` lists them: `local` first
/// (always available), then the external providers of the [`REGISTRY`], listed whether or
/// not they are configured (an external provider without a key is `available: false`).
pub fn entries(config: &ProvidersConfig) -> anyhow::Result<Vec<Entry>> {
    let mut adapters: Vec<Arc<dyn ProviderAdapter>> =
        vec![Arc::new(LocalProvider::new(config.local_video_delay))];
    for adapter in &config.adapters {
        adapters.push(
            adapter
                .build()
                .with_context(|| format!("cannot build the {} adapter", adapter.id()))?,
        );
    }
    Ok(adapters
        .into_iter()
        .map(|adapter| Entry::new(adapter, &config.agreements))
        .collect())
}
