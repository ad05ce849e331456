//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE,
//! PUBLISH, SPUBLISH and PUBSUB (CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB, HELP), with
//! Redis 7.0's replies; and the delivery of keyspace notifications.
//!
//! A client's subscriptions live in its session and in the shared registry
//! ([`crate::pubsub::PubSub`]). While subscribed to anything, a RESP2 client may only run the
//! commands flagged [`SUB_OK`] (the dispatcher refuses the rest with Redis's text).
//!
//! PUBLISH counts its receivers and delivers at once (an executor gathers a group's messages per
//! subscriber and sends them when the group is done, before any of its replies,
//! [`crate::pubsub::gathered`]). A key command before it in the same batch has been committed by
//! then (key commands group only with key commands), so `SET k v; PUBLISH ch m` never lets a
//! subscriber see the message before the value. Inside EXEC it counts its receivers at once and
//! delivers after the transaction's commit. Keyspace notifications are delivered when the
//! command (or transaction, or expiry) that caused them has been committed, before its reply.
//!
//! One difference from Redis in the order of events: a read that meets an expired key answers
//! as if it were gone (and reports `keymiss`) but does not delete it, since reads take no locks;
//! the active-expiry cycle deletes it soon after and reports `expired` then (Redis deletes it in
//! the read and reports `expired` before `keymiss`). A write that meets one deletes it first,
//! as Redis does.

use super::unlocked as spec;
use super::{args, flags::*, CommandSpec, Exec, KeySpec, Locking};
use crate::config::notify;
use crate::error::{Error, Result};
use crate::pubsub::{Space, Subscriber, Subscriptions};
use crate::reply::Reply;
use crate::session::Session;
use crate::shared::Shared;
use crate::storage::context::{KeyEvent, Published};
use bytes::Bytes;

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE | SUB_OK;
const PUB: u32 = PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE;
const INFO: u32 = PUBSUB | LOADING | STALE;

/// The pub/sub commands (arity, flags and keys as Redis 7.0's COMMAND reports them).
pub static COMMANDS: &[CommandSpec] = &[
    spec("subscribe", -2, SUB, KeySpec::NONE, subscribe),
    spec("unsubscribe", -1, SUB, KeySpec::NONE, unsubscribe),
    spec("psubscribe", -2, SUB, KeySpec::NONE, psubscribe),
    spec("punsubscribe", -1, SUB, KeySpec::NONE, punsubscribe),
    spec("ssubscribe", -2, SUB, KeySpec::ALL, ssubscribe),
    spec("sunsubscribe", -1, SUB, KeySpec::ALL, sunsubscribe),
    spec("publish", 3, PUB, KeySpec::NONE, publish),
    spec("spublish", 3, PUB, KeySpec::ONE, spublish),
    CommandSpec {
        name: "pubsub",
        arity: -2,
        flags: 0,
        keys: KeySpec::NONE,
        locking: Locking::None,
        handler: super::container,
        subcommands: PUBSUB_SUBCOMMANDS,
    },
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    spec("pubsub|channels", -2, INFO, KeySpec::NONE, pubsub_channels),
    spec("pubsub|numsub", -2, INFO, KeySpec::NONE, pubsub_numsub),
    spec("pubsub|numpat", 2, INFO, KeySpec::NONE, pubsub_numpat),
    spec(
        "pubsub|shardchannels",
        -2,
        INFO,
        KeySpec::NONE,
        pubsub_shardchannels,
    ),
    spec(
        "pubsub|shardnumsub",
        -2,
        INFO,
        KeySpec::NONE,
        pubsub_shardnumsub,
    ),
    spec(
        "pubsub|help",
        2,
        LOADING | STALE,
        KeySpec::NONE,
        pubsub_help,
    ),
];

/// The reply kinds of each namespace: (subscribe, unsubscribe).
fn names(space: Space) -> (&'static str, &'static str) {
    match space {
        Space::Channel => ("subscribe", "unsubscribe"),
        Space::Pattern => ("psubscribe", "punsubscribe"),
        Space::Shard => ("ssubscribe", "sunsubscribe"),
    }
}

fn confirmation(kind: &'static str, name: Option<Bytes>, count: usize) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(kind.as_bytes())),
        Reply::opt_bulk(name),
        Reply::Integer(count as i64),
    ])
}

fn subscribe(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    add(ex, Space::Channel, &args[1..])
}

fn psubscribe(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    add(ex, Space::Pattern, &args[1..])
}

fn ssubscribe(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    add(ex, Space::Shard, &args[1..])
}

fn unsubscribe(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(remove(ex.shared, ex.session, Space::Channel, &args[1..]))
}

fn punsubscribe(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(remove(ex.shared, ex.session, Space::Pattern, &args[1..]))
}

fn sunsubscribe(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(remove(ex.shared, ex.session, Space::Shard, &args[1..]))
}

/// Subscribes the client to `names` in `space`, answering once per name.
fn add(ex: &mut Exec<'_, '_>, space: Space, names_: &[Bytes]) -> Result<Reply> {
    let session = &mut *ex.session;
    let shared = ex.shared;
    let was = session.subscribed();
    let sub = Subscriber {
        id: session.id,
        handle: session.client.clone(),
    };
    let subs = session
        .subs
        .get_or_insert_with(|| Box::new(Subscriptions::default()));
    let mut replies = Vec::with_capacity(names_.len());
    for name in names_ {
        if subs.set(space).insert(name.clone()) {
            shared.pubsub.subscribe(space, name, &sub);
        }
        replies.push(confirmation(
            names(space).0,
            Some(name.clone()),
            subs.count(space),
        ));
    }
    if !was && session.subscribed() {
        shared.pubsub.client_subscribed(true);
    }
    Ok(Reply::Multi(replies))
}

/// Unsubscribes the client from `names` in `space` (from all of them when `names` is empty),
/// answering once per name (once with a nil name when there was nothing to leave).
pub fn remove(shared: &Shared, session: &mut Session, space: Space, names_: &[Bytes]) -> Reply {
    let was = session.subscribed();
    let kind = names(space).1;
    let id = session.id;
    let Some(subs) = session.subs.as_mut() else {
        return if names_.is_empty() {
            confirmation(kind, None, 0)
        } else {
            Reply::Multi(
                names_
                    .iter()
                    .map(|n| confirmation(kind, Some(n.clone()), 0))
                    .collect(),
            )
        };
    };
    let targets: Vec<Bytes> = if names_.is_empty() {
        subs.set(space).iter().cloned().collect()
    } else {
        names_.to_vec()
    };
    let mut replies = Vec::with_capacity(targets.len().max(1));
    for name in targets {
        if subs.set(space).remove(&name) {
            shared.pubsub.unsubscribe(space, &name, id);
        }
        replies.push(confirmation(kind, Some(name), subs.count(space)));
    }
    if replies.is_empty() {
        replies.push(confirmation(kind, None, subs.count(space)));
    }
    if was && !session.subscribed() {
        shared.pubsub.client_subscribed(false);
    }
    Reply::Multi(replies)
}

/// Leaves every channel, pattern and shard channel (RESET, disconnect), without replies.
pub fn leave_all(shared: &Shared, session: &mut Session) {
    let was = session.subscribed();
    if let Some(subs) = session.subs.take() {
        for (space, set) in [
            (Space::Channel, &subs.channels),
            (Space::Pattern, &subs.patterns),
            (Space::Shard, &subs.shard),
        ] {
            for name in set {
                shared.pubsub.unsubscribe(space, name, session.id);
            }
        }
    }
    if was {
        shared.pubsub.client_subscribed(false);
    }
}

/// `PUBLISH channel message`.
fn publish(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(send(ex, false, &args[1], &args[2]) as i64))
}

/// `SPUBLISH shardchannel message`.
fn spublish(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(send(ex, true, &args[1], &args[2]) as i64))
}

fn send(ex: &mut Exec<'_, '_>, shard: bool, channel: &Bytes, message: &Bytes) -> usize {
    let pubsub = &ex.shared.pubsub;
    if ex.session.in_exec {
        let space = if shard { Space::Shard } else { Space::Channel };
        ex.ctx
            .publish_later(shard, channel.clone(), message.clone());
        return pubsub.receivers(space, channel);
    }
    let limit = pubsub_limit(ex.shared);
    if shard {
        pubsub.spublish(channel, message, limit)
    } else {
        pubsub.publish(channel, message, limit)
    }
}

/// The output-buffer limit of subscribers (`client-output-buffer-limit pubsub`).
pub fn pubsub_limit(shared: &Shared) -> talus_actors::OutputLimit {
    shared
        .config
        .output_limit(crate::config::ClientClass::PubSub)
}

/// Delivers what a committed context published and notified.
pub fn deliver(shared: &Shared, published: Vec<Published>, events: &[KeyEvent]) {
    if shared.pubsub.is_idle() {
        return;
    }
    let limit = pubsub_limit(shared);
    for p in published {
        if p.shard {
            shared.pubsub.spublish(&p.channel, &p.message, limit);
        } else {
            shared.pubsub.publish(&p.channel, &p.message, limit);
        }
    }
    let flags = shared.config.notify_keyspace_events();
    if flags == 0 {
        return;
    }
    for ev in events {
        if flags & notify::class_bit(ev.class) == 0 {
            continue;
        }
        if flags & notify::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", ev.db).into_bytes();
            channel.extend_from_slice(&ev.key);
            shared.pubsub.publish(&channel, ev.event.as_bytes(), limit);
        }
        if flags & notify::KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", ev.db, ev.event);
            shared.pubsub.publish(channel.as_bytes(), &ev.key, limit);
        }
    }
}

/// `PUBSUB CHANNELS [pattern]`.
fn pubsub_channels(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    channels(ex, Space::Channel, args)
}

/// `PUBSUB SHARDCHANNELS [pattern]`.
fn pubsub_shardchannels(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    channels(ex, Space::Shard, args)
}

fn channels(ex: &mut Exec<'_, '_>, space: Space, args: &[Bytes]) -> Result<Reply> {
    if args.len() > 3 {
        return Err(Error::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            args::text(&args[1])
        )));
    }
    let found = ex.shared.pubsub.active(space, args.get(2).map(|p| &p[..]));
    Ok(Reply::Array(found.into_iter().map(Reply::Bulk).collect()))
}

/// `PUBSUB NUMSUB [channel ...]`.
fn pubsub_numsub(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    numsub(ex, Space::Channel, args)
}

/// `PUBSUB SHARDNUMSUB [shardchannel ...]`.
fn pubsub_shardnumsub(ex: &mut Exec<'_, '_>, args: &[Bytes]) -> Result<Reply> {
    numsub(ex, Space::Shard, args)
}

fn numsub(ex: &mut Exec<'_, '_>, space: Space, args: &[Bytes]) -> Result<Reply> {
    let mut out = Vec::with_capacity((args.len() - 2) * 2);
    for ch in &args[2..] {
        out.push(Reply::Bulk(ch.clone()));
        out.push(Reply::Integer(ex.shared.pubsub.numsub(space, ch) as i64));
    }
    Ok(Reply::Array(out))
}

/// `PUBSUB NUMPAT`.
fn pubsub_numpat(ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(Reply::Integer(ex.shared.pubsub.numpat() as i64))
}

/// `PUBSUB HELP`.
fn pubsub_help(_ex: &mut Exec<'_, '_>, _args: &[Bytes]) -> Result<Reply> {
    Ok(super::connection::help_reply(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    ))
}
