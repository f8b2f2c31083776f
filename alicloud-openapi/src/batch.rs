//! Fewer calls for the same work: a [`Batcher`] gathers concurrent requests on one key (say, adds of
//! accounts to one image's share list, or reads of it) into one call, and [`in_chunks`] sends many members in
//! calls of a few each.
//!
//! Each member still gets its own result: when a chunk fails with a client error (a bad member, a quota),
//! each of its members is tried alone, so the error lands on the member that caused it and the others
//! succeed.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::CallContext;
use crate::error::Error;

/// The future a batch call returns: one outcome per member, in the members' order, or the call's failure.
pub(crate) type BatchFuture<R> = Pin<Box<dyn Future<Output = Result<Vec<R>, Error>> + Send>>;

/// Runs one call for a key and some members.
pub(crate) type BatchCall<K, M, R = ()> =
    Arc<dyn Fn(K, Vec<M>, CallContext) -> BatchFuture<R> + Send + Sync>;

struct Waiting<M, R> {
    ticket: u64,
    arrived: Instant,
    member: M,
    ctx: CallContext,
    reply: oneshot::Sender<Result<R, Error>>,
}

/// The requests of one key that no call carries yet; a task of its own sends them.
struct Queue<M, R> {
    waiting: Vec<Waiting<M, R>>,
}

/// Coalesces concurrent requests on one key into calls of at most `max` members, one call of a key at a
/// time, with a gathering window that adapts to how the callers behave.
///
/// A batch waits only for requests that are on their way. The batcher counts the requests outstanding over
/// every key (queued or in a call) and learns how many its callers keep outstanding at once (their
/// concurrency: an orchestrator's parallelism, say), as the number outstanding when arrivals last stopped.
/// A key's waiting requests go out as soon as the first of these holds:
///
/// - `max` are waiting;
/// - every request the callers run at once is outstanding (the learned concurrency is reached): no other
///   can come before an answer, so waiting longer would only delay. A caller known to be alone is therefore
///   never kept waiting, and a full round of a busy orchestrator goes the moment its last request arrives;
/// - arrivals stopped: none for `quiet` since the newest request or since the callers the last call (of any
///   key) answered could be back, whichever is later; the window grows only while requests keep coming. An
///   orchestrator takes its usual time between two requests over each answer (saving its state, say), so
///   the answered callers could all be back that time per caller after the answer: a pause while it
///   handles a round of answers is not taken for fewer callers;
/// - the oldest has waited `window`.
///
/// Requests that arrive while a call of their key is out wait for it to end and go together in the next
/// one, so a slow endpoint gathers bigger batches instead of more calls. Until the concurrency is known
/// (the first round), a request waits `quiet` for others.
///
/// Each state change of interest (an arrival, a cancelled request leaving its queue, a call ending) is
/// logged at `debug` with the number outstanding, so that a test can tell when every request it started
/// has reached the batcher.
pub(crate) struct Batcher<K, M, R = ()> {
    quiet: Duration,
    window: Duration,
    max: usize,
    call: BatchCall<K, M, R>,
    state: Arc<Mutex<State<K, M, R>>>,
    /// Bumped on every change of the state that a sender decides on.
    changed: watch::Sender<u64>,
    /// Whether the window adapts to the callers' concurrency (else: `max`, `quiet` or `window` only).
    adaptive: bool,
}

struct State<K, M, R> {
    next_ticket: u64,
    queues: HashMap<K, Queue<M, R>>,
    /// Requests submitted and not answered yet, waiting or in a call, over every key.
    outstanding: usize,
    /// How many requests the callers keep outstanding at once, once known: the number outstanding when
    /// arrivals last stopped, raised whenever more are outstanding.
    concurrency: Option<usize>,
    /// When the last request arrived.
    last_arrival: Option<Instant>,
    /// The usual time between two requests that arrive while others are outstanding (a moving average).
    gap: Option<Duration>,
    /// The usual time a call takes (a moving average).
    call_time: Option<Duration>,
    /// When the last call ended and how many callers it answered: they may come back from then on.
    answered: Option<(Instant, usize)>,
}

/// A moving average that gives the newest sample a quarter of the weight.
fn average(old: Option<Duration>, sample: Duration) -> Duration {
    old.map_or(sample, |old| (old * 3 + sample) / 4)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<K, M, R> Batcher<K, M, R>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    M: Clone + Send + Sync + 'static,
    R: Clone + Send + 'static,
{
    /// A batcher gathering while requests keep arriving within `quiet` of each other, for at most
    /// `window`, at most `max` members per call; `call` makes one call for a key and its members.
    pub(crate) fn new(
        quiet: Duration,
        window: Duration,
        max: usize,
        call: BatchCall<K, M, R>,
    ) -> Self {
        Batcher {
            quiet: quiet.min(window),
            window,
            max: max.max(1),
            call,
            state: Arc::new(Mutex::new(State {
                next_ticket: 0,
                queues: HashMap::new(),
                outstanding: 0,
                concurrency: None,
                last_arrival: None,
                gap: None,
                call_time: None,
                answered: None,
            })),
            changed: watch::Sender::new(0),
            adaptive: true,
        }
    }

    /// The same batcher with a window that does not adapt: a batch goes only when `max` are waiting, when
    /// none arrived for `quiet`, or when the oldest has waited `window`. For callers whose requests arrive
    /// paced by something other than answers (a program declaring resources one by one), where the number
    /// outstanding says little about how many more are coming.
    pub(crate) fn fixed_window(mut self) -> Self {
        self.adaptive = false;
        self
    }

    /// Queues `member` under `key` and waits for the outcome of the call that carries it. A request
    /// cancelled while it waits in the queue leaves it and is never sent; once sent, its outcome is awaited,
    /// so that a change that was made is never reported as not made.
    pub(crate) async fn submit(&self, key: K, member: M, ctx: &CallContext) -> Result<R, Error> {
        let (reply, answer) = oneshot::channel();
        let ticket = {
            let mut state = lock(&self.state);
            state.next_ticket += 1;
            let now = Instant::now();
            if let Some(last) = state.last_arrival.filter(|_| state.outstanding > 0) {
                state.gap = Some(average(state.gap, now - last));
            }
            state.last_arrival = Some(now);
            state.outstanding += 1;
            let outstanding = state.outstanding;
            if let Some(known) = state.concurrency.as_mut() {
                *known = (*known).max(outstanding);
            }
            let ticket = state.next_ticket;
            let waiting = Waiting {
                ticket,
                arrived: now,
                member,
                ctx: ctx.clone(),
                reply,
            };
            match state.queues.get_mut(&key) {
                Some(queue) => queue.waiting.push(waiting),
                None => {
                    state.queues.insert(
                        key.clone(),
                        Queue {
                            waiting: vec![waiting],
                        },
                    );
                    tokio::spawn(flush(
                        Sender {
                            state: self.state.clone(),
                            changed: self.changed.clone(),
                            call: self.call.clone(),
                            quiet: self.quiet,
                            window: self.window,
                            max: self.max,
                            adaptive: self.adaptive,
                        },
                        key.clone(),
                    ));
                }
            }
            tracing::debug!(outstanding, "request queued");
            ticket
        };
        self.changed.send_modify(|n| *n += 1);
        tokio::pin!(answer);
        tokio::select! {
            biased;
            result = &mut answer => result.unwrap_or(Err(Error::Cancelled)),
            _ = ctx.cancel.cancelled() => {
                let removed = {
                    let mut state = lock(&self.state);
                    let removed = state.queues.get_mut(&key).is_some_and(|q| {
                        let before = q.waiting.len();
                        q.waiting.retain(|w| w.ticket != ticket);
                        q.waiting.len() < before
                    });
                    if removed {
                        state.outstanding -= 1;
                        tracing::debug!(outstanding = state.outstanding, "queued request cancelled");
                    }
                    removed
                };
                if removed {
                    self.changed.send_modify(|n| *n += 1);
                    Err(Error::Cancelled)
                } else {
                    // Already sent: its outcome decides.
                    answer.await.unwrap_or(Err(Error::Cancelled))
                }
            }
        }
    }
}

/// What a key's sending task works with.
struct Sender<K, M, R> {
    state: Arc<Mutex<State<K, M, R>>>,
    changed: watch::Sender<u64>,
    call: BatchCall<K, M, R>,
    quiet: Duration,
    window: Duration,
    max: usize,
    adaptive: bool,
}

/// What a sender decided for its key's queue.
enum Next {
    Send,
    WaitUntil(Instant),
    Done,
}

impl<K, M, R> Sender<K, M, R>
where
    K: Eq + Hash,
{
    /// Whether `key`'s waiting requests go now (see [`Batcher`]), and if not, until when they may wait.
    fn decide(&self, key: &K, now: Instant) -> Next {
        let mut state = lock(&self.state);
        let outstanding = state.outstanding;
        let concurrency = state.concurrency.filter(|_| self.adaptive);
        // The last caller is further away than a call takes: sending now lets the call overlap its coming.
        let last_one_is_far = concurrency.is_some_and(|c| c >= 2 && outstanding + 1 == c)
            && matches!((state.gap, state.call_time), (Some(gap), Some(call)) if gap > call);
        let Some(queue) = state.queues.get(key) else {
            return Next::Done;
        };
        let (Some(oldest), Some(newest)) = (queue.waiting.first(), queue.waiting.last()) else {
            return Next::Send;
        };
        if queue.waiting.len() >= self.max
            || concurrency.is_some_and(|c| outstanding >= c)
            || last_one_is_far
        {
            return Next::Send;
        }
        let last_event = state.answered.map_or(newest.arrived, |(at, callers)| {
            let back = at + state.gap.unwrap_or_default() * callers as u32;
            back.max(newest.arrived)
        });
        let until = (last_event + self.quiet).min(oldest.arrived + self.window);
        if now < until {
            return Next::WaitUntil(until);
        }
        // Arrivals stopped: this many is what the callers run at once, for now.
        state.concurrency = Some(outstanding);
        Next::Send
    }
}

/// Sends a key's queue, one call at a time, each call when [`Sender::decide`] says so; requests that arrive
/// while a call is out go in a later call. When none is left, the queue ends and the next request starts a
/// new one.
async fn flush<K, M, R>(sender: Sender<K, M, R>, key: K)
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    M: Clone + Send + Sync + 'static,
    R: Clone + Send + 'static,
{
    let mut changes = sender.changed.subscribe();
    loop {
        loop {
            // Marked seen before looking, so no change between the look and the wait is missed.
            changes.borrow_and_update();
            match sender.decide(&key, Instant::now()) {
                Next::Send => break,
                Next::Done => return,
                Next::WaitUntil(until) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = changes.changed() => {}
                    }
                }
            }
        }
        let batch = {
            let mut state = lock(&sender.state);
            let outstanding = state.outstanding;
            let Some(queue) = state.queues.get_mut(&key) else {
                return;
            };
            let take = queue.waiting.len().min(sender.max);
            tracing::debug!(members = take, outstanding, "batch sent");
            queue.waiting.drain(..take).collect::<Vec<Waiting<M, R>>>()
        };
        let sent = batch.len();
        let started = Instant::now();
        if sent > 0 {
            send(&key, batch, &sender.call).await;
        }
        {
            let mut state = lock(&sender.state);
            state.outstanding -= sent;
            if sent > 0 {
                state.call_time = Some(average(state.call_time, started.elapsed()));
                state.answered = Some((Instant::now(), sent));
            }
            tracing::debug!(
                members = sent,
                outstanding = state.outstanding,
                "batch answered"
            );
            if state
                .queues
                .get(&key)
                .is_none_or(|queue| queue.waiting.is_empty())
            {
                state.queues.remove(&key);
                drop(state);
                sender.changed.send_modify(|n| *n += 1);
                return;
            }
        }
        sender.changed.send_modify(|n| *n += 1);
    }
}

/// One call for `batch`; each member gets its own outcome, or every member the call's failure.
async fn send<K: Clone, M: Clone, R>(
    key: &K,
    batch: Vec<Waiting<M, R>>,
    call: &BatchCall<K, M, R>,
) {
    // The call serves every member: it may run until the last member's deadline, and stops early only when
    // every member is cancelled, so that one member's short timeout or cancellation fails no other.
    let cancel = CancellationToken::new();
    let all_cancelled = {
        let tokens: Vec<CancellationToken> = batch.iter().map(|w| w.ctx.cancel.clone()).collect();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            for token in tokens {
                token.cancelled().await;
            }
            cancel.cancel();
        })
    };
    let ctx = CallContext {
        deadline: batch
            .iter()
            .map(|w| w.ctx.deadline)
            .max()
            .unwrap_or_else(Instant::now),
        cancel,
    };
    let members: Vec<M> = batch.iter().map(|w| w.member.clone()).collect();
    let outcomes = call(key.clone(), members, ctx).await;
    all_cancelled.abort();
    let outcomes = outcomes.and_then(|outcomes| {
        if outcomes.len() == batch.len() {
            Ok(outcomes)
        } else {
            Err(Error::InvalidResponse(format!(
                "a batch of {} got {} outcomes",
                batch.len(),
                outcomes.len()
            )))
        }
    });
    match outcomes {
        Ok(outcomes) => {
            for (w, outcome) in batch.into_iter().zip(outcomes) {
                let _ = w.reply.send(Ok(outcome));
            }
        }
        Err(err) => {
            for w in batch {
                let _ = w.reply.send(Err(err.clone()));
            }
        }
    }
}

/// Whether a refused call says something about its members rather than about the call: worth trying each
/// member alone. `about_the_call` names the codes that speak for the whole call (say, an unknown image),
/// which trying each member alone would only repeat.
pub(crate) fn is_member_error(err: &Error, about_the_call: &[&str]) -> bool {
    matches!(err, Error::Api(api) if (400..500).contains(&api.http_status))
        && !err.is_retryable()
        && !err.has_code(about_the_call)
}

/// Sends `members` through `call` in chunks of at most `max`, in order, and gives each member its own
/// outcome: a chunk refused for a member's sake (see [`is_member_error`]) is sent again one member at a
/// time, so the error lands on the member that caused it and the others succeed. `call` must be safe to
/// repeat for members a refused chunk may have changed after all.
pub(crate) async fn in_chunks<M, F, Fut>(
    members: &[M],
    max: usize,
    about_the_call: &[&str],
    call: F,
) -> Vec<Result<(), Error>>
where
    M: Clone,
    F: Fn(Vec<M>) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut outcomes = Vec::with_capacity(members.len());
    for chunk in members.chunks(max.max(1)) {
        match call(chunk.to_vec()).await {
            Ok(()) => outcomes.extend(chunk.iter().map(|_| Ok(()))),
            Err(err) if chunk.len() > 1 && is_member_error(&err, about_the_call) => {
                tracing::debug!(error = %err, members = chunk.len(), "batched call refused; trying each member alone");
                for member in chunk {
                    outcomes.push(call(vec![member.clone()]).await);
                }
            }
            Err(err) => outcomes.extend(chunk.iter().map(|_| Err(err.clone()))),
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::time::Instant;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::ApiError;

    fn ctx() -> CallContext {
        CallContext {
            deadline: Instant::now() + Duration::from_secs(60),
            cancel: CancellationToken::new(),
        }
    }

    fn refused(member: &str) -> Error {
        Error::Api(ApiError {
            code: "InvalidAccount.NotFound".into(),
            message: format!("{member} does not exist"),
            request_id: None,
            http_status: 404,
            recommend: None,
            retry_after: None,
        })
    }

    /// Every batch a call was made with.
    type Seen = Arc<Mutex<Vec<Vec<String>>>>;

    /// A call that records each batch and refuses any batch holding `bad`.
    fn recording(bad: &'static str) -> (BatchCall<String, String>, Seen) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let call: BatchCall<String, String> = Arc::new(move |_key, members: Vec<String>, _ctx| {
            lock(&log).push(members.clone());
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                match members.iter().find(|m| *m == bad) {
                    Some(m) => Err(refused(m)),
                    None => Ok(vec![(); members.len()]),
                }
            })
        });
        (call, seen)
    }

    async fn submit_all(
        batcher: &Arc<Batcher<String, String>>,
        members: impl IntoIterator<Item = String>,
    ) -> Vec<Result<(), Error>> {
        let tasks: Vec<_> = members
            .into_iter()
            .map(|m| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit("m-1".into(), m, &ctx()).await })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("task"));
        }
        results
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_within_the_window_share_calls_of_at_most_max() {
        let (call, seen) = recording("none");
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        let results = submit_all(&batcher, (0..25).map(|n| format!("{n}"))).await;
        assert!(results.iter().all(Result::is_ok));
        let sizes: Vec<usize> = lock(&seen).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_arriving_close_together_share_a_call_until_the_window_ends() {
        let (call, seen) = recording("none");
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        // One request every 3 ms: each arrives within the quiet time of the last, so they gather until the
        // 50 ms window ends (17 of them), then the rest start a new call.
        let mut tasks = Vec::new();
        for n in 0..25 {
            let b = batcher.clone();
            tasks.push(tokio::spawn(async move {
                b.submit("m-1".into(), format!("{n}"), &ctx()).await
            }));
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        for t in tasks {
            t.await.expect("task").expect("ok");
        }
        let sizes: Vec<usize> = lock(&seen).iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 25);
        assert!(sizes.iter().all(|n| *n <= 10), "{sizes:?}");
        assert!(sizes.len() <= 4, "{sizes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn each_member_gets_its_own_outcome() {
        let call: BatchCall<String, String, usize> = Arc::new(|_, members: Vec<String>, _| {
            Box::pin(async move { Ok(members.iter().map(String::len).collect()) })
        });
        let batcher: Arc<Batcher<String, String, usize>> = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        let tasks: Vec<_> = ["a", "bb", "ccc"]
            .map(String::from)
            .into_iter()
            .map(|m| {
                let b = batcher.clone();
                tokio::spawn(async move { b.submit("m-1".into(), m, &ctx()).await })
            })
            .collect();
        let mut lengths = Vec::new();
        for t in tasks {
            lengths.push(t.await.expect("task").expect("outcome"));
        }
        assert_eq!(lengths, [1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_after_the_window_starts_a_new_call() {
        let (call, seen) = recording("none");
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        submit_all(&batcher, ["a".to_string()]).await;
        submit_all(&batcher, ["b".to_string()]).await;
        assert_eq!(*lock(&seen), [vec!["a".to_string()], vec!["b".to_string()]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_failure_that_is_not_about_members_reaches_every_member_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let call: BatchCall<String, String> = Arc::new(move |_, _, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(Error::Cancelled) })
        });
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        let results = submit_all(&batcher, ["a", "b"].map(String::from)).await;
        assert!(results.iter().all(|r| matches!(r, Err(Error::Cancelled))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_cancelled_while_queued_is_never_sent() {
        let (call, seen) = recording("none");
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(50),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        let cancelled = ctx();
        let (b, cx) = (batcher.clone(), cancelled.clone());
        let gone = tokio::spawn(async move { b.submit("m-1".into(), "gone".into(), &cx).await });
        let b = batcher.clone();
        let kept = tokio::spawn(async move { b.submit("m-1".into(), "kept".into(), &ctx()).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        cancelled.cancel.cancel();
        assert!(matches!(gone.await.expect("task"), Err(Error::Cancelled)));
        assert!(kept.await.expect("task").is_ok());
        assert_eq!(*lock(&seen), [vec!["kept".to_string()]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_arriving_while_a_call_runs_waits_for_a_call_of_its_own() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        // A read: every member of a call gets the number of the call that answered it.
        let call: BatchCall<String, (), usize> = Arc::new(move |_, members: Vec<()>, _| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(vec![n; members.len()])
            })
        });
        let batcher: Arc<Batcher<String, (), usize>> = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            100,
            call.clone(),
        ));
        let read = |b: Arc<Batcher<String, (), usize>>| async move {
            b.submit("m-1".into(), (), &ctx()).await
        };
        let first: Vec<_> = (0..20)
            .map(|_| tokio::spawn(read(batcher.clone())))
            .collect();
        // The first call has started (after 5 quiet ms) and runs for 20 ms: a read now must not get its answer.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let late = tokio::spawn(read(batcher.clone()));
        for t in first {
            assert_eq!(t.await.expect("task").expect("read"), 1);
        }
        assert_eq!(
            late.await.expect("task").expect("read"),
            2,
            "no stale answer"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_arriving_while_a_call_is_out_go_together_in_the_next_call() {
        let seen: Seen = Arc::default();
        let (log, out, most_out) = (
            seen.clone(),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (out_c, most_c) = (out.clone(), most_out.clone());
        // A slow endpoint: each call takes 100 ms.
        let call: BatchCall<String, String> = Arc::new(move |_, members: Vec<String>, _| {
            lock(&log).push(members.clone());
            let (out, most) = (out_c.clone(), most_c.clone());
            Box::pin(async move {
                most.fetch_max(out.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                out.fetch_sub(1, Ordering::SeqCst);
                Ok(vec![(); members.len()])
            })
        });
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        // One request, then one every 20 ms while its call is out: each far beyond the quiet time of the last.
        let mut tasks = Vec::new();
        for n in 0..5 {
            let b = batcher.clone();
            tasks.push(tokio::spawn(async move {
                b.submit("m-1".into(), format!("{n}"), &ctx()).await
            }));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for t in tasks {
            t.await.expect("task").expect("ok");
        }
        assert_eq!(*lock(&seen), [vec!["0"], vec!["1", "2", "3", "4"]]);
        assert_eq!(
            most_out.load(Ordering::SeqCst),
            1,
            "one call of a key at a time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_runs_to_its_last_deadline_and_stops_only_when_every_member_is_cancelled() {
        let got: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let log = got.clone();
        // The call answers, for every member, whether it was cancelled within 100 ms.
        let call: BatchCall<String, String, bool> =
            Arc::new(move |_, members: Vec<String>, ctx| {
                lock(&log).push(ctx.deadline);
                Box::pin(async move {
                    let cancelled = tokio::select! {
                        _ = ctx.cancel.cancelled() => true,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => false,
                    };
                    Ok(vec![cancelled; members.len()])
                })
            });
        let batcher: Arc<Batcher<String, String, bool>> = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
            call.clone(),
        ));
        let submit = |deadline: Duration| {
            let b = batcher.clone();
            let ctx = CallContext {
                deadline: Instant::now() + deadline,
                cancel: CancellationToken::new(),
            };
            let token = ctx.cancel.clone();
            (
                tokio::spawn(async move { b.submit("m-1".into(), "x".into(), &ctx).await }),
                token,
            )
        };
        let latest = Instant::now() + Duration::from_secs(60);
        let (short, short_token) = submit(Duration::from_secs(1));
        let (long, _long_token) = submit(Duration::from_secs(60));
        // One member is cancelled once the call is out: the call goes on for the other.
        tokio::time::sleep(Duration::from_millis(20)).await;
        short_token.cancel();
        assert!(!long.await.expect("task").expect("outcome"));
        assert!(
            !short.await.expect("task").expect("outcome"),
            "it was sent: its outcome decides"
        );
        assert_eq!(*lock(&got), [latest]);

        // Every member cancelled: the call is.
        let (a, a_token) = submit(Duration::from_secs(60));
        let (b, b_token) = submit(Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(20)).await;
        a_token.cancel();
        b_token.cancel();
        assert!(a.await.expect("task").expect("outcome"));
        assert!(b.await.expect("task").expect("outcome"));
    }

    /// A call that records each batch's size and takes `took` to answer.
    fn timed(took: Duration) -> (BatchCall<String, String>, Arc<Mutex<Vec<usize>>>) {
        let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
        let log = sizes.clone();
        let call: BatchCall<String, String> = Arc::new(move |_, members: Vec<String>, _| {
            lock(&log).push(members.len());
            Box::pin(async move {
                tokio::time::sleep(took).await;
                Ok(vec![(); members.len()])
            })
        });
        (call, sizes)
    }

    const QUIET: Duration = Duration::from_millis(30);
    const TOOK: Duration = Duration::from_millis(10);

    fn adaptive(call: BatchCall<String, String>) -> Arc<Batcher<String, String>> {
        Arc::new(Batcher::new(QUIET, Duration::from_millis(500), 50, call))
    }

    /// `callers` callers each making `rounds` requests on `key(caller)` one after another, each request
    /// `think(caller)` after the answer to its last (the first at once); the time all of them took.
    async fn closed_loop(
        batcher: &Arc<Batcher<String, String>>,
        callers: usize,
        rounds: usize,
        key: fn(usize) -> String,
        think: fn(usize) -> Duration,
    ) -> Duration {
        let start = Instant::now();
        let tasks: Vec<_> = (0..callers)
            .map(|c| {
                let b = batcher.clone();
                tokio::spawn(async move {
                    for r in 0..rounds {
                        if r > 0 {
                            tokio::time::sleep(think(c)).await;
                        }
                        b.submit(key(c), format!("{c}-{r}"), &ctx())
                            .await
                            .expect("ok");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_known_to_be_alone_is_not_kept_waiting() {
        let (call, sizes) = timed(TOOK);
        let batcher = adaptive(call);
        let took = closed_loop(&batcher, 1, 5, |_| "m-1".into(), |_| Duration::ZERO).await;
        // The first request waits `quiet` for company; once the caller is known to be alone, none waits.
        assert_eq!(took, QUIET + 5 * TOOK);
        assert_eq!(*lock(&sizes), [1; 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_window_waits_quiet_for_every_batch() {
        let (call, sizes) = timed(TOOK);
        let batcher =
            Arc::new(Batcher::new(QUIET, Duration::from_millis(500), 50, call).fixed_window());
        let took = closed_loop(&batcher, 1, 5, |_| "m-1".into(), |_| Duration::ZERO).await;
        assert_eq!(took, 5 * (QUIET + TOOK));
        assert_eq!(*lock(&sizes), [1; 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_round_of_concurrent_callers_goes_the_moment_its_last_request_arrives() {
        let (call, sizes) = timed(TOOK);
        let batcher = adaptive(call);
        // Eight callers, each coming back 1 to 8 ms after its answer, as an orchestrator's workers do.
        let took = closed_loop(
            &batcher,
            8,
            5,
            |_| "m-1".into(),
            |c| Duration::from_millis(1 + c as u64),
        )
        .await;
        assert_eq!(*lock(&sizes), [8; 5]);
        // Round one waits `quiet` after the last arrival; every later round goes when its eighth request
        // arrives, 8 ms after the answer, with no quiet time after it.
        let later_round = Duration::from_millis(8) + TOOK;
        assert_eq!(took, QUIET + TOOK + 4 * later_round);
    }

    #[tokio::test(start_paused = true)]
    async fn the_concurrency_is_counted_over_every_key() {
        let (call, sizes) = timed(TOOK);
        let batcher = adaptive(call);
        // Eight callers on four keys: a key's batch goes once all eight requests are outstanding.
        let took = closed_loop(
            &batcher,
            8,
            3,
            |c| format!("m-{}", c % 4),
            |_| Duration::from_millis(2),
        )
        .await;
        assert_eq!(*lock(&sizes), [2; 12]);
        assert_eq!(took, QUIET + TOOK + 2 * (Duration::from_millis(2) + TOOK));
    }

    #[tokio::test(start_paused = true)]
    async fn fewer_requests_than_the_known_concurrency_go_after_quiet_and_lower_it() {
        let (call, sizes) = timed(TOOK);
        let batcher = adaptive(call);
        closed_loop(&batcher, 8, 1, |_| "m-1".into(), |_| Duration::ZERO).await;
        // Now only three callers are left: their first round waits `quiet`, after which three is the
        // concurrency and the next round goes at once.
        let took = closed_loop(&batcher, 3, 2, |_| "m-1".into(), |_| Duration::ZERO).await;
        assert_eq!(*lock(&sizes), [8, 3, 3]);
        assert_eq!(took, QUIET + 2 * TOOK);
    }

    #[tokio::test(start_paused = true)]
    async fn more_callers_than_known_raise_the_concurrency() {
        let (call, sizes) = timed(TOOK);
        let batcher = adaptive(call);
        closed_loop(&batcher, 2, 1, |_| "m-1".into(), |_| Duration::ZERO).await;
        // Six callers arrive at once where two were known: they are more, so they go together at once.
        let took = closed_loop(&batcher, 6, 2, |_| "m-1".into(), |_| Duration::ZERO).await;
        assert_eq!(*lock(&sizes), [2, 6, 6]);
        assert_eq!(took, 2 * TOOK);
    }

    /// How long `ops` operations take on `workers` workers that each take the next operation as soon as
    /// they are free, every operation spending `engine` in a step that one worker at a time can run (an
    /// orchestrator saving its state) and then making one request through `request`.
    async fn work_pool<F, Fut>(workers: usize, ops: usize, engine: Duration, request: F) -> Duration
    where
        F: Fn(usize) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        saving_work_pool(workers, ops, engine, Duration::ZERO, request).await
    }

    /// [`work_pool`] with a second serial step of `after` once each request is answered: an orchestrator
    /// that saves its state before and after every operation, as the Pulumi engine does.
    async fn saving_work_pool<F, Fut>(
        workers: usize,
        ops: usize,
        engine: Duration,
        after: Duration,
        request: F,
    ) -> Duration
    where
        F: Fn(usize) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let start = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let serial = Arc::new(tokio::sync::Mutex::new(()));
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (next, serial, request) = (next.clone(), serial.clone(), request.clone());
                tokio::spawn(async move {
                    loop {
                        let op = next.fetch_add(1, Ordering::SeqCst);
                        if op >= ops {
                            break;
                        }
                        {
                            let _step = serial.lock().await;
                            tokio::time::sleep(engine).await;
                        }
                        request(op).await;
                        if !after.is_zero() {
                            let _step = serial.lock().await;
                            tokio::time::sleep(after).await;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        start.elapsed()
    }

    /// Eight workers run 200 operations of `step` serial work each through an adaptive batcher whose call
    /// takes `took`; returns the time taken and the size of every call.
    async fn batched_pool(step: Duration, took: Duration) -> (Duration, Arc<Mutex<Vec<usize>>>) {
        batched_saving_pool(step, Duration::ZERO, took).await
    }

    /// [`batched_pool`] on a [`saving_work_pool`].
    async fn batched_saving_pool(
        step: Duration,
        after: Duration,
        took: Duration,
    ) -> (Duration, Arc<Mutex<Vec<usize>>>) {
        let (call, sizes) = timed(took);
        let batcher = adaptive(call);
        let batched = saving_work_pool(8, 200, step, after, move |op| {
            let b = batcher.clone();
            async move {
                b.submit("m-1".into(), format!("{op}"), &ctx())
                    .await
                    .expect("ok");
            }
        })
        .await;
        (batched, sizes)
    }

    #[tokio::test(start_paused = true)]
    async fn an_orchestrator_feeding_requests_one_at_a_time_is_not_slowed_but_for_its_first_and_last_round()
     {
        // Eight workers, 200 operations, 5 ms of serial work each, and a 2 ms call: the orchestrator is the
        // bottleneck and feeds one request every 5 ms.
        let took = Duration::from_millis(2);
        let step = Duration::from_millis(5);
        let (batched, sizes) = batched_pool(step, took).await;
        let one_call_each = work_pool(8, 200, step, move |_| tokio::time::sleep(took)).await;
        // Only the first round (the concurrency is not known yet) and the last (fewer than it) wait `quiet`
        // while every worker waits, the last also for the time its answered callers could take to come
        // back (one step each); in between, a batch goes before the last worker comes, so the workers
        // never all wait on a call.
        assert!(
            batched <= one_call_each + 2 * (QUIET + took) + 8 * step,
            "batched {batched:?}, one call each {one_call_each:?}"
        );
        let sizes = lock(&sizes).clone();
        assert_eq!(sizes.iter().sum::<usize>(), 200);
        assert!(sizes.len() <= 200 / 6, "{} calls: {sizes:?}", sizes.len());
    }

    #[tokio::test(start_paused = true)]
    async fn an_orchestrator_saving_after_each_answer_keeps_its_rounds_together() {
        // Eight workers, 200 operations, 4 ms of serial work before and after each request, and a 0.5 ms
        // call: after a round is answered the orchestrator spends 4 ms on each of its answers before a
        // worker asks again, longer in all than `quiet`. The callers it answered are coming back, so the
        // batcher keeps counting eight of them instead of taking the pause for fewer callers.
        let took = Duration::from_micros(500);
        let step = Duration::from_millis(4);
        let (batched, sizes) = batched_saving_pool(step, step, took).await;
        let one_call_each =
            saving_work_pool(8, 200, step, step, move |_| tokio::time::sleep(took)).await;
        let sizes = lock(&sizes).clone();
        assert_eq!(sizes.iter().sum::<usize>(), 200);
        assert!(sizes.len() <= 200 / 6, "{} calls: {sizes:?}", sizes.len());
        // The orchestrator's serial steps, not the batches, set the pace.
        assert!(
            batched <= one_call_each * 11 / 10 + 2 * QUIET,
            "batched {batched:?}, one call each {one_call_each:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_a_slow_endpoint_a_round_costs_one_call_and_the_time_to_feed_it() {
        // Eight workers, 200 operations, 1 ms of serial work each, and a 100 ms call: the endpoint is slow.
        let took = Duration::from_millis(100);
        let step = Duration::from_millis(1);
        let (batched, sizes) = batched_pool(step, took).await;
        // One call of a key at a time: each round of eight goes when its eighth request arrives (8 ms of
        // serial work after the answer) and costs one call; the first round also waits `quiet`.
        assert_eq!(*lock(&sizes), [8; 25]);
        assert_eq!(batched, QUIET + 25 * (8 * step + took));
    }

    type ChunkFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

    /// A chunk call that records its members and refuses any chunk holding `bad`, or every chunk with
    /// `about_the_call`'s code.
    fn chunk_call(seen: &Seen, bad: &'static str) -> impl Fn(Vec<String>) -> ChunkFuture + use<> {
        let seen = seen.clone();
        move |members: Vec<String>| {
            lock(&seen).push(members.clone());
            Box::pin(async move {
                match members.iter().find(|m| *m == bad) {
                    Some(m) => Err(refused(m)),
                    None => Ok(()),
                }
            }) as ChunkFuture
        }
    }

    #[tokio::test]
    async fn members_go_out_in_chunks_of_at_most_max_in_order() {
        let seen: Seen = Arc::default();
        let members: Vec<String> = (0..25).map(|n| format!("{n}")).collect();
        let outcomes = in_chunks(&members, 10, &[], chunk_call(&seen, "none")).await;
        assert!(outcomes.iter().all(Result::is_ok));
        let calls = lock(&seen).clone();
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(calls.concat(), members);
    }

    #[tokio::test]
    async fn a_refused_chunk_is_retried_member_by_member() {
        let seen: Seen = Arc::default();
        let members: Vec<String> = ["a", "b", "bad", "c", "d"].map(String::from).to_vec();
        let outcomes = in_chunks(&members, 3, &[], chunk_call(&seen, "bad")).await;
        assert_eq!(outcomes.len(), 5);
        for (member, outcome) in members.iter().zip(&outcomes) {
            match member.as_str() {
                "bad" => assert_eq!(
                    outcome.as_ref().unwrap_err().code(),
                    Some("InvalidAccount.NotFound")
                ),
                _ => assert!(outcome.is_ok(), "{member}: {outcome:?}"),
            }
        }
        let calls = lock(&seen).clone();
        // [a b bad] refused, then a, b, bad alone; then [c d].
        assert_eq!(calls.len(), 5, "{calls:?}");
        assert_eq!(calls[4], ["c", "d"]);
    }

    #[tokio::test]
    async fn a_refusal_about_the_whole_call_is_not_split() {
        let seen: Seen = Arc::default();
        let members: Vec<String> = ["a", "bad", "c"].map(String::from).to_vec();
        let outcomes = in_chunks(
            &members,
            10,
            &["InvalidAccount.NotFound"],
            chunk_call(&seen, "bad"),
        )
        .await;
        assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
        assert_eq!(lock(&seen).len(), 1);
    }

    #[tokio::test]
    async fn a_chunk_failing_for_a_reason_other_than_its_members_fails_each_member_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let members: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let outcomes = in_chunks(&members, 10, &[], move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err(Error::Cancelled) }
        })
        .await;
        assert!(outcomes.iter().all(|r| matches!(r, Err(Error::Cancelled))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
