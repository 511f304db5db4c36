//! The parallel runtime: the only module that talks to MPI directly.
//!
//! - [`Parallel`]: MPI start-up (with the OpenMPI I/O guard), rank facts, reductions, and
//!   [`Parallel::agree`], which turns an error on some ranks into an error on all of them so
//!   a bad input ends every rank cleanly instead of hanging the others in a collective.
//! - [`HaloExchange`]: non-blocking exchange of ghost layers (faces, edges, corners) with
//!   all neighbouring blocks, split into [`HaloExchange::begin`] and [`PendingHalo::finish`]
//!   so interior cells can be updated while messages are in flight.
//! - [`main_with_mpi`]: the `main` of every simulation binary.

use crate::error::{Error, Result};
use crate::exact_sum::{self, ExactSum};
use crate::field::{Field, Scalar};
use crate::geometry::{self, Decomposition, IndexBox};
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;
use std::cell::Cell;
use std::process::ExitCode;

/// Exit code of a run refused for bad input (flags, files, sizes).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a run that stopped early (a signal, `--max-runtime`, the Slurm time limit)
/// after writing a checkpoint: `EX_TEMPFAIL`, "try again", with `--restart auto`.
pub const EXIT_STOPPED: u8 = 75;
/// Exit code of a run killed by an internal error (a bug): the job is aborted.
pub const EXIT_BUG: i32 = 70;

/// The MPI environment of one process.
pub struct Parallel {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// Set once [`Parallel::agree`] has seen an error: the exit code every rank uses.
    agreed_exit_code: Cell<Option<u8>>,
    // Dropped last: finalises MPI.
    _universe: Universe,
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
        let world = universe.world();
        let rank = world.rank() as usize;
        let size = world.size() as usize;
        Parallel {
            world,
            rank,
            size,
            agreed_exit_code: Cell::new(None),
            _universe: universe,
        }
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of ranks in the job.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is rank 0, the one that prints.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    pub fn world(&self) -> &SimpleCommunicator {
        &self.world
    }

    /// The world communicator as a raw handle, for HDF5's MPI-IO driver.
    pub fn raw_world(&self) -> ffi::MPI_Comm {
        self.world.as_raw()
    }

    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Maximum of `x` over all ranks.
    pub fn max_f64(&self, x: f64) -> f64 {
        let mut out = 0.0;
        self.world
            .all_reduce_into(&x, &mut out, SystemOperation::max());
        out
    }

    /// Sum of `x` over all ranks, wrapping on overflow (for order-independent checksums).
    pub fn sum_u64(&self, x: u64) -> u64 {
        let mut out = 0u64;
        self.world
            .all_reduce_into(&x, &mut out, SystemOperation::sum());
        out
    }

    /// The exact sum over all ranks of the partial sums `local`, rounded to a double: the
    /// same bits whatever the rank count (see [`crate::exact_sum`]).
    pub fn sum_exact(&self, local: &ExactSum) -> f64 {
        let mine = local.to_wire();
        let mut total = [0i64; exact_sum::WIRE];
        self.world
            .all_reduce_into(&mine[..], &mut total[..], SystemOperation::sum());
        ExactSum::from_wire(total).value()
    }

    /// Sum of `x` over all ranks as an exact integer (for counts).
    pub fn sum_i64(&self, x: i64) -> i64 {
        let mut out = 0i64;
        self.world
            .all_reduce_into(&x, &mut out, SystemOperation::sum());
        out
    }

    /// Collective: all ranks learn whether any rank failed. Returns `Ok` everywhere if none
    /// did. Otherwise the lowest failing rank gets its own error back (and reports it) while
    /// every other rank gets [`Error::ReportedElsewhere`]; all of them then exit cleanly.
    pub fn agree<T>(&self, result: Result<T>) -> Result<T> {
        let mine = if result.is_err() {
            self.rank as u64
        } else {
            u64::MAX
        };
        let mut first = 0u64;
        self.world
            .all_reduce_into(&mine, &mut first, SystemOperation::min());
        if first == u64::MAX {
            return result;
        }
        // every rank exits with the exit code of the error that is reported
        let code = match &result {
            Err(e) if first == self.rank as u64 => u64::from(e.exit_code()),
            _ => 0,
        };
        let mut agreed = 0u64;
        self.world
            .all_reduce_into(&code, &mut agreed, SystemOperation::max());
        self.agreed_exit_code.set(Some(agreed as u8));
        match result {
            Err(e) if first == self.rank as u64 => Err(e),
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
/// every rank exits with [`EXIT_USAGE`]. An error that only some ranks saw outside
/// [`Parallel::agree`], or a panic (a bug), aborts the whole job so nothing hangs.
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

/// One neighbour to trade ghost layers with.
struct Link {
    /// Rank of the neighbour (may be this rank itself across a periodic edge).
    rank: i32,
    /// Tag of what we send (our direction to it) and of what we receive (its direction to us).
    send_tag: i32,
    recv_tag: i32,
    send_box: IndexBox,
    recv_box: IndexBox,
}

/// Ghost-layer exchange for fields of one block layout.
///
/// Every block trades with each neighbour in the 26 (3D), 8 (2D) or 2 (1D) directions the
/// `ghost`-thick layer of owned cells next to that face, edge or corner, so stencils that
/// read diagonal neighbours (9- and 27-point) see correct edge and corner ghosts. Ghosts
/// past a non-periodic edge of the grid are left alone (they hold boundary data).
pub struct HaloExchange<T> {
    links: Vec<Link>,
    send_bufs: Vec<Vec<T>>,
    recv_bufs: Vec<Vec<T>>,
    requests: Vec<ffi::MPI_Request>,
    comm: ffi::MPI_Comm,
    shape: [usize; 3],
}

impl<T: Scalar + Equivalence> HaloExchange<T> {
    /// The exchange for `rank`'s block of `decomposition` laid out like `field`.
    pub fn new(parallel: &Parallel, decomposition: &Decomposition, field: &Field<T>) -> Self {
        Self::on_channel(parallel, decomposition, field, 0)
    }

    /// As [`HaloExchange::new`], with message tags offset by `channel * 64` so several
    /// exchanges (one per time level) may be in flight at once without mixing messages.
    pub fn on_channel(
        parallel: &Parallel,
        decomposition: &Decomposition,
        field: &Field<T>,
        channel: usize,
    ) -> Self {
        let tag_base = 64 * channel as i32;
        let rank = parallel.rank();
        let (owned, ghost) = (field.owned().size, field.ghost());
        let mut links = Vec::new();
        for d in decomposition.directions() {
            if let Some(n) = decomposition.neighbour(rank, d) {
                links.push(Link {
                    rank: n as i32,
                    send_tag: tag_base + geometry::direction_code(d),
                    recv_tag: tag_base + geometry::direction_code(d.map(|x| -x)),
                    send_box: geometry::send_box(owned, ghost, d),
                    recv_box: geometry::recv_box(owned, ghost, d),
                });
            }
        }
        let send_bufs = links
            .iter()
            .map(|l| vec![T::default(); l.send_box.len()])
            .collect();
        let recv_bufs = links
            .iter()
            .map(|l| vec![T::default(); l.recv_box.len()])
            .collect();
        HaloExchange {
            send_bufs,
            recv_bufs,
            requests: Vec::with_capacity(2 * links.len()),
            links,
            comm: parallel.raw_world(),
            shape: field.shape(),
        }
    }

    /// Packs the faces, edges and corners of `field` and starts sending them; posts the
    /// receives of the ghost layers. `field` may be read (not written) until `finish`.
    pub fn begin(&mut self, field: &Field<T>) -> PendingHalo<'_, T> {
        assert_eq!(
            field.shape(),
            self.shape,
            "halo exchange built for another layout"
        );
        let datatype = T::equivalent_datatype().as_raw();
        self.requests.clear();
        for (l, buf) in self.links.iter().zip(self.recv_bufs.iter_mut()) {
            let mut req = std::mem::MaybeUninit::uninit();
            // SAFETY: the buffer lives in `self`, which `PendingHalo` borrows mutably until
            // every request has completed (in `finish` or in its `Drop`).
            unsafe {
                ffi::MPI_Irecv(
                    buf.as_mut_ptr().cast(),
                    buf.len() as i32,
                    datatype,
                    l.rank,
                    l.recv_tag,
                    self.comm,
                    req.as_mut_ptr(),
                );
                self.requests.push(req.assume_init());
            }
        }
        for (l, buf) in self.links.iter().zip(self.send_bufs.iter_mut()) {
            geometry::pack(field.as_slice(), self.shape, &l.send_box, buf);
            let mut req = std::mem::MaybeUninit::uninit();
            // SAFETY: as above.
            unsafe {
                ffi::MPI_Isend(
                    buf.as_ptr().cast(),
                    buf.len() as i32,
                    datatype,
                    l.rank,
                    l.send_tag,
                    self.comm,
                    req.as_mut_ptr(),
                );
                self.requests.push(req.assume_init());
            }
        }
        PendingHalo { exchange: self }
    }

    /// `begin` followed at once by `finish`.
    pub fn exchange(&mut self, field: &mut Field<T>) {
        self.begin(field).finish(field);
    }
}

/// Ghost layers in flight; [`PendingHalo::finish`] waits for them and fills the ghosts.
pub struct PendingHalo<'a, T> {
    exchange: &'a mut HaloExchange<T>,
}

/// Completes every request in `requests` (once; later calls find none pending).
fn wait_all(requests: &mut Vec<ffi::MPI_Request>) {
    // SAFETY: every request was started by `HaloExchange::begin`; MPI sets completed
    // requests to MPI_REQUEST_NULL, and the vector is emptied so none is waited twice.
    unsafe {
        ffi::MPI_Waitall(
            requests.len() as i32,
            requests.as_mut_ptr(),
            ffi::RSMPI_STATUSES_IGNORE,
        );
    }
    requests.clear();
}

impl<T: Scalar> PendingHalo<'_, T> {
    /// Waits for every message and writes the received layers into `field`'s ghosts.
    pub fn finish(self, field: &mut Field<T>) {
        wait_all(&mut self.exchange.requests);
        let ex = &*self.exchange;
        for (l, buf) in ex.links.iter().zip(&ex.recv_bufs) {
            geometry::unpack(field.as_slice_mut(), ex.shape, &l.recv_box, buf);
        }
    }
}

impl<T> Drop for PendingHalo<'_, T> {
    /// An exchange dropped without `finish` still completes its messages, so MPI never
    /// writes into buffers that are reused or freed.
    fn drop(&mut self) {
        wait_all(&mut self.exchange.requests);
    }
}
