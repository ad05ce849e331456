//! The scheduling policy of Talus's server threads (`sched-batch`).
//!
//! Under Linux's default policy a thread that wakes up preempts the one running on its CPU when
//! it has waited longer. A worker (io) thread wakes for every burst of requests and every round
//! of replies, so where a worker and an executor share a CPU the worker kept interrupting the
//! executor in the middle of a round (measured: about 8 500 such preemptions a second under
//! `redis-benchmark -t set -c 50`, nine in ten of the executor's involuntary switches), and
//! every reply of that round waited. `SCHED_BATCH` is the kernel's policy for exactly this
//! ("a deterministic scheduling policy without interactivity causing extra preemptions between
//! the workload's tasks", sched(7)): a batch thread that wakes does not preempt the running one;
//! it runs when that one sleeps or its time slice ends, or on an idle CPU. Threads keep their
//! nice value and their share of the CPU; no privilege is needed.

/// Puts the calling thread under `SCHED_BATCH`.
pub fn set_batch_policy() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call; pid 0 is the calling
    // thread.
    os_result(unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) })
}

/// A libc call's return code as a result: 0 is success, anything else the OS error (`errno`).
pub(crate) fn os_result(rc: libc::c_int) -> std::io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_the_calling_thread_under_sched_batch() {
        let policy = std::thread::spawn(|| {
            set_batch_policy().expect("sched_setscheduler");
            // SAFETY: querying the calling thread's policy has no preconditions.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .expect("thread");
        assert_eq!(policy, libc::SCHED_BATCH);
        // Other threads keep the default policy.
        // SAFETY: as above.
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_OTHER);
    }
}
