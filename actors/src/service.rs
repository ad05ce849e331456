//! The contract between the actor pipeline and the command executor.
//!
//! The pipeline (Listener → Worker → Connection → Executor) knows nothing about commands: it
//! parses requests into [`Args`], groups every complete request of a read into one batch, and
//! hands the batch, together with the connection's session, to [`Service::execute`] on an
//! executor thread. The session travels with the batch and comes back with the reply, so state
//! that commands change (selected db, authentication, client name, protocol, MULTI state, ...)
//! follows request order exactly inside a pipeline without the pipeline having to know which
//! commands change it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix::Recipient;
use bytes::{Bytes, BytesMut};
use tokio_util::sync::CancellationToken;

use crate::connection::ConnEvent;

/// One parsed request: the command name and its arguments, as sent. Up to four are held
/// inline (GET, SET, INCR, HSET, ZADD with one pair...): parsing a request allocates nothing
/// more, and the executor that drops it frees nothing the worker's thread allocated.
pub type Args = smallvec::SmallVec<[Bytes; 4]>;

/// How a connection goes on after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep serving the connection.
    Continue,
    /// Write what is in `out`, then close the connection (QUIT). Requests after it in the batch
    /// are discarded (already dropped by the service).
    Close,
    /// Write what is in `out`, close this connection and stop the whole server gracefully
    /// (SHUTDOWN).
    Shutdown,
    /// The request at index `done - 1` blocked (BLPOP on empty lists): write what is in `out`
    /// (the replies of the requests before it), then wait without executing anything until the
    /// service answers the blocked request through the session's [`ClientHandle`], or until
    /// `timeout_ms` (0 = forever) passes and [`Service::cancel_block`] answers it. The socket
    /// is still read meanwhile (to see the client leave); the requests after the blocked one
    /// run once it is answered.
    Block {
        /// How long to wait, in milliseconds; 0 waits forever.
        timeout_ms: u64,
        /// How many requests of the batch ran, the blocked one included.
        done: usize,
    },
    /// The request at index `done` must wait (CLIENT PAUSE): write what is in `out` (the
    /// replies of the requests before it), then run that request and the rest again after
    /// `after_ms`, or earlier when [`ClientHandle::resume`] is called. The socket is still read
    /// meanwhile.
    Retry {
        /// How long to wait before retrying, in milliseconds.
        after_ms: u64,
        /// How many requests of the batch ran (the one that waits is not among them).
        done: usize,
    },
}

/// A way to reach a connection from any thread: answer its blocked request ([`Flow::Block`]),
/// resume it after a pause ([`Flow::Retry`]), push out-of-band output to it (pub/sub
/// messages, MONITOR lines) within an output-buffer limit, or close it (CLIENT KILL).
/// Cloneable and `Send`.
#[derive(Clone)]
pub struct ClientHandle {
    recipient: Recipient<ConnEvent>,
    out: Arc<PushState>,
}

/// What every handle of one connection shares: pushed bytes not yet written, since when they
/// exceed the soft limit, and the connection's kill token.
pub(crate) struct PushState {
    pending: AtomicU64,
    /// Milliseconds since [`clock_ms`]'s epoch at which the soft limit was first exceeded
    /// (0 = under it).
    soft_since: AtomicU64,
    kill: CancellationToken,
}

/// Limits on the bytes pushed to a connection and not yet written (Redis's
/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds>`; 0 = no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLimit {
    /// Close the client as soon as this many bytes are pending.
    pub hard: u64,
    /// Close the client once this many bytes have been pending for `soft_secs` seconds.
    pub soft: u64,
    /// See `soft`.
    pub soft_secs: u64,
}

/// Why a push was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefused {
    /// The connection is closed or closing.
    Closed,
    /// The push would exceed the output-buffer limit: the connection is being closed.
    OverLimit,
}

/// A monotonic millisecond clock, never 0.
fn clock_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

impl ClientHandle {
    pub(crate) fn new(recipient: Recipient<ConnEvent>, kill: CancellationToken) -> Self {
        ClientHandle {
            recipient,
            out: Arc::new(PushState {
                pending: AtomicU64::new(0),
                soft_since: AtomicU64::new(0),
                kill,
            }),
        }
    }

    /// Delivers the encoded reply of the blocked request; the connection writes it and goes
    /// on with its requests. False if the connection is gone.
    pub fn unblock(&self, reply: BytesMut) -> bool {
        self.recipient.try_send(ConnEvent::Unblock(reply)).is_ok()
    }

    /// Ends a pause ([`Flow::Retry`]) early: the connection retries its requests now. False if
    /// the connection is gone.
    pub fn resume(&self) -> bool {
        self.recipient.try_send(ConnEvent::Resume).is_ok()
    }

    /// Queues `msg` (complete encoded replies) to be written to the connection after whatever
    /// it is writing now. Bytes queued and not yet written count against `limit`: past it the
    /// connection is closed (as Redis closes a slow subscriber) and the push refused.
    pub fn push(&self, msg: Bytes, limit: OutputLimit) -> Result<(), PushRefused> {
        if self.out.kill.is_cancelled() {
            return Err(PushRefused::Closed);
        }
        let len = msg.len() as u64;
        let pending = self.out.pending.fetch_add(len, Ordering::AcqRel) + len;
        let over = if limit.hard > 0 && pending > limit.hard {
            true
        } else if limit.soft > 0 && pending > limit.soft {
            let now = clock_ms();
            match self
                .out
                .soft_since
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => false,
                Err(since) => now.saturating_sub(since) > limit.soft_secs.saturating_mul(1000),
            }
        } else {
            self.out.soft_since.store(0, Ordering::Release);
            false
        };
        if over {
            self.out.pending.fetch_sub(len, Ordering::AcqRel);
            self.out.kill.cancel();
            return Err(PushRefused::OverLimit);
        }
        self.recipient.do_send(ConnEvent::Push(msg));
        Ok(())
    }

    /// Bytes pushed and not yet written (CLIENT LIST `omem`).
    pub fn pending_output(&self) -> u64 {
        self.out.pending.load(Ordering::Acquire)
    }

    /// Closes the connection (CLIENT KILL): a pending write is abandoned, an executing batch
    /// finishes first (its replies are dropped).
    pub fn kill(&self) {
        self.out.kill.cancel();
    }

    /// True once the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.out.kill.is_cancelled()
    }

    /// Called by the connection after writing `n` pushed bytes.
    pub(crate) fn written(&self, n: u64) {
        let left = self
            .out
            .pending
            .fetch_sub(n, Ordering::AcqRel)
            .saturating_sub(n);
        if left == 0 {
            self.out.soft_since.store(0, Ordering::Release);
        }
    }
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientHandle")
    }
}

/// One connection's batch inside a group handed to [`Service::execute_group`]: the session,
/// the requests, the buffer their replies go into, and (filled in by the service) how the
/// connection goes on.
pub struct Work<T> {
    /// The connection's session.
    pub session: T,
    /// The requests, in order.
    pub cmds: Vec<Args>,
    /// Where the encoded replies go.
    pub out: BytesMut,
    /// What the connection does next; [`Flow::Continue`] until the service says otherwise.
    pub flow: Flow,
}

/// Facts about an accepted connection, given to the service when it opens a session.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// Unique client id (Redis's `CLIENT ID`), increasing from 1.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The server address the client connected to.
    pub local: SocketAddr,
    /// Index of the worker (io thread) serving the connection.
    pub worker: usize,
    /// The socket's file descriptor (CLIENT LIST `fd`; 0 where there is none).
    pub fd: i64,
    /// Answers the connection later (blocking requests).
    pub handle: ClientHandle,
}

/// The command executor the actor pipeline drives. Implemented by the talus crate (RocksDB)
/// and by tests (in-memory).
pub trait Service: Send + Sync + 'static {
    /// Per-connection state that travels with every batch to the executor and back (db, auth,
    /// name, protocol, ...).
    type Session: Send + 'static;

    /// A connection was accepted (called on its worker's thread).
    fn open_session(&self, info: &ClientInfo) -> Self::Session;

    /// Execute `cmds` in order on an executor thread, appending every reply, encoded, to `out`.
    /// May stop early (QUIT / SHUTDOWN / a request that blocks) and say so through the
    /// returned Flow.
    fn execute(&self, session: &mut Self::Session, cmds: &[Args], out: &mut BytesMut) -> Flow;

    /// Execute the batches of several connections that were queued at the same time, each
    /// exactly as [`Service::execute`] would, filling in every `out` and `flow`. A service may
    /// run them together (e.g. commit their writes as one) as long as each connection's requests
    /// take effect in order and no reply leaves before the writes it reflects are committed
    /// (replies are sent only after this returns). Default: one by one.
    fn execute_group(&self, group: &mut [Work<Self::Session>]) {
        for w in group {
            w.flow = self.execute(&mut w.session, &w.cmds, &mut w.out);
        }
    }

    /// Runs `cmds` at once, outside any group, if the service can answer them before the rest
    /// of the group runs: their replies then leave as soon as they are ready instead of
    /// waiting for the group's commit (a read waits neither for the writes queued before it
    /// nor for those after). Returns `None`, having done nothing, when the batch must join the
    /// group. Default: never.
    fn execute_alone(
        &self,
        _session: &mut Self::Session,
        _cmds: &[Args],
        _out: &mut BytesMut,
    ) -> Option<Flow> {
        None
    }

    /// A blocked request's timeout passed (on the connection's worker thread): if the request
    /// is still waiting, withdraw it and return its timeout reply, encoded; if it was served
    /// meanwhile, return `None` (its reply is on its way through the [`ClientHandle`]). The
    /// service settles the race, so a served client never also gets the timeout reply.
    /// Default (a service that never blocks): an empty reply.
    fn cancel_block(&self, _session: &mut Self::Session) -> Option<BytesMut> {
        Some(BytesMut::new())
    }

    /// The connection is gone (after its last batch finished, or while a request of it was
    /// blocked: withdraw it). Runs on the worker thread.
    fn close_session(&self, session: Self::Session);

    /// True when the connection must not be closed by the idle timeout in its session's state
    /// (Redis exempts subscribed clients). Asked after each batch. Default: never.
    fn idle_exempt(&self, _session: &Self::Session) -> bool {
        false
    }

    /// True while `session` must still authenticate: the connection then applies Redis's
    /// limits for unauthenticated clients (at most 10 arguments, bulks of at most 16 KiB) and
    /// parses one request at a time. Default: never.
    fn requires_auth(&self, _session: &Self::Session) -> bool {
        false
    }

    /// The server stopped: every executor has finished. Flush/close storage here. Default:
    /// nothing.
    fn shutdown(&self) {}
}
