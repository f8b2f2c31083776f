//! One wait loop for resources that wait on the cloud: ask, report progress, back off, until an answer, the
//! deadline or a cancel.

use std::ops::ControlFlow;
use std::time::Duration;

use tokio::time::Instant;

use super::Ctx;
use crate::alicloud;

/// The first pause: tests and small images finish in seconds.
const START: Duration = Duration::from_millis(500);
/// The longest pause the backoff grows to.
const MAX: Duration = Duration::from_secs(10);

/// Runs `step` until it breaks with an answer, pausing between rounds (500 ms, then ×1.5 up to 10 s) and
/// reporting the progress message each unfinished round gives. `step` is passed when the wait started. A
/// pause ends with [`alicloud::Error::DeadlineExceeded`] at the operation's deadline and with
/// [`alicloud::Error::Cancelled`] on cancel; an error from `step` ends the wait.
pub(crate) async fn poll<T, F>(
    ctx: &Ctx<'_>,
    mut step: impl FnMut(Instant) -> F,
) -> Result<T, alicloud::Error>
where
    F: Future<Output = Result<ControlFlow<T, String>, alicloud::Error>>,
{
    let started = Instant::now();
    let mut delay = START;
    loop {
        match step(started).await? {
            ControlFlow::Break(answer) => return Ok(answer),
            ControlFlow::Continue(progress) => ctx.progress.report(progress),
        }
        pause(ctx, delay).await?;
        delay = (delay * 3 / 2).min(MAX);
    }
}

/// Sleeps for `delay`, or less when the deadline is nearer; ends early on cancel or at the deadline.
async fn pause(ctx: &Ctx<'_>, delay: Duration) -> Result<(), alicloud::Error> {
    let now = Instant::now();
    if now >= ctx.call.deadline {
        return Err(alicloud::Error::DeadlineExceeded { last: None });
    }
    let wake = (now + delay).min(ctx.call.deadline);
    tokio::select! {
        _ = tokio::time::sleep_until(wake) => Ok(()),
        _ = ctx.call.cancel.cancelled() => Err(alicloud::Error::Cancelled),
    }
}
