//! Housekeeping on a timer: the retention purges (`crate::retention::housekeeping`, one
//! task per purge) and the policy notices each run at start-up, then once an interval, on
//! every instance (each run is safe to repeat and to race: what one instance deleted,
//! another finds gone).

use std::future::Future;
use std::time::Duration;

/// Spawns `run` at once and then every `interval`; a run answers how many things it
/// handled. Counts above zero are logged with `task`, failures as warnings (the next run
/// tries again).
pub(crate) fn spawn_every<F, Fut, E>(
    task: &'static str,
    interval: Duration,
    mut run: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64, E>> + Send,
    E: Into<anyhow::Error>,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match run().await.map_err(Into::into) {
                Ok(0) => {}
                Ok(count) => tracing::info!(task, count, "housekeeping done"),
                Err(error) => {
                    tracing::warn!(task, error = format!("{error:#}"), "housekeeping failed")
                }
            }
        }
    })
}
