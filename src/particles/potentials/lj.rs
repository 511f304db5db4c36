//! Lennard-Jones 12-6 (LAMMPS `lj/cut`):
//! `E(r) = 4 epsilon ((sigma/r)^12 - (sigma/r)^6)` for `r < r_c`, optionally shifted by
//! `-E(r_c)` so the energy is continuous at the cutoff (LAMMPS `pair_modify shift yes`;
//! forces are unchanged). `F(r)/r = 24 epsilon (2 (sigma/r)^12 - (sigma/r)^6) / r^2`.
//! Reduced (LJ) units: lengths in sigma, energies in epsilon.

use super::{check_cutoff, PairPotential};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct LennardJones {
    epsilon: f64,
    sigma: f64,
    cutoff: f64,
    /// `E(r_c)` subtracted from every energy (0 when not shifted).
    shift: f64,
}

impl LennardJones {
    /// `parameters` = `[epsilon, sigma]`, both positive.
    pub fn new(parameters: &[f64], cutoff: f64, shift: bool) -> Result<LennardJones> {
        let &[epsilon, sigma] = parameters else {
            return Err(Error::value(
                "potential",
                format!(
                    "lj/cut takes epsilon and sigma, got {} values",
                    parameters.len()
                ),
            ));
        };
        if !(epsilon > 0.0 && epsilon.is_finite() && sigma > 0.0 && sigma.is_finite()) {
            return Err(Error::value(
                "potential",
                format!("lj/cut needs positive epsilon and sigma, got {epsilon} and {sigma}"),
            ));
        }
        check_cutoff(cutoff)?;
        let mut lj = LennardJones {
            epsilon,
            sigma,
            cutoff,
            shift: 0.0,
        };
        if shift {
            lj.shift = lj.unshifted(cutoff * cutoff).0;
        }
        Ok(lj)
    }

    /// One division per pair, as LAMMPS: `s6 = (sigma^2 / r^2)^3`,
    /// `E = 4 epsilon s6 (s6 - 1)`, `F/r = 24 epsilon s6 (2 s6 - 1) / r^2`.
    #[inline(always)]
    fn unshifted(&self, r2: f64) -> (f64, f64) {
        let r2inv = 1.0 / r2;
        let s2 = self.sigma * self.sigma * r2inv;
        let s6 = s2 * s2 * s2;
        (
            4.0 * self.epsilon * s6 * (s6 - 1.0),
            24.0 * self.epsilon * s6 * (2.0 * s6 - 1.0) * r2inv,
        )
    }
}

impl PairPotential for LennardJones {
    fn name(&self) -> &'static str {
        "lj/cut"
    }

    fn cutoff(&self) -> f64 {
        self.cutoff
    }

    #[inline(always)]
    fn energy_and_force_over_r(&self, r2: f64) -> (f64, f64) {
        let (e, f) = self.unshifted(r2);
        (e - self.shift, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particles::potentials::tests::assert_force_is_minus_the_energy_gradient;

    #[test]
    fn minimum_zero_crossing_and_shift() {
        let lj = LennardJones::new(&[1.0, 1.0], 2.5, false).unwrap();
        // E(sigma) = 0; the minimum -epsilon at 2^(1/6) sigma, where the force vanishes
        assert_eq!(lj.energy_and_force_over_r(1.0).0, 0.0);
        let rmin2 = 2f64.powf(1.0 / 3.0);
        let (e, f) = lj.energy_and_force_over_r(rmin2);
        assert!((e + 1.0).abs() < 1e-14 && f.abs() < 1e-13, "{e} {f}");
        // shifted: zero at the cutoff, forces unchanged
        let shifted = LennardJones::new(&[1.0, 1.0], 2.5, true).unwrap();
        assert!(shifted.energy_and_force_over_r(6.25).0.abs() < 1e-16);
        assert_eq!(
            shifted.energy_and_force_over_r(1.3).1,
            lj.energy_and_force_over_r(1.3).1
        );
    }

    #[test]
    fn force_is_minus_the_energy_gradient() {
        let lj = LennardJones::new(&[1.3, 0.9], 2.5, true).unwrap();
        assert_force_is_minus_the_energy_gradient(&lj, 0.8);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(LennardJones::new(&[1.0], 2.5, false).is_err());
        assert!(LennardJones::new(&[-1.0, 1.0], 2.5, false).is_err());
        assert!(LennardJones::new(&[1.0, f64::NAN], 2.5, false).is_err());
    }
}
