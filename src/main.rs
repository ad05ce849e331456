//! The `talus` command-line server: `talus [/path/to/talus.conf] [--name value ...]`.
//!
//! As `redis-server`: an optional config file first (redis.conf syntax), then `--name value`
//! flags that override it; `-h`/`--help` and `-v`/`--version` as the first argument. A bad
//! configuration prints Redis's message and exits 1. Logs go to standard error (or `logfile`)
//! through env_logger: `RUST_LOG` when set, else the `loglevel` parameter, which CONFIG SET
//! changes at run time. SIGINT/SIGTERM and SHUTDOWN stop the server gracefully; the process then
//! exits 0.

use std::process::ExitCode;
use talus::config::{Cli, Config, PARAMS};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let config = match Config::parse_cli(args) {
        Ok(Cli::Run(c)) => *c,
        Ok(Cli::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Cli::Version) => {
            println!("{}", version());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = init_logging(&config) {
        eprintln!("talus: {e}");
        return ExitCode::from(1);
    }
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        let server = talus::Server::start(config)?;
        let mut term =
            actix_rt::signal::unix::signal(actix_rt::signal::unix::SignalKind::terminate())
                .map_err(|e| talus::error::Error::err(format!("signal: {e}")))?;
        tokio_select(server.stopped(), async {
            tokio::select! {
                _ = actix_rt::signal::ctrl_c() => log::info!("received SIGINT, shutting down"),
                _ = term.recv() => log::info!("received SIGTERM, shutting down"),
            }
        })
        .await;
        server.stop().await;
        Ok::<_, talus::error::Error>(())
    });
    drop(system);
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            1
        }
    };
    log::logger().flush();
    // Everything is stopped by now: every acknowledged write is in the synced WAL and RocksDB's
    // background work is cancelled. Leave without running thread-local and C++ static
    // destructors, whose order (actix/tokio thread-locals, RocksDB's static Env) we do not
    // control: CI once saw a clean stop end in SIGABRT during that teardown.
    // SAFETY: _exit only ends the process; nothing runs after it.
    unsafe { libc::_exit(code) }
}

/// Sets up env_logger. Without `RUST_LOG`, Talus's own modules log at every level and
/// `log::max_level` carries `loglevel` (so CONFIG SET can raise or lower it); other crates stay
/// at info at most.
fn init_logging(config: &Config) -> std::io::Result<()> {
    let mut builder = env_logger::Builder::new();
    let from_env = std::env::var_os("RUST_LOG").is_some();
    if from_env {
        builder.parse_env(env_logger::Env::default());
    } else {
        builder
            .filter_level(log::LevelFilter::Info)
            .filter_module("talus", log::LevelFilter::Trace)
            .filter_module("talus_actors", log::LevelFilter::Trace);
    }
    if let Some(path) = config.logfile() {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        builder.target(env_logger::Target::Pipe(Box::new(file)));
    }
    builder.init();
    if !from_env {
        log::set_max_level(Config::log_filter(config.loglevel()));
        config.on_set(Box::new(|name, value| {
            if name == "loglevel" {
                log::set_max_level(Config::log_filter(value));
            }
        }));
    }
    Ok(())
}

fn version() -> String {
    format!(
        "Talus server v={} redis-compat={} bits={}",
        env!("CARGO_PKG_VERSION"),
        talus::cmd::connection::REDIS_VERSION,
        usize::BITS
    )
}

fn usage() -> String {
    let mut s = String::from(
        "Usage: talus [/path/to/talus.conf] [--name value ...]\n\
         \x20      talus -v or --version\n\
         \x20      talus -h or --help\n\n\
         The config file has redis.conf syntax; --name value flags override it.\n\n\
         Examples:\n\
         \x20      talus                      (defaults: 127.0.0.1:6379, data in ./talus-data)\n\
         \x20      talus /etc/talus/talus.conf\n\
         \x20      talus --port 7777 --dir /var/lib/talus\n\
         \x20      talus /etc/talus/talus.conf --loglevel verbose\n\n\
         Parameters (default; * = CONFIG SET may change it):\n",
    );
    for p in PARAMS {
        let alias = p.alias.map(|a| format!(" (alias {a})")).unwrap_or_default();
        let default = if p.default.is_empty() {
            "\"\""
        } else {
            p.default
        };
        let star = if p.mutable { "*" } else { " " };
        s.push_str(&format!("  {star} {:<28} {default}{alias}\n", p.name));
    }
    s
}

/// Waits for whichever of two futures finishes first.
async fn tokio_select(
    a: impl std::future::Future<Output = ()>,
    b: impl std::future::Future<Output = ()>,
) {
    tokio::select! {
        _ = a => {},
        _ = b => {},
    }
}
