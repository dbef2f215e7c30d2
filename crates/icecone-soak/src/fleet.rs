//! The `icecone` processes of a run: three instances of the real binary on one database,
//! each on its own port with its own data directory and log file, sharing one root key
//! file. They are started, SIGKILLed, restarted, sampled for resident memory and stopped
//! here; one-shot commands (`migrate`, `staff create`, `audit verify`) run with the same
//! settings.

use std::fs::File;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::invariants::MemoryPeak;

/// One instance slot: its port stays the same across restarts.
#[derive(Debug)]
struct Instance {
    name: String,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    peak_kib: u64,
    samples: usize,
    /// The largest sample of each minute of the run.
    per_minute_kib: Vec<u64>,
    starts: usize,
}

/// The instances of a run.
#[derive(Debug)]
pub(crate) struct Fleet {
    binary: PathBuf,
    settings: Vec<(String, String)>,
    instances: Vec<Instance>,
}

/// A TCP port free at the moment of asking.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Fleet {
    /// `count` instance slots under `dir`, each on a free port, run with `settings`
    /// (`ICECONE_*` variables; nothing `ICECONE_*` or `OTEL_*` is inherited). Starts none.
    pub(crate) fn new(
        binary: PathBuf,
        dir: &Path,
        count: usize,
        settings: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let mut instances = Vec::new();
        for n in 0..count {
            let dir = dir.join(format!("instance-{n}"));
            std::fs::create_dir_all(&dir)?;
            instances.push(Instance {
                name: format!("icecone-{n}"),
                port: free_port()?,
                dir,
                child: None,
                peak_kib: 0,
                samples: 0,
                per_minute_kib: Vec::new(),
                starts: 0,
            });
        }
        Ok(Self {
            binary,
            settings,
            instances,
        })
    }

    /// Replaces the settings the instances and commands run with.
    pub(crate) fn configure(&mut self, settings: Vec<(String, String)>) {
        self.settings = settings;
    }

    /// The instances' ports, in slot order.
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.instances.iter().map(|i| i.port).collect()
    }

    /// A command for the binary with the run's settings.
    pub(crate) fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        command.current_dir(dir);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("ICECONE_") || name.starts_with("OTEL_") {
                command.env_remove(name);
            }
        }
        command.envs(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Runs a one-shot command (`args`), with `stdin` written to its standard input.
    pub(crate) fn one_shot(
        &self,
        dir: &Path,
        args: &[&str],
        stdin: &str,
    ) -> anyhow::Result<Output> {
        let mut child = self
            .command(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes())?;
        }
        Ok(child.wait_with_output()?)
    }

    /// Starts slot `n` (appending to its log file); does not wait for it.
    pub(crate) fn start(&mut self, n: usize) -> anyhow::Result<()> {
        let Some(instance) = self.instances.get(n) else {
            anyhow::bail!("no instance {n}");
        };
        let log = File::options()
            .create(true)
            .append(true)
            .open(instance.dir.join("icecone.log"))?;
        let mut command = self.command(&instance.dir);
        command
            .env("ICECONE_LISTEN", format!("127.0.0.1:{}", instance.port))
            .env("ICECONE_DATA_DIR", instance.dir.join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command.spawn()?;
        let instance = &mut self.instances[n];
        instance.child = Some(child);
        instance.starts += 1;
        Ok(())
    }

    /// SIGKILLs slot `n` and reaps it; its pid, if it was running.
    pub(crate) fn kill(&mut self, n: usize) -> Option<u32> {
        let child = self.instances.get_mut(n)?.child.as_mut()?;
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        self.instances[n].child = None;
        Some(pid)
    }

    /// Reads each live instance's VmRSS and keeps the peak per slot, overall and for the
    /// minute `elapsed` falls in.
    pub(crate) fn sample_memory(&mut self, elapsed: Duration) {
        let minute = usize::try_from(elapsed.as_secs() / 60).unwrap_or(usize::MAX);
        for instance in &mut self.instances {
            let Some(child) = instance.child.as_ref() else {
                continue;
            };
            if let Some(kib) = resident_kib(child.id()) {
                instance.peak_kib = instance.peak_kib.max(kib);
                instance.samples += 1;
                if minute < 24 * 60 {
                    if instance.per_minute_kib.len() <= minute {
                        instance.per_minute_kib.resize(minute + 1, 0);
                    }
                    instance.per_minute_kib[minute] = instance.per_minute_kib[minute].max(kib);
                }
            }
        }
    }

    /// Each slot's largest resident memory per minute of the run (0: not running then).
    pub(crate) fn per_minute(&self) -> Vec<(String, Vec<u64>)> {
        self.instances
            .iter()
            .map(|i| (i.name.clone(), i.per_minute_kib.clone()))
            .collect()
    }

    /// The memory peaks so far.
    pub(crate) fn peaks(&self) -> Vec<MemoryPeak> {
        self.instances
            .iter()
            .map(|i| MemoryPeak {
                instance: i.name.clone(),
                max_kib: i.peak_kib,
                samples: i.samples,
            })
            .collect()
    }

    /// How many times each slot was started.
    pub(crate) fn starts(&self) -> Vec<(String, usize)> {
        self.instances
            .iter()
            .map(|i| (i.name.clone(), i.starts))
            .collect()
    }

    /// SIGTERM to every instance, then waits (10 s at most, then SIGKILL).
    pub(crate) fn stop_all(&mut self) {
        for instance in &mut self.instances {
            let Some(mut child) = instance.child.take() else {
                continue;
            };
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let started = Instant::now();
            loop {
                if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                    break;
                }
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for instance in &mut self.instances {
            if let Some(mut child) = instance.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// `VmRSS` of process `pid` in KiB, from `/proc/<pid>/status`.
pub(crate) fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Waits until `GET /readyz` of `port` answers 200 (the instance reaches its database);
/// how long it took, or `None` after `patience`.
pub(crate) async fn wait_ready(
    http: &reqwest::Client,
    port: u16,
    patience: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}/readyz");
    while started.elapsed() < patience {
        let answer = http.get(&url).timeout(Duration::from_secs(2)).send().await;
        if answer.is_ok_and(|a| a.status() == 200) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\ticecone\nVmPeak:\t  900 kB\nVmRSS:\t   123456 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss(status), Some(123_456));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        // This test process has a resident set.
        assert!(resident_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
