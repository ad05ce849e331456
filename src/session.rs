//! Per-connection state. It travels with every batch to the executor and back, so effects
//! on the session (SELECT, AUTH, CLIENT SETNAME, QUIT) apply exactly in request order, inside a
//! pipeline too. It also holds the MULTI queue and the WATCHed keys.

use bytes::Bytes;
use std::net::SocketAddr;
use std::time::Instant;

/// The state of one client connection.
#[derive(Debug)]
pub struct Session {
    /// CLIENT ID.
    pub id: u64,
    /// The selected database.
    pub db: u16,
    /// True once AUTH succeeded, or when no password is required.
    pub authenticated: bool,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Protocol version (2; 3 once RESP3 lands).
    pub resp: u8,
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address the client connected to.
    pub local: SocketAddr,
    /// When the connection was accepted.
    pub created: Instant,
    /// CLIENT SETINFO LIB-NAME / LIB-VER.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Option<Bytes>,
    /// The transaction being queued, between MULTI and EXEC/DISCARD.
    pub multi: Option<crate::cmd::transactions::Multi>,
    /// The keys this client WATCHes (dropped from the registry on disconnect).
    pub watches: Option<crate::watch::Watches>,
    /// True while EXEC runs the queue (blocking commands must not block there).
    pub in_exec: bool,
    /// The waiter registered by the last command that blocked (stale once it was served).
    pub blocked: Option<crate::waiters::WaiterId>,
    /// Answers this client later (a blocked command's reply).
    pub client: talus_actors::ClientHandle,
    /// The name of the last command run (`client|list`), for CLIENT LIST.
    pub last_cmd: &'static str,
    /// Channels, patterns and shard channels subscribed to.
    pub subs: Option<Box<crate::pubsub::Subscriptions>>,
    /// In MONITOR mode.
    pub monitor: bool,
    /// CLIENT NO-EVICT (accepted; Talus evicts nothing).
    pub no_evict: bool,
    /// CLIENT REPLY.
    pub reply: ReplyMode,
    /// This client's entry in the client registry (CLIENT LIST), once registered.
    pub entry: Option<std::sync::Arc<crate::clients::ClientEntry>>,
}

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// No reply is sent (CLIENT REPLY OFF).
    Off,
    /// The next `n` replies are not sent (CLIENT REPLY SKIP: its own and the next command's).
    Skip(u8),
}

impl Session {
    /// A new session for an accepted connection.
    pub fn new(
        id: u64,
        peer: SocketAddr,
        local: SocketAddr,
        authenticated: bool,
        client: talus_actors::ClientHandle,
    ) -> Session {
        Session {
            id,
            db: 0,
            authenticated,
            name: None,
            resp: 2,
            peer,
            local,
            created: Instant::now(),
            lib_name: None,
            lib_ver: None,
            multi: None,
            watches: None,
            in_exec: false,
            blocked: None,
            client,
            last_cmd: "NULL",
            subs: None,
            monitor: false,
            no_evict: false,
            reply: ReplyMode::On,
            entry: None,
        }
    }

    /// Whether the reply of the command that just ran is sent (CLIENT REPLY), counting down a
    /// SKIP.
    pub fn take_reply_turn(&mut self) -> bool {
        match self.reply {
            ReplyMode::On => true,
            ReplyMode::Off => false,
            ReplyMode::Skip(n) => {
                self.reply = if n <= 1 {
                    ReplyMode::On
                } else {
                    ReplyMode::Skip(n - 1)
                };
                false
            }
        }
    }

    /// Copies the listed state into the client registry (after each batch).
    pub fn publish_view(&self) {
        if let Some(e) = &self.entry {
            e.update(self);
        }
    }

    /// True while subscribed to any channel, pattern or shard channel.
    pub fn subscribed(&self) -> bool {
        self.subs.as_ref().is_some_and(|s| s.any())
    }
}
