//! `Connection`: one actor per client socket, on its Worker's arbiter.
//!
//! The cycle (Pika's PikaClientConn): read → parse every complete request in the buffer into
//! one [`CmdBatch`] → send it to the executor pool → wait for the [`Reply`] → write the whole
//! reply buffer → read again.
//!
//! - Reads are futures started with `ctx.spawn`, so while a connection waits for input its
//!   mailbox and timers stay live. The read races the connection's `close` token (graceful
//!   close from its Worker: shutdown, idle timeout).
//! - The round trip batch → reply → write is one future started with `ctx.wait`: the actor
//!   handles nothing else and the socket is not read until the replies are written. This keeps
//!   replies in request order (one batch in flight per connection) and bounds memory: a client
//!   that does not read its replies stops being read from. The write holds the write half and
//!   uses tokio's `write_all`, so the last bytes are written before the actor stops; it races
//!   the `kill` token only (a stalled write can be aborted; an executing batch never is, so
//!   the session always comes back and is closed).
//! - A protocol error: the complete requests before it are executed and answered, then
//!   `-ERR Protocol error: ...` is appended to the same write and the connection closes (unless
//!   the batch itself ended the connection, e.g. QUIT, after which Redis parses nothing more).
//! - A query buffer over `client-query-buffer-limit` (unparsed bytes plus the arguments of an
//!   incomplete request) closes the client without a reply, as Redis does, with a log line.
//! - Buffers: the read buffer grows at most by doubling and never by more than the bulk being
//!   read still needs, so a client announcing a huge bulk does not get it preallocated; the
//!   reply buffer is reused across batches unless a batch made it larger than 64 KiB.

use std::{cell::Cell, rc::Rc, sync::atomic::Ordering, sync::Arc, time::Instant};

use actix::prelude::*;
use bytes::BytesMut;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::tcp::{OwnedReadHalf, OwnedWriteHalf},
};
use tokio_util::sync::CancellationToken;

use crate::{
    executor::{CmdBatch, ExecPool, Reply},
    parser::{Parser, ProtocolError},
    server::ServerShared,
    service::{Flow, Service},
    worker::{ConnClosed, Worker},
};

/// Smallest read (and initial buffer) size.
const READ_CHUNK: usize = 16 * 1024;
/// Buffers grown beyond this are released instead of being kept for the next batch.
const KEEP_BUFFER: usize = 64 * 1024;

/// What a connection shares with its Worker (same thread, hence `Rc`/`Cell`).
#[derive(Debug)]
pub(crate) struct ConnShared {
    /// Last read or completed write (idle timeout).
    pub last_active: Cell<Instant>,
    /// Exempt from the idle timeout (later: blocked / subscribed clients).
    pub exempt_idle: Cell<bool>,
    /// A batch is executing: the connection is not idle.
    pub busy: Cell<bool>,
    /// Close once no batch is in flight (graceful).
    pub close: CancellationToken,
    /// Close now, aborting a pending write. Cancelling it cancels `close` too.
    pub kill: CancellationToken,
}

impl ConnShared {
    pub(crate) fn new(kill: CancellationToken) -> Self {
        ConnShared {
            last_active: Cell::new(Instant::now()),
            exempt_idle: Cell::new(false),
            busy: Cell::new(false),
            close: kill.child_token(),
            kill,
        }
    }
}

/// Holds the session between batches. The session is never pinned (it is only moved in and
/// out), so the slot is `Unpin` whatever the session type, as actors must be.
struct SessionSlot<T>(Option<T>);

impl<T> Unpin for SessionSlot<T> {}

/// One client connection.
pub struct Connection<S: Service> {
    id: u64,
    service: Arc<S>,
    pool: ExecPool<S>,
    server: Arc<ServerShared>,
    worker: Addr<Worker<S>>,
    shared: Rc<ConnShared>,
    session: SessionSlot<S::Session>,
    reader: Option<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
    rbuf: BytesMut,
    out: BytesMut,
    parser: Parser,
}

impl<S: Service> Connection<S> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: u64,
        service: Arc<S>,
        pool: ExecPool<S>,
        server: Arc<ServerShared>,
        worker: Addr<Worker<S>>,
        shared: Rc<ConnShared>,
        session: S::Session,
        reader: OwnedReadHalf,
        writer: OwnedWriteHalf,
    ) -> Self {
        Connection {
            id,
            service,
            pool,
            server,
            worker,
            shared,
            session: SessionSlot(Some(session)),
            reader: Some(reader),
            writer: Some(writer),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            out: BytesMut::new(),
            parser: Parser::new(),
        }
    }

    /// Start one read; its completion parses and dispatches.
    fn read(&mut self, ctx: &mut Context<Self>) {
        let Some(mut reader) = self.reader.take() else {
            ctx.stop();
            return;
        };
        if self.shared.close.is_cancelled() {
            ctx.stop();
            return;
        }
        let mut buf = std::mem::take(&mut self.rbuf);
        if buf.is_empty() && buf.capacity() > KEEP_BUFFER {
            buf = BytesMut::with_capacity(READ_CHUNK);
        }
        // Grow geometrically, but never beyond what the bulk being read still needs.
        let needed = self.parser.bulk_bytes_needed(buf.len());
        let extra = needed.min(buf.len()).max(READ_CHUNK);
        buf.reserve(extra);
        let close = self.shared.close.clone();
        let fut = async move {
            let res = tokio::select! {
                biased;
                _ = close.cancelled() => None,
                r = reader.read_buf(&mut buf) => Some(r),
            };
            (reader, buf, res)
        };
        ctx.spawn(fut.into_actor(self).map(|(reader, buf, res), act, ctx| {
            act.reader = Some(reader);
            act.rbuf = buf;
            match res {
                None | Some(Ok(0)) => ctx.stop(),
                Some(Err(e)) => {
                    log::debug!("client {}: read error: {e}", act.id);
                    ctx.stop();
                }
                Some(Ok(_)) => act.on_data(ctx),
            }
        }));
    }

    /// New bytes arrived: parse and dispatch, or read more.
    fn on_data(&mut self, ctx: &mut Context<Self>) {
        self.shared.last_active.set(Instant::now());
        let mut cmds = Vec::new();
        let max_bulk = self.server.limits.proto_max_bulk_len();
        let unauthenticated = self
            .session
            .0
            .as_ref()
            .is_some_and(|s| self.service.requires_auth(s));
        self.parser.set_unauthenticated(unauthenticated);
        match self.parser.parse(&mut self.rbuf, max_bulk, &mut cmds) {
            Ok(()) => {
                let buffered = (self.rbuf.len() + self.parser.pending_bytes()) as u64;
                if buffered > self.server.limits.client_query_buffer_limit() {
                    log::warn!(
                        "Closing client {} that reached max query buffer length ({} bytes)",
                        self.id,
                        buffered
                    );
                    ctx.stop();
                } else if cmds.is_empty() {
                    self.read(ctx);
                } else {
                    self.dispatch(cmds, None, ctx);
                }
            }
            Err(e) => {
                log::debug!("client {}: {e}", self.id);
                self.dispatch(cmds, Some(e), ctx);
            }
        }
    }

    /// Execute `cmds` (if any), write the replies (and `err`), then read again or close.
    fn dispatch(
        &mut self,
        cmds: Vec<crate::service::Args>,
        err: Option<ProtocolError>,
        ctx: &mut Context<Self>,
    ) {
        let mut writer = self.writer.take();
        let out = std::mem::take(&mut self.out);
        let session = self.session.0.take();
        let pending = match session {
            Some(session) if !cmds.is_empty() => {
                Err(self.pool.execute(CmdBatch { session, cmds, out }))
            }
            session => Ok((session, out)),
        };
        let shared = self.shared.clone();
        let kill = self.shared.kill.clone();
        let id = self.id;
        shared.busy.set(true);
        let fut = async move {
            let (session, mut out, flow) = match pending {
                Ok((session, out)) => (session, out, Flow::Continue),
                Err(exec) => match exec.await {
                    Ok(Reply { session, out, flow }) => (Some(session), out, flow),
                    Err(e) => {
                        log::warn!("client {id}: {e}; session lost");
                        (None, BytesMut::new(), Flow::Close)
                    }
                },
            };
            shared.busy.set(false);
            shared.last_active.set(Instant::now());
            let flow = match err {
                Some(e) if flow == Flow::Continue => {
                    out.extend_from_slice(&e.reply());
                    Flow::Close
                }
                _ => flow,
            };
            let written = match writer.as_mut() {
                Some(w) if !out.is_empty() => tokio::select! {
                    biased;
                    _ = kill.cancelled() => false,
                    r = w.write_all(&out) => match r {
                        Ok(()) => true,
                        Err(e) => {
                            log::debug!("client {id}: write error: {e}");
                            false
                        }
                    },
                },
                Some(_) => true,
                None => false,
            };
            (session, out, flow, writer, written)
        };
        ctx.wait(fut.into_actor(self).map(
            |(session, mut out, flow, writer, written), act, ctx| {
                act.session.0 = session;
                act.writer = writer;
                act.shared.last_active.set(Instant::now());
                out.clear();
                if out.capacity() > KEEP_BUFFER {
                    out = BytesMut::new();
                }
                act.out = out;
                match flow {
                    // Requests may already be buffered (an unauthenticated client's are parsed
                    // one at a time): parse them before waiting for the socket.
                    Flow::Continue if written && act.session.0.is_some() => {
                        if act.rbuf.is_empty() {
                            act.read(ctx)
                        } else {
                            act.on_data(ctx)
                        }
                    }
                    Flow::Continue | Flow::Close => ctx.stop(),
                    Flow::Shutdown => {
                        log::info!("client {} asked the server to shut down", act.id);
                        act.server.stop_requested.cancel();
                        ctx.stop();
                    }
                }
            },
        ));
    }
}

impl<S: Service> Actor for Connection<S> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.read(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(session) = self.session.0.take() {
            let service = &self.service;
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                service.close_session(session)
            }))
            .is_err()
            {
                log::error!("close_session panicked for client {}", self.id);
            }
        }
        self.server
            .stats
            .connected_clients
            .fetch_sub(1, Ordering::Relaxed);
        self.worker.do_send(ConnClosed { id: self.id });
    }
}
