//! Stop requests from outside: SIGUSR1 (Slurm's warning before the time limit, e.g.
//! `sbatch --signal=USR1@120`) and SIGTERM (`scancel`, pre-emption, the time limit itself).
//!
//! The handler only records the signal; the driver polls [`requested`] once per step,
//! agrees with the other ranks, and stops after writing a checkpoint. A second signal
//! while the checkpoint is being written is recorded the same way and changes nothing, so
//! it cannot interrupt the write. No MPI here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The signals that ask a run to checkpoint and stop.
const STOP_SIGNALS: [i32; 2] = [signal_hook::consts::SIGUSR1, signal_hook::consts::SIGTERM];

static RECEIVED: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();

/// Installs the handlers (idempotent). Call it first thing in `main`, before MPI starts,
/// so a signal that arrives early is not fatal.
pub fn install() {
    let received = RECEIVED.get_or_init(|| Arc::new(AtomicUsize::new(0)));
    for signal in STOP_SIGNALS {
        // an async-signal-safe store of the signal number
        signal_hook::flag::register_usize(signal, Arc::clone(received), signal as usize)
            .expect("installing a signal handler");
    }
}

/// For one-shot commands (no steps, nothing to checkpoint): the stop signals end the
/// process at once, as if no handler were installed, so `scancel` and a time limit end
/// the job without waiting for the kill that follows. Call it after [`install`].
pub fn stop_signals_end_the_process() {
    let always = Arc::new(std::sync::atomic::AtomicBool::new(true));
    for signal in STOP_SIGNALS {
        signal_hook::flag::register_conditional_default(signal, Arc::clone(&always))
            .expect("installing a signal handler");
    }
}

/// The signal that asked this process to stop, if one did.
pub fn requested() -> Option<i32> {
    let received = RECEIVED.get()?.load(Ordering::Relaxed);
    (received != 0).then_some(received as i32)
}

/// The conventional name of `signal` (`SIGUSR1`, `SIGTERM`).
pub fn name(signal: i32) -> String {
    match signal {
        signal_hook::consts::SIGUSR1 => "SIGUSR1".to_string(),
        signal_hook::consts::SIGTERM => "SIGTERM".to_string(),
        s => format!("signal {s}"),
    }
}
