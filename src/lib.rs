//! tessera: MPI-parallel structured-grid simulation toolkit.
//!
//! Layers, bottom up (see README "Design"): [`geometry`] and [`field`] (index arithmetic and
//! ghosted blocks, no MPI), [`kernel`] and [`kernels`] (pointwise numerics, no MPI),
//! [`runtime`] (the only MPI: start-up, halo exchange, reductions), [`checkpoint`] (parallel
//! HDF5), [`driver`] (the time loop). Binaries in `simulations/` sit on top.

pub mod checkpoint;
pub mod cli;
pub mod convergence;
pub mod driver;
pub mod error;
pub mod exact_sum;
pub mod field;
pub mod geometry;
pub mod kernel;
pub mod kernels;
pub mod laplacian;
pub mod recovery;
pub mod render;
pub mod runtime;
pub mod signals;

pub use error::{Error, Result};
