//! `local`: IceCone's built-in provider. It runs inside the gateway process, needs no
//! network and no key, and is what a fresh installation generates with.
//!
//! Nothing leaves the machine, so nothing is trained on or retained by a third party: the
//! only copy of a prompt or an output is the one in IceCone's own encrypted store.

use std::sync::LazyLock;

use chrono::NaiveDate;
use icecone_core::provider::{
    Capability, ProviderAdapter, ProviderId, ProviderPolicy, Retention, TrainingUse,
};

/// The id clients use to pick this provider.
pub const ID: &str = "local";

/// The data-handling policy of the local provider.
pub const POLICY: ProviderPolicy = ProviderPolicy {
    capabilities: &[Capability::Text, Capability::Image],
    training_use: TrainingUse::No,
    retention: Retention::None,
    zero_data_retention: true,
    region: None,
    source_url: "docs/providers.md#local",
    verified_on: match NaiveDate::from_ymd_opt(2026, 11, 28) {
        Some(date) => date,
        None => panic!("invalid verification date"),
    },
};

static PROVIDER_ID: LazyLock<ProviderId> = LazyLock::new(|| {
    ProviderId::parse(ID).unwrap_or_else(|_| unreachable!("`local` is a valid id"))
});

/// The offline, deterministic provider adapter.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalProvider;

impl ProviderAdapter for LocalProvider {
    fn id(&self) -> &ProviderId {
        &PROVIDER_ID
    }

    fn name(&self) -> &str {
        "IceCone local (offline)"
    }

    fn policy(&self) -> &ProviderPolicy {
        &POLICY
    }

    fn is_available(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_provider_promises_no_training_and_no_retention() {
        let provider = LocalProvider;
        assert_eq!(provider.id().as_str(), "local");
        assert_eq!(provider.policy().training_use, TrainingUse::No);
        assert_eq!(provider.policy().retention, Retention::None);
        assert!(provider.policy().zero_data_retention);
        assert!(provider.is_available());
    }
}
