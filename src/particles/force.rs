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

/// Positions packed four to an atom (x, y, z, unused), so that a neighbour's
/// coordinates share one cache line: the pair loop's gathers.
pub type Packed = [f64; 4];

/// A position outside every cutoff of any atom in any box (`1e150^2` is still finite).
const FAR: f64 = 1e150;

/// Packs the positions of atoms `0 .. n` into `out`, followed by a sentinel far away
/// (the pair loop's padding).
pub fn pack_positions(pos: &[Vec<f64>; DIMS], n: usize, out: &mut Vec<Packed>) {
    out.clear();
    out.extend((0..n).map(|i| [pos[0][i], pos[1][i], pos[2][i], 0.0]));
    out.push([FAR, FAR, FAR, 0.0]);
}

/// The forces (and energies) on atoms `first .. first + out.force[0].len()` (a contiguous
/// range of owned atoms) from `list` and packed positions `xyz` (owned atoms then
/// ghosts, then the sentinel of [`pack_positions`]).
///
/// The pair terms of a block of neighbours are computed side by side (SIMD: AVX-512 or
/// AVX2 when the processor has them, checked at run time), then added to the atom's sums
/// one after the other in list order. Rust never fuses a multiply and an add, and
/// division and square root are correctly rounded in every instruction set, so every
/// path gives the same bits.
pub fn pair_forces<P: PairPotential + ?Sized>(
    potential: &P,
    list: &NeighbourList,
    xyz: &[Packed],
    first: usize,
    out: PairOutput<'_>,
) {
    let simd = Simd::detect();
    match (out.energy, out.virial) {
        (Some(e), Some(w)) => {
            dispatch::<P, true>(simd, potential, list, xyz, first, out.force, e, w)
        }
        _ => dispatch::<P, false>(
            simd,
            potential,
            list,
            xyz,
            first,
            out.force,
            &mut [],
            &mut [],
        ),
    }
}

/// The widest vector instructions the processor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    Avx512,
    Avx2,
    /// The build's baseline (SSE2 on x86-64).
    Baseline,
}

impl Simd {
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::Baseline
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch<P: PairPotential + ?Sized, const TALLY: bool>(
    simd: Simd,
    potential: &P,
    list: &NeighbourList,
    xyz: &[Packed],
    first: usize,
    force: [&mut [f64]; DIMS],
    energy: &mut [f64],
    virial: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: `Simd::detect` found the instructions these functions are compiled for.
        Simd::Avx512 => unsafe {
            return atoms_avx512::<P, TALLY>(potential, list, xyz, first, force, energy, virial);
        },
        // SAFETY: as above.
        Simd::Avx2 => unsafe {
            return atoms_avx2::<P, TALLY>(potential, list, xyz, first, force, energy, virial);
        },
        Simd::Baseline => {}
    }
    let _ = simd;
    atoms::<P, TALLY>(potential, list, xyz, first, force, energy, virial)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn atoms_avx512<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    list: &NeighbourList,
    xyz: &[Packed],
    first: usize,
    force: [&mut [f64]; DIMS],
    energy: &mut [f64],
    virial: &mut [f64],
) {
    atoms::<P, TALLY>(potential, list, xyz, first, force, energy, virial)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn atoms_avx2<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    list: &NeighbourList,
    xyz: &[Packed],
    first: usize,
    force: [&mut [f64]; DIMS],
    energy: &mut [f64],
    virial: &mut [f64],
) {
    atoms::<P, TALLY>(potential, list, xyz, first, force, energy, virial)
}

/// Neighbours whose pair terms are computed side by side.
const BLOCK: usize = 16;

/// The pair loop over a range of atoms, with (`TALLY`) or without energies and virials.
#[inline(always)]
fn atoms<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    list: &NeighbourList,
    xyz: &[Packed],
    first: usize,
    [fx, fy, fz]: [&mut [f64]; DIMS],
    energy: &mut [f64],
    virial: &mut [f64],
) {
    let rc2 = potential.cutoff() * potential.cutoff();
    let sentinel = (xyz.len() - 1) as u32;
    for k in 0..fx.len() {
        let i = first + k;
        let [xi, yi, zi, _] = xyz[i];
        let (mut sx, mut sy, mut sz) = (0.0, 0.0, 0.0);
        let (mut e, mut w) = (0.0, 0.0);
        for block in list.of(i).chunks(BLOCK) {
            // gather, all lanes: unused lanes read the far-away sentinel after the
            // atoms, outside every cutoff
            let mut idx = [sentinel; BLOCK];
            idx[..block.len()].copy_from_slice(block);
            let mut d = [[0.0f64; BLOCK]; 3];
            let mut r2 = [0.0f64; BLOCK];
            let mut inside = [0.0f64; BLOCK];
            for n in 0..BLOCK {
                let [xj, yj, zj, _] = xyz[idx[n] as usize];
                let (dx, dy, dz) = (xi - xj, yi - yj, zi - zj);
                d[0][n] = dx;
                d[1][n] = dy;
                d[2][n] = dz;
                r2[n] = dx * dx + dy * dy + dz * dz;
            }
            // the pair terms, side by side: 1 inside the cutoff, 0 outside (a multiply,
            // not a branch; x 0 gives a zero, which adds nothing to the sums)
            let mut f = [[0.0f64; BLOCK]; 3];
            let mut pe = [0.0f64; BLOCK];
            let mut pw = [0.0f64; BLOCK];
            for n in 0..BLOCK {
                inside[n] = f64::from(u8::from(r2[n] < rc2));
                let (pair_energy, f_over_r) = potential.energy_and_force_over_r(r2[n]);
                let f_over_r = f_over_r * inside[n];
                f[0][n] = f_over_r * d[0][n];
                f[1][n] = f_over_r * d[1][n];
                f[2][n] = f_over_r * d[2][n];
                if TALLY {
                    pe[n] = pair_energy * inside[n];
                    pw[n] = f_over_r * r2[n];
                }
            }
            // the sums, in list order
            for n in 0..block.len() {
                sx += f[0][n];
                sy += f[1][n];
                sz += f[2][n];
                if TALLY {
                    e += pe[n];
                    w += pw[n];
                }
            }
        }
        fx[k] = sx;
        fy[k] = sy;
        fz[k] = sz;
        if TALLY {
            energy[k] = 0.5 * e;
            virial[k] = 0.5 * w;
        }
    }
}

/// Owned atoms per task when threads share the pair loop.
const ATOMS_PER_TASK: usize = 512;

/// [`pair_forces`] over all `owned` atoms, shared among `threads` in ranges of atoms.
pub fn all_pair_forces(
    potential: &dyn PairPotential,
    list: &NeighbourList,
    pos: &[Packed],
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
        let mut bins = Bins::new([-5.0; 3], [20.0; 3], cutoff / 2.0);
        let id: Vec<u64> = (1..=n as u64).collect();
        bins.fill(pos, &id, n);
        let mut list = NeighbourList::default();
        list.build(&bins, pos, n, cutoff + 0.3);
        let mut force = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        let mut xyz = Vec::new();
        pack_positions(pos, n, &mut xyz);
        let (mut e, mut w) = (vec![0.0; n], vec![0.0; n]);
        all_pair_forces(
            &lj,
            &list,
            &xyz,
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
