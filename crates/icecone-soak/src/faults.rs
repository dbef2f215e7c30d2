//! The faults of a run: when each comes ([`plan`], spread over the run so that each hits
//! traffic and each has ended before the run does), injecting it, and how long the service
//! took to recover from it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fleet::{Fleet, wait_ready};
use crate::provider_mock::Mode;
use crate::world::{World, lock};

/// How long a killed instance stays down before it is started again.
const DOWN_FOR: Duration = Duration::from_secs(3);
/// How long each SMTP reply waits while the server is slow.
const SMTP_DELAY: Duration = Duration::from_millis(1500);
/// How slow the provider is in its timeout phase (the instances give up after 3 s).
const PROVIDER_DELAY: Duration = Duration::from_secs(8);
/// The longest a recovery is waited for.
const PATIENCE: Duration = Duration::from_secs(90);

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// SIGKILL instance `n`, start it again after a few seconds.
    KillInstance(usize),
    /// Restart PostgreSQL with the run's command.
    RestartDatabase,
    /// The provider answers 500s.
    ProviderErrors,
    /// The provider answers 429 with `Retry-After`.
    ProviderRateLimited,
    /// The provider answers later than the instances wait.
    ProviderTimeouts,
    /// Every SMTP reply waits.
    SlowSmtp,
}

impl Fault {
    pub(crate) fn describe(self) -> String {
        match self {
            Fault::KillInstance(n) => format!(
                "SIGKILL icecone-{n}, restart after {} s",
                DOWN_FOR.as_secs()
            ),
            Fault::RestartDatabase => "restart PostgreSQL".to_owned(),
            Fault::ProviderErrors => "provider answers 500".to_owned(),
            Fault::ProviderRateLimited => "provider answers 429 (Retry-After: 1)".to_owned(),
            Fault::ProviderTimeouts => format!(
                "provider answers after {} s (instances wait 3 s)",
                PROVIDER_DELAY.as_secs()
            ),
            Fault::SlowSmtp => format!("SMTP server waits {} ms per reply", SMTP_DELAY.as_millis()),
        }
    }
}

/// A fault at a point of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) at: Duration,
    pub(crate) fault: Fault,
    /// How long it lasts (zero for a one-off event).
    pub(crate) lasting: Duration,
}

/// The faults of a run of `duration` across `instances` instances: three kills (a
/// different instance each time), two database restarts, three provider phases and a slow
/// mail server, at fixed fractions of the run, each over by 85 % of it.
pub(crate) fn plan(duration: Duration, instances: usize) -> Vec<Planned> {
    let at = |percent: u32| duration * percent / 100;
    let window = (duration * 6 / 100).max(Duration::from_secs(5));
    let instance = |n: usize| n % instances.max(1);
    let mut planned = vec![
        Planned {
            at: at(8),
            fault: Fault::ProviderErrors,
            lasting: window,
        },
        Planned {
            at: at(18),
            fault: Fault::KillInstance(instance(1)),
            lasting: Duration::ZERO,
        },
        Planned {
            at: at(27),
            fault: Fault::SlowSmtp,
            lasting: (duration / 10).max(Duration::from_secs(8)),
        },
        Planned {
            at: at(36),
            fault: Fault::RestartDatabase,
            lasting: Duration::ZERO,
        },
        Planned {
            at: at(45),
            fault: Fault::ProviderRateLimited,
            lasting: window,
        },
        Planned {
            at: at(54),
            fault: Fault::KillInstance(instance(2)),
            lasting: Duration::ZERO,
        },
        Planned {
            at: at(62),
            fault: Fault::ProviderTimeouts,
            lasting: window,
        },
        Planned {
            at: at(71),
            fault: Fault::RestartDatabase,
            lasting: Duration::ZERO,
        },
        Planned {
            at: at(78),
            fault: Fault::KillInstance(instance(0)),
            lasting: Duration::ZERO,
        },
    ];
    planned.sort_by_key(|p| p.at);
    planned
}

/// What became of one fault.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) at: Duration,
    pub(crate) fault: Fault,
    pub(crate) lasting: Duration,
    /// From the fault's end (a kill or restart: its start) until the service was whole
    /// again; `None` when it was not within the patience.
    pub(crate) recovered_after: Option<Duration>,
    /// What recovery was measured as.
    pub(crate) measured: &'static str,
}

/// What the injector acts on.
#[derive(Debug, Clone)]
pub(crate) struct Targets {
    pub(crate) fleet: Arc<Mutex<Fleet>>,
    pub(crate) world: Arc<World>,
    pub(crate) restart_database: String,
}

/// Injects `planned` faults, counted from `start`; what became of each.
pub(crate) async fn inject(planned: Vec<Planned>, start: Instant, targets: Targets) -> Vec<Record> {
    let mut records = Vec::new();
    for fault in planned {
        tokio::time::sleep_until((start + fault.at).into()).await;
        let (recovered_after, measured) = match fault.fault {
            Fault::KillInstance(n) => kill(&targets, n).await,
            Fault::RestartDatabase => restart_database(&targets).await,
            Fault::ProviderErrors => provider(&targets, Mode::ServerErrors, fault.lasting).await,
            Fault::ProviderRateLimited => {
                provider(&targets, Mode::RateLimited, fault.lasting).await
            }
            Fault::ProviderTimeouts => {
                provider(&targets, Mode::Slow(PROVIDER_DELAY), fault.lasting).await
            }
            Fault::SlowSmtp => slow_smtp(&targets, fault.lasting).await,
        };
        records.push(Record {
            at: fault.at,
            fault: fault.fault,
            lasting: fault.lasting,
            recovered_after,
            measured,
        });
    }
    records
}

async fn kill(targets: &Targets, n: usize) -> (Option<Duration>, &'static str) {
    let killed_at = Instant::now();
    let port = {
        let mut fleet = lock(&targets.fleet);
        fleet.kill(n);
        fleet.ports()[n]
    };
    tokio::time::sleep(DOWN_FOR).await;
    if lock(&targets.fleet).start(n).is_err() {
        return (None, "the instance could not be started again");
    }
    let ready = wait_ready(targets.world.gateway.http(), port, PATIENCE).await;
    (
        ready.map(|_| killed_at.elapsed()),
        "from SIGKILL until the restarted instance is ready (/readyz)",
    )
}

async fn restart_database(targets: &Targets) -> (Option<Duration>, &'static str) {
    let began = Instant::now();
    let command = targets.restart_database.clone();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
    })
    .await;
    if !matches!(status, Ok(Ok(s)) if s.success()) {
        return (None, "the restart command failed");
    }
    let ports = lock(&targets.fleet).ports();
    let mut all = true;
    for port in ports {
        all &= wait_ready(targets.world.gateway.http(), port, PATIENCE)
            .await
            .is_some();
    }
    let recovered = began.elapsed();
    lock(&targets.world.ledger)
        .database_faults
        .push((began, Instant::now()));
    (
        all.then_some(recovered),
        "from the restart command until every instance is ready (/readyz)",
    )
}

async fn provider(
    targets: &Targets,
    mode: Mode,
    lasting: Duration,
) -> (Option<Duration>, &'static str) {
    let mock = &targets.world.provider;
    mock.set_mode(mode);
    tokio::time::sleep(lasting).await;
    mock.set_mode(Mode::Healthy);
    let ended = Instant::now();
    let measured = "from the fault's end until an instance next got an answer from the provider";
    while ended.elapsed() < PATIENCE {
        if mock.last_answer().is_some_and(|at| at > ended) {
            return (Some(ended.elapsed()), measured);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (None, measured)
}

async fn slow_smtp(targets: &Targets, lasting: Duration) -> (Option<Duration>, &'static str) {
    let smtp = &targets.world.smtp;
    smtp.set_delay(SMTP_DELAY);
    tokio::time::sleep(lasting).await;
    smtp.set_delay(Duration::ZERO);
    let ended = Instant::now();
    let before = smtp.accepted();
    let measured = "from the fault's end until the next message was accepted";
    while ended.elapsed() < PATIENCE {
        if smtp.accepted() > before {
            return (Some(ended.elapsed()), measured);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (None, measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_falls_inside_the_run_and_ends_before_it() {
        for seconds in [120, 600, 3600] {
            let duration = Duration::from_secs(seconds);
            let planned = plan(duration, 3);
            assert_eq!(planned.len(), 9);
            assert!(planned.windows(2).all(|w| w[0].at <= w[1].at), "sorted");
            for fault in &planned {
                assert!(fault.at > Duration::ZERO, "{fault:?}");
                assert!(
                    fault.at + fault.lasting <= duration * 9 / 10,
                    "{seconds} s: {fault:?} ends too late"
                );
            }
            let killed: Vec<usize> = planned
                .iter()
                .filter_map(|p| match p.fault {
                    Fault::KillInstance(n) => Some(n),
                    _ => None,
                })
                .collect();
            assert_eq!(killed, [1, 2, 0], "each instance is killed once");
            // Windows do not overlap the next fault of the same target.
            let provider: Vec<&Planned> = planned
                .iter()
                .filter(|p| {
                    matches!(
                        p.fault,
                        Fault::ProviderErrors
                            | Fault::ProviderRateLimited
                            | Fault::ProviderTimeouts
                    )
                })
                .collect();
            assert!(
                provider
                    .windows(2)
                    .all(|w| w[0].at + w[0].lasting < w[1].at)
            );
            assert_eq!(
                planned
                    .iter()
                    .filter(|p| p.fault == Fault::RestartDatabase)
                    .count(),
                2
            );
        }
        // One instance: every kill is of it.
        assert!(
            plan(Duration::from_secs(120), 1)
                .iter()
                .all(|p| match p.fault {
                    Fault::KillInstance(n) => n == 0,
                    _ => true,
                })
        );
    }
}
