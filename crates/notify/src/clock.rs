//! Injected time for back-off and reconnect waits, so tests never sleep. [`TokioClock`] follows
//! tokio's clock; [`ManualClock`] returns from every sleep at once and remembers it, so a test
//! can check that a `Retry-After` or a reconnect back-off was honoured.

use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Duration;

#[async_trait]
pub trait Clock: Send + Sync {
    async fn sleep(&self, duration: Duration);
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

#[async_trait]
impl Clock for TokioClock {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[derive(Debug, Default)]
pub struct ManualClock {
    sleeps: Mutex<Vec<Duration>>,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every duration slept so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Duration>> {
        self.sleeps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Clock for ManualClock {
    /// Returns at once, as if the time had passed.
    async fn sleep(&self, duration: Duration) {
        self.lock().push(duration);
        // Yield so a loop that only "sleeps" between attempts still lets other tasks run.
        tokio::task::yield_now().await;
    }
}
