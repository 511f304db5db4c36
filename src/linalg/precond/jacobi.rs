//! Jacobi (diagonal) preconditioning: `z_i = r_i / a_ii`. Independent of the partition.

use super::Setup;
use crate::error::{Error, Result};
use crate::linalg::operator::Preconditioner;

pub struct Jacobi {
    inverse_diagonal: Vec<f64>,
}

impl Jacobi {
    /// From the operator's diagonal; an error if it has none or a zero (or non-finite)
    /// entry, named by its global position where known. Collective.
    pub fn build(setup: &Setup) -> Result<Box<dyn Preconditioner>> {
        let layout = setup.op.layout();
        let local = match setup.op.diagonal() {
            Some(d) => d.iter().position(|a| *a == 0.0 || !a.is_finite()),
            None => Some(usize::MAX),
        };
        // agree on the first bad row over all ranks
        let bad = local.map_or(u64::MAX, |i| i as u64);
        let first = layout.comm().min(bad);
        if first != u64::MAX {
            let why = if setup.op.diagonal().is_none() {
                "the operator does not provide its diagonal".to_string()
            } else {
                "the matrix has a zero or non-finite diagonal entry".to_string()
            };
            return Err(Error::value("pc", format!("jacobi: {why}")));
        }
        let inverse_diagonal = setup
            .op
            .diagonal()
            .expect("checked above")
            .iter()
            .map(|a| 1.0 / a)
            .collect();
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
