//! Pair potentials `E(r)` with a cutoff: the contract a new potential implements, and the
//! registry that names them (`lj/cut`, `morse`).
//!
//! A potential is asked for the energy and for `F(r)/r = -E'(r)/r` from the squared
//! distance `r^2`, so the pair loop needs no square root for Lennard-Jones and the force
//! on particle `i` from `j` is `(F/r) (x_i - x_j)`. Beyond the cutoff both are zero.
//! Adding a potential: one file here with a type implementing [`PairPotential`], and one
//! line in [`by_name`].

pub mod lj;
pub mod morse;

use super::cells::LANES;
use super::force::{self, PairInput, PairOutput, Simd};
use crate::error::{Error, Result};

/// A short-range pair potential.
pub trait PairPotential: Send + Sync {
    /// The name users give it (`lj/cut`).
    fn name(&self) -> &'static str;

    /// Interaction range: pairs at `r >= cutoff` do not interact.
    fn cutoff(&self) -> f64;

    /// `(E(r), F(r)/r)` for a pair at squared distance `r2 < cutoff^2`, where
    /// `F(r) = -dE/dr` (positive: repulsive).
    fn energy_and_force_over_r(&self, r2: f64) -> (f64, f64);

    /// `LANES` pairs at once: what [`PairPotential::energy_and_force_over_r`] gives
    /// for each (the compiler turns this loop into vector instructions for potentials of
    /// plain arithmetic). Override only with code that gives the same bits.
    #[inline(always)]
    fn lanes(&self, r2: [f64; LANES]) -> ([f64; LANES], [f64; LANES]) {
        let (mut e, mut f) = ([0.0; LANES], [0.0; LANES]);
        for l in 0..LANES {
            (e[l], f[l]) = self.energy_and_force_over_r(r2[l]);
        }
        (e, f)
    }

    /// The pair loop compiled for this potential (called through `dyn PairPotential`,
    /// the potential's own code is inlined into the loop). Not to be overridden.
    fn pair_forces(
        &self,
        input: PairInput<'_>,
        first: usize,
        out: PairOutput<'_>,
        tally: bool,
        simd: Simd,
    ) {
        if tally {
            force::pair_forces::<Self, true>(self, input, first, out, simd)
        } else {
            force::pair_forces::<Self, false>(self, input, first, out, simd)
        }
    }
}

/// The potential `name` with its parameters (`[epsilon, sigma]` for `lj/cut`,
/// `[d0, alpha, r0]` for `morse`) and `cutoff`; `shift` subtracts `E(cutoff)` so the
/// energy is continuous there.
pub fn by_name(
    name: &str,
    parameters: &[f64],
    cutoff: f64,
    shift: bool,
) -> Result<Box<dyn PairPotential>> {
    match name {
        "lj/cut" => Ok(Box::new(lj::LennardJones::new(parameters, cutoff, shift)?)),
        "morse" => Ok(Box::new(morse::Morse::new(parameters, cutoff, shift)?)),
        other => Err(Error::value(
            "potential",
            format!("'{other}' is not a potential (lj/cut, morse)"),
        )),
    }
}

/// Checks that `cutoff` is a positive finite distance.
fn check_cutoff(cutoff: f64) -> Result<()> {
    if cutoff > 0.0 && cutoff.is_finite() {
        Ok(())
    } else {
        Err(Error::value(
            "cutoff",
            format!("must be a positive distance, got {cutoff}"),
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Asserts `F(r) = -dE/dr` by central differences at several distances inside the
    /// cutoff, to `tolerance` relative to the force scale.
    pub fn assert_force_is_minus_the_energy_gradient(p: &dyn PairPotential, from: f64) {
        let rc = p.cutoff();
        for k in 0..40 {
            let r = from + (rc - from) * (k as f64 + 0.5) / 40.0;
            let h = 1e-6 * r;
            let e = |r: f64| p.energy_and_force_over_r(r * r).0;
            let numeric = -(e(r + h) - e(r - h)) / (2.0 * h);
            let (_, f_over_r) = p.energy_and_force_over_r(r * r);
            let analytic = f_over_r * r;
            let scale = analytic.abs().max(1e-3);
            assert!(
                (numeric - analytic).abs() <= 1e-6 * scale,
                "{} at r = {r}: -dE/dr = {numeric}, F = {analytic}",
                p.name()
            );
        }
    }

    #[test]
    fn the_registry_knows_its_potentials_and_refuses_others() {
        assert_eq!(
            by_name("lj/cut", &[1.0, 1.0], 2.5, true).unwrap().name(),
            "lj/cut"
        );
        assert_eq!(
            by_name("morse", &[1.0, 2.0, 1.1], 2.5, false)
                .unwrap()
                .name(),
            "morse"
        );
        assert!(by_name("buck", &[], 2.5, false).is_err());
        assert!(by_name("lj/cut", &[1.0, 1.0], -1.0, false).is_err());
    }
}
