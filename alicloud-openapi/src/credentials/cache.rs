//! A cache of temporary credentials, refreshed before they expire, once for all concurrent callers.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;

use super::{BoxFuture, Clock, Credentials, FetchContext, ProvideCredentials};
use crate::error::Error;

/// Cached credentials are replaced this long before they expire (credentials-go uses 180 s), so a signed
/// request never carries credentials about to lapse.
pub(crate) const REFRESH_MARGIN: TimeDelta = TimeDelta::minutes(3);

/// Wraps a source of temporary credentials. Callers share one cached value; when it is missing or due for
/// refresh, the first caller fetches while the others wait on the same lock and then take the new value.
pub(crate) struct Cached {
    inner: Arc<dyn ProvideCredentials>,
    slot: Mutex<Option<Credentials>>,
    clock: Clock,
}

impl Cached {
    /// A cache over `inner`, reading time from `clock`.
    pub(crate) fn new(inner: Arc<dyn ProvideCredentials>, clock: Clock) -> Cached {
        Cached {
            inner,
            slot: Mutex::new(None),
            clock,
        }
    }
}

fn due(credentials: &Credentials, now: DateTime<Utc>) -> bool {
    credentials
        .expiration
        .is_some_and(|expires| expires - REFRESH_MARGIN <= now)
}

impl ProvideCredentials for Cached {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn expired(&self, rejected: &Credentials) {
        // A refresh in progress (the lock taken) replaces them anyway.
        if let Ok(mut slot) = self.slot.try_lock()
            && slot
                .as_ref()
                .is_some_and(|c| c.access_key_id == rejected.access_key_id)
        {
            tracing::info!(source = %rejected.source, "the service says the credentials expired; fetching new ones");
            *slot = None;
        }
        self.inner.expired(rejected);
    }

    fn provide<'a>(
        &'a self,
        cx: &'a FetchContext<'a>,
    ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
        Box::pin(async move {
            // Held across the fetch: that is what makes concurrent refreshes one.
            let mut slot = self.slot.lock().await;
            if let Some(current) = slot.as_ref()
                && !due(current, self.clock.now())
            {
                return Ok(Some(current.clone()));
            }
            match self.inner.provide(cx).await {
                Ok(Some(fresh)) => {
                    tracing::debug!(
                        source = %fresh.source,
                        expiration = ?fresh.expiration,
                        "credentials fetched"
                    );
                    *slot = Some(fresh.clone());
                    Ok(Some(fresh))
                }
                Ok(None) => Ok(None),
                Err(err) => match slot.as_ref() {
                    // Due for refresh but not yet expired: keep working and try again at the next call.
                    Some(current)
                        if current
                            .expiration
                            .is_none_or(|expires| expires > self.clock.now()) =>
                    {
                        tracing::warn!(source = %current.source, error = %err, "refreshing credentials failed; using the current ones until they expire");
                        Ok(Some(current.clone()))
                    }
                    _ => Err(err),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::credentials::testing::{ManualClock, fetch_context};

    /// Hands out credentials that expire `lifetime` after the clock's now, counting fetches.
    struct Issuer {
        clock: ManualClock,
        lifetime: TimeDelta,
        fetches: AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
    }

    impl ProvideCredentials for Issuer {
        fn describe(&self) -> String {
            "issuer".into()
        }
        fn provide<'a>(
            &'a self,
            _cx: &'a FetchContext<'a>,
        ) -> BoxFuture<'a, Result<Option<Credentials>, Error>> {
            Box::pin(async move {
                let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
                // Slow enough that concurrent callers overlap.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if self.fail.load(Ordering::SeqCst) {
                    return Err(Error::Credentials("issuer down".into()));
                }
                let mut c = Credentials::new(format!("STS.{n}"), "s", Some("t".into()), "issuer");
                c.expiration = Some(self.clock.now() + self.lifetime);
                Ok(Some(c))
            })
        }
    }

    fn issuer(clock: &ManualClock, minutes: i64) -> Arc<Issuer> {
        Arc::new(Issuer {
            clock: clock.clone(),
            lifetime: TimeDelta::minutes(minutes),
            fetches: AtomicUsize::new(0),
            fail: Default::default(),
        })
    }

    #[tokio::test]
    async fn refreshes_three_minutes_before_expiry() {
        let clock = ManualClock::new();
        let source = issuer(&clock, 15);
        let cache = Cached::new(source.clone(), clock.clock());
        let (ctx, transport) = fetch_context();
        let cx = FetchContext::new(&ctx, &transport);
        let id = |c: Option<Credentials>| c.map(|c| c.access_key_id).unwrap_or_default();
        assert_eq!(id(cache.provide(&cx).await.unwrap()), "STS.1");
        clock.advance(TimeDelta::minutes(11));
        assert_eq!(id(cache.provide(&cx).await.unwrap()), "STS.1");
        clock.advance(TimeDelta::minutes(1));
        // 12 minutes in: exactly the margin before a 15-minute expiry.
        assert_eq!(id(cache.provide(&cx).await.unwrap()), "STS.2");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_unexpired_credentials_then_fails() {
        let clock = ManualClock::new();
        let source = issuer(&clock, 15);
        let cache = Cached::new(source.clone(), clock.clock());
        let (ctx, transport) = fetch_context();
        let cx = FetchContext::new(&ctx, &transport);
        cache.provide(&cx).await.unwrap();
        source.fail.store(true, Ordering::SeqCst);
        clock.advance(TimeDelta::minutes(13));
        let kept = cache.provide(&cx).await.unwrap().unwrap();
        assert_eq!(kept.access_key_id, "STS.1");
        clock.advance(TimeDelta::minutes(3));
        let err = cache.provide(&cx).await.unwrap_err();
        assert!(err.to_string().contains("issuer down"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn twenty_concurrent_callers_share_one_fetch() {
        let clock = ManualClock::new();
        let source = issuer(&clock, 15);
        let cache = Arc::new(Cached::new(source.clone(), clock.clock()));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let cache = cache.clone();
            tasks.spawn(async move {
                let (ctx, transport) = fetch_context();
                let cx = FetchContext::new(&ctx, &transport);
                cache.provide(&cx).await.unwrap().unwrap().access_key_id
            });
        }
        let ids = tasks.join_all().await;
        assert!(ids.iter().all(|id| id == "STS.1"), "{ids:?}");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn credentials_the_service_calls_expired_are_fetched_again() {
        let clock = ManualClock::new();
        let source = issuer(&clock, 15);
        let cache = Cached::new(source.clone(), clock.clock());
        let (ctx, transport) = fetch_context();
        let cx = FetchContext::new(&ctx, &transport);
        let first = cache.provide(&cx).await.unwrap().expect("credentials");
        // By the local clock they have 15 minutes left, but the service refused them.
        cache.expired(&first);
        let second = cache.provide(&cx).await.unwrap().expect("credentials");
        assert_ne!(first.access_key_id, second.access_key_id);
        // Refusing credentials that are no longer cached changes nothing.
        cache.expired(&first);
        let third = cache.provide(&cx).await.unwrap().expect("credentials");
        assert_eq!(second.access_key_id, third.access_key_id);
    }

    #[tokio::test]
    async fn long_lived_credentials_are_fetched_once() {
        let clock = ManualClock::new();
        let cache = Cached::new(
            Arc::new(Credentials::new("AK", "S", None, "static")),
            clock.clock(),
        );
        let (ctx, transport) = fetch_context();
        let cx = FetchContext::new(&ctx, &transport);
        cache.provide(&cx).await.unwrap();
        clock.advance(TimeDelta::days(400));
        assert_eq!(
            cache.provide(&cx).await.unwrap().unwrap().access_key_id,
            "AK"
        );
    }
}
