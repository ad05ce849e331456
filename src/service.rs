//! The bridge between the actor pipeline and the commands: `talus_actors::Service` for Talus.

use crate::cmd;
use crate::session::Session;
use crate::shared::Shared;
use bytes::BytesMut;
use std::sync::Arc;
use talus_actors::{Args, ClientInfo, Flow, Service, Work};

/// Runs batches of commands against the shared state.
pub struct TalusService {
    shared: Arc<Shared>,
    on_shutdown: Box<dyn Fn() + Send + Sync>,
}

thread_local! {
    /// Whether this thread has applied `server_cpulist` and `sched-batch` (workers and executors
    /// do on first use).
    static SET_UP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl TalusService {
    /// Sets up the calling worker or executor thread: binds it to `server_cpulist` and sets its
    /// scheduling policy (`sched-batch`), once per thread (the actors crate owns the threads;
    /// this is the first Talus code each of them runs).
    fn setup_thread(&self) {
        if SET_UP.with(|b| b.replace(true)) {
            return;
        }
        let config = &self.shared.config;
        let cpus = config.server_cpus();
        if let Err(e) = crate::util::cpulist::bind_current_thread(cpus) {
            log::warn!("cannot bind a thread to server_cpulist {cpus:?}: {e}");
        }
        if config.sched_batch() {
            if let Err(e) = crate::util::sched::set_batch_policy() {
                log::warn!("cannot put a thread under SCHED_BATCH: {e}");
            }
        }
    }

    /// A service over `shared`; `on_shutdown` runs once every executor has stopped.
    pub fn new(shared: Arc<Shared>, on_shutdown: Box<dyn Fn() + Send + Sync>) -> TalusService {
        TalusService {
            shared,
            on_shutdown,
        }
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Service for TalusService {
    type Session = Session;

    fn open_session(&self, info: &ClientInfo) -> Session {
        self.setup_thread();
        let authenticated = self.shared.config.requirepass().is_none();
        let mut session = Session::new(
            info.id,
            info.peer,
            info.local,
            authenticated,
            info.handle.clone(),
        );
        let entry =
            self.shared
                .clients
                .register(&session, info.local, info.fd, info.handle.clone());
        session.entry = Some(entry);
        session
    }

    fn execute(&self, session: &mut Session, cmds: &[Args], out: &mut BytesMut) -> Flow {
        self.setup_thread();
        let flow = crate::pubsub::gathered(|| cmd::execute_batch(&self.shared, session, cmds, out));
        session.publish_view();
        flow
    }

    fn execute_group(&self, group: &mut [Work<Session>]) {
        self.setup_thread();
        crate::pubsub::gathered(|| cmd::execute_group(&self.shared, group));
        for w in group.iter() {
            w.session.publish_view();
        }
    }

    fn execute_alone(
        &self,
        session: &mut Session,
        cmds: &[Args],
        out: &mut BytesMut,
    ) -> Option<Flow> {
        self.setup_thread();
        let flow = crate::pubsub::gathered(|| cmd::execute_alone(&self.shared, session, cmds, out));
        if flow.is_some() {
            session.publish_view();
        }
        flow
    }

    fn cancel_block(&self, session: &mut Session) -> Option<BytesMut> {
        // Under the registry lock: either the waiter is still there (timed out) or it was
        // served and its reply is on its way.
        let mut waiter = self.shared.waiters.remove(session.blocked.take()?)?;
        let reply = std::mem::replace(&mut waiter.timeout_reply, crate::reply::Reply::NoReply);
        Some(waiter.encode(reply))
    }

    fn close_session(&self, mut session: Session) {
        // A blocked client that leaves leaves no waiter behind.
        if let Some(id) = session.blocked.take() {
            self.shared.waiters.remove(id);
        }
        // A client that leaves inside MULTI leaves nothing: its queue goes with the session.
        self.shared.watches.unwatch(&mut session.watches);
        cmd::pubsub::leave_all(&self.shared, &mut session);
        self.shared.clients.unregister(session.id);
    }

    fn idle_exempt(&self, session: &Session) -> bool {
        // As Redis: subscribed clients only listen, so `timeout` does not close them.
        session.subscribed()
    }

    fn requires_auth(&self, session: &Session) -> bool {
        self.shared.config.auth_required(session.authenticated)
    }

    fn shutdown(&self) {
        (self.on_shutdown)();
    }
}
