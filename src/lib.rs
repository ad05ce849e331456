//! Talus: a Redis-compatible server that keeps its data on disk in RocksDB, built on actix
//! with Pika's threading model told as actors (see DESIGN.md and the README).
//!
//! - [`server::Server`] starts Talus inside the current actix System (standalone or embedded);
//! - [`config::Config`] is the configuration (redis.conf syntax, command-line flags, CONFIG);
//! - [`cmd`] holds the command table and the command families;
//! - [`storage`] is the RocksDB layer (encoding, storage context, locks, expiry).

pub mod calls;
pub mod clients;
pub mod cmd;
pub mod config;
pub mod error;
pub mod pubsub;
pub mod reply;
pub mod server;
pub mod service;
pub mod session;
pub mod shared;
pub mod storage;
pub mod util;
pub mod waiters;
pub mod watch;

pub use config::Config;
pub use server::{RunningServer, Server};
