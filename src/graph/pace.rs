//! Pacing writes under Graph's write limit instead of hammering into 429s.
//!
//! Graph allows 3,000 writes per 150 s per app and tenant (GRAPH.md section 4). The pacer keeps
//! a sliding window of what it admitted: a batch of `n` writes goes out only when the writes
//! admitted in the last `window` plus `n` stay within `limit`. So a run uses the whole allowance
//! at once and then exactly the rate Graph allows, the floor for any client. The window is
//! stretched by a 2% margin, because Graph counts a write when it arrives, a little after we
//! send it.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    limit: u32,
    window: Duration,
    admitted: Mutex<VecDeque<(Instant, u32)>>,
    /// Writes admitted since the pacer was made.
    total: std::sync::atomic::AtomicU64,
}

impl Pacer {
    /// At most `limit` writes in any `window` (plus the margin).
    pub fn new(limit: u32, window: Duration) -> Self {
        Pacer {
            limit: limit.max(1),
            window: window.mul_f64(1.02),
            admitted: Mutex::new(VecDeque::new()),
            total: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The writes admitted so far.
    pub fn admitted(&self) -> u64 {
        self.total.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wait until `n` writes may be sent, then count them as sent.
    pub async fn acquire(&self, n: u32) {
        let asked = n;
        let n = n.min(self.limit);
        // Holding the lock while waiting keeps admissions first come, first served.
        let mut q = self.admitted.lock().await;
        loop {
            let now = Instant::now();
            while q
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            let in_window: u32 = q.iter().map(|(_, k)| k).sum();
            if in_window + n <= self.limit {
                q.push_back((now, n));
                self.total
                    .fetch_add(u64::from(asked), std::sync::atomic::Ordering::Relaxed);
                return;
            }
            // Wait until enough of the oldest admissions leave the window.
            let mut freed = 0;
            let mut until = now;
            for (t, k) in q.iter() {
                freed += k;
                until = *t + self.window;
                if in_window - freed + n <= self.limit {
                    break;
                }
            }
            tokio::time::sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_exceeds_the_limit_in_any_window_and_is_not_slower_than_needed() {
        // 100 writes per 10 s, in batches of 20: the paused clock makes this instant and exact.
        let p = Pacer::new(100, Duration::from_secs(10));
        let start = Instant::now();
        let mut admitted = Vec::new();
        for _ in 0..30 {
            p.acquire(20).await;
            admitted.push(Instant::now().duration_since(start).as_secs_f64());
        }
        for (i, &t) in admitted.iter().enumerate() {
            let in_window = admitted[i..].iter().take_while(|&&u| u < t + 10.0).count() as u32 * 20;
            assert!(in_window <= 100, "window starting at {t}: {in_window}");
        }
        // The first 100 go at once; 600 writes need 5 more windows (with the 2% margin).
        assert_eq!(admitted[4], 0.0);
        let total = *admitted.last().unwrap();
        assert!((total - 5.0 * 10.2).abs() < 0.01, "{total}");
    }
}
