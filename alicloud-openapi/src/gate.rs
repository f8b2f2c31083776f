//! Per endpoint: a limit on calls in flight, and a throttling pause shared by every operation on it, so that
//! a throttling storm slows everyone down together instead of each operation burning its own retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::context::CallContext;
use crate::error::Error;

/// The calls in flight to one endpoint, and its throttling pause.
pub(crate) struct Gate {
    slots: Semaphore,
    paused_until: Mutex<Option<Instant>>,
}

impl Gate {
    fn new(max_in_flight: usize) -> Gate {
        Gate {
            slots: Semaphore::new(max_in_flight.max(1)),
            paused_until: Mutex::new(None),
        }
    }

    fn pause(&self) -> Option<Instant> {
        *self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the endpoint is not paused and a slot is free; the slot is held by the returned permit.
    pub(crate) async fn enter(&self, ctx: &CallContext) -> Result<SemaphorePermit<'_>, Error> {
        while let Some(until) = self.pause().filter(|u| *u > Instant::now()) {
            if until >= ctx.deadline {
                return Err(Error::DeadlineExceeded { last: None });
            }
            tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => return Err(Error::Cancelled),
                _ = tokio::time::sleep_until(until) => {}
            }
        }
        tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => Err(Error::Cancelled),
            _ = tokio::time::sleep_until(ctx.deadline) => Err(Error::DeadlineExceeded { last: None }),
            permit = self.slots.acquire() => permit.map_err(|_| Error::Cancelled),
        }
    }

    /// Every operation on the endpoint waits until at least `until` before its next attempt.
    pub(crate) fn pause_until(&self, until: Instant) {
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

/// One [`Gate`] per endpoint.
pub(crate) struct Gates {
    max_in_flight: usize,
    by_endpoint: Mutex<HashMap<String, Arc<Gate>>>,
}

impl Gates {
    /// Gates letting at most `max_in_flight` calls through to each endpoint at once.
    pub(crate) fn new(max_in_flight: usize) -> Gates {
        Gates {
            max_in_flight,
            by_endpoint: Mutex::new(HashMap::new()),
        }
    }

    /// The gate of `endpoint`.
    pub(crate) fn gate(&self, endpoint: &str) -> Arc<Gate> {
        self.by_endpoint
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(endpoint.to_string())
            .or_insert_with(|| Arc::new(Gate::new(self.max_in_flight)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;

    fn ctx(seconds: u64) -> CallContext {
        CallContext {
            deadline: Instant::now() + Duration::from_secs(seconds),
            cancel: CancellationToken::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_the_limit_is_in_flight() {
        let gates = Arc::new(Gates::new(3));
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (gates, now, peak) = (gates.clone(), now.clone(), peak.clone());
                tokio::spawn(async move {
                    let gate = gates.gate("https://ecs.example");
                    let _slot = gate.enter(&ctx(60)).await.expect("slot");
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        // Another endpoint has its own slots.
        let other = gates.gate("https://ecd.example");
        let _a = other.enter(&ctx(60)).await.expect("slot");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_operation_on_the_endpoint() {
        let gates = Gates::new(10);
        let gate = gates.gate("https://ecs.example");
        let until = Instant::now() + Duration::from_secs(2);
        gate.pause_until(until);
        gate.pause_until(until - Duration::from_secs(1)); // never shortened
        // Still held a millisecond before the pause ends, let through when it does.
        let call = ctx(60);
        let early = tokio::time::timeout_at(until - Duration::from_millis(1), gate.enter(&call));
        assert!(early.await.is_err(), "entered before the pause ended");
        drop(gate.enter(&call).await.expect("slot"));
        // A pause past the deadline fails at once instead of waiting it out.
        gate.pause_until(Instant::now() + Duration::from_secs(120));
        assert!(matches!(
            tokio::time::timeout(Duration::ZERO, gate.enter(&call)).await,
            Ok(Err(Error::DeadlineExceeded { .. }))
        ));
        // Other endpoints are not paused: entered without waiting on any timer.
        let other = gates.gate("https://ecd.example");
        let entered = tokio::time::timeout(Duration::ZERO, other.enter(&call)).await;
        assert!(matches!(entered, Ok(Ok(_))), "the other endpoint waited");
    }
}
