//! The subscription registry shared by every executor (DESIGN.md §1): who listens on which
//! channel, pattern or shard channel, and delivery of published messages.
//!
//! PUBLISH counts its receivers synchronously and hands each one the encoded message through
//! its [`ClientHandle`] (`push`, a `do_send` to the subscriber's Connection, whatever worker it
//! is on). A connection writes pushed messages after whatever it is writing, in order; the bytes
//! pushed and not yet written count against the subscriber's output-buffer limit
//! (`client-output-buffer-limit pubsub`), and a subscriber past it is closed, as Redis closes a
//! slow subscriber, instead of growing memory without bound.
//!
//! A client's own subscriptions live in its session ([`Subscriptions`]); the registry is the
//! reverse index: channel → subscribers. Each message is encoded once per channel (and once per
//! matching pattern) and shared by all its receivers.

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use talus_actors::{ClientHandle, OutputLimit};

/// The three namespaces a client can subscribe in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE: glob patterns matched against PUBLISH's channel.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH (sharded pub/sub; one shard here).
    Shard,
}

/// One subscriber: its client id and how to reach it.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// CLIENT ID.
    pub id: u64,
    /// The connection.
    pub handle: ClientHandle,
}

/// A client's subscriptions (kept in its session).
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// SUBSCRIBE channels.
    pub channels: HashSet<Bytes>,
    /// PSUBSCRIBE patterns.
    pub patterns: HashSet<Bytes>,
    /// SSUBSCRIBE shard channels.
    pub shard: HashSet<Bytes>,
}

impl Subscriptions {
    /// The set for `space`.
    pub fn set(&mut self, space: Space) -> &mut HashSet<Bytes> {
        match space {
            Space::Channel => &mut self.channels,
            Space::Pattern => &mut self.patterns,
            Space::Shard => &mut self.shard,
        }
    }

    /// The count SUBSCRIBE/PSUBSCRIBE replies carry (channels + patterns); SSUBSCRIBE's
    /// replies carry the shard channels only, as Redis 7.0's do.
    pub fn count(&self, space: Space) -> usize {
        match space {
            Space::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// True when subscribed to anything (the client is in the pub/sub context).
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }
}

#[derive(Default)]
struct Index {
    channels: HashMap<Bytes, Vec<Subscriber>>,
    patterns: HashMap<Bytes, Vec<Subscriber>>,
    shard: HashMap<Bytes, Vec<Subscriber>>,
}

impl Index {
    fn map(&mut self, space: Space) -> &mut HashMap<Bytes, Vec<Subscriber>> {
        match space {
            Space::Channel => &mut self.channels,
            Space::Pattern => &mut self.patterns,
            Space::Shard => &mut self.shard,
        }
    }

    fn get(&self, space: Space) -> &HashMap<Bytes, Vec<Subscriber>> {
        match space {
            Space::Channel => &self.channels,
            Space::Pattern => &self.patterns,
            Space::Shard => &self.shard,
        }
    }
}

/// The registry: channel, pattern and shard channel → subscribers.
#[derive(Default)]
pub struct PubSub {
    index: RwLock<Index>,
    /// Subscriptions of every kind (a fast "nobody listens" check for keyspace events).
    total: AtomicUsize,
    /// Clients subscribed to anything (INFO `pubsub_clients`).
    clients: AtomicUsize,
}

impl PubSub {
    /// Adds `sub` to `name` in `space` (the caller checked it was not subscribed already).
    pub fn subscribe(&self, space: Space, name: &Bytes, sub: &Subscriber) {
        self.index
            .write()
            .map(space)
            .entry(name.clone())
            .or_default()
            .push(sub.clone());
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes client `id` from `name` in `space`.
    pub fn unsubscribe(&self, space: Space, name: &[u8], id: u64) {
        let mut index = self.index.write();
        let map = index.map(space);
        if let Some(subs) = map.get_mut(name) {
            let before = subs.len();
            subs.retain(|s| s.id != id);
            self.total.fetch_sub(before - subs.len(), Ordering::Relaxed);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// A client entered (`true`) or left the pub/sub context.
    pub fn client_subscribed(&self, entered: bool) {
        if entered {
            self.clients.fetch_add(1, Ordering::Relaxed);
        } else {
            self.clients.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Clients subscribed to anything.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// True when nobody is subscribed to anything.
    pub fn is_idle(&self) -> bool {
        self.total.load(Ordering::Relaxed) == 0
    }

    /// Delivers `message` on `channel` to its subscribers and to the subscribers of every
    /// pattern that matches it; returns how many received it.
    pub fn publish(&self, channel: &[u8], message: &[u8], limit: OutputLimit) -> usize {
        if self.is_idle() {
            return 0;
        }
        let index = self.index.read();
        let mut receivers = 0;
        if let Some(subs) = index.channels.get(channel) {
            let frame = encode(&[b"message", channel, message]);
            receivers += deliver(subs, &frame, limit);
        }
        for (pattern, subs) in &index.patterns {
            if crate::util::glob::glob_match(pattern, channel, false) {
                let frame = encode(&[b"pmessage", pattern, channel, message]);
                receivers += deliver(subs, &frame, limit);
            }
        }
        receivers
    }

    /// Delivers `message` on shard channel `channel` (SPUBLISH); returns the receivers.
    pub fn spublish(&self, channel: &[u8], message: &[u8], limit: OutputLimit) -> usize {
        let index = self.index.read();
        match index.shard.get(channel) {
            Some(subs) => deliver(subs, &encode(&[b"smessage", channel, message]), limit),
            None => 0,
        }
    }

    /// How many would receive a PUBLISH on `channel` now (PUBLISH inside EXEC counts now and
    /// delivers after the commit).
    pub fn receivers(&self, space: Space, channel: &[u8]) -> usize {
        if self.is_idle() {
            return 0;
        }
        let index = self.index.read();
        let direct = index.get(space).get(channel).map_or(0, Vec::len);
        if space != Space::Channel {
            return direct;
        }
        direct
            + index
                .patterns
                .iter()
                .filter(|(p, _)| crate::util::glob::glob_match(p, channel, false))
                .map(|(_, subs)| subs.len())
                .sum::<usize>()
    }

    /// The active channels of `space` (with at least one subscriber), those matching
    /// `pattern` if given (PUBSUB CHANNELS / SHARDCHANNELS).
    pub fn active(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let index = self.index.read();
        index
            .get(space)
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::util::glob::glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of `channel` in `space`, patterns not counted (PUBSUB NUMSUB).
    pub fn numsub(&self, space: Space, channel: &[u8]) -> usize {
        self.index
            .read()
            .get(space)
            .get(channel)
            .map_or(0, Vec::len)
    }

    /// Patterns with at least one subscriber (PUBSUB NUMPAT, INFO `pubsub_patterns`).
    pub fn numpat(&self) -> usize {
        self.index.read().patterns.len()
    }

    /// Channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn numchannels(&self) -> usize {
        self.index.read().channels.len()
    }
}

/// Pushes `frame` to every subscriber; all count as receivers (one over its limit is being
/// closed, as Redis counts a client it is about to close).
fn deliver(subs: &[Subscriber], frame: &Bytes, limit: OutputLimit) -> usize {
    OUTBOX.with(|outbox| match &mut *outbox.borrow_mut() {
        Some(outbox) => {
            for s in subs {
                outbox.add(s, frame, limit);
            }
        }
        None => {
            for s in subs {
                push(&s.handle, s.id, frame.clone(), limit);
            }
        }
    });
    subs.len()
}

fn push(handle: &ClientHandle, id: u64, bytes: Bytes, limit: OutputLimit) {
    if let Err(talus_actors::PushRefused::OverLimit) = handle.push(bytes, limit) {
        log::warn!(
            "Client id={id} scheduled to be closed ASAP for overcoming of output buffer limits."
        );
    }
}

thread_local! {
    /// Messages an executor thread produced for each subscriber during the current group,
    /// sent as one push per subscriber when the group is done ([`gathered`]).
    static OUTBOX: std::cell::RefCell<Option<Outbox>> = const { std::cell::RefCell::new(None) };
}

/// One executor group's pending messages, by subscriber, in publication order.
#[derive(Default)]
struct Outbox {
    by_client: HashMap<u64, (ClientHandle, BytesMut, OutputLimit)>,
}

impl Outbox {
    fn add(&mut self, sub: &Subscriber, frame: &Bytes, limit: OutputLimit) {
        let (handle, buf, lim) = self
            .by_client
            .entry(sub.id)
            .or_insert_with(|| (sub.handle.clone(), BytesMut::new(), limit));
        *lim = limit;
        // The hard limit holds within a group too: what is gathered counts with what is queued.
        let total = handle.pending_output() + (buf.len() + frame.len()) as u64;
        if limit.hard > 0 && total > limit.hard {
            if !handle.is_closed() {
                handle.kill();
                log::warn!(
                    "Client id={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    sub.id
                );
            }
            buf.clear();
            return;
        }
        buf.extend_from_slice(frame);
    }

    fn flush(self) {
        for (id, (handle, buf, limit)) in self.by_client {
            if !buf.is_empty() {
                push(&handle, id, buf.freeze(), limit);
            }
        }
    }
}

/// Runs `f` (an executor's group of batches) gathering the messages it publishes per
/// subscriber, then sends each subscriber its messages as one push: a pipeline of PUBLISHes to
/// 50 subscribers costs 50 mailbox messages and at most 50 writes, not 50 per PUBLISH.
/// Messages still leave before the group's replies, in publication order.
pub fn gathered<R>(f: impl FnOnce() -> R) -> R {
    let nested = OUTBOX.with(|o| {
        let mut o = o.borrow_mut();
        let nested = o.is_some();
        if !nested {
            *o = Some(Outbox::default());
        }
        nested
    });
    /// Sends what was gathered, also when `f` panics (the executor survives panics).
    struct Flush(bool);
    impl Drop for Flush {
        fn drop(&mut self) {
            if self.0 {
                if let Some(outbox) = OUTBOX.with(|o| o.borrow_mut().take()) {
                    outbox.flush();
                }
            }
        }
    }
    let _flush = Flush(!nested);
    f()
}

/// A RESP2 array of bulk strings.
pub fn encode(parts: &[&[u8]]) -> Bytes {
    let len: usize = parts.iter().map(|p| p.len() + 16).sum();
    let mut out = BytesMut::with_capacity(len + 8);
    header(&mut out, b'*', parts.len());
    for p in parts {
        header(&mut out, b'$', p.len());
        out.put_slice(p);
        out.put_slice(b"\r\n");
    }
    out.freeze()
}

fn header(out: &mut BytesMut, tag: u8, n: usize) {
    out.put_u8(tag);
    out.put_slice(crate::util::number::fmt_i64(n as i64).as_bytes());
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_frame() {
        assert_eq!(
            &encode(&[b"message", b"ch", b"hi"])[..],
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
    }
}
