//! Starting and stopping the pipeline inside an actix System.
//!
//! [`start`] binds every address synchronously (a bind error is returned, not logged), starts
//! the executor pool, one [`Worker`] per io thread (each on a new `Arbiter`), and the
//! [`Listener`] on the calling arbiter, then returns a [`ServerHandle`]. It installs no signal
//! handlers and never stops the System: the embedding application (or talus's `main`) decides
//! when to call [`ServerHandle::stop`] and when to stop its System.
//!
//! Stop sequence (run by a task on the arbiter that called `start`, triggered by
//! [`ServerHandle::stop`] or by a batch returning [`Flow::Shutdown`](crate::Flow::Shutdown)):
//! 1. the Listener closes its sockets (no new clients);
//! 2. every Worker drains: idle connections close at once, a connection with a batch in
//!    flight closes after its replies are written. A reply that the client does not read
//!    within [`SHUTDOWN_GRACE`] is abandoned (its write is aborted) so a stuck client cannot
//!    hold the server up;
//! 3. the Worker arbiters are stopped and joined; with them the last handles to the executor
//!    pool go, so the executor threads end once their queue is empty;
//! 4. [`Service::shutdown`] runs (on a dedicated thread, as it may flush storage for a while);
//! 5. [`ServerHandle::stopped`] resolves.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use actix::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::{
    executor::{ExecPool, ExecTransport},
    limits::{ConnStats, Limits},
    listener::{Listener, StopListening},
    service::Service,
    worker::{Drain, Worker},
};

/// How long a graceful stop waits for clients to read their last replies before aborting
/// those writes.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Redis's default `tcp-backlog`.
const TCP_BACKLOG: i32 = 511;

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Addresses to listen on (port 0 picks a free port; see [`ServerHandle::local_addrs`]).
    pub addrs: Vec<SocketAddr>,
    /// Workers (io threads), each on its own arbiter; at least 1.
    pub io_threads: usize,
    /// Executor threads; at least 1.
    pub exec_threads: usize,
    /// Runtime-tunable limits (shared with CONFIG SET).
    pub limits: Arc<Limits>,
    /// Connection counters (shared with INFO).
    pub stats: Arc<ConnStats>,
}

/// State every actor of one server shares.
#[derive(Debug)]
pub(crate) struct ServerShared {
    pub limits: Arc<Limits>,
    pub stats: Arc<ConnStats>,
    pub next_client_id: AtomicU64,
    /// Cancelled to ask for a graceful stop.
    pub stop_requested: CancellationToken,
    /// Parent of every connection's kill token: cancelled when the grace period ends.
    pub kill: CancellationToken,
}

struct HandleInner {
    addrs: Vec<SocketAddr>,
    stop_requested: CancellationToken,
    stopped: CancellationToken,
}

/// A running server. Cloneable, `Send + Sync`; usable from any thread or runtime.
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<HandleInner>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addrs", &self.inner.addrs)
            .field("stopped", &self.inner.stopped.is_cancelled())
            .finish()
    }
}

impl ServerHandle {
    /// The addresses actually bound (real ports when port 0 was asked).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.inner.addrs.clone()
    }

    /// Graceful stop: stop accepting, let in-flight batches finish and their replies be
    /// written, close connections, stop executors and worker arbiters, then call
    /// [`Service::shutdown`]. The stop is requested when this is called (the future need not
    /// be polled for that); the future resolves when all that is done. Idempotent.
    pub fn stop(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.stop_requested.cancel();
        self.stopped()
    }

    /// Resolves once the server has fully stopped (by [`stop`](Self::stop) or because a
    /// client's batch returned [`Flow::Shutdown`](crate::Flow::Shutdown)).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.stopped.clone().cancelled_owned()
    }

    /// Whether a stop was requested (by `stop()` or a client's SHUTDOWN).
    pub fn is_stopping(&self) -> bool {
        self.inner.stop_requested.is_cancelled()
    }

    /// Whether the server has fully stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.is_cancelled()
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(TCP_BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Start Listener, Workers (one Arbiter each), and the Executor pool inside the *current*
/// actix System, with the default executor transport
/// ([`ExecTransport::Direct`]). Binds
/// synchronously so a bind error is returned here. Installs no signal handlers, never stops
/// the System. Must be called on an actix arbiter (e.g. inside `System::new().block_on(..)`,
/// `#[actix_rt::main]`, or an actor); otherwise an error is returned.
pub fn start<S: Service>(service: Arc<S>, cfg: ServerConfig) -> std::io::Result<ServerHandle> {
    start_with(service, cfg, ExecTransport::default())
}

/// [`start`] with an explicit executor transport (for measurements; see [`ExecTransport`]).
pub fn start_with<S: Service>(
    service: Arc<S>,
    cfg: ServerConfig,
    transport: ExecTransport,
) -> std::io::Result<ServerHandle> {
    let here = Arbiter::try_current()
        .ok_or_else(|| std::io::Error::other("talus_actors::start must run on an actix arbiter"))?;
    if cfg.addrs.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no address to listen on",
        ));
    }
    let mut sockets = Vec::with_capacity(cfg.addrs.len());
    let mut addrs = Vec::with_capacity(cfg.addrs.len());
    for addr in &cfg.addrs {
        let s = bind(*addr).map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?;
        addrs.push(s.local_addr()?);
        sockets.push(s);
    }

    let shared = Arc::new(ServerShared {
        limits: cfg.limits.clone(),
        stats: cfg.stats.clone(),
        next_client_id: AtomicU64::new(1),
        stop_requested: CancellationToken::new(),
        kill: CancellationToken::new(),
    });
    let pool = ExecPool::start(service.clone(), cfg.exec_threads, transport)?;

    let mut arbiters = Vec::with_capacity(cfg.io_threads.max(1));
    let mut workers = Vec::with_capacity(cfg.io_threads.max(1));
    for index in 0..cfg.io_threads.max(1) {
        let arbiter = Arbiter::new();
        let (service, pool, shared) = (service.clone(), pool.clone(), shared.clone());
        let addr = Worker::start_in_arbiter(&arbiter.handle(), move |_| {
            Worker::new(index, service, pool, shared)
        });
        arbiters.push(arbiter);
        workers.push(addr);
    }

    let listener = {
        let (workers, shared) = (workers.clone(), shared.clone());
        Listener::start_in_arbiter(&here, move |_| Listener::new(sockets, workers, shared))
    };

    let stopped = CancellationToken::new();
    let inner = Arc::new(HandleInner {
        addrs,
        stop_requested: shared.stop_requested.clone(),
        stopped: stopped.clone(),
    });
    here.spawn(shutdown_sequence(
        service, shared, listener, workers, arbiters, pool, stopped,
    ));
    Ok(ServerHandle { inner })
}

async fn shutdown_sequence<S: Service>(
    service: Arc<S>,
    shared: Arc<ServerShared>,
    listener: Addr<Listener<S>>,
    workers: Vec<Addr<Worker<S>>>,
    arbiters: Vec<Arbiter>,
    pool: ExecPool<S>,
    stopped: CancellationToken,
) {
    shared.stop_requested.cancelled().await;
    log::info!("stopping: no longer accepting connections");
    let _ = listener.send(StopListening).await;
    drop(listener);

    let drains = futures::future::join_all(workers.iter().map(|w| w.send(Drain)));
    tokio::select! {
        _ = drains => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            log::warn!("stopping: clients did not read their replies in time; closing them");
            shared.kill.cancel();
        }
    }
    // After the kill, connections close promptly (their writes abort); wait for that too.
    if shared.kill.is_cancelled() {
        futures::future::join_all(workers.iter().map(|w| w.send(Drain))).await;
    }
    drop(workers);

    let finished = pool.finished();
    drop(pool);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("talus-stop".into())
        .spawn(move || {
            for arbiter in arbiters {
                arbiter.stop();
                let _ = arbiter.join();
            }
            futures::executor::block_on(finished);
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| service.shutdown()))
                .is_err()
            {
                log::error!("Service::shutdown panicked");
            }
            let _ = tx.send(());
        });
    match spawned {
        Ok(_) => {
            let _ = rx.await;
        }
        Err(e) => log::error!("stopping: cannot spawn the stop thread: {e}"),
    }
    log::info!("stopped");
    stopped.cancel();
}
