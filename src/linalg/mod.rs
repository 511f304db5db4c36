//! Linear algebra on distributed vectors: layouts and reproducible reductions
//! ([`vector`]), operators and preconditioners behind one trait each ([`operator`]),
//! matrix-free grid operators ([`stencil_op`]), Krylov solvers ([`krylov`]),
//! preconditioners ([`precond`]) and geometric multigrid ([`multigrid`]).
//!
//! Every result is BITWISE independent of the rank count: operators compute each entry by
//! one fixed expression of its inputs, vector updates are pointwise, and every dot product
//! and norm is a [`crate::parallel::BinnedSum`] (an order-independent sum). So a solver
//! takes the same iterations through the same iterates on 1 or 8 ranks. Block Jacobi is the
//! exception: its blocks are the ranks' rows (it says so).

pub mod csr;
pub mod dense;
pub mod job;
pub mod krylov;
pub mod multigrid;
pub mod operator;
pub mod precond;
pub mod problems;
pub mod stencil_op;
pub mod vector;

pub use operator::{LinearOperator, Preconditioner};
pub use vector::Layout;
