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

use std::{
    cell::Cell,
    rc::Rc,
    sync::atomic::Ordering,
    sync::Arc,
    time::{Duration, Instant},
};

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
    service::{Args, Flow, Service},
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
    /// Exempt from the idle timeout while blocked or paused.
    pub exempt_idle: Cell<bool>,
    /// Exempt from the idle timeout by its session's state (subscribed clients).
    pub exempt_session: Cell<bool>,
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
            exempt_session: Cell::new(false),
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

/// What other threads send a connection through its [`ClientHandle`](crate::ClientHandle).
pub enum ConnEvent {
    /// The reply of the connection's blocked request, from whoever served it.
    Unblock(BytesMut),
    /// Out-of-band output (pub/sub messages, MONITOR lines), written after the current write.
    Push(bytes::Bytes),
    /// A pause ended early: retry the waiting requests now.
    Resume,
}

impl Message for ConnEvent {
    type Result = ();
}

/// An event from the mailbox, acted on as a context item. actix polls one spawned item (for
/// example a finished read) before it honours a `ctx.wait` started by a mailbox handler, so a
/// handler that started the unblocked write there could race a read completion that dispatches
/// (and finds the writer taken); items start their waits safely.
enum Deferred {
    Unblock(BytesMut),
    Resume,
}

impl Message for Deferred {
    type Result = ();
}

/// Writes the pushed output gathered so far (queued behind the pushes already in the mailbox,
/// so a burst of pushes costs one write).
struct FlushPushes;

impl Message for FlushPushes {
    type Result = ();
}

/// A connection whose request blocked ([`Flow::Block`]) or waits for a pause to end
/// ([`Flow::Retry`]).
struct Blocked {
    /// The timeout timer, if the request has a timeout.
    timer: Option<SpawnHandle>,
    /// Paused (retry the requests when the timer fires or on resume), not blocked.
    retry: bool,
}

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
    /// A read is in flight.
    reading: bool,
    /// Set while a request is blocked.
    blocked: Option<Blocked>,
    /// The requests after a blocked one, and the protocol error that ended their batch.
    pending: Vec<Args>,
    pending_err: Option<ProtocolError>,
    /// This connection's handle (pushes are accounted against it).
    handle: crate::service::ClientHandle,
    /// Pushed output not yet written, and whether a flush is queued.
    push_out: BytesMut,
    flush_queued: bool,
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
        handle: crate::service::ClientHandle,
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
            reading: false,
            blocked: None,
            pending: Vec::new(),
            pending_err: None,
            handle,
            push_out: BytesMut::new(),
            flush_queued: false,
        }
    }

    /// Start one read (unless one is in flight); its completion parses and dispatches.
    fn read(&mut self, ctx: &mut Context<Self>) {
        if self.reading {
            return;
        }
        let Some(mut reader) = self.reader.take() else {
            ctx.stop();
            return;
        };
        if self.shared.close.is_cancelled() {
            ctx.stop();
            return;
        }
        // While blocked, read into a side buffer appended on completion: what is already
        // buffered must stay here, to be parsed as soon as the blocked request is answered.
        let side = self.blocked.is_some();
        let mut buf = if side {
            BytesMut::with_capacity(READ_CHUNK)
        } else {
            std::mem::take(&mut self.rbuf)
        };
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
        self.reading = true;
        ctx.spawn(
            fut.into_actor(self)
                .map(move |(reader, buf, res), act, ctx| {
                    act.reading = false;
                    act.reader = Some(reader);
                    if side {
                        act.rbuf.extend_from_slice(&buf);
                    } else {
                        act.rbuf = buf;
                    }
                    match res {
                        None | Some(Ok(0)) => ctx.stop(),
                        Some(Err(e)) => {
                            log::debug!("client {}: read error: {e}", act.id);
                            ctx.stop();
                        }
                        Some(Ok(_)) => act.on_data(ctx),
                    }
                }),
        );
    }

    /// New bytes arrived: parse and dispatch, or read more.
    fn on_data(&mut self, ctx: &mut Context<Self>) {
        self.shared.last_active.set(Instant::now());
        if self.blocked.is_some() {
            // Nothing runs while blocked (as in Redis); keep reading to see the client leave.
            if self.rbuf.len() as u64 > self.server.limits.client_query_buffer_limit() {
                log::warn!(
                    "Closing blocked client {} that reached max query buffer length",
                    self.id
                );
                ctx.stop();
            } else {
                self.read(ctx);
            }
            return;
        }
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
        // Pushed output already received (a message published before these requests arrived)
        // goes out before their replies, even if its flush has not run yet.
        let pushed = self.push_out.split();
        let handle = self.handle.clone();
        shared.busy.set(true);
        let fut = async move {
            let (session, mut out, flow, rest) = match pending {
                Ok((session, out)) => (session, out, Flow::Continue, Vec::new()),
                Err(exec) => match exec.await {
                    Ok(Reply {
                        session,
                        out,
                        flow,
                        rest,
                    }) => (Some(session), out, flow, rest),
                    Err(e) => {
                        log::warn!("client {id}: {e}; session lost");
                        (None, BytesMut::new(), Flow::Close, Vec::new())
                    }
                },
            };
            shared.busy.set(false);
            shared.last_active.set(Instant::now());
            // A protocol error is answered after every request before it ran: now, or after
            // the blocked request and the rest.
            let (flow, err) = match err {
                Some(e) if flow == Flow::Continue => {
                    out.extend_from_slice(&e.reply());
                    (Flow::Close, None)
                }
                err => (flow, err),
            };
            let mut written = true;
            if !pushed.is_empty() {
                written = write_out(writer.as_mut(), &pushed, &kill, id).await;
                handle.written(pushed.len() as u64);
            }
            let written = written && write_out(writer.as_mut(), &out, &kill, id).await;
            (session, out, flow, rest, err, writer, written)
        };
        ctx.wait(fut.into_actor(self).map(
            |(session, mut out, flow, rest, err, writer, written), act, ctx| {
                if let Some(s) = session.as_ref() {
                    act.shared.exempt_session.set(act.service.idle_exempt(s));
                }
                act.session.0 = session;
                act.writer = writer;
                act.shared.last_active.set(Instant::now());
                out.clear();
                if out.capacity() > KEEP_BUFFER {
                    out = BytesMut::new();
                }
                act.out = out;
                let alive = written && act.session.0.is_some();
                match flow {
                    Flow::Continue if alive => act.next(ctx),
                    Flow::Block { timeout_ms, .. } if alive => {
                        act.pending = rest;
                        act.pending_err = err;
                        act.block(timeout_ms, false, ctx);
                    }
                    Flow::Retry { after_ms, .. } if alive => {
                        act.pending = rest;
                        act.pending_err = err;
                        act.block(after_ms.max(1), true, ctx);
                    }
                    Flow::Continue | Flow::Close | Flow::Block { .. } | Flow::Retry { .. } => {
                        ctx.stop()
                    }
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

impl<S: Service> Connection<S> {
    /// Go on after a batch or an answered block: the requests left after a blocked one first,
    /// then what is buffered (an unauthenticated client's requests are parsed one at a time),
    /// then the socket.
    fn next(&mut self, ctx: &mut Context<Self>) {
        if !self.pending.is_empty() || self.pending_err.is_some() {
            let cmds = std::mem::take(&mut self.pending);
            let err = self.pending_err.take();
            self.dispatch(cmds, err, ctx);
        } else if !self.rbuf.is_empty() {
            self.on_data(ctx);
        } else {
            self.read(ctx);
        }
    }

    /// A request blocked (or must wait for a pause to end, `retry`): wait for its answer (or
    /// its timeout), reading the socket meanwhile.
    fn block(&mut self, timeout_ms: u64, retry: bool, ctx: &mut Context<Self>) {
        self.shared.exempt_idle.set(true);
        // Clamped to about 35 years: a timer that far out never fires anyway.
        let wait = Duration::from_millis(timeout_ms.min(1 << 40));
        let timer =
            (timeout_ms > 0).then(|| ctx.run_later(wait, |act, ctx| act.block_timed_out(ctx)));
        self.blocked = Some(Blocked { timer, retry });
        self.read(ctx);
    }

    /// A pause ended (its timer, or a resume): run the waiting requests again.
    fn resume(&mut self, ctx: &mut Context<Self>) {
        match self.blocked.take() {
            Some(Blocked { timer, retry: true }) => {
                if let Some(timer) = timer {
                    ctx.cancel_future(timer);
                }
                self.shared.exempt_idle.set(false);
                self.next(ctx);
            }
            other => self.blocked = other,
        }
    }

    /// The blocked request's timeout passed: the service withdraws it and gives its timeout
    /// reply, unless it was served meanwhile (then its answer is on the way).
    fn block_timed_out(&mut self, ctx: &mut Context<Self>) {
        if let Some(b) = self.blocked.as_mut() {
            b.timer = None;
            if b.retry {
                self.resume(ctx);
                return;
            }
        } else {
            return;
        }
        let Some(session) = self.session.0.as_mut() else {
            return;
        };
        let service = &self.service;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            service.cancel_block(session)
        })) {
            Ok(Some(reply)) => self.unblocked(reply, ctx),
            Ok(None) => {}
            Err(_) => {
                log::error!("cancel_block panicked for client {}", self.id);
                ctx.stop();
            }
        }
    }

    /// The blocked request was answered: write its reply, then go on.
    fn unblocked(&mut self, reply: BytesMut, ctx: &mut Context<Self>) {
        if self.writer.is_none() {
            // As in FlushPushes: wait for the write in flight.
            ctx.notify(Deferred::Unblock(reply));
            return;
        }
        let Some(blocked) = self.blocked.take_if(|b| !b.retry) else {
            return;
        };
        if let Some(timer) = blocked.timer {
            ctx.cancel_future(timer);
        }
        self.shared.exempt_idle.set(false);
        self.shared.last_active.set(Instant::now());
        let mut writer = self.writer.take();
        let kill = self.shared.kill.clone();
        let id = self.id;
        let fut = async move {
            let written = write_out(writer.as_mut(), &reply, &kill, id).await;
            (writer, written)
        };
        ctx.wait(fut.into_actor(self).map(|(writer, written), act, ctx| {
            act.writer = writer;
            if written {
                act.next(ctx);
            } else {
                ctx.stop();
            }
        }));
    }
}

/// Writes `buf` whole (nothing to write is a success); false if the connection has no writer,
/// the write failed, or `kill` fired first (a stalled write is abandoned).
async fn write_out(
    writer: Option<&mut OwnedWriteHalf>,
    buf: &[u8],
    kill: &CancellationToken,
    id: u64,
) -> bool {
    let Some(w) = writer else {
        return false;
    };
    if buf.is_empty() {
        return true;
    }
    tokio::select! {
        biased;
        _ = kill.cancelled() => false,
        r = w.write_all(buf) => match r {
            Ok(()) => true,
            Err(e) => {
                log::debug!("client {id}: write error: {e}");
                false
            }
        },
    }
}

impl<S: Service> Handler<ConnEvent> for Connection<S> {
    type Result = ();

    fn handle(&mut self, msg: ConnEvent, ctx: &mut Self::Context) {
        match msg {
            ConnEvent::Unblock(reply) => ctx.notify(Deferred::Unblock(reply)),
            ConnEvent::Resume => ctx.notify(Deferred::Resume),
            ConnEvent::Push(bytes) => {
                if self.push_out.is_empty() && self.push_out.capacity() > KEEP_BUFFER {
                    self.push_out = BytesMut::new();
                }
                self.push_out.extend_from_slice(&bytes);
                if !self.flush_queued {
                    self.flush_queued = true;
                    ctx.notify(FlushPushes);
                }
            }
        }
    }
}

impl<S: Service> Handler<Deferred> for Connection<S> {
    type Result = ();

    fn handle(&mut self, msg: Deferred, ctx: &mut Self::Context) {
        match msg {
            Deferred::Unblock(reply) => self.unblocked(reply, ctx),
            Deferred::Resume => self.resume(ctx),
        }
    }
}

/// Runs as a context item too (`ctx.notify`), for the same reason as [`Deferred`].
impl<S: Service> Handler<FlushPushes> for Connection<S> {
    type Result = ();

    fn handle(&mut self, _msg: FlushPushes, ctx: &mut Self::Context) {
        self.flush_queued = false;
        if self.push_out.is_empty() {
            return;
        }
        if self.writer.is_none() {
            // A write of this connection is in flight (never expected here: items run between
            // waits): try again after it rather than lose the connection.
            self.flush_queued = true;
            ctx.notify(FlushPushes);
            return;
        }
        let buf = self.push_out.split();
        let mut writer = self.writer.take();
        let kill = self.shared.kill.clone();
        let id = self.id;
        let fut = async move {
            let written = write_out(writer.as_mut(), &buf, &kill, id).await;
            (writer, written, buf.len() as u64)
        };
        ctx.wait(fut.into_actor(self).map(|(writer, written, n), act, ctx| {
            act.writer = writer;
            act.handle.written(n);
            if !written {
                ctx.stop();
            }
        }));
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
