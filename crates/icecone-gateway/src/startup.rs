//! Building and running the gateway: [`Application::build`] opens the store, applies the
//! migrations, loads the root key, builds the schema and binds the listener (port 0 in the
//! tests); [`Application::run_until_stopped`] serves until SIGTERM or SIGINT, then stops
//! accepting and lets in-flight requests finish. With a TLS certificate and key it serves
//! HTTPS (TLS 1.3 only, see [`crate::tls`]) and sends HSTS on every response.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header::STRICT_TRANSPORT_SECURITY;
use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use icecone_store::{Backend, Store};

use crate::config::{Config, Environment};
use crate::graphql::{self, Services};
use crate::http::{self, AppState};
use crate::metrics::{self, Metrics};
use crate::tls;
use icecone_app::analytics::{Analytics, ratings};
use icecone_app::billing::{Billing, BillingConfig};
use icecone_app::generation::{Generations, video};
use icecone_app::jobs::Runner;
use icecone_app::keys::vault::{CacheLimits, Vault};
use icecone_app::keys::{self};
use icecone_app::mail::Mailer;
use icecone_app::notify::{self, Notifier};
use icecone_app::policy_notice;
use icecone_app::providers::{
    self, credentials,
    router::{Router, RouterSettings, SharedRanking},
};
use icecone_app::retention;
use icecone_app::rights;
use icecone_app::settings::MailDelivery;
use icecone_app::settings::PublicUrl;
use icecone_app::subprocessors;
use icecone_app::tokens::TokenSigner;
use icecone_app::transparency;
use icecone_billing_stripe::StripeConfig;
use icecone_core::crypto::keys::KeyProvider;

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A built gateway, bound and ready to serve.
pub struct Application {
    address: SocketAddr,
    server: Server,
    /// The metrics (`None` when off) and the `/metrics` listener's address and server.
    metrics: Option<Arc<Metrics>>,
    metrics_server: Option<(SocketAddr, Server)>,
    /// The background tasks: notification delivery, policy-change notices, the retention
    /// purges (one task each), re-reading stored provider keys, the job workers.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens everything the gateway needs and binds its listener; notifications go out as
    /// e-mail ([`Mailer`]: over SMTP, or as files in development).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_inner(config, None, None).await
    }

    /// As [`Application::build`], pushing metrics through `exporter` (OTLP) as well; the
    /// exporter is built before the async runtime starts (see [`crate::telemetry`]).
    pub async fn build_exporting(
        config: Config,
        exporter: Option<opentelemetry_otlp::MetricExporter>,
    ) -> anyhow::Result<Self> {
        Self::build_inner(config, None, exporter).await
    }

    /// As [`Application::build`], delivering notifications through `notifier` instead of
    /// e-mail.
    pub async fn build_with_notifier(
        config: Config,
        notifier: Arc<dyn Notifier>,
    ) -> anyhow::Result<Self> {
        Self::build_inner(config, Some(notifier), None).await
    }

    async fn build_inner(
        config: Config,
        notifier: Option<Arc<dyn Notifier>>,
        exporter: Option<opentelemetry_otlp::MetricExporter>,
    ) -> anyhow::Result<Self> {
        // Before the store: a missing or open key file stops the start with nothing migrated.
        let tls = config
            .tls
            .as_ref()
            .map(|files| tls::server_config(&files.cert, &files.key))
            .transpose()?;
        let metrics = Metrics::new(config.metrics_listen.is_some(), exporter).map(Arc::new);
        let Components {
            store,
            vault,
            tokens,
            router,
            generations,
            analytics,
            ranking,
            runner,
            applied_keys,
            billing,
        } = Components::build_with_metrics(&config, metrics.as_deref()).await?;
        let background = (store.clone(), vault.clone(), router.clone());
        let http_vault = vault.clone();
        let transparency = Arc::new(transparency::Sources::new(
            transparency::Deployment {
                cipher: config.encryption_algorithm,
                transport: transparency::Transport::of(
                    config.tls.is_some(),
                    config.behind_tls_proxy,
                    config.env == Environment::Development,
                ),
                dpo_contact: config.dpo_contact.clone(),
            },
            config.policy,
            router.clone(),
            config.retention,
            store.clone(),
        ));
        let executor = graphql::Executor::new(
            Services {
                providers: router,
                vault,
                store: Arc::new(store.clone()),
                tokens: tokens.clone(),
                generations: generations.clone(),
                analytics: analytics.clone(),
                erasure_grace: config.jobs.erasure_grace,
                billing_records: config.retention.billing_records,
                billing: billing.clone(),
                policy: config.policy,
                transparency: transparency.clone(),
            },
            config.limits,
            config.trusted_documents.as_ref(),
            config.env == Environment::Production,
        );
        let executor = match &metrics {
            Some(metrics) => executor.with_metrics(metrics.graphql().clone()),
            None => executor,
        };
        let queues = metrics
            .as_ref()
            .map(|metrics| metrics::queues::QueueSampler::new(metrics.meter(), runner.kinds()));
        let state = web::Data::new(AppState {
            sdl: executor.sdl(),
            executor,
            tokens,
            generations,
            store: store.clone(),
            vault: http_vault,
            environment: config.env,
            max_body_bytes: config.max_body_bytes,
            max_batch: config.max_batch,
            trusted_proxies: config.trusted_proxies.clone(),
            sockets: http::Sockets::new(config.websocket),
            policy: config.policy,
            origins: Arc::new(config.cors.clone()),
            transparency,
            billing: billing.clone(),
        });

        let listener = TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener
            .local_addr()
            .context("the listener has no local address")?;
        let hsts = tls.is_some();
        let origins = state.origins.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(http::cors::middleware(origins.clone()))
                .wrap_fn(http::cors::only_with_an_allowed_origin)
                .wrap_fn(http::security_headers::apply)
                .wrap_fn(http::request_span)
                .wrap(Condition::new(
                    hsts,
                    DefaultHeaders::new().add((STRICT_TRANSPORT_SECURITY, http::HSTS)),
                ))
                .configure(http::routes)
        })
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .context("cannot serve on the listener")?
        .run();
        match &config.tls {
            Some(files) => {
                tracing::info!(%address, cert = %files.cert.display(), "TLS 1.3 on: serving HTTPS with HSTS");
            }
            None if config.behind_tls_proxy => {
                tracing::warn!(%address, "TLS is off: serving plain HTTP behind a TLS-terminating proxy (ICECONE_BEHIND_TLS_PROXY)");
            }
            None if config.env == Environment::Development => {
                tracing::warn!(%address, "TLS is off: serving plain HTTP for development; set ICECONE_TLS_CERT and ICECONE_TLS_KEY for HTTPS");
            }
            None => {
                tracing::warn!(%address, "TLS is off: serving plain HTTP on a loopback address; set ICECONE_TLS_CERT and ICECONE_TLS_KEY for HTTPS");
            }
        }
        let metrics_server = match (&metrics, config.metrics_listen, &queues) {
            (Some(metrics), Some(address), Some(queues)) => Some(metrics::serve(
                address,
                metrics.clone(),
                queues.clone(),
                store.clone(),
            )?),
            _ => None,
        };
        let notifier = match notifier {
            Some(notifier) => notifier,
            None => mailer(&config, address, hsts)?,
        };
        tracing::info!(%address, environment = ?config.env, "IceCone gateway listening");
        // Last, so that a failed start leaves no task behind.
        let (store, vault, router) = background;
        let mut tasks = vec![
            notify::spawn_delivery(store.clone(), vault.clone(), notifier, config.policy),
            policy_notice::spawn_notices(
                store.clone(),
                vault.clone(),
                config.policy,
                config.policy_notice_interval,
            ),
            icecone_app::disclosures::spawn_notices(
                store.clone(),
                vault.clone(),
                icecone_app::disclosures::NOTICE_INTERVAL,
            ),
            subprocessors::spawn_notices(
                store.clone(),
                vault.clone(),
                config.subprocessors.notice_interval,
            ),
        ];
        tasks.extend(retention::housekeeping::spawn(
            store.clone(),
            vault.clone(),
            config.retention,
            retention::housekeeping::INTERVAL,
        ));
        let ranked_from = store.clone();
        let min_group = config.analytics.min_group;
        tasks.push(analytics.spawn(move || {
            let store = ranked_from.clone();
            let ranking = ranking.clone();
            async move { ratings::refresh_ranking(&store, min_group, &ranking).await }
        }));
        if let Some(queues) = queues {
            tasks.push(queues.spawn(store.clone()));
        }
        if billing.is_some() {
            tasks.push(icecone_app::billing::spawn_lapse(
                store.clone(),
                icecone_app::billing::LAPSE_INTERVAL,
            ));
        }
        tasks.push(credentials::spawn_refresh(
            store,
            vault,
            router,
            applied_keys,
        ));
        tasks.extend(runner.spawn());
        Ok(Self {
            address,
            server,
            metrics,
            metrics_server,
            tasks,
        })
    }

    /// The address the gateway listens on (the real port when the config asked for 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address of the `/metrics` listener, when `metrics_listen` is set (the real port
    /// when it asked for 0).
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(|(address, _)| *address)
    }

    /// Serves until the process receives SIGTERM or SIGINT; in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics_server = self.metrics_server.map(|(_, server)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        for task in &self.tasks {
            task.abort();
        }
        if let Some((handle, running)) = metrics_server {
            handle.stop(false).await;
            let _ = running.await;
        }
        if let Some(metrics) = self.metrics {
            // The OTLP exporter's client blocks.
            let _ = tokio::task::spawn_blocking(move || metrics.shutdown()).await;
        }
        served?;
        tracing::info!("IceCone gateway stopped");
        Ok(())
    }
}

/// The e-mail notifier the configuration asks for (links based on the bound address in
/// development when no public URL is set).
fn mailer(config: &Config, address: SocketAddr, tls: bool) -> anyhow::Result<Arc<dyn Notifier>> {
    let mail = config.mail.config(address, tls);
    match &mail.delivery {
        MailDelivery::Smtp(server) => tracing::info!(
            host = server.url.host(),
            port = server.url.port(),
            security = ?server.url.security(),
            "e-mail goes to the mail server (ICECONE_SMTP_URL)"
        ),
        MailDelivery::Files(dir) => tracing::warn!(
            directory = %dir.display(),
            "no mail server (ICECONE_SMTP_URL): every e-mail is written as an .eml file in this directory"
        ),
    }
    let mailer = Mailer::new(&mail).context("cannot set up e-mail delivery")?;
    Ok(Arc::new(mailer))
}

/// Opens the store and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.backend() == Backend::Sqlite {
        icecone_app::create_private_dir(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let store = Store::connect(&config.database_url)
        .await
        .context("cannot open the database (ICECONE_DATABASE_URL)")?;
    if let Ok(Some(encrypted)) = store.connection_encrypted().await {
        tracing::info!(database_tls = encrypted, "PostgreSQL connection");
    }
    let pending = store
        .pending_migrations()
        .await
        .context("cannot read the migration state")?;
    store
        .migrate()
        .await
        .context("cannot apply the database migrations")?;
    if !pending.is_empty() {
        tracing::info!(applied = pending.len(), "database migrations applied");
    }
    Ok(store)
}

/// The application's components, wired from the configuration in one place: what the
/// gateway serves with, and what the benches drive directly.
#[derive(Debug)]
pub struct Components {
    /// The database.
    pub store: Store,
    /// Seals and opens personal data.
    pub vault: Arc<Vault>,
    /// Signs and verifies access tokens.
    pub tokens: Arc<TokenSigner>,
    /// The provider adapters behind the deployment's promises.
    pub router: Arc<Router>,
    /// The generation pipeline.
    pub generations: Arc<Generations>,
    /// Anonymised analytics: capture and the daily aggregation.
    pub analytics: Arc<Analytics>,
    /// The ranking of providers from ratings that the router orders eligible providers by.
    pub ranking: SharedRanking,
    /// The job runner with every job kind's handler.
    pub runner: Runner,
    /// The provider keys applied from the store, which the refresh task starts from.
    pub applied_keys: HashMap<String, String>,
    /// Billing through Stripe, when it is configured.
    pub billing: Option<Arc<Billing>>,
}

impl Components {
    /// Opens the root keys, the store (migrated) and the vault, and wires the rest.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_metrics(config, None).await
    }

    /// As [`Components::build`], with the router recording its provider calls in `metrics`.
    pub async fn build_with_metrics(
        config: &Config,
        metrics: Option<&Metrics>,
    ) -> anyhow::Result<Self> {
        let provider = open_key_provider(config)?;
        let store = open_store(config).await?;
        let vault = Vault::open(
            store.clone(),
            provider,
            config.encryption_algorithm,
            CacheLimits::default(),
        )
        .await
        .context("cannot open the key vault (root keys and the system key)")?;
        let tokens = Arc::new(
            TokenSigner::load_or_create(&store, &vault)
                .await
                .context("cannot load the access-token signing keys")?,
        );
        let ranking = SharedRanking::default();
        let router = Router::new(
            providers::entries(&config.providers)?,
            RouterSettings::new(
                config.providers.max_retention_days,
                config.providers.timeout,
            ),
        )
        .with_ranking(ranking.clone());
        let router = match metrics {
            Some(metrics) => router.with_metrics(metrics.providers()),
            None => router,
        };
        for entry in router.entries() {
            let adapter = entry.adapter();
            tracing::info!(
                provider = %adapter.id(),
                available = adapter.is_available(),
                zero_data_retention = entry.effective().zero_data_retention(),
                zdr_contract = entry.effective().zero_data_retention_agreement(),
                agreements = entry.effective().agreements.len(),
                "AI provider adapter"
            );
        }
        let billing = billing(config, &store)?;
        // Stripe is a subprocessor while billing is on (unless the operator lists it).
        let mut operator = config.subprocessors.operator.clone();
        if billing.is_some()
            && !operator
                .iter()
                .any(|entry| entry.name().as_str() == icecone_billing_stripe::SUBPROCESSOR.name)
        {
            operator.push(
                icecone_core::subprocessor::Subprocessor::parse(
                    icecone_billing_stripe::SUBPROCESSOR,
                )
                .context("Stripe's subprocessor entry")?,
            );
        }
        // A bad list or a change announced too late stops the start, before anything serves.
        let subprocessors = subprocessors::registry(router.entries(), &operator)
            .context("subprocessors_file (ICECONE_SUBPROCESSORS_FILE): an entry is named like an AI provider, which is always listed")?;
        subprocessors::publish(
            &store,
            &subprocessors,
            &config.subprocessors,
            chrono::Utc::now(),
        )
        .await
        .context("cannot publish the subprocessors")?;
        let mut applied_keys = HashMap::new();
        credentials::apply_stored(&store, &vault, &router, &mut applied_keys)
            .await
            .context("cannot apply the stored provider API keys")?;
        let vault = Arc::new(vault);
        let router = Arc::new(router);
        let analytics = Arc::new(Analytics::new(
            store.clone(),
            vault.clone(),
            config.policy,
            config.analytics,
        ));
        let generations = Arc::new(
            Generations::new(
                store.clone(),
                vault.clone(),
                router.clone(),
                config.generations.plans,
            )
            .with_jobs(config.jobs)
            .with_default_max_tokens(config.generations.default_max_tokens)
            .with_policy(config.policy)
            .with_analytics(analytics.clone()),
        );
        // Outputs are fetched from providers' temporary URLs with the providers' timeout,
        // only from destinations the outbound address policy allows.
        let fetcher = icecone_provider_http::fetch::MediaFetcher::new(
            config.providers.timeout,
            config.outbound.clone(),
        )
        .context("cannot build the HTTP client that fetches providers' outputs")?;
        let runner = Runner::new(
            store.clone(),
            vec![
                Arc::new(
                    video::VideoJobs::new(
                        store.clone(),
                        vault.clone(),
                        router.clone(),
                        config.jobs,
                        fetcher,
                    )
                    .with_analytics(analytics.clone()),
                ) as Arc<dyn icecone_app::jobs::JobHandler>,
                Arc::new(rights::export::ExportJobs::new(
                    store.clone(),
                    vault.clone(),
                    generations.clone(),
                    router.clone(),
                    config.rights,
                )),
                Arc::new(
                    icecone_app::erasure::job::ErasureJobs::new(
                        store.clone(),
                        vault.clone(),
                        router.clone(),
                    )
                    .with_billing(billing.clone()),
                ),
            ],
            config.jobs,
        )?
        .with_policy(config.policy);
        Ok(Self {
            store,
            vault,
            tokens,
            router,
            generations,
            analytics,
            ranking,
            runner,
            applied_keys,
            billing,
        })
    }
}

/// Billing through Stripe when a secret key is configured, with Stripe sending the person
/// back to the public URL (the listen address in development).
fn billing(config: &Config, store: &Store) -> anyhow::Result<Option<Arc<Billing>>> {
    let Some(settings) = &config.billing else {
        tracing::info!("billing is off: no Stripe secret key (ICECONE_STRIPE_SECRET_KEY)");
        return Ok(None);
    };
    let public = config
        .mail
        .public_url
        .clone()
        .unwrap_or_else(|| PublicUrl::of_address(config.listen, config.tls.is_some()));
    let billing = Billing::new(
        store.clone(),
        BillingConfig {
            stripe: StripeConfig {
                secret_key: settings.secret_key.clone(),
                base_url: settings.base_url.clone(),
                timeout: config.providers.timeout,
            },
            webhook_secrets: settings.webhook_secrets.clone(),
            price_pro: settings.price_pro.clone(),
            success_url: public.join("/billing/success"),
            return_url: public.join("/billing"),
        },
    )
    .context("cannot set up billing (ICECONE_STRIPE_BASE_URL)")?;
    tracing::info!("billing is on: Stripe");
    Ok(Some(Arc::new(billing)))
}

/// Opens the configured root key provider, announcing loudly when it is the development key.
pub fn open_key_provider(config: &Config) -> anyhow::Result<Arc<dyn KeyProvider>> {
    let source = config.root_keys.source(&config.data_dir);
    let development = matches!(source, keys::KeySource::Development(_));
    let (provider, generated) = keys::open_provider(source, config.encryption_algorithm)?;
    if generated {
        tracing::warn!(
            path = %config.data_dir.join(keys::file_provider::DEVELOPMENT_KEY_FILE).display(),
            "GENERATED A DEVELOPMENT MASTER KEY: for development only; production needs ICECONE_MASTER_KEY_FILE or ICECONE_MASTER_KEY"
        );
    } else if development {
        tracing::warn!(
            path = %config.data_dir.join(keys::file_provider::DEVELOPMENT_KEY_FILE).display(),
            "using the DEVELOPMENT master key: for development only; production needs ICECONE_MASTER_KEY_FILE or ICECONE_MASTER_KEY"
        );
    }
    Ok(provider)
}
