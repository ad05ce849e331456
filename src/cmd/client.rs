//! CLIENT (ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL, PAUSE, UNPAUSE, REPLY, NO-EVICT,
//! UNBLOCK, GETREDIR, HELP), MONITOR and RESET, with Redis 7.0's replies and error texts.
//!
//! Other clients are seen through the client registry ([`crate::clients`]): CLIENT LIST shows
//! each client as of its last batch (the caller as of now), CLIENT KILL closes clients through
//! their connection handles (asynchronously, as Redis closes them "ASAP"; a client that kills
//! itself gets its reply first). Fields Talus does not track (query and output buffer sizes
//! other than pushed pub/sub output, memory) read 0.

use super::keyless as spec;
use super::{args, flags::*, CommandSpec, Exec, KeySpec, Locking};
use crate::clients::{ClientEntry, ClientType, View};
use crate::error::{Error, Result};
use crate::reply::Reply;
use crate::session::{ReplyMode, Session};
use bytes::Bytes;
use std::fmt::Write as _;
use talus_actors::Flow;

const INFO: u32 = NOSCRIPT | LOADING | STALE;
const ADMIN_: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

/// CLIENT, MONITOR and RESET (arity and flags as Redis 7.0's COMMAND reports them).
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "client",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        locking: Locking::None,
        handler: super::container,
        subcommands: CLIENT,
    },
    spec("monitor", 1, ADMIN_, monitor),
    spec(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | SUB_OK,
        reset,
    ),
];

static CLIENT: &[CommandSpec] = &[
    spec("client|id", 2, INFO, client_id),
    spec("client|setname", 3, INFO, client_setname),
    spec("client|getname", 2, INFO, client_getname),
    spec("client|setinfo", 4, INFO, client_setinfo),
    spec("client|info", 2, INFO, client_info),
    spec("client|list", -2, ADMIN_, client_list),
    spec("client|kill", -3, ADMIN_, client_kill),
    spec("client|pause", -3, ADMIN_, client_pause),
    spec("client|unpause", 2, ADMIN_, client_unpause),
    spec("client|reply", 3, INFO, client_reply),
    spec("client|no-evict", 3, ADMIN_, client_no_evict),
    spec("client|unblock", -3, ADMIN_, client_unblock),
    spec("client|getredir", 2, INFO, client_getredir),
    spec("client|help", 2, LOADING | STALE, client_help),
];

/// `CLIENT ID`.
fn client_id(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(ex.session.id as i64))
}

/// `CLIENT SETNAME name`.
fn client_setname(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    super::connection::set_name(ex.session, args[2].clone())?;
    Ok(Reply::ok())
}

/// `CLIENT GETNAME`.
fn client_getname(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::opt_bulk(ex.session.name.clone()))
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value` (Redis 7.2).
fn client_setinfo(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let (attr, value) = (&args[2], &args[3]);
    let lib_name = if args::is(attr, "lib-name") {
        true
    } else if args::is(attr, "lib-ver") {
        false
    } else {
        return Err(Error::err(format!(
            "Unrecognized option '{}'",
            args::text(attr)
        )));
    };
    if !super::connection::valid_attr(value) {
        return Err(Error::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            args::text(attr)
        )));
    }
    let value = (!value.is_empty()).then(|| value.clone());
    if lib_name {
        ex.session.lib_name = value;
    } else {
        ex.session.lib_ver = value;
    }
    Ok(Reply::ok())
}

/// One client as CLIENT INFO and CLIENT LIST describe it, without the final newline.
pub fn info_line(entry: &ClientEntry, view: &View, blocked: bool) -> String {
    let text = |b: &Option<Bytes>| {
        b.as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let mut flags = String::new();
    if view.monitor {
        flags.push('O');
    }
    if view.sub + view.psub + view.ssub > 0 {
        flags.push('P');
    }
    if view.multi >= 0 {
        flags.push('x');
    }
    if blocked {
        flags.push('b');
    }
    if view.watch_flag.as_ref().is_some_and(|f| f.is_dirty()) {
        flags.push('d');
    }
    if entry.handle.is_closed() {
        flags.push('A');
    }
    if view.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let omem = entry.handle.pending_output();
    let mut line = String::with_capacity(320);
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} \
         ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 \
         omem={} tot-mem={} events=r{} cmd={} user=default redir=-1 resp={} lib-name={} \
         lib-ver={}",
        entry.id,
        entry.peer,
        entry.local,
        entry.fd,
        text(&view.name),
        entry.created.elapsed().as_secs(),
        view.last_active.elapsed().as_secs(),
        flags,
        view.db,
        view.sub,
        view.psub,
        view.ssub,
        view.multi,
        omem,
        omem,
        if omem > 0 { "w" } else { "" },
        view.last_cmd,
        view.resp,
        text(&view.lib_name),
        text(&view.lib_ver),
    );
    line
}

/// The type of a client as of `view`.
fn client_type(view: &View) -> ClientType {
    if view.sub + view.psub + view.ssub > 0 {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// The caller's own line, as of now.
fn own_line(ex: &Exec<'_, '_>) -> String {
    let view = View::of(ex.session);
    match &ex.session.entry {
        Some(entry) => info_line(entry, &view, false),
        None => String::new(),
    }
}

/// `CLIENT INFO`.
fn client_info(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    let mut line = own_line(ex);
    line.push('\n');
    Ok(Reply::Verbatim("txt", Bytes::from(line)))
}

/// `CLIENT LIST [TYPE type] [ID id ...]`.
fn client_list(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let mut kind = None;
    let mut ids: Option<Vec<u64>> = None;
    if args.len() == 4 && args::is(&args[2], "type") {
        kind = Some(ClientType::parse(&args[3]).ok_or_else(|| {
            Error::err(format!("Unknown client type '{}'", args::text(&args[3])))
        })?);
    } else if args.len() >= 4 && args::is(&args[2], "id") {
        let mut list = Vec::with_capacity(args.len() - 3);
        for a in &args[3..] {
            // Any integer is accepted (0 and negative ids match nobody), as in Redis.
            match crate::util::number::parse_i64(a) {
                Some(n) => list.extend(u64::try_from(n).ok().filter(|&n| n > 0)),
                None => return Err(Error::err("Invalid client ID")),
            }
        }
        ids = Some(list);
    } else if args.len() != 2 {
        return Err(Error::Syntax);
    }
    let me = ex.session.id;
    let mut out = String::new();
    let entries = match &ids {
        Some(ids) => ids
            .iter()
            .filter_map(|id| ex.shared.clients.get(*id))
            .collect(),
        None => ex.shared.clients.all(),
    };
    for entry in entries {
        let (view, blocked) = if entry.id == me {
            (View::of(ex.session), false)
        } else {
            let v = entry.view();
            let blocked = v
                .blocked
                .is_some_and(|w| ex.shared.waiters.is_registered(w));
            (v, blocked)
        };
        if kind.is_some_and(|k| k != client_type(&view)) {
            continue;
        }
        out.push_str(&info_line(&entry, &view, blocked));
        out.push('\n');
    }
    Ok(Reply::Verbatim("txt", Bytes::from(out)))
}

/// What CLIENT KILL's filters select.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    skipme: bool,
}

impl KillFilter {
    fn parse(args: &[Bytes]) -> Result<KillFilter> {
        let mut f = KillFilter {
            skipme: true,
            ..KillFilter::default()
        };
        let mut i = 2;
        while i < args.len() {
            let Some(value) = args.get(i + 1) else {
                return Err(Error::Syntax);
            };
            let opt = &args[i];
            if args::is(opt, "id") {
                match crate::util::number::parse_i64(value) {
                    Some(n) if n > 0 => f.id = Some(n as u64),
                    _ => return Err(Error::err("client-id should be greater than 0")),
                }
            } else if args::is(opt, "type") {
                f.kind = Some(ClientType::parse(value).ok_or_else(|| {
                    Error::err(format!("Unknown client type '{}'", args::text(value)))
                })?);
            } else if args::is(opt, "addr") {
                f.addr = Some(value.clone());
            } else if args::is(opt, "laddr") {
                f.laddr = Some(value.clone());
            } else if args::is(opt, "user") {
                // Talus has Redis's single `default` user.
                if value.as_ref() != b"default" {
                    return Err(Error::err(format!("No such user '{}'", args::text(value))));
                }
            } else if args::is(opt, "skipme") {
                f.skipme = if args::is(value, "yes") {
                    true
                } else if args::is(value, "no") {
                    false
                } else {
                    return Err(Error::Syntax);
                };
            } else {
                return Err(Error::Syntax);
            }
            i += 2;
        }
        Ok(f)
    }

    fn matches(&self, entry: &ClientEntry, view: &View) -> bool {
        self.id.is_none_or(|id| id == entry.id)
            && self.kind.is_none_or(|k| k == client_type(view))
            && self
                .addr
                .as_ref()
                .is_none_or(|a| a.as_ref() == entry.peer.to_string().as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a.as_ref() == entry.local.to_string().as_bytes())
    }
}

/// `CLIENT KILL ip:port` (legacy) or `CLIENT KILL <filter> <value> ...`.
fn client_kill(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let me = ex.session.id;
    if args.len() == 3 {
        let addr = &args[2];
        let target = ex
            .shared
            .clients
            .all()
            .into_iter()
            .find(|e| !e.handle.is_closed() && e.peer.to_string().as_bytes() == addr.as_ref());
        let Some(target) = target else {
            return Err(Error::err("No such client"));
        };
        kill(ex, &target, me);
        return Ok(Reply::ok());
    }
    let filter = KillFilter::parse(args)?;
    let mut killed = 0;
    for entry in ex.shared.clients.all() {
        // A client already being closed (killed, but its connection not gone yet) is gone
        // for Redis, which frees killed clients at once.
        if (filter.skipme && entry.id == me) || (entry.id != me && entry.handle.is_closed()) {
            continue;
        }
        let view = if entry.id == me {
            View::of(ex.session)
        } else {
            entry.view()
        };
        if filter.matches(&entry, &view) {
            kill(ex, &entry, me);
            killed += 1;
        }
    }
    Ok(Reply::Integer(killed))
}

/// Closes a client; the caller itself is closed after this reply, as Redis does.
fn kill(ex: &mut Exec<'_, '_>, target: &ClientEntry, me: u64) {
    if target.id == me {
        ex.flow = Flow::Close;
    } else {
        target.handle.kill();
    }
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`.
fn client_pause(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    // Redis checks the argument count and the mode before the timeout.
    let all = match args.len() {
        3 => true,
        4 if args::is(&args[3], "all") => true,
        4 if args::is(&args[3], "write") => false,
        4 => return Err(Error::err("CLIENT PAUSE mode must be WRITE or ALL")),
        _ => return Err(subcommand_syntax(args)),
    };
    let timeout = crate::util::number::parse_i64(&args[2])
        .ok_or_else(|| Error::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Error::err("timeout is negative"));
    }
    // Redis 7.0 adds the timeout to the current time in a signed 64-bit integer: an end past
    // its range wraps into the past, so such a pause ends at once. Same here, instead of an
    // endless pause.
    let now = i64::try_from(crate::clients::unix_ms()).unwrap_or(i64::MAX);
    if let Some(until) = now.checked_add(timeout) {
        ex.shared.clients.pause(until as u64, all);
    }
    Ok(Reply::ok())
}

/// Redis's reply to a CLIENT subcommand given the wrong number of arguments by its handler.
fn subcommand_syntax(args: &[Bytes]) -> Error {
    Error::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
        args::text(&args[1])
    ))
}

/// `CLIENT UNPAUSE`.
fn client_unpause(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    ex.shared.clients.unpause();
    Ok(Reply::ok())
}

/// `CLIENT REPLY ON|OFF|SKIP`: ON answers OK; OFF and SKIP answer nothing.
fn client_reply(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    let mode = &args[2];
    ex.session.reply = if args::is(mode, "on") {
        ReplyMode::On
    } else if args::is(mode, "off") {
        ReplyMode::Off
    } else if args::is(mode, "skip") {
        // This command's reply and the next one's; no effect while replies are off (Redis).
        match ex.session.reply {
            ReplyMode::Off => ReplyMode::Off,
            _ => ReplyMode::Skip(2),
        }
    } else {
        return Err(Error::Syntax);
    };
    Ok(Reply::ok())
}

/// `CLIENT NO-EVICT ON|OFF` (accepted; Talus evicts no client).
fn client_no_evict(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    ex.session.no_evict = if args::is(&args[2], "on") {
        true
    } else if args::is(&args[2], "off") {
        false
    } else {
        return Err(Error::Syntax);
    };
    Ok(Reply::ok())
}

/// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]`: answers a client blocked by a blocking command
/// with its timeout reply or an UNBLOCKED error; 1 if it was blocked.
fn client_unblock(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    // Redis checks the argument count and the reason before the id.
    let error = match args.len() {
        3 => false,
        4 if args::is(&args[3], "timeout") => false,
        4 if args::is(&args[3], "error") => true,
        4 => {
            return Err(Error::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => return Err(subcommand_syntax(args)),
    };
    let id = crate::util::number::parse_i64(&args[2]).ok_or(Error::NotInteger)?;
    let Some(entry) = u64::try_from(id)
        .ok()
        .and_then(|id| ex.shared.clients.get(id))
    else {
        return Ok(Reply::Integer(0));
    };
    let Some(mut waiter) = entry
        .view()
        .blocked
        .and_then(|w| ex.shared.waiters.remove(w))
    else {
        return Ok(Reply::Integer(0));
    };
    let reply = if error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        std::mem::replace(&mut waiter.timeout_reply, Reply::NoReply)
    };
    waiter.client.unblock(waiter.encode(reply));
    Ok(Reply::Integer(1))
}

/// `CLIENT GETREDIR`: -1 (no client tracking).
fn client_getredir(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(-1))
}

/// `MONITOR`: from now on the client receives every command the server runs.
fn monitor(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    if ex.session.in_exec {
        return Err(Error::err("MONITOR isn't allowed for DENY BLOCKING client"));
    }
    if !ex.session.monitor {
        ex.session.monitor = true;
        ex.shared
            .clients
            .add_monitor(ex.session.id, ex.session.client.clone());
    }
    Ok(Reply::ok())
}

/// `RESET`: the connection's state as a new connection has it (no transaction, watches,
/// subscriptions or MONITOR; db 0, RESP2, no name, replies on, authenticated only if no
/// password is required). CLIENT NO-EVICT stays as it was, as in Redis 7.0.
fn reset(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    reset_session(ex.shared, ex.session);
    Ok(Reply::simple("RESET"))
}

fn reset_session(shared: &crate::shared::Shared, session: &mut Session) {
    session.multi = None;
    shared.watches.unwatch(&mut session.watches);
    super::pubsub::leave_all(shared, session);
    if session.monitor {
        session.monitor = false;
        shared.clients.remove_monitor(session.id);
    }
    session.db = 0;
    session.resp = 2;
    session.name = None;
    session.reply = ReplyMode::On;
    // CLIENT NO-EVICT survives RESET in Redis 7.0.
    session.authenticated = shared.config.requirepass().is_none();
}

/// `CLIENT HELP`.
fn client_help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(super::connection::help_reply(
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    ))
}
