//! The AI provider adapters this gateway runs with, each with its effective policy (the
//! declared policy with this deployment's contracts applied), and the [`router::Router`]
//! that picks one for a request.

use std::sync::Arc;

use anyhow::Context as _;
use icecone_core::provider::adapter::ProviderAdapter;
use icecone_core::provider::policy::{EffectivePolicy, effective_policy};
use icecone_provider_heygen::HeyGenProvider;
use icecone_provider_local::LocalProvider;
use icecone_provider_luma::LumaProvider;
use icecone_provider_openai::OpenAiProvider;
use icecone_provider_runway::RunwayProvider;
use icecone_provider_stability::StabilityProvider;

use crate::settings::ProvidersConfig;

pub mod credentials;
pub mod router;

/// An adapter with the policy our requests to it are held to.
#[derive(Debug, Clone)]
pub struct Entry {
    adapter: Arc<dyn ProviderAdapter>,
    effective: EffectivePolicy,
}

impl Entry {
    /// Pairs an adapter with its declared policy and the deployment's contracts.
    pub fn new(
        adapter: Arc<dyn ProviderAdapter>,
        contracts: &[icecone_core::provider::policy::ZdrContract],
    ) -> Self {
        let effective = effective_policy(adapter.id(), adapter.policy(), contracts);
        Self { adapter, effective }
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
/// (always available), then the external providers, listed whether or not they are
/// configured (an external provider without a key is `available: false`).
pub fn entries(config: &ProvidersConfig) -> anyhow::Result<Vec<Entry>> {
    let adapters: [Arc<dyn ProviderAdapter>; 6] = [
        Arc::new(LocalProvider::new(config.local_video_delay)),
        Arc::new(
            OpenAiProvider::new(config.openai.clone())
                .context("cannot build the OpenAI adapter")?,
        ),
        Arc::new(
            StabilityProvider::new(config.stability.clone())
                .context("cannot build the Stability AI adapter")?,
        ),
        Arc::new(LumaProvider::new(config.luma.clone()).context("cannot build the Luma adapter")?),
        Arc::new(
            RunwayProvider::new(config.runway.clone())
                .context("cannot build the Runway adapter")?,
        ),
        Arc::new(
            HeyGenProvider::new(config.heygen.clone())
                .context("cannot build the HeyGen adapter")?,
        ),
    ];
    Ok(adapters
        .into_iter()
        .map(|adapter| Entry::new(adapter, &config.zdr_contracts))
        .collect())
}
