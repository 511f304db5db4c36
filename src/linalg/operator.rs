//! The two traits a solver sees: a linear operator `y = A x` on distributed vectors, and a
//! preconditioner `z = B r` (`B ~ A^-1`). Both work on this rank's part of the vectors and
//! are collective (every rank calls them together).

use crate::linalg::vector::Layout;
use std::time::Duration;

/// A square linear operator on vectors of one [`Layout`].
pub trait LinearOperator {
    /// The layout of `x` and `y`.
    fn layout(&self) -> &Layout;

    /// `y = A x`. Collective.
    fn apply(&mut self, x: &[f64], y: &mut [f64]);

    /// The diagonal of `A` (this rank's entries), if the operator knows it.
    fn diagonal(&self) -> Option<Vec<f64>> {
        None
    }

    /// How the rows are split (`2x1x1 process grid`, `contiguous rows`).
    fn decomposition_note(&self) -> String {
        match self.layout().split() {
            crate::linalg::vector::Split::Grid(d) => format!("{} process grid", d.procs_string()),
            crate::linalg::vector::Split::Rows { .. } => "contiguous rows".to_string(),
        }
    }

    /// The grid stencil behind a matrix-free grid operator (multigrid rediscretises it).
    fn grid_stencil(&self) -> Option<&crate::linalg::stencil_op::GridStencil> {
        None
    }

    /// Whether `A` is symmetric (what CG and multigrid need).
    fn is_symmetric(&self) -> bool {
        false
    }

    /// This rank's diagonal block (rows and columns it owns, local numbering, columns
    /// sorted in each row), for block preconditioners; `None` if not available.
    fn local_block(&self) -> Option<LocalMatrix> {
        None
    }

    /// Floating-point operations of one apply on this rank (for rates).
    fn flops(&self) -> f64;

    /// Bytes one apply must move to or from memory on this rank at the least.
    fn bytes(&self) -> f64;

    /// Time spent so far trading ghost values (halo exchange, scatter), included in the
    /// applies.
    fn exchange_time(&self) -> Duration {
        Duration::ZERO
    }
}

/// A square matrix on one rank in CSR form (local indices, columns sorted in each row).
#[derive(Clone, Debug, Default)]
pub struct LocalMatrix {
    pub row_ptr: Vec<usize>,
    pub cols: Vec<usize>,
    pub values: Vec<f64>,
}

impl LocalMatrix {
    pub fn rows(&self) -> usize {
        self.row_ptr.len() - 1
    }
}

/// A preconditioner: `z = B r` with `B` an approximation of `A^-1`. Collective.
pub trait Preconditioner {
    /// `jacobi`, `mg`, ...
    fn name(&self) -> &'static str;

    /// `z = B r`.
    fn apply(&mut self, r: &[f64], z: &mut [f64]);

    /// A description for the run's summary (levels, smoother, ...).
    fn describe(&self) -> String {
        self.name().to_string()
    }

    /// Whether `B` depends on how the rows are split over ranks (block Jacobi): then the
    /// iterates are not the same on every rank count.
    fn depends_on_partition(&self) -> bool {
        false
    }

    /// Floating-point operations and bytes of memory traffic of one apply on this rank, by
    /// a stated model (`None`: not modelled).
    fn cost(&self) -> Option<(f64, f64)> {
        None
    }

    /// Time spent trading ghost values inside the preconditioner.
    fn exchange_time(&self) -> Duration {
        Duration::ZERO
    }
}

/// No preconditioner: `z = r`.
pub struct Identity;

impl Preconditioner for Identity {
    fn name(&self) -> &'static str {
        "none"
    }

    fn apply(&mut self, r: &[f64], z: &mut [f64]) {
        z.copy_from_slice(r);
    }

    fn cost(&self) -> Option<(f64, f64)> {
        None
    }
}
