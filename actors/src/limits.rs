//! Runtime-tunable limits and connection counters.
//!
//! Both are plain atomics shared through `Arc`: CONFIG SET stores new values, the hot path
//! reads them with `Relaxed` loads (a limit that changes takes effect for the next read or
//! accept; no ordering with other memory is needed).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Redis's limits that the pipeline enforces, changeable at run time.
#[derive(Debug)]
pub struct Limits {
    /// Largest bulk string a request may carry (`proto-max-bulk-len`, default 512 MiB).
    pub proto_max_bulk_len: AtomicU64,
    /// Most bytes a client may have buffered unparsed or in a partial request
    /// (`client-query-buffer-limit`, default 1 GiB); over it the client is closed.
    pub client_query_buffer_limit: AtomicU64,
    /// Most connected clients (`maxclients`, default 10000); further ones are rejected.
    pub maxclients: AtomicU64,
    /// Idle timeout in seconds (`timeout`); 0 = never (the default).
    pub timeout_secs: AtomicU64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: AtomicU64::new(512 * 1024 * 1024),
            client_query_buffer_limit: AtomicU64::new(1024 * 1024 * 1024),
            maxclients: AtomicU64::new(10_000),
            timeout_secs: AtomicU64::new(0),
        }
    }
}

impl Limits {
    /// Current `proto-max-bulk-len`.
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.proto_max_bulk_len.load(Relaxed)
    }
    /// Current `client-query-buffer-limit`.
    pub fn client_query_buffer_limit(&self) -> u64 {
        self.client_query_buffer_limit.load(Relaxed)
    }
    /// Current `maxclients`.
    pub fn maxclients(&self) -> u64 {
        self.maxclients.load(Relaxed)
    }
    /// Current idle timeout in seconds (0 = never).
    pub fn timeout_secs(&self) -> u64 {
        self.timeout_secs.load(Relaxed)
    }
}

/// Connection counters for INFO (`clients` and `stats` sections).
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Clients connected now (`connected_clients`).
    pub connected_clients: AtomicU64,
    /// Connections accepted since start (`total_connections_received`); rejected ones excluded.
    pub total_connections_received: AtomicU64,
    /// Connections refused because of `maxclients` (`rejected_connections`).
    pub rejected_connections: AtomicU64,
}

impl ConnStats {
    /// Clients connected now.
    pub fn connected(&self) -> u64 {
        self.connected_clients.load(Relaxed)
    }
    /// Connections accepted since start.
    pub fn total_received(&self) -> u64 {
        self.total_connections_received.load(Relaxed)
    }
    /// Connections refused because of `maxclients`.
    pub fn rejected(&self) -> u64 {
        self.rejected_connections.load(Relaxed)
    }
}
