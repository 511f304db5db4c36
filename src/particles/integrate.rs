//! Time integration of the owned atoms (no MPI): velocity Verlet and the Langevin
//! thermostat, and the random numbers both initial velocities and the thermostat draw.
//!
//! Velocity Verlet (NVE) with mass `m` and step `dt`, as LAMMPS's `fix nve`:
//! `v += (dt/2) F/m; x += dt v;` new forces; `v += (dt/2) F/m`.
//!
//! Langevin (LAMMPS's `fix langevin`): after the pair forces, each atom gets
//! `F += -(m/damp) v + sqrt(24 k T m / (damp dt)) (u - 1/2)` per component, `u` uniform
//! on [0, 1), which has the variance of the fluctuation-dissipation theorem.
//!
//! Random numbers are a function of (seed, atom id, step, component), never of the order
//! atoms are visited, so they are the same on any rank count and after a restart.

use super::store::Store;
use crate::partition::DIMS;

/// A 64-bit mixing function (the splitmix64 finaliser): a bijection whose output bits
/// all depend on all input bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// A uniform number on [0, 1) determined by `(seed, id, counter)` alone.
pub fn keyed_uniform(seed: u64, id: u64, counter: u64) -> f64 {
    let k = mix(mix(mix(seed ^ 0x9e3779b97f4a7c15) ^ id) ^ counter);
    (k >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal number determined by `(seed, id, counter)` (Box–Muller from the
/// uniforms at counters `2 counter` and `2 counter + 1`).
pub fn keyed_normal(seed: u64, id: u64, counter: u64) -> f64 {
    let u1 = 1.0 - keyed_uniform(seed, id, 2 * counter); // (0, 1]
    let u2 = keyed_uniform(seed, id, 2 * counter + 1);
    // libm's software log and cos: the same bits on every processor
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// Maxwell–Boltzmann velocity of atom `id` at temperature `t` (k_B = 1) and mass `m`,
/// before the centre-of-mass motion is removed and the temperature made exact.
pub fn thermal_velocity(seed: u64, id: u64, t: f64, m: f64) -> [f64; DIMS] {
    let s = (t / m).sqrt();
    std::array::from_fn(|a| s * keyed_normal(seed, id, a as u64))
}

/// `v += (dt/2) F / m` for every atom of the slices.
pub fn half_kick(
    vel: &mut [Vec<f64>; DIMS],
    force: &[Vec<f64>; DIMS],
    owned: usize,
    dt: f64,
    m: f64,
) {
    let dtfm = 0.5 * dt / m;
    for a in 0..DIMS {
        for (v, f) in vel[a][..owned].iter_mut().zip(&force[a][..owned]) {
            *v += dtfm * f;
        }
    }
}

/// `x += dt v` for every owned atom.
pub fn drift(pos: &mut [Vec<f64>; DIMS], vel: &[Vec<f64>; DIMS], owned: usize, dt: f64) {
    for a in 0..DIMS {
        for (x, v) in pos[a][..owned].iter_mut().zip(&vel[a][..owned]) {
            *x += dt * v;
        }
    }
}

/// A Langevin thermostat's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Langevin {
    /// Target temperature (k_B = 1).
    pub temperature: f64,
    /// Damping time (LAMMPS's `damp`): velocities relax in about this time.
    pub damp: f64,
    pub seed: u64,
}

impl Langevin {
    /// Adds the drag and random forces of `step` (the step being completed) to the
    /// forces on the owned atoms of `store`, for time step `dt` and mass `m`.
    pub fn add_forces(&self, store: &mut Store, step: u64, dt: f64, m: f64) {
        let drag = -m / self.damp;
        let kick = (24.0 * self.temperature * m / (self.damp * dt)).sqrt();
        for i in 0..store.owned() {
            for a in 0..DIMS {
                let u = keyed_uniform(self.seed, store.id[i], step * DIMS as u64 + a as u64);
                store.force[a][i] += drag * store.vel[a][i] + kick * (u - 0.5);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_numbers_depend_on_the_key_only_and_have_the_right_moments() {
        assert_eq!(keyed_uniform(1, 2, 3), keyed_uniform(1, 2, 3));
        assert_ne!(keyed_uniform(1, 2, 3), keyed_uniform(1, 3, 2));
        let n = 200_000;
        let (mut s1, mut s2) = (0.0, 0.0);
        for id in 0..n {
            let z = keyed_normal(87287, id, 0);
            s1 += z;
            s2 += z * z;
        }
        let (mean, var) = (s1 / n as f64, s2 / n as f64);
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
        let u: f64 = (0..n).map(|k| keyed_uniform(5, k, 7)).sum::<f64>() / n as f64;
        assert!((u - 0.5).abs() < 0.005);
    }

    #[test]
    fn verlet_steps_a_harmonic_oscillator_with_second_order_energy_error() {
        // F = -x, m = 1: energy error after one period falls as dt^2
        let energy_error = |dt: f64| {
            let mut x = [vec![1.0], vec![0.0], vec![0.0]];
            let mut v = [vec![0.0], vec![0.0], vec![0.0]];
            let mut f = [vec![-1.0], vec![0.0], vec![0.0]];
            let steps = (2.0 * std::f64::consts::PI / dt).round() as usize;
            let mut worst: f64 = 0.0;
            for _ in 0..steps {
                half_kick(&mut v, &f, 1, dt, 1.0);
                drift(&mut x, &v, 1, dt);
                f[0][0] = -x[0][0];
                half_kick(&mut v, &f, 1, dt, 1.0);
                worst = worst.max((0.5 * (x[0][0].powi(2) + v[0][0].powi(2)) - 0.5).abs());
            }
            worst
        };
        let order = (energy_error(0.02) / energy_error(0.01)).log2();
        assert!((order - 2.0).abs() < 0.1, "observed order {order}");
    }

    #[test]
    fn the_langevin_thermostat_drives_a_gas_to_its_temperature() {
        let n = 4000;
        let t = Langevin {
            temperature: 2.0,
            damp: 0.1,
            seed: 9,
        };
        let mut s = Store::new();
        for id in 1..=n as u64 {
            s.push_owned(&crate::particles::store::Atom {
                id,
                ..Default::default()
            });
        }
        let (dt, m) = (0.005, 1.0);
        let mut mean_t = 0.0;
        for step in 0..2000u64 {
            half_kick(&mut s.vel, &s.force, n, dt, m);
            drift(&mut s.pos, &s.vel, n, dt);
            for c in &mut s.force {
                c.fill(0.0);
            }
            t.add_forces(&mut s, step + 1, dt, m);
            half_kick(&mut s.vel, &s.force, n, dt, m);
            if step >= 1000 {
                let ke: f64 = s
                    .vel
                    .iter()
                    .map(|c| c.iter().map(|u| u * u).sum::<f64>())
                    .sum();
                mean_t += ke / (3.0 * n as f64) / 1000.0;
            }
        }
        assert!((mean_t - 2.0).abs() < 0.1, "mean temperature {mean_t}");
    }
}
