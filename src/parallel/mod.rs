//! The parallel runtime: the only module that talks to MPI.
//!
//! - [`Parallel`]: MPI start-up (with the OpenMPI I/O guard) and the world communicator,
//!   with [`Parallel::agree`], which turns an error on some ranks into an error on all of
//!   them so a bad input ends every rank cleanly instead of hanging the others.
//! - [`Comm`] ([`comm`]): a communicator and its splits (rows and columns of a process
//!   grid); its reductions ([`reduce`]): typed sums, maxima, minima, logical and/or, exact
//!   sums ([`exact_sum`]) and exclusive prefix sums.
//! - [`broadcast`]: nonblocking broadcasts owning their buffers (dense matrices).
//! - [`exchange`]: nonblocking exchange of variable-size messages with a set of ranks,
//!   split into begin / finish; [`ring`]: the ring shift; [`route`]: records routed to
//!   the ranks that own them (all-to-all).
//! - [`Threads`] ([`threads`]): the threads of one rank.
//! - [`main_with_mpi`]: the `main` of every simulation binary.

pub mod binned_sum;
pub mod broadcast;
pub mod comm;
pub mod exact_sum;
pub mod exchange;
pub mod point;
pub mod reduce;
pub mod ring;
pub mod route;
pub mod threads;

pub use binned_sum::BinnedSum;
pub use broadcast::PendingBroadcast;
pub use comm::{Comm, ProcessGrid2d};
pub use exact_sum::ExactSum;
pub use exchange::{NeighbourExchange, Peer, PendingExchange};
pub use ring::RingShift;
pub use threads::Threads;

use crate::error::{Error, Result, EXIT_BUG, EXIT_USAGE};
use mpi::environment::Universe;
use mpi::ffi;
use mpi::Threading;
use std::cell::Cell;
use std::process::ExitCode;

/// The MPI environment of one process: the world communicator (every [`Comm`] method is
/// available on it) and the exit code agreed after an error.
pub struct Parallel {
    world: Comm,
    /// Set once [`Parallel::agree`] has seen an error: the exit code every rank uses.
    agreed_exit_code: Cell<Option<u8>>,
    // Dropped last: finalises MPI.
    _universe: Universe,
}

impl std::ops::Deref for Parallel {
    type Target = Comm;
    fn deref(&self) -> &Comm {
        &self.world
    }
}

/// Chooses the ROMIO MPI-IO backend unless the user picked one.
///
/// OpenMPI 4.1.4's default backend (OMPIO) sometimes writes garbage into collective HDF5
/// writes at 3 to 4 ranks (open-mpi/ompi#12718); ROMIO does not. OpenMPI reads `OMPI_MCA_*`
/// from the environment during `MPI_Init`, so setting it here, before MPI starts, is enough.
fn guard_against_ompio_corruption() {
    if std::env::var_os("OMPI_MCA_io").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("OMPI_MCA_io", "^ompio") };
    }
}

impl Parallel {
    /// Starts MPI (thread level `Funneled`: only the main thread calls MPI).
    fn init() -> Parallel {
        guard_against_ompio_corruption();
        let (universe, _provided) = mpi::initialize_with_threading(Threading::Funneled)
            .expect("MPI is initialised only once");
        Parallel {
            world: Comm::new(universe.world()),
            agreed_exit_code: Cell::new(None),
            _universe: universe,
        }
    }

    /// The world communicator.
    pub fn world(&self) -> &Comm {
        &self.world
    }

    /// Collective: all ranks learn whether any rank failed. Returns `Ok` everywhere if none
    /// did. Otherwise the lowest rank with an error of its own gets it back (and reports it)
    /// while every other rank gets [`Error::ReportedElsewhere`]; all of them then exit
    /// cleanly with the exit code of the reported error.
    ///
    /// A rank passing [`Error::ReportedElsewhere`] (an error already agreed in a nested
    /// call) fails with the others but never becomes the reporter, so the rank that holds
    /// the real error still reports it, and the exit code agreed then stands.
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        let own = matches!(&result, Err(e) if !matches!(e, Error::ReportedElsewhere));
        // one reduction: the lowest rank with an error of its own (as MAX - rank, so that
        // a maximum finds it), and whether any rank failed at all
        let agreed = self.max_each(&[
            if own {
                u64::MAX - self.rank() as u64
            } else {
                0
            },
            u64::from(result.is_err()),
        ]);
        if agreed[1] == 0 {
            return result;
        }
        let reporter = (agreed[0] > 0).then(|| u64::MAX - agreed[0]);
        if let Some(reporter) = reporter {
            let code = match &result {
                Err(e) if reporter == self.rank() as u64 => e.exit_code(),
                _ => 0,
            };
            let agreed = self.max(u32::from(code));
            self.agreed_exit_code.set(Some(agreed as u8));
        }
        match result {
            Err(e) if reporter == Some(self.rank() as u64) => Err(e),
            _ => Err(Error::ReportedElsewhere),
        }
    }

    /// Ends the whole job at once (`MPI_Abort`).
    pub fn abort(&self, code: i32) -> ! {
        abort_world(code)
    }
}

fn abort_world(code: i32) -> ! {
    // SAFETY: MPI_Abort may be called at any time after MPI_Init.
    unsafe { ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, code) };
    std::process::exit(code)
}

/// Runs a simulation's body under MPI and turns its outcome into the process exit code.
///
/// A user error prints one line, `PROGRAM: error: MESSAGE`, on the rank that found it, and
/// every rank exits with its exit code (see [`crate::error`]). An error that only some
/// ranks saw outside [`Parallel::agree`], or a panic (a bug), aborts the whole job so
/// nothing hangs.
pub fn main_with_mpi(program: &str, body: impl FnOnce(&Parallel) -> Result<()>) -> ExitCode {
    crate::signals::install();
    let parallel = Parallel::init();
    let name = program.to_string();
    let rank = parallel.rank();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("{name}: internal error on rank {rank} (a bug, please report it): {info}");
        abort_world(EXIT_BUG);
    }));
    match body(&parallel) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                Error::ReportedElsewhere => {}
                Error::Stopped(why) => eprintln!("{program}: stopped: {why}"),
                _ => eprintln!("{program}: error: {e}"),
            }
            if let Some(code) = parallel.agreed_exit_code.get() {
                ExitCode::from(code)
            } else {
                parallel.abort(EXIT_USAGE as i32)
            }
        }
    }
}
