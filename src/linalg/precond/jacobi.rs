//! Jacobi (diagonal) preconditioning: `z_i = r_i / a_ii`. Independent of the partition.

use super::Setup;
use crate::error::{Error, Result};
use crate::linalg::operator::Preconditioner;
use crate::linalg::vector::Split;

pub struct Jacobi {
    inverse_diagonal: Vec<f64>,
}

impl Jacobi {
    /// From the operator's diagonal; an error if it has none or a zero (or non-finite)
    /// entry, named by its global position. This rank's rows only (the registry agrees
    /// on errors over the ranks).
    pub fn build(setup: &Setup) -> Result<Box<dyn Preconditioner>> {
        let Some(diagonal) = setup.op.diagonal() else {
            return Err(Error::value(
                "pc",
                "jacobi: the operator does not provide its diagonal",
            ));
        };
        if let Some(i) = diagonal.iter().position(|a| *a == 0.0 || !a.is_finite()) {
            let layout = setup.op.layout();
            let at = match (layout.split(), layout.owned_box()) {
                (Split::Rows { start, .. }, _) => format!("row {}", start + i as u64 + 1),
                (Split::Grid(_), Some(b)) => {
                    let (n1, n2) = (b.size[1], b.size[2]);
                    let p = [
                        b.lo[0] + i / (n1 * n2),
                        b.lo[1] + i / n2 % n1,
                        b.lo[2] + i % n2,
                    ];
                    format!("grid point {p:?}")
                }
                (Split::Grid(_), None) => unreachable!("a grid layout has a block"),
            };
            return Err(Error::value(
                "pc",
                format!("jacobi: the diagonal entry of {at} is {}", diagonal[i]),
            ));
        }
        let inverse_diagonal = diagonal.iter().map(|a| 1.0 / a).collect();
        Ok(Box::new(Jacobi { inverse_diagonal }))
    }
}

impl Preconditioner for Jacobi {
    fn name(&self) -> &'static str {
        "jacobi"
    }

    fn cost(&self) -> Option<(f64, f64)> {
        let n = self.inverse_diagonal.len() as f64;
        Some((n, 24.0 * n))
    }

    fn apply(&mut self, r: &[f64], z: &mut [f64]) {
        for ((z, r), d) in z.iter_mut().zip(r).zip(&self.inverse_diagonal) {
            *z = r * d;
        }
    }
}
