//! The executors: the threads that run batches of commands against storage.
//!
//! [`Executor`] is a sync actor (`SyncContext`): it handles a [`CmdBatch`] by calling
//! [`Service::execute`] and answers with a [`Reply`]. Connections never address executors
//! directly; they go through [`ExecPool`], a small cloneable handle whose transport can change
//! without touching the rest of the pipeline. Two transports exist:
//!
//! - [`ExecTransport::SyncArbiterDedicated`] (the default): actix's `SyncArbiter::start(n, ..)`
//!   called inside a private actix System on a dedicated thread (`talus-exec-dispatch`).
//!   actix always spawns the `SyncArbiter` forwarding actor on `System::current().arbiter()`
//!   (whatever arbiter `start` is called from), and that actor hands every message to the
//!   unbounded crossbeam queue the n executor threads read. Starting it inside a private
//!   System is the only way to choose where that hop runs; here it never touches the host's
//!   System arbiter, which matters when Talus is embedded.
//! - [`ExecTransport::SyncArbiter`]: the same, with the forwarder on the (host's) System
//!   arbiter, i.e. what a plain `SyncArbiter::start` does.
//! - [`ExecTransport::Direct`]: the same [`Executor`] values run by n plain threads that read
//!   one crossbeam queue the connections push to directly, replies through a oneshot channel:
//!   one thread hop less.
//!
//! Measured with `redis-benchmark -c 50 -t ping_mbulk,set,get` (1 worker + 1 executor, 2 CPUs,
//! median of 7 interleaved rounds, `actors/bench/bench.py`): without pipelining the dedicated
//! SyncArbiter reached 0.79-0.90 of redis-server, the System-arbiter one 0.72-0.75 and Direct
//! 0.64-0.71; with `-P 16` all three were within noise of each other (0.70-0.83). The extra
//! hop is not the bottleneck: the worker (io) thread is, at about 5x the executor's CPU time,
//! almost all of it kernel TCP work and wake-ups; the hop moves the wake-up of a parked
//! executor off that thread. Hence the default. FIFO per connection holds with every
//! transport because a connection has at most one batch in flight.
//!
//! A panic inside `Service::execute` is caught: the client gets `-ERR internal error` and its
//! connection is closed; the executor thread lives on.
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

use crate::service::{Args, Flow, Service};

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
    /// One shared crossbeam queue read by the executor threads (no extra hop).
    Direct,
    /// actix's `SyncArbiter`, its forwarding actor on the System arbiter (where actix puts it).
    SyncArbiter,
    /// actix's `SyncArbiter`, started inside a private actix System on a dedicated thread, so
    /// the forwarding hop runs on that thread instead of the (host's) System arbiter. The
    /// default (measured best; see the module docs).
    #[default]
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
        let CmdBatch {
            mut session,
            cmds,
            mut out,
        } = batch;
        let service = &self.service;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            service.execute(&mut session, cmds, &mut out)
        }));
        let flow = match result {
            Ok(flow) => flow,
            Err(_) => {
                log::error!("command execution panicked; closing the client");
                out.extend_from_slice(b"-ERR internal error\r\n");
                Flow::Close
            }
        };
        Reply { session, out, flow }
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

/// Names the executor threads of the SyncArbiter transports (`top -H` shows them).
fn exec_thread() -> std::thread::Builder {
    std::thread::Builder::new().name("talus-exec".into())
}

type Job<T> = (CmdBatch<T>, oneshot::Sender<Reply<T>>);

enum Transport<S: Service> {
    Direct(crossbeam_channel::Sender<Job<S::Session>>),
    Actix(Addr<Executor<S>>),
}

impl<S: Service> Clone for Transport<S> {
    fn clone(&self) -> Self {
        match self {
            Transport::Direct(tx) => Transport::Direct(tx.clone()),
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
                let (tx, rx) = crossbeam_channel::unbounded::<Job<S::Session>>();
                for i in 0..threads {
                    let rx = rx.clone();
                    let mut exec = Executor {
                        service: service.clone(),
                        latch: latch.clone(),
                    };
                    std::thread::Builder::new()
                        .name(format!("talus-exec-{i}"))
                        .spawn(move || {
                            while let Ok((batch, reply_to)) = rx.recv() {
                                if reply_to.is_closed() {
                                    // The connection is gone (its arbiter stopped); like
                                    // actix, skip the batch.
                                    continue;
                                }
                                let _ = reply_to.send(exec.run(batch));
                            }
                            exec.latch.arrive();
                        })?;
                }
                Transport::Direct(tx)
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
                let (tx, rx) = std::sync::mpsc::channel();
                let done = finished.clone();
                std::thread::Builder::new()
                    .name("talus-exec-dispatch".into())
                    .spawn(move || {
                        let system = actix_rt::System::new();
                        system.block_on(async move {
                            let addr = SyncArbiter::start_with_thread_builder(
                                threads,
                                exec_thread,
                                move || Executor {
                                    service: service.clone(),
                                    latch: latch.clone(),
                                },
                            );
                            let _ = tx.send(addr);
                            // The forwarder runs on this thread until the executors end.
                            done.cancelled().await;
                        });
                    })?;
                let addr = rx
                    .recv()
                    .map_err(|_| std::io::Error::other("executor dispatch thread failed"))?;
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
