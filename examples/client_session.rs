//! A plain client session against a running Talus (or any Redis server), with the `redis`
//! crate's synchronous API.
//!
//! ```text
//! cargo run --release -- --port 6379 --dir ./data          # in one terminal
//! cargo run --release --example client_session -- --url redis://127.0.0.1:6379/
//! ```

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut url = String::from("redis://127.0.0.1:6379/");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().ok_or("--url needs a value")?,
            "-h" | "--help" => {
                println!("usage: client_session [--url redis://host:port/]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }

    let client = redis::Client::open(url.as_str())?;
    let mut con = client.get_connection()?;
    println!("connected to {url}");

    let pong: String = redis::cmd("PING").query(&mut con)?;
    println!("PING -> {pong}");

    let () = redis::cmd("SET")
        .arg("example:name")
        .arg("talus")
        .query(&mut con)?;
    let name: Option<String> = redis::cmd("GET").arg("example:name").query(&mut con)?;
    println!("GET example:name -> {name:?}");

    let () = redis::cmd("DEL").arg("example:hits").query(&mut con)?;
    let hits: i64 = redis::cmd("INCRBY")
        .arg("example:hits")
        .arg(10)
        .query(&mut con)?;
    println!("INCRBY example:hits 10 -> {hits}");
    let price: String = redis::cmd("INCRBYFLOAT")
        .arg("example:hits")
        .arg("0.5")
        .query(&mut con)?;
    println!("INCRBYFLOAT example:hits 0.5 -> {price}");

    let () = redis::cmd("MSET")
        .arg(&["example:a", "1", "example:b", "2"])
        .query(&mut con)?;
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&["example:a", "example:b", "example:missing"])
        .query(&mut con)?;
    println!("MGET example:a example:b example:missing -> {values:?}");

    let set: bool = redis::cmd("EXPIRE")
        .arg("example:a")
        .arg(100)
        .query(&mut con)?;
    let ttl: i64 = redis::cmd("TTL").arg("example:a").query(&mut con)?;
    println!("EXPIRE example:a 100 -> {set}; TTL -> {ttl}");

    // Errors come back as values of the session, not as a broken connection.
    match redis::cmd("INCR")
        .arg("example:name")
        .query::<i64>(&mut con)
    {
        Ok(n) => println!("INCR example:name -> {n}"),
        Err(e) => println!("INCR example:name -> error: {e}"),
    }

    // A pipeline: several commands in one round trip, replies in order.
    let (a, b, n): (String, String, i64) = redis::pipe()
        .cmd("GET")
        .arg("example:a")
        .cmd("GET")
        .arg("example:b")
        .cmd("EXISTS")
        .arg(&["example:a", "example:b", "example:missing"])
        .query(&mut con)?;
    println!("pipeline GET, GET, EXISTS -> {a}, {b}, {n}");

    let keys: Vec<String> = redis::cmd("KEYS").arg("example:*").query(&mut con)?;
    println!("KEYS example:* -> {} keys", keys.len());
    let deleted: i64 = redis::cmd("DEL").arg(&keys).query(&mut con)?;
    println!("DEL them -> {deleted}");
    Ok(())
}
