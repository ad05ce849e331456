//! Talus's actor pipeline: Listener, Worker, Connection, Executor and the request parser.
//!
//! The threading model is Pika's, told as actix actors (see the project's DESIGN.md §1):
//!
//! | Pika | actor | where it runs |
//! |---|---|---|
//! | DispatchThread | [`Listener`]: accepts, enforces `maxclients`, hands streams to Workers round robin | the arbiter that called [`start`] |
//! | WorkerThread | [`Worker`]: adopts streams, one [`Connection`] actor per stream, idle timeouts | one `actix::Arbiter` each |
//! | PikaClientConn | [`Connection`]: read, parse every complete request into one [`CmdBatch`], wait for the [`Reply`], write, read again | its Worker's arbiter |
//! | ThreadPool | [`Executor`]: runs a batch through [`Service::execute`] | executor threads behind [`ExecPool`] |
//!
//! The crate is generic over the command executor ([`Service`]) and knows nothing of storage
//! or command names. A connection's session travels with its batch to the executor and back,
//! so session changes (SELECT, AUTH, MULTI, ...) apply in request order inside a pipeline.
//!
//! Executor transport (see [`executor`]): connections push batches into one queue; each
//! executor thread runs every batch queued at once as a group ([`Service::execute_group`]), so
//! the service can commit many connections' writes together ([`ExecTransport::Direct`]). The
//! forwarded and SyncArbiter transports stay available through [`start_with`] for comparison.
//!
//! Reaching a connection from any thread: the session gets a [`ClientHandle`] that answers a
//! blocked request ([`Flow::Block`]), resumes a paused one ([`Flow::Retry`]), pushes
//! out-of-band output (pub/sub messages, MONITOR lines) within an [`OutputLimit`] of pending
//! bytes, or closes the connection.
//!
//! Starting and stopping: call [`start`] on an actix arbiter (inside the System); await
//! [`ServerHandle::stop`] for a graceful stop, or [`ServerHandle::stopped`] to learn that a
//! client's SHUTDOWN ([`Flow::Shutdown`]) stopped the server; then stop the System if the
//! application is done.

#![warn(missing_docs)]

pub mod connection;
pub mod executor;
pub mod limits;
pub mod listener;
pub mod parser;
mod queue;
pub mod server;
pub mod service;
pub mod worker;

pub use connection::{ConnEvent, Connection};
pub use executor::{CmdBatch, ExecGone, ExecPool, ExecTransport, Executor, Reply};
pub use limits::{ConnStats, Limits};
pub use listener::Listener;
pub use parser::{Parser, ProtocolError};
pub use server::{start, start_with, ServerConfig, ServerHandle, SHUTDOWN_GRACE};
pub use service::{Args, ClientHandle, ClientInfo, Flow, OutputLimit, PushRefused, Service, Work};
pub use worker::{NewConn, Worker};
