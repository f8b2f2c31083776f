//! The retry policy, whole: [`decide`] says, from a failed attempt, whether to retry and after how long, to
//! renew the credentials and retry, or to give up and with which error. [`call`] applies it around
//! [`Transport::attempt`]; nothing else decides about retries.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::context::{BoxFuture, CallContext};
use crate::error::Error;
use crate::sign::Credentials;
use crate::transport::{Request, Transport};

/// The code with which Alibaba refuses temporary credentials past their expiry.
const EXPIRED_TOKEN: &str = "InvalidSecurityToken.Expired";
/// Attempts of one call at most, whatever its deadline: a fault that outlasts them is reported, not waited out.
pub(crate) const MAX_ATTEMPTS: u32 = 8;
/// Attempts at most when the connection cannot be made at all (refused, unknown host): that is nearly always
/// a wrong endpoint, which waiting does not mend.
pub(crate) const MAX_CONNECT_ATTEMPTS: u32 = 3;

/// Whether a call may be repeated after an ambiguous failure.
///
/// ```
/// use alicloud_openapi::Idempotency;
///
/// // Creating something twice makes two of it: CreateImage is not repeated once it may have been applied.
/// let create = Idempotency::Unsafe;
/// assert_ne!(create, Idempotency::Safe);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it cannot do harm.
    Safe,
    /// Repeating it could do it twice: retried only when the failed attempt cannot have taken effect.
    Unsafe,
}

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's ceiling.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The ceiling before retry `attempt` (1-based): `min(cap, base · 2^(attempt-1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: a uniformly random delay in `[0, ceiling]`, `unit` being a random number in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// The limits of retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Delays after a connection that could not be made.
    pub connect_backoff: Backoff,
    /// Attempts at most.
    pub max_attempts: u32,
    /// Attempts at most that could not connect.
    pub max_connect_attempts: u32,
    /// No retry starts later than this after the call began.
    pub max_retry: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            backoff: Backoff::default(),
            connect_backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(1),
            },
            max_attempts: MAX_ATTEMPTS,
            max_connect_attempts: MAX_CONNECT_ATTEMPTS,
            max_retry: None,
        }
    }
}

/// A failed attempt, and where the call stands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    /// Why it failed.
    pub error: &'a Error,
    /// Its number, from 1.
    pub number: u32,
    /// Attempts so far, this one included, whose connection could not be made.
    pub connect_failures: u32,
    /// Since the call began.
    pub elapsed: Duration,
    /// Until the call's deadline.
    pub left: Duration,
    /// Whether the credentials come from a source that can renew them and were not renewed in this call yet.
    pub can_renew: bool,
    /// Whether the call may be repeated after an ambiguous failure.
    pub idempotency: Idempotency,
    /// Whether the call's operation was cancelled.
    pub cancelled: bool,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone)]
pub(crate) enum Decision {
    /// Try again after `delay`; `pause_endpoint`: every call to the endpoint waits as long (the service asked
    /// the caller, not the call, to slow down).
    Retry {
        delay: Duration,
        pause_endpoint: bool,
    },
    /// Forget the credentials and try again at once with new ones.
    Renew,
    /// Stop with this error.
    GiveUp(Error),
}

/// The whole retry policy. `unit` is a random number in `[0, 1)` for the jitter, so that this stays pure.
pub(crate) fn decide(attempt: &Attempt<'_>, policy: &Policy, unit: f64) -> Decision {
    let err = attempt.error;
    // Temporary credentials the service already calls expired (its clock is ahead of ours): the call was
    // refused, not run, so it is repeated once with new ones.
    if attempt.can_renew && err.has_code(&[EXPIRED_TOKEN]) {
        return Decision::Renew;
    }
    let retryable = err.is_retryable()
        && (attempt.idempotency == Idempotency::Safe || !err.may_have_taken_effect());
    if !retryable {
        return Decision::GiveUp(err.clone());
    }
    if attempt.cancelled {
        return Decision::GiveUp(Error::Cancelled);
    }
    let backoff = if err.is_connect_failure() {
        policy.connect_backoff
    } else {
        policy.backoff
    };
    let gave_up = || {
        Decision::GiveUp(Error::GaveUp {
            attempts: attempt.number,
            last: Box::new(err.clone()),
        })
    };
    if attempt.number >= policy.max_attempts
        || attempt.connect_failures >= policy.max_connect_attempts
    {
        return gave_up();
    }
    let jitter = backoff.delay(attempt.number, unit);
    // A wait the service asked for is a floor, never shortened by jitter.
    let delay = match err {
        Error::Api(api) => api.retry_after.map_or(jitter, |w| w.max(jitter)),
        _ => jitter,
    };
    if policy
        .max_retry
        .is_some_and(|cap| attempt.elapsed + delay > cap)
    {
        return gave_up();
    }
    if delay >= attempt.left {
        return Decision::GiveUp(Error::DeadlineExceeded {
            last: Some(Box::new(err.clone())),
        });
    }
    Decision::Retry {
        delay,
        pause_endpoint: err.is_throttling(),
    }
}

/// The error of a call stopped by its cancellation or deadline (`err`) after an attempt that may have taken
/// effect (`maybe_applied`): never "nothing happened" once something may have.
pub(crate) fn stopped(err: Error, maybe_applied: &Option<Error>) -> Error {
    match (err, maybe_applied) {
        (Error::Cancelled, Some(applied)) => applied.clone(),
        (Error::DeadlineExceeded { last: None }, Some(applied)) => Error::DeadlineExceeded {
            last: Some(Box::new(applied.clone())),
        },
        (err, _) => err,
    }
}

/// Credentials asked for before every attempt, which the service may refuse as expired.
pub(crate) trait Renewable: Sync {
    /// Credentials for one attempt, within `ctx`'s deadline and cancellation.
    fn credentials<'a>(&'a self, ctx: &'a CallContext)
    -> BoxFuture<'a, Result<Credentials, Error>>;
    /// The service refused `rejected` as expired.
    fn expired(&self, rejected: &Credentials);
}

/// How a call authenticates.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// Signed with these credentials.
    Signed(&'a Credentials),
    /// Not signed (STS AssumeRoleWithOIDC).
    Anonymous,
    /// Signed with credentials from this source, asked before every attempt (temporary ones may be
    /// refreshed between attempts).
    Renewable(&'a dyn Renewable),
}

/// Calls `request`, applying [`decide`] after each failed attempt, never past `ctx`'s deadline. Each attempt
/// takes a slot of the endpoint's gate and waits out its throttling pause.
pub(crate) async fn call(
    transport: &Transport,
    request: &Request<'_>,
    auth: Auth<'_>,
    idempotency: Idempotency,
    ctx: &CallContext,
) -> Result<Value, Error> {
    let policy = Policy {
        max_retry: transport.timeouts().max_retry,
        ..Policy::default()
    };
    let action = request.action;
    let started = Instant::now();
    let gate = transport.gates().gate(&request.endpoint.to_string());
    let (mut number, mut connect_failures, mut renewed) = (0u32, 0u32, false);
    // The last failed attempt that may have been applied: once one may have been, a later cancel or deadline
    // must not be reported as a call that changed nothing.
    let mut maybe_applied: Option<Error> = None;
    loop {
        number += 1;
        let fetched;
        let credentials = match auth {
            Auth::Renewable(source) => {
                fetched = source
                    .credentials(ctx)
                    .await
                    .map_err(|e| stopped(e, &maybe_applied))?;
                Some(&fetched)
            }
            Auth::Signed(credentials) => Some(credentials),
            Auth::Anonymous => None,
        };
        let slot = gate
            .enter(ctx)
            .await
            .map_err(|e| stopped(e, &maybe_applied))?;
        if Instant::now() >= ctx.deadline {
            return Err(stopped(
                Error::DeadlineExceeded { last: None },
                &maybe_applied,
            ));
        }
        let result = transport.attempt(request, credentials, ctx).await;
        drop(slot);
        let err = match result {
            Ok(body) => {
                tracing::debug!(action, attempt = number, "call succeeded");
                return Ok(body);
            }
            Err(err) => err,
        };
        if err.may_have_taken_effect() {
            maybe_applied = Some(err.clone());
        }
        if err.is_connect_failure() {
            connect_failures += 1;
        }
        let decision = decide(
            &Attempt {
                error: &err,
                number,
                connect_failures,
                elapsed: started.elapsed(),
                left: ctx.deadline.saturating_duration_since(Instant::now()),
                can_renew: matches!(auth, Auth::Renewable(_)) && !renewed,
                idempotency,
                cancelled: ctx.cancel.is_cancelled(),
            },
            &policy,
            rand::random::<f64>(),
        );
        match decision {
            Decision::Renew => {
                renewed = true;
                if let (Auth::Renewable(source), Some(used)) = (auth, credentials) {
                    source.expired(used);
                }
            }
            Decision::GiveUp(last) => {
                tracing::debug!(action, attempt = number, error = %last, "call failed");
                return Err(stopped(last, &maybe_applied));
            }
            Decision::Retry {
                delay,
                pause_endpoint,
            } => {
                if pause_endpoint {
                    gate.pause_until(Instant::now() + delay);
                }
                tracing::info!(action, attempt = number, error = %err, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::select! {
                    biased;
                    _ = ctx.cancel.cancelled() => return Err(stopped(Error::Cancelled, &maybe_applied)),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(code: &str, status: u16, retry_after: Option<Duration>) -> Error {
        Error::Api(ApiError {
            code: code.into(),
            message: "m".into(),
            request_id: None,
            http_status: status,
            recommend: None,
            retry_after,
        })
    }

    fn transport_err(never_sent: bool) -> Error {
        Error::Transport {
            action: "A".into(),
            endpoint: "http://127.0.0.1:9".into(),
            message: "lost".into(),
            never_sent,
        }
    }

    fn attempt(error: &Error) -> Attempt<'_> {
        Attempt {
            error,
            number: 1,
            connect_failures: 0,
            elapsed: Duration::ZERO,
            left: Duration::from_secs(60),
            can_renew: false,
            idempotency: Idempotency::Safe,
            cancelled: false,
        }
    }

    /// What a decision comes to, for the table: `retry <ms>`, `retry <ms> pause`, `renew`, or the kind of
    /// error given up with.
    fn outcome(decision: Decision) -> String {
        match decision {
            Decision::Retry {
                delay,
                pause_endpoint,
            } => format!(
                "retry {}{}",
                delay.as_millis(),
                if pause_endpoint { " pause" } else { "" }
            ),
            Decision::Renew => "renew".into(),
            Decision::GiveUp(Error::GaveUp { attempts, last }) => {
                format!(
                    "gave up after {attempts}: {}",
                    last.code().unwrap_or("transport")
                )
            }
            Decision::GiveUp(Error::DeadlineExceeded { last: Some(last) }) => {
                format!("deadline: {}", last.code().unwrap_or("transport"))
            }
            Decision::GiveUp(Error::Cancelled) => "cancelled".into(),
            Decision::GiveUp(err) => format!("error: {}", err.code().unwrap_or("transport")),
        }
    }

    #[test]
    fn decision_table() {
        let policy = Policy {
            max_retry: Some(Duration::from_secs(10)),
            ..Policy::default()
        };
        let throttled = api("Throttling.User", 400, None);
        let asked_to_wait = api("Throttling", 400, Some(Duration::from_millis(1500)));
        let busy = api("ServiceUnavailable", 503, None);
        let expired = api("InvalidSecurityToken.Expired", 400, None);
        let bad = api("InvalidParameter", 400, None);
        let refused = transport_err(true);
        let lost = transport_err(false);
        // (case, attempt, jitter unit, outcome)
        let cases: Vec<(&str, Attempt<'_>, f64, &str)> = vec![
            (
                "throttled: full jitter, endpoint paused",
                attempt(&throttled),
                0.5,
                "retry 100 pause",
            ),
            (
                "retry-after is a floor",
                attempt(&asked_to_wait),
                0.5,
                "retry 1500 pause",
            ),
            ("5xx is retried when safe", attempt(&busy), 1.0, "retry 200"),
            (
                "5xx of an unsafe call may have been applied",
                Attempt {
                    idempotency: Idempotency::Unsafe,
                    ..attempt(&busy)
                },
                0.5,
                "error: ServiceUnavailable",
            ),
            (
                "throttling of an unsafe call was not applied",
                Attempt {
                    idempotency: Idempotency::Unsafe,
                    ..attempt(&throttled)
                },
                0.0,
                "retry 0 pause",
            ),
            (
                "a client error is final",
                attempt(&bad),
                0.5,
                "error: InvalidParameter",
            ),
            (
                "expired credentials are renewed once",
                Attempt {
                    can_renew: true,
                    ..attempt(&expired)
                },
                0.5,
                "renew",
            ),
            (
                "then they are an error",
                attempt(&expired),
                0.5,
                "error: InvalidSecurityToken.Expired",
            ),
            (
                "a refused connection backs off briefly",
                Attempt {
                    connect_failures: 1,
                    number: 2,
                    ..attempt(&refused)
                },
                1.0,
                "retry 200",
            ),
            (
                "and gives up after three",
                Attempt {
                    connect_failures: 3,
                    number: 3,
                    ..attempt(&refused)
                },
                0.5,
                "gave up after 3: transport",
            ),
            (
                "a lost answer of an unsafe call is final",
                Attempt {
                    idempotency: Idempotency::Unsafe,
                    ..attempt(&lost)
                },
                0.5,
                "error: transport",
            ),
            (
                "the attempt cap",
                Attempt {
                    number: MAX_ATTEMPTS,
                    ..attempt(&busy)
                },
                0.5,
                "gave up after 8: ServiceUnavailable",
            ),
            (
                "the retry time cap",
                Attempt {
                    elapsed: Duration::from_millis(9_950),
                    ..attempt(&busy)
                },
                0.5,
                "gave up after 1: ServiceUnavailable",
            ),
            (
                "a wait past the deadline",
                Attempt {
                    left: Duration::from_millis(50),
                    ..attempt(&busy)
                },
                0.5,
                "deadline: ServiceUnavailable",
            ),
            (
                "a cancelled call waits no more",
                Attempt {
                    cancelled: true,
                    ..attempt(&busy)
                },
                0.5,
                "cancelled",
            ),
            (
                "a cancelled call's final error stays",
                Attempt {
                    cancelled: true,
                    ..attempt(&bad)
                },
                0.5,
                "error: InvalidParameter",
            ),
        ];
        for (case, attempt, unit, want) in cases {
            assert_eq!(outcome(decide(&attempt, &policy, unit)), want, "{case}");
        }
    }

    #[test]
    fn a_stop_after_a_possibly_applied_attempt_reports_that_attempt() {
        let applied = Some(api("ServiceUnavailable", 503, None));
        assert_eq!(
            stopped(Error::Cancelled, &applied).code(),
            Some("ServiceUnavailable")
        );
        let late = stopped(Error::DeadlineExceeded { last: None }, &applied);
        assert!(
            matches!(late, Error::DeadlineExceeded { last: Some(_) }),
            "{late}"
        );
        assert!(matches!(stopped(Error::Cancelled, &None), Error::Cancelled));
        let bad = stopped(api("InvalidParameter", 400, None), &applied);
        assert_eq!(bad.code(), Some("InvalidParameter"));
    }

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::default();
        let got: Vec<u128> = (1..=9).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(
            got,
            vec![200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(b.ceiling(u32::MAX), b.cap);
    }

    #[test]
    fn full_jitter_stays_within_bounds() {
        let b = Backoff::default();
        assert_eq!(b.delay(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(400));
        assert!(b.delay(3, 0.999_999) <= b.ceiling(3));
        assert_eq!(b.delay(3, 7.0), b.ceiling(3));
    }
}
