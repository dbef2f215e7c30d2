//! The `icecone` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use icecone_core::identity::email::Email;
use icecone_core::identity::password::Password;
use icecone_core::identity::roles::StaffRole;

use crate::config::{Config, Settings, settings_help};
use crate::startup::{self, Application};
use crate::telemetry::{self, Telemetry};
use icecone_app::audit::{self, AuditEvent};
use icecone_app::keys::rotation::{self, RotationOptions};
use icecone_app::keys::vault::{CacheLimits, Vault};
use icecone_store::Store;

/// IceCone's privacy gateway: GraphQL over HTTP in front of AI content generation.
///
/// With no configuration at all it serves on 127.0.0.1:8080 with an SQLite database and a
/// generated development key in ./data, and the offline `local` provider.
#[derive(Debug, Parser)]
#[command(name = "icecone", version, after_long_help = settings_help(), after_help = "Run `icecone --help` for every setting.")]
pub struct Cli {
    /// Settings file; without it, `icecone.toml` in the working directory is read if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the gateway (the default).
    Serve {
        /// Address to bind; overrides ICECONE_LISTEN.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// PEM certificate chain: serve HTTPS, TLS 1.3 only; overrides ICECONE_TLS_CERT.
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of that certificate, mode 0600; overrides ICECONE_TLS_KEY.
        #[arg(long, value_name = "FILE")]
        tls_key: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Print `docs/privacy-promises.md`, generated from `docs/privacy-promises.toml`.
    PrivacyPromises,
    /// Manage the root keys that protect the data at rest.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Check the tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
}

#[derive(Debug, Subcommand)]
enum StaffAction {
    /// Create a staff account with a TOTP factor. Reads the password from standard input
    /// and prints the account's `otpauth://` URI on a line of its own.
    Create {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
        /// SUPPORT, DPO, AUDITOR, ADMIN or ANALYST.
        #[arg(long)]
        role: String,
    },
    /// Grant a role to a staff account (recorded in the audit trail).
    Grant {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
        /// SUPPORT, DPO, AUDITOR, ADMIN or ANALYST.
        #[arg(long)]
        role: String,
    },
    /// Revoke a role from a staff account (recorded in the audit trail); effective on the
    /// staff member's next request. The last ADMIN keeps the role.
    Revoke {
        /// The staff member's e-mail address.
        #[arg(long)]
        email: String,
        /// SUPPORT, DPO, AUDITOR, ADMIN or ANALYST.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Walk the audit trail's HMAC chain from its first entry; name the first entry that
    /// was edited, deleted or inserted (exit status 1), or print the chain head to keep as an
    /// anchor.
    Verify,
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Add a root key version and re-wrap every data key with it, while gateways keep
    /// serving; resumes an interrupted rotation; retires versions nothing uses any more.
    Rotate {
        /// Keys re-wrapped per database round trip.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
        batch_size: u64,
    },
    /// Show the root key versions, how many keys each wraps, and rotation progress.
    Status,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve_by_default = Command::Serve {
        listen: None,
        tls_cert: None,
        tls_key: None,
    };
    match cli.command.unwrap_or(serve_by_default) {
        Command::Schema => {
            print_stdout(&crate::graphql::sdl());
            ExitCode::SUCCESS
        }
        Command::PrivacyPromises => {
            use icecone_app::transparency::promises;
            print_stdout(&promises::markdown(promises::matrix()));
            ExitCode::SUCCESS
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
        } => run(cli.config, serve_flags(listen, tls_cert, tls_key), serve),
        Command::Migrate => run(cli.config, |_| {}, |config, _| migrate(config)),
        Command::Keys { action } => run(cli.config, |_| {}, move |config, _| keys(config, action)),
        Command::Audit {
            action: AuditAction::Verify,
        } => run(cli.config, |_| {}, |config, _| audit_verify(config)),
        Command::Staff {
            action: StaffAction::Create { email, role },
        } => {
            let input = match read_staff_input(&email, &role) {
                Ok(input) => input,
                Err(message) => {
                    print_stderr(&format!("icecone: {message}"));
                    return ExitCode::from(2);
                }
            };
            run(
                cli.config,
                |_| {},
                move |config, _| staff_create(config, input),
            )
        }
        Command::Staff {
            action: StaffAction::Grant { email, role },
        } => staff_role_command(cli.config, &email, &role, true),
        Command::Staff {
            action: StaffAction::Revoke { email, role },
        } => staff_role_command(cli.config, &email, &role, false),
    }
}

/// The `serve` flags, applied over the loaded settings before they are checked (so that,
/// e.g., `--listen 0.0.0.0:443` meets the same production rules as `ICECONE_LISTEN`).
fn serve_flags(
    listen: Option<std::net::SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
) -> impl FnOnce(&mut Settings) {
    move |settings| {
        if let Some(listen) = listen {
            settings.listen = listen;
        }
        if let Some(cert) = tls_cert {
            settings.tls_cert = Some(cert);
        }
        if let Some(key) = tls_key {
            settings.tls_key = Some(key);
        }
    }
}

/// Loads the settings, applies `adjust` (the command's flags), checks them, sets up
/// telemetry, then runs `task` on a fresh runtime. Telemetry is set up before the runtime
/// and torn down after it, because trace export blocks.
fn run<F>(
    file: Option<PathBuf>,
    adjust: impl FnOnce(&mut Settings),
    task: impl FnOnce(Config, &mut Telemetry) -> F,
) -> ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let loaded = Settings::load(file.as_deref()).and_then(|mut settings| {
        adjust(&mut settings);
        settings.resolve()
    });
    let config = match loaded {
        Ok(config) => config,
        Err(error) => {
            print_stderr(&format!("icecone: {error}"));
            return ExitCode::from(2);
        }
    };
    let mut telemetry: Telemetry = match telemetry::init(&config.log, config.env) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            print_stderr(&format!("icecone: {error}"));
            return ExitCode::from(2);
        }
    };
    let outcome = actix_web::rt::System::new().block_on(task(config, &mut telemetry));
    let code = match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "icecone stopped with an error"
            );
            ExitCode::FAILURE
        }
    };
    drop(telemetry);
    code
}

/// Serves; metrics go over OTLP too when telemetry built an exporter for them.
fn serve(
    config: Config,
    telemetry: &mut Telemetry,
) -> impl Future<Output = anyhow::Result<()>> + use<> {
    let exporter = telemetry.take_metric_exporter();
    serve_exporting(config, exporter)
}

async fn serve_exporting(
    config: Config,
    exporter: Option<opentelemetry_otlp::MetricExporter>,
) -> anyhow::Result<()> {
    let app = Application::build_exporting(config, exporter).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    store.close().await?;
    tracing::info!("the database schema is up to date");
    Ok(())
}

async fn keys(config: Config, action: KeysAction) -> anyhow::Result<()> {
    let provider = startup::open_key_provider(&config)?;
    let store = startup::open_store(&config).await?;
    // Opening the vault creates the system key if this is a fresh database.
    let vault = Vault::open(
        store.clone(),
        provider.clone(),
        config.encryption_algorithm,
        CacheLimits::default(),
    )
    .await?;
    match action {
        KeysAction::Status => {
            print_stdout(&format!(
                "{}\n",
                rotation::status(&store, provider.as_ref()).await?
            ));
        }
        KeysAction::Rotate { batch_size } => {
            let options = RotationOptions {
                batch_size,
                max_keys: None,
            };
            let report = rotation::rotate(&store, provider.as_ref(), options).await?;
            let target = format!("kek:v{}", report.target_version);
            let event = AuditEvent {
                actor: "cli",
                action: "keys.rotate",
                target: Some(&target),
                reason: None,
                request_id: None,
            };
            audit::record(&store, &vault, event).await?;
            let mut text = match report.created_version {
                Some(version) => format!("created root key version {version}\n"),
                None => format!(
                    "resumed the rotation to root key version {}\n",
                    report.target_version
                ),
            };
            text.push_str(&format!(
                "re-wrapped {} data key(s) and {} system key(s) with version {}\n",
                report.rewrapped_data_keys, report.rewrapped_system_keys, report.target_version
            ));
            for version in &report.retired {
                text.push_str(&format!("retired root key version {version}\n"));
            }
            for (version, reason) in &report.not_retired {
                text.push_str(&format!(
                    "version {version} is unused but was not retired: {reason}\n"
                ));
            }
            print_stdout(&text);
        }
    }
    store.close().await?;
    Ok(())
}

/// Opens the store (applying migrations) and the vault, for commands that read or write
/// sealed data.
async fn open_vault(config: &Config) -> anyhow::Result<(Store, Vault)> {
    let provider = startup::open_key_provider(config)?;
    let store = startup::open_store(config).await?;
    let vault = Vault::open(
        store.clone(),
        provider,
        config.encryption_algorithm,
        CacheLimits::default(),
    )
    .await?;
    Ok((store, vault))
}

/// The checked inputs of `icecone staff create`.
struct StaffInput {
    email: Email,
    password: Password,
    role: StaffRole,
}

/// Parses the flags and reads the password from standard input (one line).
fn read_staff_input(email: &str, role: &str) -> Result<StaffInput, String> {
    let email = Email::parse(email).map_err(|error| format!("--email: {error}"))?;
    let role = StaffRole::parse(role)
        .map_err(|_| "--role must be SUPPORT, DPO, AUDITOR, ADMIN or ANALYST".to_owned())?;
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|_| "could not read the password from standard input".to_owned())?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let password = Password::parse(password).map_err(|error| format!("the password: {error}"))?;
    Ok(StaffInput {
        email,
        password,
        role,
    })
}

async fn staff_create(config: Config, input: StaffInput) -> anyhow::Result<()> {
    let (store, vault) = open_vault(&config).await?;
    let uri =
        icecone_app::auth::staff::create(&store, &vault, &input.email, &input.password, input.role)
            .await?;
    store.close().await?;
    print_stdout(&format!("{}\n", uri.as_str()));
    Ok(())
}

/// `icecone staff grant|revoke`: checks the flags, then changes the role.
fn staff_role_command(
    config: Option<std::path::PathBuf>,
    email: &str,
    role: &str,
    grant: bool,
) -> ExitCode {
    let email = match Email::parse(email) {
        Ok(email) => email,
        Err(error) => {
            print_stderr(&format!("icecone: --email: {error}"));
            return ExitCode::from(2);
        }
    };
    let Ok(role) = StaffRole::parse(role) else {
        print_stderr("icecone: --role must be SUPPORT, DPO, AUDITOR, ADMIN or ANALYST");
        return ExitCode::from(2);
    };
    run(
        config,
        |_| {},
        move |config, _| async move {
            let (store, vault) = open_vault(&config).await?;
            let changed =
                icecone_app::auth::staff::change_role(&store, &vault, &email, role, grant).await;
            store.close().await?;
            let verb = if grant { "granted" } else { "revoked" };
            match changed? {
                true => print_stdout(&format!("{role} {verb}\n")),
                false => print_stdout(&format!("nothing to do: {role} already {verb}\n")),
            }
            Ok(())
        },
    )
}

async fn audit_verify(config: Config) -> anyhow::Result<()> {
    let (store, vault) = open_vault(&config).await?;
    let outcome = audit::verify(&store, &vault).await?;
    store.close().await?;
    match outcome {
        audit::Verification::Intact(verified) => {
            let mac: String = verified
                .head
                .mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            print_stdout(&format!(
                "audit trail intact: {} entries; head: entry {} with MAC {mac}\n",
                verified.entries, verified.head.seq
            ));
            Ok(())
        }
        audit::Verification::Broken(broken) => Err(anyhow::anyhow!("{broken}")),
    }
}

#[allow(
    clippy::print_stdout,
    reason = "`icecone schema`, `icecone keys` and `icecone audit` write their output to standard output"
)]
fn print_stdout(text: &str) {
    print!("{text}");
}

#[allow(
    clippy::print_stderr,
    reason = "errors before logging is set up go to standard error"
)]
fn print_stderr(text: &str) {
    eprintln!("{text}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_default_command() {
        let cli = Cli::try_parse_from(["icecone"]).expect("parses");
        assert!(cli.command.is_none());
        let cli =
            Cli::try_parse_from(["icecone", "serve", "--listen", "127.0.0.1:0"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Serve {
                listen: Some(_),
                ..
            })
        ));
    }

    #[test]
    fn the_serve_flags_override_the_settings_and_meet_the_production_rules() {
        let cli = Cli::try_parse_from([
            "icecone",
            "serve",
            "--tls-cert",
            "/tls/cert.pem",
            "--tls-key",
            "/tls/key.pem",
            "--listen",
            "0.0.0.0:8443",
        ])
        .expect("parses");
        let Some(Command::Serve {
            listen,
            tls_cert,
            tls_key,
        }) = cli.command
        else {
            panic!("serve: {:?}", cli.command);
        };
        let production = || Settings {
            env: crate::config::Environment::Production,
            master_key_file: Some(PathBuf::from("/k")),
            database_url: Some("postgres://db/icecone?sslmode=require".to_owned().into()),
            smtp_url: Some("smtps://relay.icecone.example".to_owned().into()),
            mail_from: Some("IceCone <no-reply@icecone.example>".to_owned()),
            public_url: Some("https://icecone.example".to_owned()),
            dpo_contact: Some("dpo@icecone.example".to_owned()),
            ..Settings::default()
        };

        let mut settings = production();
        serve_flags(listen, tls_cert, tls_key)(&mut settings);
        let config = settings.resolve().expect("HTTPS off loopback is allowed");
        assert_eq!(config.listen.to_string(), "0.0.0.0:8443");
        let tls = config.tls.expect("TLS files");
        assert_eq!(tls.cert, PathBuf::from("/tls/cert.pem"));
        assert_eq!(tls.key, PathBuf::from("/tls/key.pem"));

        // `--listen` alone goes through the same check as ICECONE_LISTEN.
        let mut settings = production();
        serve_flags(listen, None, None)(&mut settings);
        let error = settings.resolve().expect_err("plain HTTP off loopback");
        assert!(
            matches!(
                error,
                crate::config::ConfigError::PlainHttpInProduction { .. }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn the_long_help_documents_every_setting() {
        let help = Cli::command().render_long_help().to_string();
        for setting in crate::config::all_settings() {
            assert!(
                help.contains(&setting.env_var()),
                "{} is not in --help",
                setting.env_var()
            );
        }
    }
}
