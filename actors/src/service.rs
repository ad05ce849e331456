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

use bytes::{Bytes, BytesMut};

/// One parsed request: the command name and its arguments, as sent.
pub type Args = Vec<Bytes>;

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
    /// May stop early (QUIT / SHUTDOWN) and say so through the returned Flow.
    fn execute(&self, session: &mut Self::Session, cmds: Vec<Args>, out: &mut BytesMut) -> Flow;

    /// Execute the batches of several connections that were queued at the same time, each
    /// exactly as [`Service::execute`] would, filling in every `out` and `flow`. A service may
    /// run them together (e.g. commit their writes as one) as long as each connection's requests
    /// take effect in order and no reply leaves before the writes it reflects are committed
    /// (replies are sent only after this returns). Default: one by one.
    fn execute_group(&self, group: &mut [Work<Self::Session>]) {
        for w in group {
            w.flow = self.execute(&mut w.session, std::mem::take(&mut w.cmds), &mut w.out);
        }
    }

    /// The connection is gone (after its last batch finished). Runs on the worker thread.
    fn close_session(&self, session: Self::Session);

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
