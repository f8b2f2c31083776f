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

use tokio::sync::{Notify, oneshot};
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

/// The requests of one key that no call carries yet, and the task that sends them.
struct Queue<M, R> {
    waiting: Vec<Waiting<M, R>>,
    /// Tells the sender that a request arrived.
    arrived: Arc<Notify>,
}

/// Coalesces concurrent requests on one key into calls of at most `max` members, one call of a key at a time.
/// A call goes out when `max` are waiting, when none has arrived for `quiet`, or when the oldest has waited
/// `window`, whichever comes first: requests that keep arriving close together share a call, and a lone one
/// waits only `quiet`. Requests that arrive while a call of their key is out wait for it to end and go
/// together in the next one, so a slow endpoint gathers bigger batches instead of more calls.
pub(crate) struct Batcher<K, M, R = ()> {
    quiet: Duration,
    window: Duration,
    max: usize,
    call: BatchCall<K, M, R>,
    state: Arc<Mutex<State<K, M, R>>>,
}

struct State<K, M, R> {
    next_ticket: u64,
    queues: HashMap<K, Queue<M, R>>,
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
            })),
        }
    }

    /// Queues `member` under `key` and waits for the outcome of the call that carries it. A request
    /// cancelled while it waits in the queue leaves it and is never sent; once sent, its outcome is awaited,
    /// so that a change that was made is never reported as not made.
    pub(crate) async fn submit(&self, key: K, member: M, ctx: &CallContext) -> Result<R, Error> {
        let (reply, answer) = oneshot::channel();
        let ticket = {
            let mut state = lock(&self.state);
            state.next_ticket += 1;
            let ticket = state.next_ticket;
            let waiting = Waiting {
                ticket,
                arrived: Instant::now(),
                member,
                ctx: ctx.clone(),
                reply,
            };
            match state.queues.get_mut(&key) {
                Some(queue) => {
                    queue.waiting.push(waiting);
                    queue.arrived.notify_one();
                }
                None => {
                    let arrived = Arc::new(Notify::new());
                    state.queues.insert(
                        key.clone(),
                        Queue {
                            waiting: vec![waiting],
                            arrived: arrived.clone(),
                        },
                    );
                    tokio::spawn(flush(
                        self.state.clone(),
                        self.call.clone(),
                        key.clone(),
                        (self.quiet, self.window),
                        self.max,
                        arrived,
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

/// Sends a key's queue, one call at a time: waits until `max` are waiting, or none has arrived for `quiet`, or
/// the oldest has waited `window`; sends up to `max` of them and waits for the call to end. Requests that
/// arrived meanwhile go in the next call; when none is left, the queue ends and the next request starts a new
/// one.
async fn flush<K, M, R>(
    state: Arc<Mutex<State<K, M, R>>>,
    call: BatchCall<K, M, R>,
    key: K,
    (quiet, window): (Duration, Duration),
    max: usize,
    arrived: Arc<Notify>,
) where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    M: Clone + Send + Sync + 'static,
    R: Clone + Send + 'static,
{
    loop {
        loop {
            let until = {
                let state = lock(&state);
                let Some(queue) = state.queues.get(&key) else {
                    return;
                };
                match (queue.waiting.first(), queue.waiting.last()) {
                    (Some(oldest), Some(newest)) if queue.waiting.len() < max => {
                        (newest.arrived + quiet).min(oldest.arrived + window)
                    }
                    _ => break,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                _ = arrived.notified() => {}
            }
        }
        let batch = {
            let mut state = lock(&state);
            let Some(queue) = state.queues.get_mut(&key) else {
                return;
            };
            let take = queue.waiting.len().min(max);
            queue.waiting.drain(..take).collect::<Vec<Waiting<M, R>>>()
        };
        if !batch.is_empty() {
            send(&key, batch, &call).await;
        }
        let mut state = lock(&state);
        if state.queues.get(&key).is_none_or(|q| q.waiting.is_empty()) {
            state.queues.remove(&key);
            return;
        }
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
