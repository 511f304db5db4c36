//! The pair loop: forces on the owned atoms from their full neighbour lists, and on
//! request the per-atom energy and virial that thermodynamic output sums.
//!
//! For owned atom `i` with neighbours `j` (in the list's fixed order, see
//! [`super::cells`]): `F_i = sum_j (F(r)/r)(r_ij) (x_i - x_j)`, over pairs with
//! `r_ij^2 < r_c^2`; `e_i = 1/2 sum_j E(r_ij)` and `w_i = 1/2 sum_j (F(r)/r) r_ij^2`, so
//! that `sum_i e_i` is the pair energy and `sum_i w_i = sum_pairs r_ij . F_ij` the
//! virial. Pairs in the list beyond the cutoff add exactly zero (a multiply by 0, not a
//! branch), so the result depends only on the pairs inside the cutoff and their order:
//! the same bits on any rank count and for any thread count (threads take disjoint
//! ranges of atoms).
//!
//! Two loops compute the same sums with the same operations in the same order:
//! - with AVX-512 (checked at run time), [`LANES`] atoms side by side, one per vector
//!   lane, each walking its own list (the transposed [`SlicedLists`]) with gathers;
//! - otherwise one atom at a time, the pair terms of a block of its neighbours computed
//!   side by side and then added in list order.
//!
//! Rust never fuses a multiply and an add, and division and square root are correctly
//! rounded in every instruction set, so both loops and every instruction set give the
//! same bits (a unit test checks it).

use super::cells::{NeighbourList, SlicedLists, LANES};
use super::potentials::PairPotential;
use crate::parallel::Threads;
use crate::partition::DIMS;

/// What the pair loop reads: the lists (both forms) and the packed positions of the
/// owned atoms, then the ghosts, then the sentinel of [`pack_positions`].
#[derive(Clone, Copy)]
pub struct PairInput<'a> {
    pub list: &'a NeighbourList,
    pub sliced: &'a SlicedLists,
    pub xyz: &'a [Packed],
}

/// Where the pair loop writes, for a range of owned atoms: forces, and with `TALLY`
/// the per-atom energy and virial (empty slices otherwise).
pub struct PairOutput<'a> {
    pub force: [&'a mut [f64]; DIMS],
    pub energy: &'a mut [f64],
    pub virial: &'a mut [f64],
}

/// Positions packed four to an atom (x, y, z, unused), so that a neighbour's
/// coordinates share one cache line: the pair loop's gathers.
pub type Packed = [f64; 4];

/// A position outside every cutoff of any atom in any box (`1e150^2` is still finite).
const FAR: f64 = 1e150;

/// Packs the positions of atoms `0 .. n` into `out`, followed by a sentinel far away
/// (the pair loop's padding). Returns the sentinel's index.
pub fn pack_positions(pos: &[Vec<f64>; DIMS], n: usize, out: &mut Vec<Packed>) -> u32 {
    out.clear();
    out.extend((0..n).map(|i| [pos[0][i], pos[1][i], pos[2][i], 0.0]));
    out.push([FAR, FAR, FAR, 0.0]);
    n as u32
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

/// The forces (and with `TALLY` energies) on owned atoms `first .. first + n`, `n` the
/// length of `out`'s slices, `first` a multiple of [`LANES`]; with instructions `simd`.
pub fn pair_forces<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    input: PairInput<'_>,
    first: usize,
    out: PairOutput<'_>,
    simd: Simd,
) {
    assert!(
        simd != Simd::Avx512 || Simd::detect() == Simd::Avx512,
        "AVX-512 asked for on a processor without it"
    );
    assert!(
        simd != Simd::Avx2 || Simd::detect() != Simd::Baseline,
        "AVX2 asked for on a processor without it"
    );
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: `Simd::detect` found the instructions these functions are compiled for.
        Simd::Avx512 => return unsafe { lanes_avx512::<P, TALLY>(potential, input, first, out) },
        // SAFETY: as above.
        Simd::Avx2 => return unsafe { blocks_avx2::<P, TALLY>(potential, input, first, out) },
        Simd::Baseline => {}
    }
    let _ = simd;
    blocks::<P, TALLY>(potential, input, first, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blocks_avx2<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    input: PairInput<'_>,
    first: usize,
    out: PairOutput<'_>,
) {
    blocks::<P, TALLY>(potential, input, first, out)
}

/// Neighbours whose pair terms are computed side by side in [`blocks`].
const BLOCK: usize = 16;

/// One atom at a time: the pair terms of a block of neighbours side by side, then the
/// sums in list order.
#[inline(always)]
fn blocks<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    input: PairInput<'_>,
    first: usize,
    out: PairOutput<'_>,
) {
    let PairInput { list, xyz, .. } = input;
    let [fx, fy, fz] = out.force;
    let rc2 = potential.cutoff() * potential.cutoff();
    let sentinel = (xyz.len() - 1) as u32;
    for k in 0..fx.len() {
        let i = first + k;
        let [xi, yi, zi, _] = xyz[i];
        let (mut sx, mut sy, mut sz) = (0.0, 0.0, 0.0);
        let (mut e, mut w) = (0.0, 0.0);
        for block in list.of(i).chunks(BLOCK) {
            // unused lanes read the far-away sentinel, outside every cutoff
            let mut idx = [sentinel; BLOCK];
            idx[..block.len()].copy_from_slice(block);
            let mut d = [[0.0f64; BLOCK]; 3];
            let mut r2 = [0.0f64; BLOCK];
            for n in 0..BLOCK {
                let [xj, yj, zj, _] = xyz[idx[n] as usize];
                let (dx, dy, dz) = (xi - xj, yi - yj, zi - zj);
                d[0][n] = dx;
                d[1][n] = dy;
                d[2][n] = dz;
                r2[n] = dx * dx + dy * dy + dz * dz;
            }
            let mut f = [[0.0f64; BLOCK]; 3];
            let mut pe = [0.0f64; BLOCK];
            let mut pw = [0.0f64; BLOCK];
            for n in 0..BLOCK {
                let inside = f64::from(u8::from(r2[n] < rc2));
                let (pair_energy, f_over_r) = potential.energy_and_force_over_r(r2[n]);
                let f_over_r = f_over_r * inside;
                f[0][n] = f_over_r * d[0][n];
                f[1][n] = f_over_r * d[1][n];
                f[2][n] = f_over_r * d[2][n];
                if TALLY {
                    pe[n] = pair_energy * inside;
                    pw[n] = f_over_r * r2[n];
                }
            }
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
            out.energy[k] = 0.5 * e;
            out.virial[k] = 0.5 * w;
        }
    }
}

/// [`LANES`] atoms side by side, each lane walking its own list in order through the
/// transposed lists; neighbour coordinates by gather instructions.
///
/// # Safety
/// The processor must support AVX-512F; `input.sliced` must be the transposed form of
/// `input.list` padded with the sentinel of `input.xyz`, and `first` a multiple of
/// [`LANES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lanes_avx512<P: PairPotential + ?Sized, const TALLY: bool>(
    potential: &P,
    input: PairInput<'_>,
    first: usize,
    out: PairOutput<'_>,
) {
    use std::arch::x86_64::*;
    let PairInput { sliced, xyz, .. } = input;
    let [fx, fy, fz] = out.force;
    let n = fx.len();
    assert_eq!(
        first % LANES,
        0,
        "groups of lanes start at a multiple of LANES"
    );
    // gathers scale 32-bit indices by 4 (f64 per position): they must stay below 2^29
    assert!(
        xyz.len() < 1 << 29,
        "fewer than 2^29 atoms and ghosts on a rank"
    );
    assert!(
        sliced.max_index() < xyz.len(),
        "every index of the transposed lists is a packed position"
    );
    let rc2 = potential.cutoff() * potential.cutoff();
    let base: *const f64 = xyz.as_ptr().cast();
    let zero = _mm512_setzero_pd();
    let one = _mm512_set1_pd(1.0);
    let cutoff2 = _mm512_set1_pd(rc2);
    for g in first / LANES..(first + n).div_ceil(LANES) {
        let i0 = g * LANES;
        let (mut xi, mut yi, mut zi) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
        for l in 0..LANES {
            // lanes past the last atom compute on the sentinel and are not written
            let p = xyz[(i0 + l).min(xyz.len() - 1)];
            (xi[l], yi[l], zi[l]) = (p[0], p[1], p[2]);
        }
        let (xi, yi, zi) = (
            _mm512_loadu_pd(xi.as_ptr()),
            _mm512_loadu_pd(yi.as_ptr()),
            _mm512_loadu_pd(zi.as_ptr()),
        );
        let (mut sx, mut sy, mut sz, mut e, mut w) = (zero, zero, zero, zero, zero);
        for row in sliced.rows(g).chunks_exact(LANES) {
            let offsets =
                _mm256_slli_epi32::<2>(_mm256_loadu_si256(row.as_ptr().cast::<__m256i>()));
            // SAFETY: `row` holds LANES indices of packed positions (4 f64 each): each
            // gather reads one coordinate of those positions.
            let (xj, yj, zj) = unsafe {
                (
                    _mm512_i32gather_pd::<8>(offsets, base),
                    _mm512_i32gather_pd::<8>(offsets, base.add(1)),
                    _mm512_i32gather_pd::<8>(offsets, base.add(2)),
                )
            };
            let (dx, dy, dz) = (
                _mm512_sub_pd(xi, xj),
                _mm512_sub_pd(yi, yj),
                _mm512_sub_pd(zi, zj),
            );
            let r2 = _mm512_add_pd(
                _mm512_add_pd(_mm512_mul_pd(dx, dx), _mm512_mul_pd(dy, dy)),
                _mm512_mul_pd(dz, dz),
            );
            // 1 inside the cutoff, 0 outside, multiplied in as the other loop does
            let inside = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(r2, cutoff2), one);
            let (pair_energy, f_over_r) =
                potential.lanes(std::mem::transmute::<__m512d, [f64; LANES]>(r2));
            let f = _mm512_mul_pd(
                std::mem::transmute::<[f64; LANES], __m512d>(f_over_r),
                inside,
            );
            sx = _mm512_add_pd(sx, _mm512_mul_pd(f, dx));
            sy = _mm512_add_pd(sy, _mm512_mul_pd(f, dy));
            sz = _mm512_add_pd(sz, _mm512_mul_pd(f, dz));
            if TALLY {
                let pe = std::mem::transmute::<[f64; LANES], __m512d>(pair_energy);
                e = _mm512_add_pd(e, _mm512_mul_pd(pe, inside));
                w = _mm512_add_pd(w, _mm512_mul_pd(f, r2));
            }
        }
        let [sx, sy, sz, e, w] =
            [sx, sy, sz, e, w].map(|v| std::mem::transmute::<__m512d, [f64; LANES]>(v));
        for l in 0..LANES {
            let i = i0 + l;
            if i >= first + n {
                break;
            }
            let k = i - first;
            (fx[k], fy[k], fz[k]) = (sx[l], sy[l], sz[l]);
            if TALLY {
                out.energy[k] = 0.5 * e[l];
                out.virial[k] = 0.5 * w[l];
            }
        }
    }
}

/// Owned atoms per task when threads share the pair loop (a multiple of [`LANES`]).
const ATOMS_PER_TASK: usize = 512;

/// The forces on all `owned` atoms (and with `tallies` their energies and virials),
/// shared among `threads` in ranges of atoms.
pub fn all_pair_forces(
    potential: &dyn PairPotential,
    input: PairInput<'_>,
    owned: usize,
    force: &mut [Vec<f64>; DIMS],
    tallies: Option<(&mut [f64], &mut [f64])>,
    threads: &Threads,
) {
    all_pair_forces_with(
        Simd::detect(),
        potential,
        input,
        owned,
        force,
        tallies,
        threads,
    )
}

/// [`all_pair_forces`] with instructions `simd` (which the processor must have).
fn all_pair_forces_with(
    simd: Simd,
    potential: &dyn PairPotential,
    input: PairInput<'_>,
    owned: usize,
    force: &mut [Vec<f64>; DIMS],
    tallies: Option<(&mut [f64], &mut [f64])>,
    threads: &Threads,
) {
    let tally = tallies.is_some();
    let [fx, fy, fz] = force;
    let (mut fx, mut fy, mut fz) = (&mut fx[..owned], &mut fy[..owned], &mut fz[..owned]);
    let (mut energy, mut virial): (&mut [f64], &mut [f64]) = match tallies {
        Some((e, w)) => (&mut e[..owned], &mut w[..owned]),
        None => (&mut [], &mut []),
    };
    let Some(pool) = threads.pool() else {
        let out = PairOutput {
            force: [fx, fy, fz],
            energy,
            virial,
        };
        potential.pair_forces(input, 0, out, tally, simd);
        return;
    };
    pool.scope(|scope| {
        let mut first = 0;
        while first < owned {
            let n = ATOMS_PER_TASK.min(owned - first);
            let (cx, rx) = std::mem::take(&mut fx).split_at_mut(n);
            let (cy, ry) = std::mem::take(&mut fy).split_at_mut(n);
            let (cz, rz) = std::mem::take(&mut fz).split_at_mut(n);
            let t = if tally { n } else { 0 };
            let (ce, re) = std::mem::take(&mut energy).split_at_mut(t);
            let (cw, rw) = std::mem::take(&mut virial).split_at_mut(t);
            (fx, fy, fz, energy, virial) = (rx, ry, rz, re, rw);
            let out = PairOutput {
                force: [cx, cy, cz],
                energy: ce,
                virial: cw,
            };
            scope.spawn(move |_| potential.pair_forces(input, first, out, tally, simd));
            first += n;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::particles::cells::Bins;
    use crate::particles::cells::SlicedLists;
    use crate::particles::potentials::lj::LennardJones;

    fn run(
        pos: &[Vec<f64>; 3],
        cutoff: f64,
        threads: &Threads,
    ) -> ([Vec<f64>; 3], Vec<f64>, Vec<f64>) {
        run_with(Simd::detect(), pos, cutoff, threads)
    }

    fn run_with(
        simd: Simd,
        pos: &[Vec<f64>; 3],
        cutoff: f64,
        threads: &Threads,
    ) -> ([Vec<f64>; 3], Vec<f64>, Vec<f64>) {
        let lj = LennardJones::new(&[1.0, 1.0], cutoff, false).unwrap();
        run_potential(simd, &lj, pos, threads)
    }

    fn run_potential(
        simd: Simd,
        potential: &dyn PairPotential,
        pos: &[Vec<f64>; 3],
        threads: &Threads,
    ) -> ([Vec<f64>; 3], Vec<f64>, Vec<f64>) {
        let n = pos[0].len();
        let cutoff = potential.cutoff();
        let mut bins = Bins::new([-5.0; 3], [20.0; 3], cutoff / 2.0);
        let id: Vec<u64> = (1..=n as u64).collect();
        bins.fill(pos, &id, n);
        let mut list = NeighbourList::default();
        list.build(&bins, pos, n, cutoff + 0.3);
        let mut force = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
        let mut xyz = Vec::new();
        let sentinel = pack_positions(pos, n, &mut xyz);
        let mut sliced = SlicedLists::default();
        sliced.build(&list, n, sentinel);
        let input = PairInput {
            list: &list,
            sliced: &sliced,
            xyz: &xyz,
        };
        let (mut e, mut w) = (vec![0.0; n], vec![0.0; n]);
        all_pair_forces_with(
            simd,
            potential,
            input,
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
        // 2997 atoms (not a whole number of vector groups) on a jittered cubic lattice
        // of spacing 1.1 (no overlaps)
        for k in 0..2997 {
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
        // every instruction set this processor has gives the same bits as the baseline
        // every instruction set this processor has gives the same bits as the baseline,
        // for each potential
        let morse =
            crate::particles::potentials::morse::Morse::new(&[1.0, 5.0, 1.1], 2.5, true).unwrap();
        let lj = LennardJones::new(&[1.0, 1.0], 2.5, false).unwrap();
        for potential in [&lj as &dyn PairPotential, &morse] {
            let baseline = run_potential(Simd::Baseline, potential, &pos, &Threads::serial());
            for simd in [Simd::Avx2, Simd::Avx512] {
                let have = match Simd::detect() {
                    Simd::Avx512 => true,
                    Simd::Avx2 => simd == Simd::Avx2,
                    Simd::Baseline => false,
                };
                if have {
                    let got = run_potential(simd, potential, &pos, &Threads::serial());
                    assert!(
                        got == baseline,
                        "{} with {simd:?} differs from the baseline loop",
                        potential.name()
                    );
                }
            }
        }
        for (a, fa) in f1.iter().enumerate() {
            let total: f64 = fa.iter().sum();
            let scale: f64 = fa.iter().map(|x| x.abs()).sum();
            assert!(total.abs() < 1e-12 * scale, "net force {total} on axis {a}");
        }
        // the energy of the cluster by a plain double loop over pairs
        let mut pair_energy = 0.0;
        for i in 0..2997 {
            for j in i + 1..2997 {
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
