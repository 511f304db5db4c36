//! tessera: MPI-parallel scientific simulation on one parallel runtime.
//!
//! Layers, bottom up (each uses only those below it; see README "Design"):
//! - [`error`], [`partition`], [`signals`], [`memory`]: the error type and exit codes,
//!   block-partition and process-grid arithmetic, stop-signal flags, the node's memory
//!   limits. No MPI.
//! - [`parallel`]: the only module that calls MPI: start-up, collective errors
//!   ([`parallel::Parallel::agree`]), reductions, exact sums, neighbour exchange, threads.
//! - [`io`]: parallel HDF5 checkpoints, recovery of damaged files, XDMF sidecars, PNG
//!   rendering.
//! - [`driver`]: the family-independent job: step loop over a [`driver::Stepper`],
//!   checkpoint cadence, restarts, signals and deadlines, progress, the run report.
//! - [`grid`]: the stencil family: ghosted blocks on a decomposed grid, halo exchange,
//!   the stencil contract and the kernels in `grid/kernels` (no MPI there).
//! - [`particles`]: the particle family (being built): the particle store and pair
//!   potentials (no MPI there).
//! - [`cli`]: the flags every simulation binary shares. Binaries in `simulations/` sit on top.

// links OpenBLAS for ndarray's matrix products (the `blas` feature)
extern crate blas_src;

pub mod cli;
pub mod driver;
pub mod error;
pub mod grid;
pub mod io;
pub mod linalg;
pub mod memory;
pub mod parallel;
pub mod particles;
pub mod partition;
pub mod signals;

pub use error::{Error, Result};
