//! Preconditioners, each one file behind [`Preconditioner`] plus one line in
//! [`PRECONDITIONERS`], so `solve --pc NAME` finds it. A preconditioner is set up from
//! what [`Setup`] offers: the operator (its diagonal, its rank block, its layout, and for
//! grid operators the stencil, from which multigrid builds its coarse grids). The files
//! here work on one rank's rows and call no collective: [`build`] agrees on an error
//! found on any rank, so every rank stops with it.

pub mod bjacobi;
pub mod jacobi;

use crate::error::{Error, Result};
use crate::linalg::operator::{Identity, LinearOperator, Preconditioner};
use crate::parallel::Parallel;

/// What a preconditioner may be built from.
pub struct Setup<'a> {
    pub parallel: &'a Parallel,
    pub op: &'a dyn LinearOperator,
    pub options: Options,
}

/// Preconditioner settings a user may change.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Multigrid: coarse levels of at most this many unknowns are gathered whole onto
    /// every rank.
    pub mg_gather_max: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mg_gather_max: crate::linalg::multigrid::GATHER_MAX,
        }
    }
}

type Build = fn(&Setup) -> Result<Box<dyn Preconditioner>>;

/// The registered preconditioners: `(name, what it is, constructor)`.
pub const PRECONDITIONERS: &[(&str, &str, Build)] = &[
    ("none", "no preconditioner", |_| Ok(Box::new(Identity))),
    (
        "jacobi",
        "the inverse of the diagonal",
        jacobi::Jacobi::build,
    ),
    (
        "bjacobi",
        "block Jacobi, ILU(0) of each rank's rows (depends on the rank count)",
        bjacobi::BlockJacobi::build,
    ),
    (
        "mg",
        "geometric multigrid V-cycle (grid operators)",
        crate::linalg::multigrid::Multigrid::build,
    ),
];

/// The preconditioner called `name`, set up for `setup`, or an error naming the problem
/// (the same on every rank). Collective.
pub fn build(name: &str, setup: &Setup) -> Result<Box<dyn Preconditioner>> {
    setup.parallel.agree(lookup(name, setup))
}

fn lookup(name: &str, setup: &Setup) -> Result<Box<dyn Preconditioner>> {
    let Some(entry) = PRECONDITIONERS.iter().find(|p| p.0 == name) else {
        let known: Vec<&str> = PRECONDITIONERS.iter().map(|p| p.0).collect();
        return Err(Error::value(
            "pc",
            format!(
                "unknown preconditioner '{name}' (known: {})",
                known.join(", ")
            ),
        ));
    };
    (entry.2)(setup)
}
