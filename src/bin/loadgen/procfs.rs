//! What a run costs the server, read from `/proc` (Linux): the server process's CPU time and
//! resident memory (`--pid`), and the kernel's slab memory, where socket buffers live.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// CPU seconds and resident memory of a process, from /proc.
pub fn proc_sample(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks / 100.0, rss_kib))
}

/// The server process watched over a run: CPU and memory at its start, peak memory sampled
/// every 200 ms, all reported at the end.
pub struct ProcWatch {
    pid: Option<u32>,
    start: Option<(f64, u64)>,
    at: Instant,
    peak_rss: Arc<AtomicU64>,
}

impl ProcWatch {
    pub fn start(pid: Option<u32>) -> ProcWatch {
        let peak = Arc::new(AtomicU64::new(0));
        if let Some(pid) = pid {
            let peak = peak.clone();
            tokio::spawn(async move {
                while let Some((_, rss)) = proc_sample(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
        }
        ProcWatch {
            pid,
            start: pid.and_then(proc_sample),
            at: Instant::now(),
            peak_rss: peak,
        }
    }

    /// Prints what the run cost the server; returns its CPU seconds and the wall time.
    pub fn report(&self) -> Option<(f64, f64)> {
        let (Some(pid), Some((cpu0, rss0))) = (self.pid, self.start) else {
            return None;
        };
        let (cpu1, rss1) = proc_sample(pid)?;
        let wall = self.at.elapsed().as_secs_f64();
        {
            println!(
                "server: cpu {:.0}% of one core ({:.1}s over {:.1}s), rss {} → {} MiB (peak {} MiB)",
                100.0 * (cpu1 - cpu0) / wall,
                cpu1 - cpu0,
                wall,
                rss0 / 1024,
                rss1 / 1024,
                self.peak_rss.load(Ordering::Relaxed) / 1024
            );
        }
        Some((cpu1 - cpu0, wall))
    }
}

/// Bytes in the kernel's slab caches (sockets, their inodes, files, epoll entries…), from
/// `/proc/slabinfo` (readable by root only).
pub fn slab_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let total = text
        .lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (objs, size) = (
                f.get(2)?.parse::<u64>().ok()?,
                f.get(3)?.parse::<u64>().ok()?,
            );
            Some(objs * size)
        })
        .sum();
    Some(total)
}
