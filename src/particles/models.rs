//! Initial conditions of the gravitational n-body code, in Hénon units (`G = M = 1`, the
//! Plummer model's energy `-1/4`). Every body is drawn from random numbers keyed by
//! `(seed, body id)` (see [`keyed_uniform`]), so a model is the same body for body on any
//! rank count; the centre of mass is moved to rest at the origin afterwards by the
//! stepper (with exact sums). No MPI.

use super::integrate::keyed_uniform;
use crate::error::{Error, Result};
use std::f64::consts::PI;

/// One body: position, velocity, mass.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Body {
    pub pos: [f64; 3],
    pub vel: [f64; 3],
    pub mass: f64,
}

/// The models `--model` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// A Plummer sphere in virial equilibrium.
    Plummer,
    /// A uniform sphere of radius 1 at rest: it collapses in the free-fall time
    /// `pi/2 sqrt(R^3 / 2GM) = 1.11`.
    ColdSphere,
    /// Two Plummer spheres of mass 1/2 on a parabolic collision orbit.
    TwoPlummers,
}

impl Model {
    pub const NAMES: [&'static str; 3] = ["plummer", "cold-sphere", "two-plummers"];

    pub fn from_name(name: &str) -> Result<Model> {
        match name {
            "plummer" => Ok(Model::Plummer),
            "cold-sphere" => Ok(Model::ColdSphere),
            "two-plummers" => Ok(Model::TwoPlummers),
            _ => Err(Error::value(
                "model",
                format!(
                    "unknown model '{name}' (known: {})",
                    Model::NAMES.join(", ")
                ),
            )),
        }
    }

    /// Body `id` of a model of `bodies` bodies drawn with `seed`.
    pub fn body(self, seed: u64, id: u64, bodies: u64) -> Body {
        let mass = 1.0 / bodies as f64;
        match self {
            Model::Plummer => {
                let (pos, vel) = plummer(seed, id, HENON_SCALE, 1.0);
                Body { pos, vel, mass }
            }
            Model::ColdSphere => Body {
                pos: in_unit_ball(seed, id),
                vel: [0.0; 3],
                mass,
            },
            Model::TwoPlummers => {
                // each sphere of mass 1/2 and half the scale length: its own virial
                // equilibrium at the same velocity scale
                let (mut pos, mut vel) = plummer(seed, id, HENON_SCALE / 2.0, 0.5);
                let first = id < bodies / 2;
                let side = if first { -1.0 } else { 1.0 };
                let d = (COLLISION_SEPARATION.powi(2) + COLLISION_IMPACT.powi(2)).sqrt();
                // parabolic: the relative speed at separation d is sqrt(2 G M / d)
                let speed = (2.0 / d).sqrt() / 2.0;
                pos[0] += side * COLLISION_SEPARATION / 2.0;
                pos[1] += side * COLLISION_IMPACT / 2.0;
                vel[0] -= side * speed;
                Body { pos, vel, mass }
            }
        }
    }
}

/// The Plummer model's scale length in Hénon units, `3 pi / 16`.
pub const HENON_SCALE: f64 = 3.0 * PI / 16.0;
/// Separation and impact parameter of the two spheres' centres at the start.
pub const COLLISION_SEPARATION: f64 = 4.0;
pub const COLLISION_IMPACT: f64 = 0.5;
/// The largest cumulative mass fraction drawn for a Plummer radius (Aarseth's cut: the
/// sphere is truncated at 38.7 scale lengths).
const PLUMMER_MASS_CUT: f64 = 0.999;

/// Uniform numbers of one body, in the order drawn.
struct Draws {
    seed: u64,
    id: u64,
    counter: u64,
}

impl Draws {
    fn next(&mut self) -> f64 {
        let u = keyed_uniform(self.seed, self.id, self.counter);
        self.counter += 1;
        u
    }
}

/// A vector of length `r` in a uniformly random direction.
fn isotropic(r: f64, draws: &mut Draws) -> [f64; 3] {
    let z = (1.0 - 2.0 * draws.next()) * r;
    let phi = 2.0 * PI * draws.next();
    let rho = (r * r - z * z).max(0.0).sqrt();
    [rho * libm::cos(phi), rho * libm::sin(phi), z]
}

/// Position and velocity of a body of a Plummer sphere of mass `mass`, scale length `a`
/// (`G = 1`), by Aarseth, Hénon and Wielen (1974): the radius by inverting the cumulative
/// mass `M(r) = r^3 / (1 + r^2)^(3/2)`, the speed `q v_esc` with `q` drawn by rejection
/// from `q^2 (1 - q^2)^(7/2)`, `v_esc = sqrt(2) (1 + r^2)^(-1/4)`; both directions
/// isotropic. libm's functions: the same bits on every processor.
fn plummer(seed: u64, id: u64, a: f64, mass: f64) -> ([f64; 3], [f64; 3]) {
    let mut draws = Draws {
        seed,
        id,
        counter: 0,
    };
    let r = loop {
        let x = draws.next();
        if x > 0.0 && x < PLUMMER_MASS_CUT {
            break 1.0 / (libm::pow(x, -2.0 / 3.0) - 1.0).sqrt();
        }
    };
    let pos = isotropic(r, &mut draws);
    let q = loop {
        let (x, y) = (draws.next(), draws.next());
        if 0.1 * y < x * x * libm::pow(1.0 - x * x, 3.5) {
            break x;
        }
    };
    let v_escape = 2f64.sqrt() * libm::pow(1.0 + r * r, -0.25);
    let vel = isotropic(q * v_escape, &mut draws);
    // from Plummer's units (G = M = a = 1): lengths x a, velocities x sqrt(M / a)
    let sv = (mass / a).sqrt();
    (pos.map(|p| p * a), vel.map(|v| v * sv))
}

/// A point uniformly distributed in the unit ball (rejection from the cube).
fn in_unit_ball(seed: u64, id: u64) -> [f64; 3] {
    let mut draws = Draws {
        seed,
        id,
        counter: 0,
    };
    loop {
        let p = [0, 1, 2].map(|_| 2.0 * draws.next() - 1.0);
        if p.iter().map(|x| x * x).sum::<f64>() <= 1.0 {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plummer_sphere_has_its_mass_profile_and_energy() {
        let n = 20000u64;
        let bodies: Vec<Body> = (0..n).map(|i| Model::Plummer.body(1, i, n)).collect();
        // half the mass inside r_h = a / sqrt(2^(2/3) - 1) = 1.305 a
        let rh = HENON_SCALE / (2f64.powf(2.0 / 3.0) - 1.0).sqrt();
        let inside = bodies
            .iter()
            .filter(|b| b.pos.iter().map(|x| x * x).sum::<f64>().sqrt() < rh)
            .count();
        let frac = inside as f64 / n as f64;
        assert!((frac - 0.5).abs() < 0.02, "{frac}");
        // kinetic energy 3 pi / 64 / a... in Hénon units 1/4 (virial: K = -E)
        let k: f64 = bodies
            .iter()
            .map(|b| 0.5 * b.mass * b.vel.iter().map(|v| v * v).sum::<f64>())
            .sum();
        assert!((k - 0.25).abs() < 0.01, "kinetic energy {k}");
        // the same body whatever else is drawn
        assert_eq!(Model::Plummer.body(1, 7, n), bodies[7]);
    }

    #[test]
    fn a_cold_sphere_fills_the_unit_ball_at_rest() {
        let n = 10000u64;
        let mut outer = 0;
        for i in 0..n {
            let b = Model::ColdSphere.body(3, i, n);
            let r2: f64 = b.pos.iter().map(|x| x * x).sum();
            assert!(r2 <= 1.0 && b.vel == [0.0; 3]);
            // a uniform ball has 1 - 0.5^3 = 7/8 of its mass outside radius 1/2
            outer += usize::from(r2 > 0.25);
        }
        let frac = outer as f64 / n as f64;
        assert!((frac - 0.875).abs() < 0.015, "{frac}");
    }

    #[test]
    fn two_spheres_approach_each_other() {
        let n = 4000u64;
        // the mean of one coordinate over a half of the bodies
        let mean = |lo: u64, hi: u64, f: fn(&Body) -> f64| {
            (lo..hi)
                .map(|i| f(&Model::TwoPlummers.body(2, i, n)))
                .sum::<f64>()
                / (hi - lo) as f64
        };
        let speed = (2.0 / (16.0f64 + 0.25).sqrt()).sqrt() / 2.0;
        let (first, second) = ((0, n / 2), (n / 2, n));
        // centres at (-2, -0.25) and (2, 0.25) (the median radius is 0.38, so the sample
        // means sit within 0.1), moving towards each other at the parabolic speed
        for ((lo, hi), side) in [(first, -1.0), (second, 1.0)] {
            let x = mean(lo, hi, |b| b.pos[0]);
            let y = mean(lo, hi, |b| b.pos[1]);
            let vx = mean(lo, hi, |b| b.vel[0]);
            assert!((x - 2.0 * side).abs() < 0.1, "{x}");
            assert!((y - 0.25 * side).abs() < 0.1, "{y}");
            assert!((vx + speed * side).abs() < 0.05, "{vx} vs {speed}");
        }
    }
}
