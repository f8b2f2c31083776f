//! What every call carries: its deadline and cancellation.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The deadline and cancellation of the operation a call belongs to.
///
/// ```
/// use std::time::Duration;
/// use alicloud_openapi::CallContext;
///
/// let ctx = CallContext::detached(Duration::from_secs(30));
/// assert!(!ctx.cancel.is_cancelled());
/// ```
#[derive(Debug, Clone)]
pub struct CallContext {
    /// No attempt or backoff goes past this.
    pub deadline: Instant,
    /// Cancels waits and retries at once. A request already on the wire is given
    /// [`IN_FLIGHT_GRACE`](crate::IN_FLIGHT_GRACE) to answer, so that a change the service made is not
    /// reported as not made.
    pub cancel: CancellationToken,
}

impl CallContext {
    /// A context of its own, ending `within` from now and cancelled by nothing: for finding out what an
    /// interrupted or ambiguous change did, after the operation itself was cancelled or ran out of time.
    pub fn detached(within: Duration) -> CallContext {
        CallContext {
            deadline: Instant::now() + within,
            cancel: CancellationToken::new(),
        }
    }
}
