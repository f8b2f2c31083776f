//! Fewer calls for the same work: a [`Batcher`] coalesces concurrent requests on one key (say, adds of
//! accounts to one image's share list) into one call of up to `max` members, and a [`SingleFlight`] lets
//! concurrent reads of one key share one call.
//!
//! Each member of a batch still gets its own result: when a batched call fails with a client error (a bad
//! member, a quota), every member is tried alone, so the error lands on the member that caused it and the
//! others succeed.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell, oneshot};

use crate::{CallContext, Error};

/// The future a batch call returns: one outcome per member, in the members' order, or the call's failure.
pub type BatchFuture<R> = Pin<Box<dyn Future<Output = Result<Vec<R>, Error>> + Send>>;

/// Runs one call for a key and some members.
pub type BatchCall<K, M, R = ()> =
    Arc<dyn Fn(K, Vec<M>, CallContext) -> BatchFuture<R> + Send + Sync>;

struct Waiting<M, R> {
    ticket: u64,
    member: M,
    ctx: CallContext,
    reply: oneshot::Sender<Result<R, Error>>,
}

struct Queue<K, M, R> {
    waiting: Vec<Waiting<M, R>>,
    wake: Arc<Wake>,
    call: BatchCall<K, M, R>,
}

/// What a queue's sender waits for.
#[derive(Default)]
struct Wake {
    arrived: Notify,
    full: Notify,
}

/// Coalesces concurrent requests on one key into calls of at most `max` members. A call goes out when `max`
/// are waiting, when none has arrived for `quiet`, or `window` after the first one arrived, whichever comes
/// first: requests that keep arriving close together share a call, and a lone one waits only `quiet`.
pub struct Batcher<K, M, R = ()> {
    quiet: Duration,
    window: Duration,
    max: usize,
    state: Arc<Mutex<State<K, M, R>>>,
}

struct State<K, M, R> {
    next_ticket: u64,
    queues: HashMap<K, Queue<K, M, R>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a failed batch says something about its members rather than about the call: worth trying each
/// member alone.
fn is_member_error(err: &Error) -> bool {
    matches!(err, Error::Api(api) if (400..500).contains(&api.http_status)) && !err.is_retryable()
}

impl<K, M, R> Batcher<K, M, R>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    M: Clone + Send + Sync + 'static,
    R: Clone + Send + 'static,
{
    /// A batcher gathering while requests keep arriving within `quiet` of each other, for at most
    /// `window`, at most `max` members per call.
    pub fn new(quiet: Duration, window: Duration, max: usize) -> Self {
        Batcher {
            quiet: quiet.min(window),
            window,
            max: max.max(1),
            state: Arc::new(Mutex::new(State {
                next_ticket: 0,
                queues: HashMap::new(),
            })),
        }
    }

    /// Queues `member` under `key` and waits for the outcome of the call that carries it. `call` makes one
    /// call for a key and its members (the first queued request's `call` serves the whole batch). A request
    /// cancelled while it waits in the queue leaves it and is never sent; once sent, its outcome is awaited,
    /// so that a change that was made is never reported as not made.
    pub async fn submit(
        &self,
        key: K,
        member: M,
        ctx: &CallContext,
        call: BatchCall<K, M, R>,
    ) -> Result<R, Error> {
        let (reply, answer) = oneshot::channel();
        let ticket = {
            let mut state = lock(&self.state);
            state.next_ticket += 1;
            let ticket = state.next_ticket;
            let waiting = Waiting {
                ticket,
                member,
                ctx: ctx.clone(),
                reply,
            };
            match state.queues.get_mut(&key) {
                Some(queue) => {
                    queue.waiting.push(waiting);
                    if queue.waiting.len() >= self.max {
                        queue.wake.full.notify_one();
                    } else {
                        queue.wake.arrived.notify_one();
                    }
                }
                None => {
                    let wake = Arc::new(Wake::default());
                    state.queues.insert(
                        key.clone(),
                        Queue {
                            waiting: vec![waiting],
                            wake: wake.clone(),
                            call,
                        },
                    );
                    tokio::spawn(flush(
                        self.state.clone(),
                        key.clone(),
                        (self.quiet, self.window),
                        self.max,
                        wake,
                    ));
                }
            }
            ticket
        };
        tokio::pin!(answer);
        tokio::select! {
            biased;
            result = &mut answer => result.unwrap_or(Err(Error::Cancelled)),
            _ = ctx.cancel.cancelled() => {
                let removed = {
                    let mut state = lock(&self.state);
                    state.queues.get_mut(&key).is_some_and(|q| {
                        let before = q.waiting.len();
                        q.waiting.retain(|w| w.ticket != ticket);
                        q.waiting.len() < before
                    })
                };
                if removed {
                    Err(Error::Cancelled)
                } else {
                    // Already sent: its outcome decides.
                    answer.await.unwrap_or(Err(Error::Cancelled))
                }
            }
        }
    }
}

/// Waits until the queue is full or quiet or its window ends, then sends the queue in calls of at most `max`
/// members until it is empty.
async fn flush<K, M, R>(
    state: Arc<Mutex<State<K, M, R>>>,
    key: K,
    (quiet, window): (Duration, Duration),
    max: usize,
    wake: Arc<Wake>,
) where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    M: Clone + Send + Sync + 'static,
    R: Clone + Send + 'static,
{
    let end = tokio::time::Instant::now() + window;
    loop {
        let until = (tokio::time::Instant::now() + quiet).min(end);
        tokio::select! {
            _ = tokio::time::sleep_until(until) => break,
            _ = wake.full.notified() => break,
            _ = wake.arrived.notified() => {}
        }
    }
    loop {
        let (batch, call, more) = {
            let mut state = lock(&state);
            let Some(queue) = state.queues.get_mut(&key) else {
                return;
            };
            let take = queue.waiting.len().min(max);
            let batch: Vec<Waiting<M, R>> = queue.waiting.drain(..take).collect();
            let call = queue.call.clone();
            let more = !queue.waiting.is_empty();
            if !more {
                // Requests from now on start a new queue, with a sender of its own.
                state.queues.remove(&key);
            }
            (batch, call, more)
        };
        if !batch.is_empty() {
            send(&key, batch, &call).await;
        }
        if !more {
            return;
        }
    }
}

/// One call for `batch`, falling back to one call per member when the batch is refused for a member's sake.
async fn send<K: Clone, M: Clone, R>(
    key: &K,
    batch: Vec<Waiting<M, R>>,
    call: &BatchCall<K, M, R>,
) {
    let ctx = CallContext {
        deadline: batch
            .iter()
            .map(|w| w.ctx.deadline)
            .min()
            .unwrap_or_else(tokio::time::Instant::now),
        cancel: batch[0].ctx.cancel.clone(),
    };
    let members: Vec<M> = batch.iter().map(|w| w.member.clone()).collect();
    match call(key.clone(), members, ctx).await {
        Err(err) if batch.len() > 1 && is_member_error(&err) => {
            tracing::debug!(error = %err, members = batch.len(), "batched call refused; trying each member alone");
            for w in batch {
                let alone = call(key.clone(), vec![w.member.clone()], w.ctx.clone()).await;
                let _ = w.reply.send(alone.and_then(|mut r| one(r.pop(), 1)));
            }
        }
        Err(err) => {
            for w in batch {
                let _ = w.reply.send(Err(err.clone()));
            }
        }
        Ok(outcomes) if outcomes.len() != batch.len() => {
            let err = Error::InvalidResponse(format!(
                "a batch of {} got {} outcomes",
                batch.len(),
                outcomes.len()
            ));
            for w in batch {
                let _ = w.reply.send(Err(err.clone()));
            }
        }
        Ok(outcomes) => {
            for (w, outcome) in batch.into_iter().zip(outcomes) {
                let _ = w.reply.send(Ok(outcome));
            }
        }
    }
}

/// The one outcome of a single-member call.
fn one<R>(outcome: Option<R>, members: usize) -> Result<R, Error> {
    outcome.ok_or_else(|| Error::InvalidResponse(format!("a batch of {members} got no outcome")))
}

/// Lets concurrent requests for one key share one call. A call's answer serves only the requests that
/// arrived while it ran: once it ends, the next request makes a new call, so no stale answer is reused.
pub struct SingleFlight<K, V> {
    inflight: Arc<Mutex<HashMap<K, Flight<V>>>>,
}

/// One call in flight and, once it ends, its answer.
type Flight<V> = Arc<OnceCell<Result<V, Error>>>;

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// The answer of the call in flight for `key`, or of `make`'s call when none is.
    pub async fn run<F, Fut>(&self, key: K, make: F) -> Result<V, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, Error>>,
    {
        let cell = lock(&self.inflight)
            .entry(key.clone())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let inflight = self.inflight.clone();
        let flight = cell.clone();
        cell.get_or_init(|| async move {
            let result = make().await;
            let mut map = lock(&inflight);
            if map.get(&key).is_some_and(|c| Arc::ptr_eq(c, &flight)) {
                map.remove(&key);
            }
            result
        })
        .await
        .clone()
    }
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
        call: &BatchCall<String, String>,
        members: impl IntoIterator<Item = String>,
    ) -> Vec<Result<(), Error>> {
        let tasks: Vec<_> = members
            .into_iter()
            .map(|m| {
                let (b, call) = (batcher.clone(), call.clone());
                tokio::spawn(async move { b.submit("m-1".into(), m, &ctx(), call).await })
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
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
        ));
        let (call, seen) = recording("none");
        let results = submit_all(&batcher, &call, (0..25).map(|n| format!("{n}"))).await;
        assert!(results.iter().all(Result::is_ok));
        let sizes: Vec<usize> = lock(&seen).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_arriving_close_together_share_a_call_until_the_window_ends() {
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
        ));
        let (call, seen) = recording("none");
        // One request every 3 ms: each arrives within the quiet time of the last, so they gather until the
        // 50 ms window ends (17 of them), then the rest start a new call.
        let mut tasks = Vec::new();
        for n in 0..25 {
            let (b, c) = (batcher.clone(), call.clone());
            tasks.push(tokio::spawn(async move {
                b.submit("m-1".into(), format!("{n}"), &ctx(), c).await
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
        let batcher: Arc<Batcher<String, String, usize>> = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
        ));
        let call: BatchCall<String, String, usize> = Arc::new(|_, members: Vec<String>, _| {
            Box::pin(async move { Ok(members.iter().map(String::len).collect()) })
        });
        let tasks: Vec<_> = ["a", "bb", "ccc"]
            .map(String::from)
            .into_iter()
            .map(|m| {
                let (b, call) = (batcher.clone(), call.clone());
                tokio::spawn(async move { b.submit("m-1".into(), m, &ctx(), call).await })
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
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
        ));
        let (call, seen) = recording("none");
        submit_all(&batcher, &call, ["a".to_string()]).await;
        submit_all(&batcher, &call, ["b".to_string()]).await;
        assert_eq!(*lock(&seen), [vec!["a".to_string()], vec!["b".to_string()]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_batch_is_retried_member_by_member() {
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
        ));
        let (call, seen) = recording("bad");
        let members = ["a", "bad", "c"].map(String::from);
        let results = submit_all(&batcher, &call, members).await;
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert_eq!(
            results[1].as_ref().unwrap_err().code(),
            Some("InvalidAccount.NotFound")
        );
        let calls = lock(&seen).clone();
        assert_eq!(
            calls.len(),
            4,
            "one batch, then one call per member: {calls:?}"
        );
        assert_eq!(calls[0].len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_failure_that_is_not_about_members_reaches_every_member_once() {
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
            10,
        ));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let call: BatchCall<String, String> = Arc::new(move |_, _, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(Error::Cancelled) })
        });
        let results = submit_all(&batcher, &call, ["a", "b"].map(String::from)).await;
        assert!(results.iter().all(|r| matches!(r, Err(Error::Cancelled))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_cancelled_while_queued_is_never_sent() {
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(50),
            Duration::from_millis(50),
            10,
        ));
        let (call, seen) = recording("none");
        let cancelled = ctx();
        let (b, c, cx) = (batcher.clone(), call.clone(), cancelled.clone());
        let gone = tokio::spawn(async move { b.submit("m-1".into(), "gone".into(), &cx, c).await });
        let (b, c) = (batcher.clone(), call.clone());
        let kept =
            tokio::spawn(async move { b.submit("m-1".into(), "kept".into(), &ctx(), c).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        cancelled.cancel.cancel();
        assert!(matches!(gone.await.expect("task"), Err(Error::Cancelled)));
        assert!(kept.await.expect("task").is_ok());
        assert_eq!(*lock(&seen), [vec!["kept".to_string()]]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reads_share_one_call_and_later_reads_make_a_new_one() {
        let flights: Arc<SingleFlight<String, usize>> = Arc::new(SingleFlight::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let read = |flights: Arc<SingleFlight<String, usize>>, calls: Arc<AtomicUsize>| async move {
            flights
                .run("m-1".to_string(), || async {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
                })
                .await
        };
        let tasks: Vec<_> = (0..20)
            .map(|_| tokio::spawn(read(flights.clone(), calls.clone())))
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("task").expect("read"), 1);
        }
        assert_eq!(
            read(flights.clone(), calls.clone()).await.expect("read"),
            2,
            "no stale answer"
        );
    }
}
