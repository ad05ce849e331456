//! The executors: the threads that run batches of commands against storage.
//!
//! [`Executor`] runs a [`CmdBatch`] through the [`Service`] and answers with a [`Reply`].
//! Connections never address executors directly; they go through [`ExecPool`], a small
//! cloneable handle whose transport can change without touching the rest of the pipeline:
//!
//! - [`ExecTransport::Direct`] (the default): connections push each batch into a shared
//!   queue (see the `queue` module: its receivers sleep at once, without spinning or yielding);
//!   each executor thread takes the next batch plus every batch already queued behind
//!   it (up to [`MAX_GROUP`]) and runs them together through [`Service::execute_group`], which
//!   lets the service commit the writes of many connections as one. Under load
//!   (`redis-benchmark -c 50`, SET) groups averaged 17 connections' batches, with and without
//!   `-P 16`. Batches the service can answer alone ([`Service::execute_alone`]: reads) run as
//!   they are taken, and a round ends after [`ROUND_BUDGET`] of them, so slow reads do not
//!   hold every client's reply until the last one is done.
//! - [`ExecTransport::Forwarded`]: the same grouping executors, the push into their queue done
//!   by a forwarding actor on a dedicated thread (`talus-exec-dispatch`), as the SyncArbiter
//!   transports do, so waking a parked executor is not the io thread's work.
//! - [`ExecTransport::SyncArbiterDedicated`]: actix's `SyncArbiter::start(n, ..)` called inside
//!   a private actix System on a dedicated thread. actix always spawns the `SyncArbiter`
//!   forwarding actor on `System::current().arbiter()` (whatever arbiter `start` is called
//!   from), and that actor hands every message to the unbounded queue the n executor threads
//!   read. Starting it inside a private System is the only way to choose where that hop runs;
//!   here it never touches the host's System arbiter, which matters when Talus is embedded.
//! - [`ExecTransport::SyncArbiter`]: the same, with the forwarder on the (host's) System
//!   arbiter, i.e. what a plain `SyncArbiter::start` does.
//!
//! Measured with grouping (Talus, `redis-benchmark -c 50 -n 200000 -r 100000 -d 64`, one
//! worker and one executor, 2 CPUs, quiet, 3 interleaved rounds, ratios to redis-server in the
//! same round): without pipelining Direct and Forwarded were alike (SET 0.62-0.71 vs 0.62-0.67, GET
//! 0.69-0.76 vs 0.71-0.78); with `-P 16` Direct was ahead on every round (SET 0.43-0.46 vs
//! 0.38-0.41, GET 0.65-0.73 vs 0.48-0.62), where the forwarding thread became one more
//! thread competing for two cores. Hence Direct.
//!
//! The SyncArbiter transports run one batch at a time. Measured before grouping existed
//! (`redis-benchmark -c 50 -t ping_mbulk,set,get`, 1 worker + 1 executor, 2 CPUs, median of 7
//! interleaved rounds, `actors/bench/bench.py`): without pipelining the dedicated SyncArbiter
//! reached 0.79-0.90 of redis-server, the System-arbiter one 0.72-0.75 and a one-batch Direct
//! 0.64-0.71; with `-P 16` all three were within noise of each other (0.70-0.83). The extra
//! hop was not the bottleneck: the worker (io) thread was, at about 5x the executor's CPU
//! time, almost all of it kernel TCP work and wake-ups; the hop moves the wake-up of a parked
//! executor off that thread. FIFO per connection holds with every transport because a
//! connection has at most one batch in flight.
//!
//! A panic inside the service is caught: the clients of the batch (or group) get `-ERR
//! internal error` and their connections are closed; the executor thread lives on.
//!
//! Shutdown: the executor threads end when every `ExecPool` clone is gone (the queue
//! disconnects); each executor's end is counted, and [`ExecPool::finished`] resolves when all
//! have ended.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use actix::prelude::*;
use bytes::BytesMut;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::queue;
use crate::service::{Args, Flow, Service, Work};

/// A batch of complete requests from one connection, with that connection's session.
pub struct CmdBatch<T: Send + 'static> {
    /// The connection's session; comes back in the [`Reply`].
    pub session: T,
    /// The requests, in order.
    pub cmds: Vec<Args>,
    /// An empty buffer (reused across batches) to encode the replies into.
    pub out: BytesMut,
}

/// The answer to a [`CmdBatch`].
pub struct Reply<T: Send + 'static> {
    /// The session, as the batch left it.
    pub session: T,
    /// Every reply of the batch, encoded.
    pub out: BytesMut,
    /// What the connection does next.
    pub flow: Flow,
    /// The requests after a blocked one ([`Flow::Block`]), to run once it is answered.
    pub rest: Vec<Args>,
}

impl<T: Send + 'static> Message for CmdBatch<T> {
    type Result = Reply<T>;
}

/// The batch could not be executed: the executors are gone (server stopping). The session
/// travelled with the batch and is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecGone;

impl std::fmt::Display for ExecGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("executor pool is gone")
    }
}

impl std::error::Error for ExecGone {}

/// How batches travel from connections to the executor threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecTransport {
    /// One shared queue the connections push to and the executor threads read (no
    /// extra hop); each executor runs every batch queued at once as one group. The default
    /// (measured best; see the module docs).
    #[default]
    Direct,
    /// The grouping executors of [`ExecTransport::Direct`], with the push into their queue
    /// done by a forwarding actor on a dedicated thread (as the SyncArbiter transports do), so
    /// waking a parked executor is not the io threads' work.
    Forwarded,
    /// actix's `SyncArbiter`, its forwarding actor on the System arbiter (where actix puts it).
    SyncArbiter,
    /// actix's `SyncArbiter`, started inside a private actix System on a dedicated thread, so
    /// the forwarding hop runs on that thread instead of the (host's) System arbiter. The
    /// default before grouping (see the module docs).
    SyncArbiterDedicated,
}

/// Counts live executors; fires when the last one ends.
struct Latch {
    live: AtomicUsize,
    done: CancellationToken,
}

impl Latch {
    fn arrive(&self) {
        if self.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.cancel();
        }
    }
}

/// One executor: runs batches against the service. A sync actor under
/// [`ExecTransport::SyncArbiter`], a plain loop under [`ExecTransport::Direct`].
pub struct Executor<S: Service> {
    service: Arc<S>,
    latch: Arc<Latch>,
}

impl<S: Service> Executor<S> {
    /// Execute one batch (the body of the `CmdBatch` handler).
    pub fn run(&mut self, batch: CmdBatch<S::Session>) -> Reply<S::Session> {
        let ran = self.guarded(batch, |svc, session, cmds, out| {
            Some(svc.execute(session, cmds, out))
        });
        // `execute` always runs the batch; `Err` cannot happen (closing is the safe answer).
        ran.unwrap_or_else(|batch| Reply {
            session: batch.session,
            out: batch.out,
            flow: Flow::Close,
            rest: Vec::new(),
        })
    }

    /// Runs `job` at once if the service answers it outside a group
    /// ([`Service::execute_alone`]): `Ok` with its reply and where it goes; otherwise the job
    /// comes back untouched (`Err`) to join the group.
    fn try_alone(&mut self, job: Job<S::Session>) -> Result<Answer<S::Session>, Job<S::Session>> {
        let (batch, reply_to) = job;
        match self.guarded(batch, |svc, session, cmds, out| {
            svc.execute_alone(session, cmds, out)
        }) {
            Ok(reply) => Ok((reply, reply_to)),
            Err(batch) => Err((batch, reply_to)),
        }
    }

    /// Runs `exec` on `batch`, catching a panic (the client then gets `-ERR internal error`
    /// and its connection is closed). `exec` returning `None` means it ran nothing: the batch
    /// comes back as it was (`Err`).
    fn guarded(
        &self,
        batch: CmdBatch<S::Session>,
        exec: impl FnOnce(&S, &mut S::Session, &[Args], &mut BytesMut) -> Option<Flow>,
    ) -> Result<Reply<S::Session>, CmdBatch<S::Session>> {
        let CmdBatch {
            mut session,
            mut cmds,
            mut out,
        } = batch;
        let service = &*self.service;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            exec(service, &mut session, &cmds, &mut out)
        }));
        let flow = match result {
            Ok(Some(flow)) => flow,
            Ok(None) => return Err(CmdBatch { session, cmds, out }),
            Err(_) => {
                log::error!("command execution panicked; closing the client");
                out.clear();
                out.extend_from_slice(b"-ERR internal error\r\n");
                Flow::Close
            }
        };
        let rest = rest_after(&flow, &mut cmds);
        Ok(Reply {
            session,
            out,
            flow,
            rest,
        })
    }

    /// Run several connections' batches as one group (see [`Service::execute_group`]).
    fn run_group(&mut self, group: &mut [Work<S::Session>]) {
        let service = &self.service;
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| service.execute_group(&mut *group)));
        if result.is_err() {
            log::error!("command execution panicked; closing the group's clients");
            for w in group.iter_mut() {
                w.out.clear();
                w.out.extend_from_slice(b"-ERR internal error\r\n");
                w.flow = Flow::Close;
            }
        }
    }

    /// The loop of a queue-reading executor thread. A round takes the next job, then every
    /// job already queued behind it, up to [`MAX_GROUP`] jobs or [`ROUND_BUDGET`] of work:
    /// batches the service answers alone (reads) run as they are taken, the others run
    /// together as one group at the end of the round; then every reply of the round is sent.
    /// Under load many connections' batches wait in the queue while a round runs, so the next
    /// group is larger: the storage commits once for all of them. The time budget keeps a
    /// round of slow reads (a ZRANGE of a hundred members) from holding every client's reply
    /// until the last one is done: the connections write one round's replies while the next
    /// round runs.
    fn serve(mut self, rx: queue::Receiver<Job<S::Session>>) {
        let mut work = Vec::with_capacity(MAX_GROUP);
        let mut answer = Vec::with_capacity(MAX_GROUP);
        let mut ready: Vec<Answer<S::Session>> = Vec::with_capacity(MAX_GROUP);
        while let Some(first) = rx.recv() {
            let start = std::time::Instant::now();
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(job) = next.take() {
                taken += 1;
                // A connection that is gone (its arbiter stopped) is skipped, as actix does.
                if !job.1.is_closed() {
                    match self.try_alone(job) {
                        Ok(answered) => ready.push(answered),
                        Err((batch, reply_to)) => {
                            work.push(Work {
                                session: batch.session,
                                cmds: batch.cmds,
                                out: batch.out,
                                flow: Flow::Continue,
                            });
                            answer.push(reply_to);
                        }
                    }
                }
                if taken < MAX_GROUP && start.elapsed() < ROUND_BUDGET {
                    next = rx.try_recv();
                }
            }
            if !work.is_empty() {
                self.run_group(&mut work);
            }
            for (reply, reply_to) in ready.drain(..) {
                let _ = reply_to.send(reply);
            }
            for (mut w, reply_to) in work.drain(..).zip(answer.drain(..)) {
                let rest = rest_after(&w.flow, &mut w.cmds);
                let _ = reply_to.send(Reply {
                    session: w.session,
                    out: w.out,
                    flow: w.flow,
                    rest,
                });
            }
        }
        self.latch.arrive();
    }
}

/// The requests a blocked or paused batch did not run (empty unless `flow` is [`Flow::Block`]
/// or [`Flow::Retry`]).
fn rest_after(flow: &Flow, cmds: &mut Vec<Args>) -> Vec<Args> {
    match *flow {
        Flow::Block { done, .. } | Flow::Retry { done, .. } if done < cmds.len() => {
            cmds.split_off(done)
        }
        _ => Vec::new(),
    }
}

/// The most connections' batches one executor takes in a round.
pub const MAX_GROUP: usize = 64;

/// How long an executor goes on taking queued batches it answers alone before it ends the
/// round and sends the replies. Measured (ZRANGEBYSCORE of 100 members, `-c 50`, one worker
/// and one executor on 2 cores, 3-7 interleaved rounds): without a budget 20-26k req/s, with
/// 100-400 µs 25-36k (medians 29k at 200 µs, 32k at 400 µs), 800 µs 25-27k; SET and GET
/// (grouped, or cheap) unchanged.
pub const ROUND_BUDGET: std::time::Duration = std::time::Duration::from_micros(400);

/// The actor that hands batches to the queue of the grouping executors
/// ([`ExecTransport::Forwarded`]); it runs on the dedicated `talus-exec-dispatch` thread.
struct Forwarder<T: Send + 'static> {
    queue: Option<queue::Sender<Job<T>>>,
}

impl<T: Send + 'static> Actor for Forwarder<T> {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // Every pool handle is gone: disconnect the queue so the executors end.
        self.queue.take();
    }
}

/// A batch and where its reply goes, on its way to the [`Forwarder`].
struct Forward<T: Send + 'static>(Job<T>);

impl<T: Send + 'static> Message for Forward<T> {
    type Result = ();
}

impl<T: Send + 'static> Handler<Forward<T>> for Forwarder<T> {
    type Result = ();

    fn handle(&mut self, msg: Forward<T>, _ctx: &mut Self::Context) {
        if let Some(queue) = &self.queue {
            // A send error means the executors are gone; dropping the job answers ExecGone.
            let _ = queue.send(msg.0);
        }
    }
}

impl<S: Service> Actor for Executor<S> {
    type Context = SyncContext<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.latch.arrive();
    }
}

impl<S: Service> Handler<CmdBatch<S::Session>> for Executor<S> {
    type Result = MessageResult<CmdBatch<S::Session>>;

    fn handle(&mut self, msg: CmdBatch<S::Session>, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.run(msg))
    }
}

/// Starts `threads` grouping executors reading `rx`.
fn spawn_grouping<S: Service>(
    threads: usize,
    service: &Arc<S>,
    latch: &Arc<Latch>,
    rx: queue::Receiver<Job<S::Session>>,
) -> std::io::Result<()> {
    for i in 0..threads {
        let rx = rx.clone();
        let exec = Executor {
            service: service.clone(),
            latch: latch.clone(),
        };
        std::thread::Builder::new()
            .name(format!("talus-exec-{i}"))
            .spawn(move || exec.serve(rx))?;
    }
    Ok(())
}

/// Runs `start` inside a private actix System on a new thread (`talus-exec-dispatch`) and
/// returns what it returns (an actor's address); the thread keeps that System, and so the
/// forwarding actor `start` spawned, running until `done` fires (every executor ended).
fn on_dispatch_thread<A: Send + 'static>(
    done: CancellationToken,
    start: impl FnOnce() -> A + Send + 'static,
) -> std::io::Result<A> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("talus-exec-dispatch".into())
        .spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                let _ = tx.send(start());
                done.cancelled().await;
            });
        })?;
    rx.recv()
        .map_err(|_| std::io::Error::other("executor dispatch thread failed"))
}

/// Names the executor threads of the SyncArbiter transports (`top -H` shows them).
fn exec_thread() -> std::thread::Builder {
    std::thread::Builder::new().name("talus-exec".into())
}

type Job<T> = (CmdBatch<T>, oneshot::Sender<Reply<T>>);

/// A reply ready to go, and where.
type Answer<T> = (Reply<T>, oneshot::Sender<Reply<T>>);

enum Transport<S: Service> {
    Direct(queue::Sender<Job<S::Session>>),
    Forwarded(Addr<Forwarder<S::Session>>),
    Actix(Addr<Executor<S>>),
}

impl<S: Service> Clone for Transport<S> {
    fn clone(&self) -> Self {
        match self {
            Transport::Direct(tx) => Transport::Direct(tx.clone()),
            Transport::Forwarded(addr) => Transport::Forwarded(addr.clone()),
            Transport::Actix(addr) => Transport::Actix(addr.clone()),
        }
    }
}

/// Handle to the executor pool. Cloneable; the pool ends when every clone is dropped.
pub struct ExecPool<S: Service> {
    transport: Transport<S>,
    finished: CancellationToken,
}

impl<S: Service> Clone for ExecPool<S> {
    fn clone(&self) -> Self {
        ExecPool {
            transport: self.transport.clone(),
            finished: self.finished.clone(),
        }
    }
}

impl<S: Service> ExecPool<S> {
    /// Start `threads` executors (at least one) over `service`. With
    /// [`ExecTransport::SyncArbiter`] this must run inside an actix System.
    pub fn start(
        service: Arc<S>,
        threads: usize,
        transport: ExecTransport,
    ) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let finished = CancellationToken::new();
        let latch = Arc::new(Latch {
            live: AtomicUsize::new(threads),
            done: finished.clone(),
        });
        let transport = match transport {
            ExecTransport::Direct => {
                let (tx, rx) = queue::queue::<Job<S::Session>>();
                spawn_grouping(threads, &service, &latch, rx)?;
                Transport::Direct(tx)
            }
            ExecTransport::Forwarded => {
                let (queue, rx) = queue::queue::<Job<S::Session>>();
                spawn_grouping(threads, &service, &latch, rx)?;
                let addr = on_dispatch_thread(finished.clone(), move || {
                    Forwarder { queue: Some(queue) }.start()
                })?;
                Transport::Forwarded(addr)
            }
            ExecTransport::SyncArbiter => {
                if actix_rt::System::try_current().is_none() {
                    return Err(std::io::Error::other("no actix System running"));
                }
                let addr =
                    SyncArbiter::start_with_thread_builder(threads, exec_thread, move || {
                        Executor {
                            service: service.clone(),
                            latch: latch.clone(),
                        }
                    });
                Transport::Actix(addr)
            }
            ExecTransport::SyncArbiterDedicated => {
                let addr = on_dispatch_thread(finished.clone(), move || {
                    SyncArbiter::start_with_thread_builder(threads, exec_thread, move || Executor {
                        service: service.clone(),
                        latch: latch.clone(),
                    })
                })?;
                Transport::Actix(addr)
            }
        };
        Ok(ExecPool {
            transport,
            finished,
        })
    }

    /// Send a batch to the pool; resolves to its reply.
    pub fn execute(
        &self,
        batch: CmdBatch<S::Session>,
    ) -> impl Future<Output = Result<Reply<S::Session>, ExecGone>> + 'static {
        enum Pending<S: Service> {
            Direct(Option<oneshot::Receiver<Reply<S::Session>>>),
            Actix(actix::dev::Request<Executor<S>, CmdBatch<S::Session>>),
        }
        let pending = match &self.transport {
            Transport::Direct(tx) => {
                let (reply_tx, reply_rx) = oneshot::channel();
                Pending::<S>::Direct(tx.send((batch, reply_tx)).ok().map(|_| reply_rx))
            }
            Transport::Forwarded(addr) => {
                let (reply_tx, reply_rx) = oneshot::channel();
                // `do_send` ignores the mailbox bound; in-flight work is bounded by the
                // connections (one batch each).
                addr.do_send(Forward((batch, reply_tx)));
                Pending::Direct(Some(reply_rx))
            }
            Transport::Actix(addr) => Pending::Actix(addr.send(batch)),
        };
        async move {
            match pending {
                Pending::Direct(Some(rx)) => rx.await.map_err(|_| ExecGone),
                Pending::Direct(None) => Err(ExecGone),
                Pending::Actix(req) => req.await.map_err(|_| ExecGone),
            }
        }
    }

    /// Resolves once every executor thread has ended (all clones of the pool dropped and the
    /// queued batches run).
    pub fn finished(&self) -> impl Future<Output = ()> + Send + 'static {
        self.finished.clone().cancelled_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ClientInfo;
    use bytes::Bytes;
    use std::time::Duration;

    /// Answers `READ` alone and runs `WRITE` in the group; each takes `cost`.
    struct Slow {
        cost: Duration,
        /// Batches run so far, alone or grouped.
        ran: AtomicUsize,
    }

    impl Slow {
        fn run(&self, cmds: &[Args], out: &mut BytesMut) {
            std::thread::sleep(self.cost);
            self.ran.fetch_add(1, Ordering::SeqCst);
            out.extend_from_slice(&cmds[0][0]);
        }
    }

    impl Service for Slow {
        type Session = ();

        fn open_session(&self, _info: &ClientInfo) {}

        fn execute(&self, _session: &mut (), cmds: &[Args], out: &mut BytesMut) -> Flow {
            self.run(cmds, out);
            Flow::Continue
        }

        fn execute_alone(&self, _: &mut (), cmds: &[Args], out: &mut BytesMut) -> Option<Flow> {
            (cmds[0][0] == "READ").then(|| {
                self.run(cmds, out);
                Flow::Continue
            })
        }

        fn close_session(&self, _session: ()) {}
    }

    /// Queues `names` (one batch each) before one executor starts, and returns the receivers
    /// of their replies.
    fn queued(svc: &Arc<Slow>, names: &[&'static str]) -> Vec<oneshot::Receiver<Reply<()>>> {
        let (tx, rx) = queue::queue();
        let mut replies = Vec::new();
        for name in names {
            let (reply_tx, reply_rx) = oneshot::channel();
            let batch = CmdBatch {
                session: (),
                cmds: vec![smallvec::smallvec![Bytes::from_static(name.as_bytes())]],
                out: BytesMut::new(),
            };
            assert!(tx.send((batch, reply_tx)).is_ok());
            replies.push(reply_rx);
        }
        let latch = Arc::new(Latch {
            live: AtomicUsize::new(1),
            done: CancellationToken::new(),
        });
        spawn_grouping(1, svc, &latch, rx).unwrap();
        replies
    }

    #[test]
    fn slow_reads_answered_alone_are_sent_round_by_round() {
        let svc = Arc::new(Slow {
            cost: Duration::from_millis(100),
            ran: AtomicUsize::new(0),
        });
        let mut replies = queued(&svc, &["READ"; 5]).into_iter();
        let first = replies.next().unwrap().blocking_recv().unwrap();
        assert_eq!(&first.out[..], b"READ");
        // The round ended after the first read (it took longer than ROUND_BUDGET): its reply
        // left while the next ones were still to run, 100 ms each.
        assert!(svc.ran.load(Ordering::SeqCst) < 5);
        for r in replies {
            assert_eq!(&r.blocking_recv().unwrap().out[..], b"READ");
        }
        assert_eq!(svc.ran.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn a_read_queued_behind_writes_is_answered_before_their_group_commits() {
        let svc = Arc::new(Slow {
            cost: Duration::from_millis(100),
            ran: AtomicUsize::new(0),
        });
        let mut replies = queued(&svc, &["WRITE", "READ", "WRITE"]).into_iter();
        let (w1, read, w2) = (
            replies.next().unwrap(),
            replies.next().unwrap(),
            replies.next().unwrap(),
        );
        // The read ran as it was taken and ended the round (over budget): the round's group
        // was the first write alone, and the read's reply left with it, before the second
        // write ran (100 ms later). One group of all three would answer nothing before.
        assert_eq!(&read.blocking_recv().unwrap().out[..], b"READ");
        assert!(svc.ran.load(Ordering::SeqCst) < 3);
        assert_eq!(&w1.blocking_recv().unwrap().out[..], b"WRITE");
        assert_eq!(&w2.blocking_recv().unwrap().out[..], b"WRITE");
        assert_eq!(svc.ran.load(Ordering::SeqCst), 3);
    }
}
