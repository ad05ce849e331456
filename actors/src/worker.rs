//! `Worker`: one per io thread, each on its own `actix::Arbiter` (Pika's WorkerThread).
//!
//! A Worker adopts the streams the Listener hands it (as `std::net::TcpStream`, turned into a
//! tokio stream here, on the Worker's own runtime), opens the client's session on its thread,
//! starts one [`Connection`] actor per stream on its arbiter, and keeps a registry of its
//! connections (id → shared state: last activity, busy, exempt-from-timeout, close/kill
//! tokens). The registry is shared with the connections through `Rc` (same thread), so
//! tracking activity costs a `Cell` store, not a message.
//!
//! Idle timeout: once a second the Worker closes connections idle for more than
//! `timeout_secs` (when it is > 0; read at every sweep so CONFIG SET applies), skipping ones
//! whose batch is executing or that are exempt (blocked or paused clients, and those the service
//! exempts: subscribed clients).
//! Closing silently, as Redis does.
//!
//! Draining (graceful stop): every connection is asked to close once its in-flight batch, if
//! any, has been answered; the `Drain` request resolves when the last one is gone. Streams
//! that arrive while draining are closed at once.

use std::{
    collections::HashMap,
    net::SocketAddr,
    rc::Rc,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::{
    connection::{ConnShared, Connection},
    executor::ExecPool,
    server::ServerShared,
    service::{ClientHandle, ClientInfo, Service},
};

/// A freshly accepted client, handed from the Listener to a Worker.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NewConn {
    /// The accepted socket (non-blocking, TCP_NODELAY already set).
    pub stream: std::net::TcpStream,
    /// Client id.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The local address it connected to.
    pub local: SocketAddr,
}

/// A connection of this worker ended.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct ConnClosed {
    pub id: u64,
}

/// Close every connection (after its in-flight batch) and refuse new ones; resolves when the
/// worker has no connection left.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Drain;

/// One io thread's actor.
pub struct Worker<S: Service> {
    index: usize,
    service: Arc<S>,
    pool: ExecPool<S>,
    server: Arc<ServerShared>,
    conns: HashMap<u64, Rc<ConnShared>>,
    draining: bool,
    drain_waiters: Vec<oneshot::Sender<()>>,
}

impl<S: Service> Worker<S> {
    pub(crate) fn new(
        index: usize,
        service: Arc<S>,
        pool: ExecPool<S>,
        server: Arc<ServerShared>,
    ) -> Self {
        Worker {
            index,
            service,
            pool,
            server,
            conns: HashMap::new(),
            draining: false,
            drain_waiters: Vec::new(),
        }
    }

    /// A stream accepted by the Listener will not become a Connection.
    fn drop_stream(&self) {
        self.server
            .stats
            .connected_clients
            .fetch_sub(1, Ordering::Relaxed);
    }

    fn sweep_idle(&mut self) {
        let timeout = self.server.limits.timeout_secs();
        if timeout == 0 {
            return;
        }
        let limit = Duration::from_secs(timeout);
        let now = Instant::now();
        for conn in self.conns.values() {
            if !conn.busy.get()
                && !conn.exempt_idle.get()
                && !conn.exempt_session.get()
                && now.saturating_duration_since(conn.last_active.get()) > limit
            {
                log::debug!("closing idle client");
                conn.kill.cancel();
            }
        }
    }

    fn maybe_drained(&mut self) {
        if self.draining && self.conns.is_empty() {
            for w in self.drain_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }
}

impl<S: Service> Actor for Worker<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Best effort: name the arbiter's thread after the worker (actix names every arbiter
        // thread "actix-rt|system:..", which `top -H` truncates to "actix-rt|system").
        #[cfg(target_os = "linux")]
        let _ = std::fs::write("/proc/thread-self/comm", format!("talus-io-{}", self.index));
        ctx.run_interval(Duration::from_secs(1), |act, _ctx| act.sweep_idle());
    }
}

impl<S: Service> Handler<NewConn> for Worker<S> {
    type Result = ();

    fn handle(&mut self, msg: NewConn, ctx: &mut Self::Context) {
        if self.draining {
            self.drop_stream();
            return;
        }
        #[cfg(unix)]
        let fd = std::os::fd::AsRawFd::as_raw_fd(&msg.stream) as i64;
        #[cfg(not(unix))]
        let fd = 0;
        let stream = match tokio::net::TcpStream::from_std(msg.stream) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("worker {}: cannot adopt client {}: {e}", self.index, msg.id);
                self.drop_stream();
                return;
            }
        };
        // The connection's context first: its address goes into the session (ClientHandle).
        let conn_ctx = Context::<Connection<S>>::new();
        let shared = Rc::new(ConnShared::new(self.server.kill.child_token()));
        let handle = ClientHandle::new(conn_ctx.address().recipient(), shared.kill.clone());
        let info = ClientInfo {
            id: msg.id,
            peer: msg.peer,
            local: msg.local,
            worker: self.index,
            fd,
            handle: handle.clone(),
        };
        let service = &self.service;
        let session = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            service.open_session(&info)
        })) {
            Ok(s) => s,
            Err(_) => {
                log::error!("open_session panicked for client {}", msg.id);
                self.drop_stream();
                return;
            }
        };
        self.conns.insert(msg.id, shared.clone());
        let (reader, writer) = stream.into_split();
        let conn = Connection::new(
            msg.id,
            self.service.clone(),
            self.pool.clone(),
            self.server.clone(),
            ctx.address(),
            shared,
            session,
            handle,
            reader,
            writer,
        );
        conn_ctx.run(conn);
    }
}

impl<S: Service> Handler<ConnClosed> for Worker<S> {
    type Result = ();

    fn handle(&mut self, msg: ConnClosed, _ctx: &mut Self::Context) {
        self.conns.remove(&msg.id);
        self.maybe_drained();
    }
}

impl<S: Service> Handler<Drain> for Worker<S> {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _msg: Drain, _ctx: &mut Self::Context) -> Self::Result {
        self.draining = true;
        for conn in self.conns.values() {
            conn.close.cancel();
        }
        let (tx, rx) = oneshot::channel();
        self.drain_waiters.push(tx);
        self.maybe_drained();
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}
