//! Starting Talus: open the store, start the background threads (active expiry, WAL sync)
//! and the actor pipeline, inside the current actix System.
//!
//! Standalone, `main.rs` runs a System, starts a [`Server`] and stops it on SIGINT/SIGTERM or
//! SHUTDOWN. Embedded, the host does the same from its own System: Talus installs no signal
//! handler and never stops the host's System; SHUTDOWN stops Talus only (its listener, its
//! connections, its executors and its store), which the host sees as [`RunningServer::stopped`].

use crate::cmd::{apply_background_effects, CommandTable};
use crate::config::Config;
use crate::error::Result;
use crate::service::TalusService;
use crate::shared::{ScanCursors, Shared, Stats};
use crate::storage::locks::LockTable;
use crate::storage::{expire, Fsync, Store, StoreOptions};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use talus_actors::{ConnStats, ServerConfig, ServerHandle};

/// Entry point for starting Talus.
pub struct Server;

/// A started Talus.
#[derive(Clone)]
pub struct RunningServer {
    handle: ServerHandle,
    shared: Arc<Shared>,
}

impl Server {
    /// Opens the store and starts the actors in the current actix System (call it from inside a
    /// running System). Binding happens here, so an address in use is reported at once.
    pub fn start(config: Config) -> Result<RunningServer> {
        let store_opts = StoreOptions {
            databases: config.databases(),
            fsync: config.appendfsync(),
            meta_cache_bytes: config.cache_max_memory(),
            write_buffer_bytes: config.write_buffer_size(),
            meta_write_buffer_bytes: config.meta_write_buffer_size(),
            single_executor: config.exec_threads() == 1,
            ..StoreOptions::default()
        };
        let store = Arc::new(Store::open(&config.dir(), &store_opts)?);
        let locks = Arc::new(LockTable::new(config.databases() as usize));
        let conn_stats = Arc::new(ConnStats::default());
        let server_cfg = ServerConfig {
            addrs: config.listen_addrs()?,
            io_threads: config.io_threads(),
            exec_threads: config.exec_threads(),
            limits: config.limits(),
            stats: conn_stats.clone(),
        };
        let shared = Arc::new(Shared {
            store: store.clone(),
            locks: locks.clone(),
            config,
            commands: CommandTable::new(),
            stats: Stats::default(),
            conn_stats,
            scan_cursors: ScanCursors::default(),
            started: Instant::now(),
            run_id: run_id(),
            // The store's contexts record only the touches this registry counts as watched.
            watches: crate::watch::WatchRegistry::new(store.touch_filter.clone()),
            waiters: Default::default(),
            calls: Default::default(),
            pubsub: Default::default(),
            clients: Default::default(),
        });

        // The slowlog settings are cached for the per-command path.
        shared.calls.configure(&shared.config);

        let stop = Arc::new(AtomicBool::new(false));
        let expire_thread = {
            let shared = shared.clone();
            expire::spawn(store.clone(), locks, stop.clone(), move |effects| {
                apply_background_effects(&shared, effects)
            })
            .map_err(|e| crate::error::Error::err(format!("cannot start expiry thread: {e}")))?
        };
        let wal_thread = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::Builder::new()
                .name("talus-walsync".into())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::park_timeout(Duration::from_secs(1));
                        if store.fsync() == Fsync::EverySec {
                            if let Err(e) = store.sync_wal() {
                                log::warn!("WAL sync failed: {e}");
                            }
                        }
                    }
                })
                .map_err(|e| crate::error::Error::err(format!("cannot start WAL thread: {e}")))?
        };
        let threads = parking_lot::Mutex::new(Some((expire_thread, wal_thread)));
        let on_shutdown = {
            let store = store.clone();
            Box::new(move || {
                stop.store(true, Ordering::Release);
                if let Some((a, b)) = threads.lock().take() {
                    a.thread().unpark();
                    b.thread().unpark();
                    let _ = a.join();
                    let _ = b.join();
                }
                store.close();
                log::info!("Talus stopped; data is on disk");
            })
        };
        let service = Arc::new(TalusService::new(shared.clone(), on_shutdown));
        let handle = talus_actors::start_with(service, server_cfg, shared.config.exec_transport())
            .map_err(|e| crate::error::Error::err(format!("cannot listen: {e}")))?;
        log::info!(
            "Talus {} ready to accept connections at {} (data dir {}, io-threads {}, exec-threads {})",
            env!("CARGO_PKG_VERSION"),
            handle.local_addrs().iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
            shared.config.dir().display(),
            shared.config.io_threads(),
            shared.config.exec_threads(),
        );
        Ok(RunningServer { handle, shared })
    }
}

impl RunningServer {
    /// The addresses the server listens on (with the real port when port 0 was asked).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.handle.local_addrs()
    }

    /// Stops gracefully: stop accepting, finish in-flight batches, close connections, stop the
    /// executors, sync and close the store.
    pub async fn stop(&self) {
        self.handle.stop().await
    }

    /// Resolves once the server has stopped (by [`RunningServer::stop`] or SHUTDOWN).
    pub async fn stopped(&self) {
        self.handle.stopped().await
    }

    /// The shared state (for introspection by an embedding application).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

fn run_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}
