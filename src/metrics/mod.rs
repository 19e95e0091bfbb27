//! The container statistics sender (README "Metrics"): a side task of the supervisor — a
//! forked child of PID 1, named `graphite-sender` — that reads the container's cgroup figures
//! ([`cgroup::container_stats`]) every `SPARK_INIT_GRAPHITE_INTERVAL` seconds and sends them to
//! Graphite as `<prefix>.cgroup.<name> <value> <timestamp>` lines.
//!
//! PID 1 never waits for it: all network I/O is here, in its own process. Carbon being down,
//! slow or refusing costs this process time and at most [`outbox::MAX_BYTES`] of waiting
//! points; PID 1 only reaps it. It ends with the command: the supervisor's SIGTERM to what is
//! left (its default action, at once), or the kernel's SIGKILL when PID 1 dies
//! (`PR_SET_PDEATHSIG`, set for every side task).
//!
//! Each connect and each write gives up after [`io_timeout`] (2 s, less for a shorter
//! interval); after a failure the next connect waits on the [`RECONNECT`] schedule.

mod outbox;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::clients::graphite::{self, Connection};
use crate::config::metrics::GraphiteEndpoint;
use crate::facts::cgroup;
use crate::plan::metrics::MetricsDuty;

pub use outbox::{Outbox, MAX_BYTES};

/// Seconds before the next connect after the 1st, 2nd, ... failure in a row; the last one
/// repeats. A carbon that comes back is reached within a minute.
pub const RECONNECT: [u64; 7] = [1, 2, 4, 8, 16, 32, 60];

/// The process name the sender takes (`/proc/<pid>/comm`, at most 15 bytes).
pub const PROCESS_NAME: &std::ffi::CStr = c"graphite-sender";

/// How long one connect or one write may take: 2 s, or the interval when shorter, so a
/// stalled carbon delays the next sample by at most about one interval.
pub fn io_timeout(interval: Duration) -> Duration {
    interval.min(Duration::from_secs(2))
}

/// The side task's work: sample, queue, send, sleep until the next sample; never returns.
pub fn send_container_stats(duty: &MetricsDuty) {
    let _ = nix::sys::prctl::set_name(PROCESS_NAME);
    tracing::info!(
        graphite = %duty.graphite,
        prefix = %duty.prefix,
        interval_seconds = duty.interval.as_secs(),
        "sending the container's cgroup statistics to Graphite"
    );
    let mut sender = Sender::new(duty.graphite.clone(), io_timeout(duty.interval), MAX_BYTES);
    let mut next = Instant::now();
    loop {
        sender.queue(
            &duty.prefix,
            &cgroup::container_stats(&duty.cgroup_root),
            unix_now(),
        );
        sender.flush(Instant::now());
        next += duty.interval;
        let now = Instant::now();
        if next <= now {
            // Behind (a write that ran into its timeout): skip the samples missed.
            next = now + duty.interval;
        }
        std::thread::sleep(next - now);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The sender's state between samples: what waits, the connection, when to try again.
pub struct Sender {
    endpoint: GraphiteEndpoint,
    timeout: Duration,
    pub outbox: Outbox,
    connection: Option<Connection>,
    /// No connect before this, after a failure.
    retry_at: Option<Instant>,
    /// Failures in a row.
    failures: usize,
}

impl Sender {
    pub fn new(endpoint: GraphiteEndpoint, timeout: Duration, limit: usize) -> Self {
        Sender {
            endpoint,
            timeout,
            outbox: Outbox::new(limit),
            connection: None,
            retry_at: None,
            failures: 0,
        }
    }

    /// Queues one sample's points under `<prefix>.cgroup.`.
    pub fn queue(&mut self, prefix: &str, stats: &cgroup::ContainerStats, timestamp: u64) {
        for (name, value) in stats.series() {
            let path = format!("{prefix}.cgroup.{name}");
            self.outbox.push(graphite::line(&path, value, timestamp));
        }
    }

    /// Sends what waits, unless a failure's back-off is still running.
    pub fn flush(&mut self, now: Instant) {
        let dropped = self.outbox.take_dropped();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                graphite = %self.endpoint,
                "dropped the oldest container statistics: Graphite has not taken them and \
                 at most {MAX_BYTES} bytes wait"
            );
        }
        if self.outbox.is_empty() {
            return;
        }
        if self
            .connection
            .as_ref()
            .is_some_and(Connection::peer_closed)
        {
            // Carbon restarted or dropped us: reconnect now, nothing is lost yet.
            self.connection = None;
        }
        if self.connection.is_none() {
            if self.retry_at.is_some_and(|at| now < at) {
                return;
            }
            match Connection::open(&self.endpoint, self.timeout) {
                Ok(connection) => self.connection = Some(connection),
                Err(why) => return self.failed(now, &why),
            }
        }
        let bytes = self.outbox.contents();
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        match connection.write_all(&bytes) {
            Ok(()) => {
                self.outbox.sent(bytes.len());
                if self.failures > 0 {
                    tracing::info!(graphite = %self.endpoint, "Graphite takes the container statistics again");
                }
                self.failures = 0;
                self.retry_at = None;
            }
            Err(failed) => {
                self.outbox.sent(failed.written);
                self.connection = None;
                self.failed(now, &failed.error.to_string());
            }
        }
    }

    /// Notes a failure and schedules the next connect.
    fn failed(&mut self, now: Instant, why: &str) {
        let delay = Duration::from_secs(RECONNECT[self.failures.min(RECONNECT.len() - 1)]);
        self.failures += 1;
        self.retry_at = Some(now + delay);
        if self.failures == 1 {
            tracing::warn!(
                graphite = %self.endpoint,
                "cannot send the container statistics to Graphite ({why}); keeping up to \
                 {MAX_BYTES} bytes of them and trying again in {} s, then on a back-off up to \
                 {} s",
                delay.as_secs(),
                RECONNECT[RECONNECT.len() - 1]
            );
        } else if self.failures.is_power_of_two() {
            // Every failure would be a line every few seconds; the 2nd, 4th, 8th … say it goes on.
            tracing::info!(graphite = %self.endpoint, failures = self.failures, "still cannot reach Graphite: {why}");
        }
    }

    /// When the next connect may be tried, if a failure holds it back.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn stats() -> cgroup::ContainerStats {
        cgroup::ContainerStats {
            memory_current: Some(536870912),
            pids_current: Some(42),
            ..Default::default()
        }
    }

    fn endpoint(listener: &TcpListener) -> GraphiteEndpoint {
        GraphiteEndpoint {
            host: "127.0.0.1".into(),
            port: listener.local_addr().unwrap().port(),
        }
    }

    const EXPECTED: &str = "c.1.cgroup.memory.current 536870912 1764000000\n\
                            c.1.cgroup.pids.current 42 1764000000\n";

    #[test]
    fn a_sample_reaches_carbon_as_plaintext_lines() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = Sender::new(endpoint(&listener), Duration::from_secs(2), MAX_BYTES);
        sender.queue("c.1", &stats(), 1764000000);
        sender.flush(Instant::now());
        assert!(sender.outbox.is_empty());
        let (mut accepted, _) = listener.accept().unwrap();
        let mut got = vec![0u8; EXPECTED.len()];
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), EXPECTED);
    }

    #[test]
    fn a_refusing_carbon_keeps_the_points_and_backs_off() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = endpoint(&listener);
        drop(listener);
        let mut sender = Sender::new(target.clone(), Duration::from_secs(2), MAX_BYTES);
        sender.queue("c.1", &stats(), 1764000000);
        let t0 = Instant::now();
        sender.flush(t0);
        assert_eq!(sender.retry_at(), Some(t0 + Duration::from_secs(1)));
        // Before the back-off ends nothing is tried; after it, the next delay doubles.
        sender.flush(t0 + Duration::from_millis(500));
        assert_eq!(sender.retry_at(), Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        sender.flush(t1);
        assert_eq!(sender.retry_at(), Some(t1 + Duration::from_secs(2)));
        assert_eq!(sender.outbox.contents(), EXPECTED.as_bytes());
        // Carbon is back on that port: everything kept goes, and the back-off is over.
        let back = TcpListener::bind(("127.0.0.1", target.port)).unwrap();
        sender.flush(t1 + Duration::from_secs(2));
        assert!(sender.outbox.is_empty());
        assert_eq!(sender.retry_at(), None);
        let (mut accepted, _) = back.accept().unwrap();
        let mut got = vec![0u8; EXPECTED.len()];
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), EXPECTED);
    }

    #[test]
    fn the_schedule_and_timeouts() {
        assert_eq!(io_timeout(Duration::from_secs(10)), Duration::from_secs(2));
        assert_eq!(io_timeout(Duration::from_secs(1)), Duration::from_secs(1));
        assert_eq!(RECONNECT.iter().sum::<u64>(), 123);
        assert_eq!(PROCESS_NAME.to_bytes().len(), 15, "comm holds 15 bytes");
    }
}
