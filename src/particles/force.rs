//! The pair loop: forces on the owned atoms from their full neighbour lists, and on
//! request the per-atom energy and virial that thermodynamic output sums.
//!
//! For owned atom `i` with neighbours `j` (in increasing global id):
//! `F_i = sum_j (F(r)/r)(r_ij) (x_i - x_j)`, over pairs with `r_ij^2 < r_c^2`;
//! `e_i = 1/2 sum_j E(r_ij)` and `w_i = 1/2 sum_j (F(r)/r) r_ij^2`, so that
//! `sum_i e_i` is the pair energy and `sum_i w_i = sum_pairs r_ij . F_ij` the virial.
//! Pairs in the list beyond the cutoff add exactly zero, so the result depends only on
//! the pairs inside the cutoff and their id order: the same bits on any rank count and
//! for any thread count (threads take disjoint ranges of atoms).

use super::cells::NeighbourList;
use super::potentials::PairPotential;
use crate::parallel::Threads;
use crate::partition::DIMS;

/// Where the pair loop writes, for owned atoms `0 .. owned`.
pub struct PairOutput<'a> {
    pub force: [&'a mut [f64]; DIMS],
    /// Per-atom energy and virial, when thermodynamics are due.
    pub energy: Option<&'a mut [f64]>,
    pub virial: Option<&'a mut [f64]>,
}

/// The forces (and energies) on atoms `first .. first + out.force[0].len()` (a contiguous
/// range of owned atoms) from `list` and positions `pos` (owned atoms then ghosts).
pub fn pair_forces<P: PairPotential + ?Sized>(
    potential: &P,
    list: &NeighbourList,
    pos: &[Vec<f64>; DIMS],
    first: usize,
    out: PairOutput<'_>,
) {
    let rc2 = potential.cutoff() * potential.cutoff();
    let [fx, fy, fz] = out.force;
    let tally = out.energy.zip(out.virial);
    let (mut energy, mut virial) = match tally {
        Some((e, w)) => (Some(e), Some(w)),
        None => (None, None),
    };
    let (x, y, z) = (&pos[0][..], &pos[1][..], &pos[2][..]);
    for k in 0..fx.len() {
        let i = first + k;
        let (xi, yi, zi) = (x[i], y[i], z[i]);
        let (mut sx, mut sy, mut sz) = (0.0, 0.0, 0.0);
        let (mut e, mut w) = (0.0, 0.0);
        let want_energy = energy.is_some();
        for &j in list.of(i) {
            let j = j as usize;
            let (dx, dy, dz) = (xi - x[j], yi - y[j], zi - z[j]);
            let r2 = dx * dx + dy * dy + dz * dz;
            let inside = r2 < rc2;
            let (pair_energy, f_over_r) = potential.energy_and_force_over_r(r2);
            let f_over_r = if inside { f_over_r } else { 0.0 };
            sx += f_over_r * dx;
            sy += f_over_r * dy;
            sz += f_over_r * dz;
            if want_energy {
                e += if inside { pair_energy } else { 0.0 };
                w += f_over_r * r2;
            }
        }
        fx[k] = sx;
        fy[k] = sy;
        fz[k] = sz;
        if let (Some(en), Some(vi)) = (energy.as_deref_mut(), virial.as_deref_mut()) {
            en[k] = 0.5 * e;
            vi[k] = 0.5 * w;
        }
    }
}

/// Owned atoms per task when threads share the pair loop.
const ATOMS_PER_TASK: usize = 512;

/// [`pair_forces`] over all `owned` atoms, shared among `threads` in ranges of atoms.
pub fn all_pair_forces(
    potential: &dyn PairPotential,
    list: &NeighbourList,
    pos: &[Vec<f64>; DIMS],
    owned: usize,
    force: &mut [Vec<f64>; DIMS],
    tallies: Option<(&mut [f64], &mut [f64])>,
    threads: &Threads,
) {
    let [fx, fy, fz] = force;
    let (fx, fy, fz) = (&mut fx[..owned], &mut fy[..owned], &mut fz[..owned]);
    let (energy, virial) = match tallies {
        Some((e, w)) => (Some(&mut e[..owned]), Some(&mut w[..owned])),
        None => (None, None),
    };
    let Some(pool) = threads.pool() else {
        potential.pair_forces(
            list,
            pos,
            0,
            PairOutput {
                force: [fx, fy, fz],
                energy,
                virial,
            },
        );
        return;
    };
    pool.scope(|scope| {
        let (mut fx, mut fy, mut fz, mut energy, mut virial) = (fx, fy, fz, energy, virial);
        let mut first = 0;
        while first < owned {
            let n = ATOMS_PER_TASK.min(owned - first);
            let (cx, rx) = std::mem::take(&mut fx).split_at_mut(n);
            let (cy, ry) = std::mem::take(&mut fy).split_at_mut(n);
            let (cz, rz) = std::mem::take(&mut fz).split_at_mut(n);
            let (ce, re) = match energy.take() {
                Some(e) => {
                    let (c, r) = e.split_at_mut(n);
                    (Some(c), Some(r))
                }
                None => (None, None),
            };
            let (cw, rw) = match virial.take() {
                Some(w) => {
                    let (c, r) = w.split_at_mut(n);
                    (Some(c), Some(r))
                }
                None => (None, None),
            };
            (fx, fy, fz, energy, virial) = (rx, ry, rz, re, rw);
            scope.spawn(move |_| {
                potential.pair_forces(
                    list,
                    pos,
                    first,
                    PairOutput {
                        force: [cx, cy, cz],
                        energy: ce,
                        virial: cw,
                    },
                )
            });
            first += n;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particles::cells::Bins;
    use crate::particles::potentials::lj::LennardJones;

    fn run(
        pos: &[Vec<f64>; 3],
        cutoff: f64,
        threads: &Threads,
    ) -> ([Vec<f64>; 3], Vec<f64>, Vec<f64>) {
        let n = pos[0].len();
        let lj = LennardJones::new(&[1.0, 1.0], cutoff, false).unwrap();
        let mut bins = Bins::new([-5.0; 3], [15.0; 3], cutoff / 2.0);
        bins.fill(pos, n);
        let mut list = NeighbourList::default();
        let id: Vec<u64> = (1..=n as u64).collect();
        list.build(&bins, pos, &id, n, cutoff + 0.3);
        let mut force = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        let (mut e, mut w) = (vec![0.0; n], vec![0.0; n]);
        all_pair_forces(
            &lj,
            &list,
            pos,
            n,
            &mut force,
            Some((&mut e, &mut w)),
            threads,
        );
        (force, e, w)
    }

    #[test]
    fn a_dimer_has_the_hand_computed_force_energy_and_virial() {
        // r = 2^(1/6) sigma is the minimum: no force, energy -epsilon
        let r = 2f64.powf(1.0 / 6.0);
        let pos = [vec![1.0, 1.0 + r], vec![2.0, 2.0], vec![3.0, 3.0]];
        let (f, e, w) = run(&pos, 2.5, &Threads::serial());
        assert!(f[0][0].abs() < 1e-12 && f[0][1].abs() < 1e-12);
        assert!((e[0] + e[1] + 1.0).abs() < 1e-14);
        assert!((w[0] + w[1]).abs() < 1e-12);
        // r = 1: E = 0, F = 24 epsilon / sigma, pushing the atoms apart
        let pos = [vec![1.0, 2.0], vec![2.0, 2.0], vec![3.0, 3.0]];
        let (f, e, w) = run(&pos, 2.5, &Threads::serial());
        assert_eq!((f[0][0], f[0][1]), (-24.0, 24.0));
        assert_eq!(e[0] + e[1], 0.0);
        assert_eq!(w[0] + w[1], 24.0);
        // beyond the cutoff (in the skin): nothing
        let pos = [vec![1.0, 3.6], vec![2.0, 2.0], vec![3.0, 3.0]];
        let (f, e, _) = run(&pos, 2.5, &Threads::serial());
        assert_eq!((f[0][0], e[0]), (0.0, 0.0));
    }

    #[test]
    fn a_cluster_obeys_newtons_third_law_and_threads_give_the_same_bits() {
        let mut s = 3u64;
        let mut pos: [Vec<f64>; 3] = Default::default();
        // 3000 atoms on a jittered cubic lattice of spacing 1.1 (no overlaps)
        for k in 0..3000 {
            let c = [k / 225, k / 15 % 15, k % 15];
            for a in 0..3 {
                pos[a].push(
                    c[a] as f64 * 1.1 + 0.1 * crate::particles::cells::tests::uniform(&mut s),
                );
            }
        }
        let (f1, e1, w1) = run(&pos, 2.5, &Threads::serial());
        let (f3, e3, w3) = run(&pos, 2.5, &Threads::new(3).unwrap());
        assert_eq!((&f1, &e1, &w1), (&f3, &e3, &w3));
        for (a, fa) in f1.iter().enumerate() {
            let total: f64 = fa.iter().sum();
            let scale: f64 = fa.iter().map(|x| x.abs()).sum();
            assert!(total.abs() < 1e-12 * scale, "net force {total} on axis {a}");
        }
        // the energy of the cluster by a plain double loop over pairs
        let mut pair_energy = 0.0;
        for i in 0..3000 {
            for j in i + 1..3000 {
                let r2: f64 = (0..3).map(|a| (pos[a][i] - pos[a][j]).powi(2)).sum();
                if r2 < 6.25 {
                    pair_energy += 4.0 * (r2.powi(-6) - r2.powi(-3));
                }
            }
        }
        let e: f64 = e1.iter().sum();
        assert!(
            (e - pair_energy).abs() < 1e-10 * pair_energy.abs(),
            "{e} vs {pair_energy}"
        );
    }
}
