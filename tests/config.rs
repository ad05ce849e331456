//! Configuration through the real binary: CONFIG GET/SET/RESETSTAT/REWRITE/HELP with Redis
//! 7.0.15's replies and error texts (checked against redis-server), runtime effects of CONFIG
//! SET, config files with flag overrides, and start-up failures.

mod common;

use common::{cmd_err, raw_exchange, TestServer};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn config_get(con: &mut redis::Connection, names: &[&str]) -> Vec<(String, String)> {
    let mut c = redis::cmd("CONFIG");
    c.arg("GET");
    for n in names {
        c.arg(*n);
    }
    let flat: Vec<String> = c.query(con).unwrap();
    flat.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

fn get1(con: &mut redis::Connection, name: &str) -> String {
    let pairs = config_get(con, &[name]);
    assert_eq!(pairs.len(), 1, "{name}: {pairs:?}");
    pairs[0].1.clone()
}

fn config_set(con: &mut redis::Connection, pairs: &[&str]) -> redis::RedisResult<String> {
    let mut c = redis::cmd("CONFIG");
    c.arg("SET");
    for p in pairs {
        c.arg(*p);
    }
    c.query(con)
}

fn set_failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

#[test]
fn config_get_names_and_patterns() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "maxclients"), "10000");
    assert_eq!(get1(&mut con, "databases"), "16");
    assert_eq!(get1(&mut con, "appendfsync"), "everysec");
    assert_eq!(get1(&mut con, "save"), "3600 1 300 100 60 10000");
    assert_eq!(get1(&mut con, "proto-max-bulk-len"), "536870912");
    assert_eq!(get1(&mut con, "client-query-buffer-limit"), "1073741824");
    assert_eq!(get1(&mut con, "bind"), "127.0.0.1");
    assert_eq!(get1(&mut con, "port"), "0", "as configured (--port 0)");
    assert_eq!(get1(&mut con, "requirepass"), "");
    assert_eq!(get1(&mut con, "daemonize"), "no");
    assert_eq!(get1(&mut con, "list-max-listpack-size"), "-2");
    assert_eq!(get1(&mut con, "notify-keyspace-events"), "");
    assert_eq!(Path::new(&get1(&mut con, "dir")), s.dir.as_path());

    // An exact name is answered under the spelling asked for.
    assert_eq!(
        config_get(&mut con, &["MaxClients"]),
        [("MaxClients".to_string(), "10000".to_string())]
    );
    // Several names and patterns; each name once; unknown ones add nothing.
    let pairs = config_get(
        &mut con,
        &["maxclients", "timeout", "nope", "maxc*", "maxclients"],
    );
    assert_eq!(
        pairs,
        [
            ("maxclients".to_string(), "10000".to_string()),
            ("timeout".to_string(), "0".to_string())
        ]
    );
    assert!(config_get(&mut con, &["nope", "nope*"]).is_empty());
    // Patterns list aliases too (Redis 7.0).
    let mut names: Vec<String> = config_get(&mut con, &["hash-max-*"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "hash-max-listpack-entries",
            "hash-max-listpack-value",
            "hash-max-ziplist-entries",
            "hash-max-ziplist-value"
        ]
    );
    let mut names: Vec<String> = config_get(&mut con, &["lazyfree-lazy-*", "*-threads"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "exec-threads",
            "io-threads",
            "lazyfree-lazy-eviction",
            "lazyfree-lazy-expire",
            "lazyfree-lazy-server-del",
            "lazyfree-lazy-user-del",
            "lazyfree-lazy-user-flush"
        ]
    );
    let all = config_get(&mut con, &["*"]);
    assert!(all.len() >= 40, "{}", all.len());
    let mut uniq: Vec<&String> = all.iter().map(|(n, _)| n).collect();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), all.len(), "each name once");
    // `?` and classes work as globs.
    assert_eq!(
        config_get(&mut con, &["h?"]),
        [("hz".to_string(), "10".to_string())]
    );
    assert_eq!(
        config_get(&mut con, &["[p]ort"]),
        [("port".to_string(), "0".to_string())]
    );

    assert_eq!(
        cmd_err(&mut con, &["CONFIG", "GET"]),
        "ERR wrong number of arguments for 'config|get' command"
    );
}

#[test]
fn config_set_values_units_and_aliases() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(
        config_set(&mut con, &["proto-max-bulk-len", "10mb"]).unwrap(),
        "OK"
    );
    assert_eq!(get1(&mut con, "proto-max-bulk-len"), "10485760");
    // Several pairs at once, Redis's units (k = 1000, kb = 1024, any case).
    config_set(
        &mut con,
        &[
            "maxmemory",
            "1GB",
            "hash-max-ziplist-value",
            "2k",
            "stream-node-max-bytes",
            "4Kb",
            "timeout",
            "30",
        ],
    )
    .unwrap();
    assert_eq!(get1(&mut con, "maxmemory"), "1073741824");
    assert_eq!(get1(&mut con, "hash-max-listpack-value"), "2000");
    assert_eq!(get1(&mut con, "hash-max-ziplist-value"), "2000");
    assert_eq!(get1(&mut con, "stream-node-max-bytes"), "4096");
    assert_eq!(get1(&mut con, "timeout"), "30");
    config_set(&mut con, &["maxmemory", "1b"]).unwrap();
    assert_eq!(get1(&mut con, "maxmemory"), "1");

    // Encoding settings round-trip under both names.
    for (set_name, get_name, value, want) in [
        (
            "hash-max-ziplist-entries",
            "hash-max-listpack-entries",
            "100",
            "100",
        ),
        (
            "hash-max-listpack-entries",
            "hash-max-ziplist-entries",
            "0",
            "0",
        ),
        (
            "zset-max-ziplist-entries",
            "zset-max-listpack-entries",
            "7",
            "7",
        ),
        (
            "zset-max-ziplist-value",
            "zset-max-listpack-value",
            "1kb",
            "1024",
        ),
        (
            "list-max-ziplist-size",
            "list-max-listpack-size",
            "-5",
            "-5",
        ),
        (
            "list-max-listpack-size",
            "list-max-ziplist-size",
            "128",
            "128",
        ),
        (
            "set-max-intset-entries",
            "set-max-intset-entries",
            "1000",
            "1000",
        ),
        ("list-compress-depth", "list-compress-depth", "2", "2"),
        (
            "stream-node-max-entries",
            "stream-node-max-entries",
            "50",
            "50",
        ),
        ("activerehashing", "activerehashing", "NO", "no"),
    ] {
        config_set(&mut con, &[set_name, value]).unwrap();
        assert_eq!(get1(&mut con, get_name), want, "{set_name} -> {get_name}");
    }

    // Booleans, enums (any case, reported in lower case), events, save, hz clamping.
    config_set(
        &mut con,
        &[
            "appendonly",
            "YES",
            "maxmemory-policy",
            "AllKeys-LRU",
            "loglevel",
            "WARNING",
        ],
    )
    .unwrap();
    assert_eq!(get1(&mut con, "appendonly"), "yes");
    assert_eq!(get1(&mut con, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(get1(&mut con, "loglevel"), "warning");
    config_set(&mut con, &["notify-keyspace-events", "KEA"]).unwrap();
    assert_eq!(get1(&mut con, "notify-keyspace-events"), "AKE");
    config_set(&mut con, &["notify-keyspace-events", "Elg"]).unwrap();
    assert_eq!(get1(&mut con, "notify-keyspace-events"), "glE");
    config_set(&mut con, &["notify-keyspace-events", ""]).unwrap();
    assert_eq!(get1(&mut con, "notify-keyspace-events"), "");
    config_set(&mut con, &["save", "100 10 200 20"]).unwrap();
    assert_eq!(get1(&mut con, "save"), "100 10 200 20");
    config_set(&mut con, &["save", ""]).unwrap();
    assert_eq!(get1(&mut con, "save"), "");
    config_set(&mut con, &["hz", "1000"]).unwrap();
    assert_eq!(get1(&mut con, "hz"), "500");
    config_set(&mut con, &["hz", "0"]).unwrap();
    assert_eq!(get1(&mut con, "hz"), "1");
    config_set(
        &mut con,
        &["slowlog-log-slower-than", "-1", "slowlog-max-len", "0"],
    )
    .unwrap();
    assert_eq!(get1(&mut con, "slowlog-log-slower-than"), "-1");
}

#[test]
fn config_set_refusals() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let err = |con: &mut redis::Connection, args: &[&str]| {
        let mut all = vec!["CONFIG", "SET"];
        all.extend_from_slice(args);
        cmd_err(con, &all)
    };
    assert_eq!(
        err(&mut con, &["foo", "bar"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        err(&mut con, &["set-max-listpack-entries", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'set-max-listpack-entries'"
    );
    for name in [
        "port",
        "databases",
        "dir",
        "bind",
        "io-threads",
        "exec-threads",
        "exec-transport",
        "server_cpulist",
        "sched-batch",
        "rocksdb-write-buffer-size",
        "rocksdb-meta-write-buffer-size",
        "logfile",
        "daemonize",
        "DAEMONIZE",
    ] {
        assert_eq!(
            err(&mut con, &[name, "1"]),
            set_failed(name, "can't set immutable config"),
            "{name}"
        );
    }
    assert_eq!(
        err(&mut con, &["maxclients", "abc"]),
        set_failed("maxclients", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        err(&mut con, &["MAXCLIENTS", "05"]),
        set_failed("maxclients", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        err(&mut con, &["maxclients", "0"]),
        set_failed(
            "maxclients",
            "argument must be between 1 and 4294967295 inclusive"
        )
    );
    assert_eq!(
        err(&mut con, &["timeout", "-1"]),
        set_failed(
            "timeout",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    assert_eq!(
        err(&mut con, &["proto-max-bulk-len", "abc"]),
        set_failed("proto-max-bulk-len", "argument must be a memory value")
    );
    assert_eq!(
        err(&mut con, &["proto-max-bulk-len", "10"]),
        set_failed(
            "proto-max-bulk-len",
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        )
    );
    for bad in ["1.5g", "-1", " 5", "+5", "5x"] {
        assert_eq!(
            err(&mut con, &["maxmemory", bad]),
            set_failed("maxmemory", "argument must be a memory value")
        );
    }
    assert_eq!(
        err(&mut con, &["Hash-Max-Ziplist-Entries", "-1"]),
        set_failed(
            "hash-max-ziplist-entries",
            "argument must be between 0 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        err(&mut con, &["appendonly", "maybe"]),
        set_failed("appendonly", "argument must be 'yes' or 'no'")
    );
    assert_eq!(
        err(&mut con, &["appendfsync", "sometimes"]),
        set_failed(
            "appendfsync",
            "argument(s) must be one of the following: everysec, always, no"
        )
    );
    assert_eq!(
        err(&mut con, &["loglevel", "x"]),
        set_failed(
            "loglevel",
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        )
    );
    assert_eq!(
        err(&mut con, &["maxmemory-policy", "x"]),
        set_failed(
            "maxmemory-policy",
            "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, \
             volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
        )
    );
    assert_eq!(
        err(&mut con, &["notify-keyspace-events", "q"]),
        set_failed(
            "notify-keyspace-events",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        )
    );
    for bad in ["1 2 3", "a b", "0 1", "1 -1"] {
        assert_eq!(
            err(&mut con, &["save", bad]),
            set_failed("save", "Invalid save parameters"),
            "{bad}"
        );
    }
    assert_eq!(
        err(&mut con, &["maxclients", "1", "maxclients", "2"]),
        set_failed("maxclients", "duplicate parameter")
    );
    assert_eq!(
        err(&mut con, &["maxclients", "1", "MAXCLIENTS", "2"]),
        set_failed("MAXCLIENTS", "duplicate parameter")
    );
    // Names are checked before values: the unknown name wins over an earlier bad value.
    assert_eq!(
        err(&mut con, &["maxclients", "abc", "nope", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nope'"
    );
    // All or nothing: a bad value later leaves the earlier parameters unchanged.
    assert_eq!(
        err(&mut con, &["timeout", "5", "hz", "x"]),
        set_failed("hz", "argument couldn't be parsed into an integer")
    );
    assert_eq!(get1(&mut con, "timeout"), "0");
    // Arity.
    assert_eq!(
        err(&mut con, &["timeout"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    assert_eq!(
        err(&mut con, &["timeout", "1", "hz"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
}

#[test]
fn config_set_takes_effect() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();

    // appendfsync reaches the store at once.
    config_set(&mut con, &["appendfsync", "always"]).unwrap();
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .unwrap();
    assert!(info.contains("talus_wal_fsync:always\r\n"), "{info}");
    config_set(&mut con, &["appendfsync", "no"]).unwrap();
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .unwrap();
    assert!(info.contains("talus_wal_fsync:no\r\n"), "{info}");
    config_set(&mut con, &["appendfsync", "everysec"]).unwrap();

    // proto-max-bulk-len bounds request bulks.
    config_set(&mut con, &["proto-max-bulk-len", "1mb"]).unwrap();
    let big = 1024 * 1024 + 1;
    let req = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${big}\r\n");
    let out = raw_exchange(s.addr, req.as_bytes(), None);
    assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
    config_set(&mut con, &["proto-max-bulk-len", "2mb"]).unwrap();
    let v = vec![b'x'; big];
    let _: () = redis::cmd("SET").arg("k").arg(&v).query(&mut con).unwrap();

    // maxclients refuses connections past the limit.
    config_set(&mut con, &["maxclients", "1"]).unwrap();
    let out = raw_exchange(s.addr, b"PING\r\n", None);
    assert_eq!(out, b"-ERR max number of clients reached\r\n");
    config_set(&mut con, &["maxclients", "10000"]).unwrap();
    let mut other = s.conn();
    let pong: String = redis::cmd("PING").query(&mut other).unwrap();
    assert_eq!(pong, "PONG");

    // timeout closes idle clients.
    config_set(&mut con, &["timeout", "1"]).unwrap();
    let mut idle = std::net::TcpStream::connect(s.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 16];
    match std::io::Read::read(&mut idle, &mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected data: {:?}", &buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the idle connection was not closed: {e}"),
    }
    config_set(&mut con, &["timeout", "0"]).unwrap_or_else(|_| {
        // `con` itself may have been idle too long; reconnect.
        let mut c = s.conn();
        config_set(&mut c, &["timeout", "0"]).unwrap()
    });
}

#[test]
fn config_resetstat_help_and_container_errors() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    let v: String = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, "OK");
    let help: Vec<String> = redis::cmd("CONFIG").arg("HELP").query(&mut con).unwrap();
    assert_eq!(
        help,
        [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help."
        ]
    );
    assert_eq!(
        cmd_err(&mut con, &["CONFIG"]),
        "ERR wrong number of arguments for 'config' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["CONFIG", "foo"]),
        "ERR unknown subcommand 'foo'. Try CONFIG HELP."
    );
    assert_eq!(
        cmd_err(&mut con, &["CONFIG", "RESETSTAT", "x"]),
        "ERR wrong number of arguments for 'config|resetstat' command"
    );
    assert_eq!(
        cmd_err(&mut con, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
}

#[test]
fn config_needs_auth() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let mut con = s.conn();
    assert_eq!(
        cmd_err(&mut con, &["CONFIG", "GET", "*"]),
        "NOAUTH Authentication required."
    );
}

fn write_conf(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("talus.conf");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_file_and_flag_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("extra.conf"), "slowlog-max-len 77\n").unwrap();
    let conf = write_conf(
        tmp.path(),
        &format!(
            "# a comment\n\
             \n\
             port 6999\n\
             databases 4\n\
             maxclients 123\n\
             timeout 7\n\
             save 100 1\n\
             save 200 2\n\
             requirepass \"pass word\"\n\
             \tmaxmemory 2mb   \r\n\
             hash-max-ziplist-entries 64\n\
             list-max-ziplist-entries 512\n\
             include {}\n",
            tmp.path().join("extra.conf").display()
        ),
    );
    let dir = tmp.path().join("data");
    let s = TestServer::start_with_conf(
        Some(&conf),
        &dir,
        &["--timeout", "9", "--notify-keyspace-events", "Ex"],
    );
    let url = format!("redis://:{}@{}/", "pass%20word", s.addr);
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    assert_eq!(
        get1(&mut con, "port"),
        "0",
        "the harness's --port 0 overrides the file"
    );
    assert_eq!(get1(&mut con, "databases"), "4");
    assert_eq!(get1(&mut con, "maxclients"), "123");
    assert_eq!(get1(&mut con, "timeout"), "9", "a flag overrides the file");
    assert_eq!(get1(&mut con, "notify-keyspace-events"), "xE");
    assert_eq!(get1(&mut con, "save"), "100 1 200 2", "save lines add up");
    assert_eq!(get1(&mut con, "requirepass"), "pass word");
    assert_eq!(get1(&mut con, "maxmemory"), "2097152");
    assert_eq!(get1(&mut con, "hash-max-listpack-entries"), "64");
    assert_eq!(get1(&mut con, "slowlog-max-len"), "77", "include");
    assert_eq!(Path::new(&get1(&mut con, "dir")), dir.as_path());
    assert_eq!(
        cmd_err(&mut con, &["SELECT", "4"]),
        "ERR DB index is out of range"
    );
    let info: String = redis::cmd("INFO").arg("server").query(&mut con).unwrap();
    assert!(
        info.contains(&format!("config_file:{}\r\n", conf.display())),
        "{info}"
    );
}

#[test]
fn config_rewrite_updates_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = write_conf(
        tmp.path(),
        "# keep me\nmaxclients 123\nmaxclients 456\ntimeout 7\n",
    );
    let dir = tmp.path().join("data");
    let mut s = TestServer::start_with_conf(Some(&conf), &dir, &[]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "maxclients"), "456", "the last line wins");
    config_set(
        &mut con,
        &["maxclients", "77", "maxmemory", "3mb", "save", "60 5"],
    )
    .unwrap();
    let v: String = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).unwrap();
    assert_eq!(v, "OK");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.starts_with("# keep me\nmaxclients 77\ntimeout 7\n"),
        "{text}"
    );
    assert!(text.contains("\nmaxmemory 3mb\n"), "{text}");
    assert!(text.contains("\nsave 60 5\n"), "{text}");
    assert_eq!(text.matches("maxclients").count(), 1, "{text}");
    // The rewritten file loads back to the same values.
    s.kill9();
    let s = TestServer::start_with_conf(Some(&conf), &dir, &[]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "maxclients"), "77");
    assert_eq!(get1(&mut con, "maxmemory"), "3145728");
    assert_eq!(get1(&mut con, "save"), "60 5");
    assert_eq!(get1(&mut con, "timeout"), "7");
}

/// Runs the binary to completion with `args`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_talus"))
        .args(args)
        .current_dir(tmp.path())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_fails_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = write_conf(tmp.path(), "port 7000\n# fine\nfoo bar\n");
    let (code, _, err) = run(&[conf.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
    assert!(
        err.contains("at line 3\n>>> 'foo bar'\nBad directive or wrong number of arguments"),
        "{err}"
    );

    let conf = write_conf(tmp.path(), "maxclients many\n");
    let (code, _, err) = run(&[conf.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(">>> 'maxclients many'\nargument couldn't be parsed into an integer"),
        "{err}"
    );

    let conf = write_conf(tmp.path(), "requirepass \"unterminated\n");
    let (code, _, err) = run(&[conf.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Unbalanced quotes in configuration line"),
        "{err}"
    );

    let conf = write_conf(tmp.path(), "port 1 2\n");
    let (code, _, err) = run(&[conf.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("wrong number of arguments"), "{err}");

    let (code, _, err) = run(&[tmp.path().join("missing.conf").to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("can't open config file"), "{err}");

    for (args, want) in [
        (
            &["--nope", "1"][..],
            "Bad directive or wrong number of arguments",
        ),
        (
            &["--port", "70000"][..],
            "argument must be between 0 and 65535 inclusive",
        ),
        (&["--port"][..], "wrong number of arguments"),
        (&["--daemonize", "yes"][..], "Talus does not daemonize"),
        (
            &["--appendfsync", "x"][..],
            "argument(s) must be one of the following: everysec, always, no",
        ),
        (
            &["--databases", "0"][..],
            "argument must be between 1 and 65535 inclusive",
        ),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains(&format!("('{}')", args[0])), "{args:?}: {err}");
    }
}

#[test]
fn help_and_version() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("Usage: talus [/path/to/talus.conf] [--name value ...]"),
        "{out}"
    );
    assert!(out.contains("proto-max-bulk-len"), "{out}");
    let (code, out, _) = run(&["-v"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("Talus server v="), "{out}");
    assert!(out.contains("redis-compat=7.0.15"), "{out}");
}

#[test]
fn flags_accept_redis_server_forms() {
    // `--save` with no value means `save ""`; a value may hold several arguments; a value
    // right after a bare option may start with `--`.
    let s = TestServer::start(&[
        "--save",
        "--bind",
        "127.0.0.1",
        "--requirepass",
        "--weird",
        "--loglevel verbose",
    ]);
    let url = format!("redis://:--weird@{}/", s.addr);
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    assert_eq!(get1(&mut con, "save"), "");
    assert_eq!(get1(&mut con, "loglevel"), "verbose");
    assert_eq!(get1(&mut con, "requirepass"), "--weird");
    let s = TestServer::start(&["--save", "60", "1", "--save", "10 2"]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "save"), "60 1 10 2");
}

/// The meta column family's memtable size: 1mb by default (the others' 64mb), set at start; a
/// small one flushes to table files while keys are written, and every value reads back.
#[test]
fn meta_write_buffer_size_is_set_at_start() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "rocksdb-meta-write-buffer-size"), "1048576");
    assert_eq!(get1(&mut con, "rocksdb-write-buffer-size"), "67108864");
    drop(con);
    drop(s);

    let s = TestServer::start(&["--rocksdb-meta-write-buffer-size", "256kb"]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "rocksdb-meta-write-buffer-size"), "262144");
    let meta_sst = |con: &mut redis::Connection| -> u64 {
        let info: String = redis::cmd("INFO").arg("rocksdb").query(con).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("meta.total_sst_files_size:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no meta.total_sst_files_size in {info}"))
    };
    assert_eq!(meta_sst(&mut con), 0, "nothing flushed yet");
    // About 0.55 MB of meta entries: more than a 256 KB memtable holds, less than the 1 MB
    // default's (so the test also fails if the option does not reach the store).
    let value = "v".repeat(64);
    for chunk in 0..5 {
        let mut p = redis::pipe();
        for i in 0..1000 {
            p.cmd("SET")
                .arg(format!("k{}", chunk * 1000 + i))
                .arg(&value)
                .ignore();
        }
        let () = p.query(&mut con).unwrap();
    }
    // Flushes run in the background: poll until one has produced a table file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while meta_sst(&mut con) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the meta memtable never flushed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for i in (0..5_000).step_by(197) {
        let v: String = redis::cmd("GET")
            .arg(format!("k{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(v, value, "k{i}");
    }
    let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 5_000);
}

/// The meta cache can be resized and turned off at run time without changing any reply.
#[test]
fn cache_max_memory_can_change_at_runtime() {
    let srv = TestServer::start(&["--cache-max-memory", "1mb"]);
    let mut con = srv.conn();
    let get = |con: &mut redis::Connection, k: &str| -> Option<String> {
        redis::cmd("GET").arg(k).query(con).unwrap()
    };
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("cache-max-memory")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        cfg,
        vec!["cache-max-memory".to_string(), "1048576".to_string()]
    );
    for i in 0..2000 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-max-memory")
        .arg("0")
        .query(&mut con)
        .unwrap();
    assert_eq!(get(&mut con, "k1999").as_deref(), Some("1999"));
    let _: () = redis::cmd("SET")
        .arg("k1")
        .arg("new")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("cache-max-memory")
        .arg("64mb")
        .query(&mut con)
        .unwrap();
    assert_eq!(get(&mut con, "k1").as_deref(), Some("new"));
    let _: i64 = redis::cmd("DEL").arg("k1").query(&mut con).unwrap();
    assert_eq!(get(&mut con, "k1"), None);
    assert_eq!(get(&mut con, "k0").as_deref(), Some("0"));
}

#[test]
fn every_exec_transport_serves() {
    for transport in [
        "direct",
        "forwarded",
        "syncarbiter",
        "syncarbiter-dedicated",
    ] {
        let s = TestServer::start(&["--exec-transport", transport]);
        let mut con = s.conn();
        assert_eq!(get1(&mut con, "exec-transport"), transport);
        let n: i64 = redis::cmd("INCR").arg("k").query(&mut con).unwrap();
        assert_eq!(n, 1, "{transport}");
        let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
        assert_eq!(v, "1", "{transport}");
    }
}

/// `read(task dir)` for each thread of `pid` named `talus-io-*` or `talus-exec-*`, sorted.
fn server_threads<T: Ord>(
    pid: u32,
    read: impl Fn(&std::path::Path) -> Option<T>,
) -> Vec<(String, T)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let comm = comm.trim().to_string();
        if !(comm.starts_with("talus-io-") || comm.starts_with("talus-exec-")) {
            continue;
        }
        if let Some(v) = read(&task.path()) {
            out.push((comm, v));
        }
    }
    out.sort();
    out
}

/// The CPUs each worker and executor thread of `pid` may run on (`Cpus_allowed_list`).
fn server_thread_cpus(pid: u32) -> Vec<(String, String)> {
    server_threads(pid, |task| {
        let status = std::fs::read_to_string(task.join("status")).ok()?;
        let cpus = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
        Some(cpus.trim().to_string())
    })
}

/// The scheduling policy of each worker and executor thread of `pid` (field 41 of its stat:
/// 0 = SCHED_OTHER, 3 = SCHED_BATCH).
fn server_thread_policies(pid: u32) -> Vec<(String, u32)> {
    server_threads(pid, |task| {
        let stat = std::fs::read_to_string(task.join("stat")).ok()?;
        // The name in parentheses may hold spaces; fields after it start at field 3.
        let rest = &stat[stat.rfind(')')? + 1..];
        rest.split_whitespace().nth(41 - 3)?.parse().ok()
    })
}

/// A write and a read, so every worker and executor has run a request.
fn touch_threads(con: &mut redis::Connection) {
    let _: () = redis::cmd("SET").arg("k").arg(1).query(con).unwrap();
    let _: i64 = redis::cmd("GET").arg("k").query(con).unwrap();
}

#[test]
fn sched_batch_sets_the_policy_of_workers_and_executors() {
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "sched-batch"), "yes");
    let pid = s.child.as_ref().expect("child").id();
    let batch = common::wait_until(Duration::from_secs(10), || {
        touch_threads(&mut con);
        let threads = server_thread_policies(pid);
        threads.len() == 2 && threads.iter().all(|(_, policy)| *policy == 3)
    });
    assert!(batch, "{:?}", server_thread_policies(pid));

    let s = TestServer::start(&["--sched-batch", "no"]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "sched-batch"), "no");
    touch_threads(&mut con);
    let pid = s.child.as_ref().expect("child").id();
    let threads = server_thread_policies(pid);
    assert_eq!(threads.len(), 2, "{threads:?}");
    assert!(
        threads.iter().all(|(_, policy)| *policy == 0),
        "{threads:?}"
    );
}

#[test]
fn server_cpulist_binds_workers_and_executors() {
    let s = TestServer::start(&["--server_cpulist", "0"]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "server_cpulist"), "0");
    // A write and a read reach the executors; each thread binds on its first request.
    let pid = s.child.as_ref().expect("child").id();
    let bound = common::wait_until(Duration::from_secs(10), || {
        touch_threads(&mut con);
        let threads = server_thread_cpus(pid);
        // One worker and one executor (the defaults).
        threads.len() == 2 && threads.iter().all(|(_, cpus)| cpus == "0")
    });
    assert!(bound, "{:?}", server_thread_cpus(pid));

    // Without the option nothing is bound to one CPU (on a machine with more than one).
    let s = TestServer::start(&[]);
    let mut con = s.conn();
    assert_eq!(get1(&mut con, "server_cpulist"), "");
    let _: () = redis::cmd("SET").arg("k").arg(1).query(&mut con).unwrap();
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    if online.trim() != "0" {
        let pid = s.child.as_ref().expect("child").id();
        assert!(server_thread_cpus(pid).iter().all(|(_, cpus)| cpus != "0"));
    }
}

#[test]
fn bad_server_cpulist_fails_the_start() {
    for bad in ["3-1", "0-4:0", "x", "1,,2"] {
        let (code, _, err) = run(&["--port", "0", "--server_cpulist", bad]);
        assert_eq!(code, Some(1), "{bad}");
        assert!(
            err.contains(&format!("invalid CPU list '{bad}'")),
            "{bad}: {err}"
        );
    }
}
