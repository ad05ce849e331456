//! Embedding Talus in an actix application.
//!
//! The application runs its own actix System with an actor of its own (a `Counter`), starts
//! Talus inside that System with [`talus::Server::start`], talks to it over TCP with the
//! `redis` crate's async API, and stops Talus through its handle while the System (and the
//! `Counter`) keep running. Talus installs no signal handlers and never stops the host's
//! System; a client's SHUTDOWN would stop Talus only, which the host sees as
//! [`talus::RunningServer::stopped`] resolving.
//!
//! Run it with `cargo run --release --example embedded`.
//!
//! Use the async client on an actix thread: a blocking call there would stall the arbiter that
//! also runs Talus's listener and the executor pool's forwarding.

use actix::prelude::*;
use std::error::Error;

/// The application's own actor: counts what it is told.
struct Counter {
    total: i64,
}

impl Actor for Counter {
    type Context = Context<Self>;
}

/// Adds to the counter and answers with the new total.
#[derive(Message)]
#[rtype(result = "i64")]
struct Add(i64);

impl Handler<Add> for Counter {
    type Result = i64;

    fn handle(&mut self, msg: Add, _ctx: &mut Context<Self>) -> i64 {
        self.total += msg.0;
        self.total
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let counter = Counter { total: 0 }.start();

    // A throw-away data dir and a free port; any redis.conf parameter can be set like this
    // (or load a file with `Config::from_args(["/path/talus.conf".into()])`).
    let data = tempfile::tempdir()?;
    let config = talus::Config::from_args(
        ["--port", "0", "--bind", "127.0.0.1", "--dir"]
            .into_iter()
            .map(String::from)
            .chain([data.path().join("talus").display().to_string()]),
    )?;

    // Must be called inside a running System: the actors start on its arbiters.
    let server = talus::Server::start(config)?;
    let addr = server.local_addrs()[0];
    println!("Talus listens on {addr}");

    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let mut con = client.get_multiplexed_async_connection().await?;

    let () = redis::cmd("SET")
        .arg("greeting")
        .arg("hello from talus")
        .query_async(&mut con)
        .await?;
    let greeting: String = redis::cmd("GET")
        .arg("greeting")
        .query_async(&mut con)
        .await?;
    println!("GET greeting -> {greeting:?}");

    for _ in 0..3 {
        let visits: i64 = redis::cmd("INCR")
            .arg("visits")
            .query_async(&mut con)
            .await?;
        // Hand the value to the application's own actor, on the same System.
        let total = counter.send(Add(visits)).await?;
        println!("INCR visits -> {visits}; Counter total -> {total}");
    }

    let () = redis::cmd("SET")
        .arg("session")
        .arg("x")
        .arg("EX")
        .arg(60)
        .query_async(&mut con)
        .await?;
    let ttl: i64 = redis::cmd("TTL")
        .arg("session")
        .query_async(&mut con)
        .await?;
    println!("TTL session -> {ttl}");

    // Stop Talus: stops accepting, finishes in-flight batches, closes the store. The System
    // keeps running; the Counter still answers.
    drop(con);
    server.stop().await;
    server.stopped().await;
    println!("Talus stopped");
    let total = counter.send(Add(0)).await?;
    println!("the application's Counter still runs: total {total}");
    Ok(())
}
