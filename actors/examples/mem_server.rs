//! The actor pipeline with the in-memory test service, as a runnable server for measuring
//! the pipeline alone (no storage) with `redis-benchmark`.
//!
//! ```text
//! cargo run --release -p talus-actors --example mem_server -- \
//!     --port 6390 --io-threads 1 --exec-threads 1 [--transport direct|syncarbiter|dedicated]
//! ```
//!
//! Runs until a client sends SHUTDOWN.

#[path = "../tests/support/mem_service.rs"]
mod mem_service;

use std::{net::SocketAddr, sync::Arc};

use talus_actors::{ConnStats, ExecTransport, Limits, ServerConfig};

fn usage() -> ! {
    eprintln!(
        "usage: mem_server [--port N] [--io-threads N] [--exec-threads N] \
         [--transport direct|syncarbiter|dedicated]"
    );
    std::process::exit(2)
}

fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let (mut port, mut io, mut exec) = (6390u16, 1usize, 1usize);
    let mut transport = ExecTransport::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| usage()),
            "--io-threads" => io = value.parse().unwrap_or_else(|_| usage()),
            "--exec-threads" => exec = value.parse().unwrap_or_else(|_| usage()),
            "--transport" => {
                transport = match value.as_str() {
                    "direct" => ExecTransport::Direct,
                    "syncarbiter" => ExecTransport::SyncArbiter,
                    "dedicated" => ExecTransport::SyncArbiterDedicated,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    let cfg = ServerConfig {
        addrs: vec![SocketAddr::from(([127, 0, 0, 1], port))],
        io_threads: io,
        exec_threads: exec,
        limits: Arc::new(Limits::default()),
        stats: Arc::new(ConnStats::default()),
    };
    let service = Arc::new(mem_service::MemService::default());
    actix_rt::System::new().block_on(async move {
        let handle = talus_actors::start_with(service, cfg, transport)?;
        log::info!(
            "listening on {:?} ({io} io, {exec} exec, {transport:?})",
            handle.local_addrs()
        );
        handle.stopped().await;
        Ok(())
    })
}
