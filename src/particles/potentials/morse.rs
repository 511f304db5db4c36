//! Morse (LAMMPS `morse`): `E(r) = D0 (exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0)))`
//! for `r < r_c`, optionally shifted by `-E(r_c)`. `F(r) = 2 alpha D0 (exp(-2 alpha (r -
//! r0)) - exp(-alpha (r - r0)))`, and the pair loop is given `F/r`. Written to show that a
//! new potential is this one file and one line in the registry.

use super::{check_cutoff, PairPotential};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct Morse {
    d0: f64,
    alpha: f64,
    r0: f64,
    cutoff: f64,
    shift: f64,
}

impl Morse {
    /// `parameters` = `[d0, alpha, r0]`: well depth, stiffness, equilibrium distance, all
    /// positive.
    pub fn new(parameters: &[f64], cutoff: f64, shift: bool) -> Result<Morse> {
        let &[d0, alpha, r0] = parameters else {
            return Err(Error::value(
                "potential",
                format!(
                    "morse takes d0, alpha and r0, got {} values",
                    parameters.len()
                ),
            ));
        };
        if ![d0, alpha, r0].iter().all(|&v| v > 0.0 && v.is_finite()) {
            return Err(Error::value(
                "potential",
                format!("morse needs positive d0, alpha and r0, got {d0}, {alpha} and {r0}"),
            ));
        }
        check_cutoff(cutoff)?;
        let mut m = Morse {
            d0,
            alpha,
            r0,
            cutoff,
            shift: 0.0,
        };
        if shift {
            m.shift = m.unshifted(cutoff).0;
        }
        Ok(m)
    }

    /// `(E(r), F(r))` at distance `r`.
    fn unshifted(&self, r: f64) -> (f64, f64) {
        // libm's software exp: the same bits on every processor (glibc picks its exp by
        // the instruction set at run time)
        let e1 = libm::exp(-self.alpha * (r - self.r0));
        let e2 = e1 * e1;
        (
            self.d0 * (e2 - 2.0 * e1),
            2.0 * self.alpha * self.d0 * (e2 - e1),
        )
    }
}

impl PairPotential for Morse {
    fn name(&self) -> &'static str {
        "morse"
    }

    fn cutoff(&self) -> f64 {
        self.cutoff
    }

    #[inline(always)]
    fn energy_and_force_over_r(&self, r2: f64) -> (f64, f64) {
        let r = r2.sqrt();
        let (e, f) = self.unshifted(r);
        (e - self.shift, f / r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particles::potentials::tests::assert_force_is_minus_the_energy_gradient;

    #[test]
    fn the_well_is_at_r0_with_depth_d0() {
        let m = Morse::new(&[2.0, 1.5, 1.1], 3.0, false).unwrap();
        let (e, f) = m.energy_and_force_over_r(1.1 * 1.1);
        assert!((e + 2.0).abs() < 1e-14 && f.abs() < 1e-14, "{e} {f}");
    }

    #[test]
    fn force_is_minus_the_energy_gradient() {
        let m = Morse::new(&[2.0, 1.5, 1.1], 3.0, true).unwrap();
        assert_force_is_minus_the_energy_gradient(&m, 0.6);
    }
}
