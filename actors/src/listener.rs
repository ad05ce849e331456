//! `Listener`: owns the listening sockets and accepts (Pika's DispatchThread).
//!
//! It runs on the arbiter that called [`crate::start`] (the System arbiter in the standalone
//! server); accepting is cheap, all socket I/O happens on the Workers. For each accepted
//! socket it:
//! - enforces `maxclients` (Redis's check: connected >= maxclients rejects): writes
//!   `-ERR max number of clients reached\r\n` best effort (non-blocking, unchecked), closes,
//!   and counts `rejected_connections`;
//! - sets TCP_NODELAY and Redis's default TCP keepalive (300 s);
//! - hands the socket, as a `std::net::TcpStream`, to a Worker round robin, skipping a Worker
//!   whose mailbox is full (`try_send`); if every mailbox is full it `do_send`s to the next in
//!   turn (never drops a client).
//!
//! Accept errors (e.g. out of file descriptors) are logged and the accept loop pauses 10 ms
//! before retrying, so it does not spin.

use std::{
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use actix::{dev::SendError, prelude::*};

use crate::{
    server::ServerShared,
    service::Service,
    worker::{NewConn, Worker},
};

/// Redis's default `tcp-keepalive`.
const TCP_KEEPALIVE: Duration = Duration::from_secs(300);

/// The text sent to a client over `maxclients`.
pub const MAXCLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

type Accepted = (
    std::io::Result<(tokio::net::TcpStream, SocketAddr)>,
    SocketAddr,
);

/// Stop accepting: the Listener closes its sockets and stops.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct StopListening;

/// The accepting actor.
pub struct Listener<S: Service> {
    sockets: Vec<std::net::TcpListener>,
    workers: Vec<Addr<Worker<S>>>,
    next: usize,
    server: Arc<ServerShared>,
}

impl<S: Service> Listener<S> {
    pub(crate) fn new(
        sockets: Vec<std::net::TcpListener>,
        workers: Vec<Addr<Worker<S>>>,
        server: Arc<ServerShared>,
    ) -> Self {
        Listener {
            sockets,
            workers,
            next: 0,
            server,
        }
    }

    fn hand_off(&mut self, mut msg: NewConn) {
        let n = self.workers.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            match self.workers[i].try_send(msg) {
                Ok(()) => {
                    self.next = (i + 1) % n;
                    return;
                }
                Err(SendError::Full(m)) | Err(SendError::Closed(m)) => msg = m,
            }
        }
        let i = self.next;
        self.next = (i + 1) % n;
        self.workers[i].do_send(msg);
    }
}

impl<S: Service> Actor for Listener<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        for std_listener in self.sockets.drain(..) {
            let local = match std_listener.local_addr() {
                Ok(a) => a,
                Err(e) => {
                    log::error!("listener: {e}");
                    continue;
                }
            };
            let listener = match tokio::net::TcpListener::from_std(std_listener) {
                Ok(l) => l,
                Err(e) => {
                    log::error!("listener {local}: {e}");
                    continue;
                }
            };
            let accepts = futures::stream::unfold(listener, move |l| async move {
                let r = l.accept().await;
                if r.is_err() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Some(((r, local), l))
            });
            ctx.add_stream(accepts);
        }
    }
}

impl<S: Service> StreamHandler<Accepted> for Listener<S> {
    fn handle(&mut self, (res, local): Accepted, _ctx: &mut Self::Context) {
        let (stream, peer) = match res {
            Ok(x) => x,
            Err(e) => {
                log::warn!("accept on {local}: {e}");
                return;
            }
        };
        let stats = &self.server.stats;
        if stats.connected() >= self.server.limits.maxclients() {
            // Best effort, as Redis: a non-blocking write whose result is ignored.
            let _ = stream.try_write(MAXCLIENTS_REPLY);
            stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream)
            .set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE));
        let local = stream.local_addr().unwrap_or(local);
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                log::warn!("accept on {local}: {e}");
                return;
            }
        };
        stats.connected_clients.fetch_add(1, Ordering::Relaxed);
        stats
            .total_connections_received
            .fetch_add(1, Ordering::Relaxed);
        let id = self.server.next_client_id.fetch_add(1, Ordering::Relaxed);
        self.hand_off(NewConn {
            stream,
            id,
            peer,
            local,
        });
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {
        // The accept streams never end; nothing to do if one did.
    }
}

impl<S: Service> Handler<StopListening> for Listener<S> {
    type Result = ();

    fn handle(&mut self, _msg: StopListening, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
