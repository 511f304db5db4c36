//! Direct-sum gravity, the pair loop of the n-body family (issue "Particles II"; the ring
//! of ranks and the integrator build on it). No MPI.
//!
//! **Maths.** Bodies of mass `m_j` at `x_j` in units with `G = 1`; Plummer softening `eps`:
//!
//! ```text
//! a_i   =  sum_{j != i} m_j (x_j - x_i) / (|x_j - x_i|^2 + eps^2)^(3/2)
//! phi_i = -sum_{j != i} m_j / (|x_j - x_i|^2 + eps^2)^(1/2)       (potential energy 1/2 sum m_i phi_i)
//! ```
//!
//! **Order.** Bodies are grouped in tiles of [`TILE`] consecutive global ids. For one target
//! body, [`tile_sums`] adds a tile's contributions in increasing id order, one plain sum per
//! tile; the tiles' sums are then to be added exactly (order-independently), so the total
//! depends on no rank count or visiting order. The sums run over targets in SIMD lanes
//! (each lane one target, the same per-target order), so vectorisation changes no bit.
//!
//! **Inverse square root.** Two ways, a run's choice ([`InverseSqrt`]):
//! - `Exact`: `1 / sqrt(r^2)`, correctly rounded square root and division, any processor;
//! - `Newton`: AVX-512's 14-bit estimate `VRSQRT14PD` refined by two Newton steps
//!   `y += y (1/2 - (r^2/2) y^2)` (error 2^-14 -> 2^-28 -> 2^-56 before rounding), relative
//!   error below 2^-51 ([`NEWTON_MAX_ERROR`], tested). About twice the speed: the exact path
//!   is bound by the divide/square-root unit. Its bits depend on the processor's estimate
//!   (Intel specifies it only to 2^-14), so a run and its restarts keep one processor
//!   family; ranks and threads never change them.
//!
//! **Cost.** 20 floating-point operations per interaction by the customary count (3
//! subtractions, 3 multiply-adds for `r^2`, the inverse square root counted as the usual
//! handful, 3 multiply-adds for `a`, 2 for `phi`).

/// How `1 / sqrt(r^2)` is computed (see the module's notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InverseSqrt {
    Exact,
    Newton,
}

impl InverseSqrt {
    /// The faster one this processor has: `Newton` with AVX-512F, else `Exact`.
    pub fn fastest() -> InverseSqrt {
        if newton_available() {
            InverseSqrt::Newton
        } else {
            InverseSqrt::Exact
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InverseSqrt::Exact => "exact",
            InverseSqrt::Newton => "newton",
        }
    }
}

/// Whether this processor runs the `Newton` kernel (AVX-512F).
pub fn newton_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Bound on the relative error of the `Newton` inverse square root, 2^-51 (2 ulp; the
/// test measures 2.6e-16 over 120 binades).
pub const NEWTON_MAX_ERROR: f64 = 4.440892098500626e-16;

/// Floating-point operations counted per interaction (the customary figure).
pub const FLOPS_PER_INTERACTION: f64 = 20.0;

/// Bodies per tile of global ids.
pub const TILE: usize = 64;
/// Targets per SIMD group.
const LANES: usize = 8;

/// Sources of one tile: positions and masses (structure of arrays), and the global id of
/// the first (the others follow consecutively).
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub z: &'a [f64],
    pub m: &'a [f64],
    pub first_id: u64,
}

/// Targets: positions and global ids.
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub z: &'a [f64],
    pub id: &'a [u64],
}

/// One tile's contributions to each target: acceleration and potential.
#[derive(Clone, Debug, Default)]
pub struct TileSums {
    pub ax: Vec<f64>,
    pub ay: Vec<f64>,
    pub az: Vec<f64>,
    pub phi: Vec<f64>,
}

impl TileSums {
    /// `self += other`, component by component (`self` the left operand: the order is
    /// fixed, so the bits are).
    pub fn add(&mut self, other: &TileSums) {
        for (l, r) in [
            (&mut self.ax, &other.ax),
            (&mut self.ay, &other.ay),
            (&mut self.az, &other.az),
            (&mut self.phi, &other.phi),
        ] {
            for (a, b) in l.iter_mut().zip(r) {
                *a += *b;
            }
        }
    }

    /// Makes every component `n` long; the values are unspecified (the kernel writes
    /// them all), so a reused buffer of the same length is not cleared first.
    pub fn resize(&mut self, n: usize) {
        for v in [&mut self.ax, &mut self.ay, &mut self.az, &mut self.phi] {
            v.resize(n, 0.0);
        }
    }
}

/// `out[i]` = the sum over the tile's bodies `j` (in id order, `j = i` left out) of body
/// `j`'s pull on target `i`, softened by `eps2 = eps^2`. `Newton` needs
/// [`newton_available`] (a bug otherwise).
pub fn tile_sums(
    targets: Targets,
    sources: Sources,
    eps2: f64,
    method: InverseSqrt,
    out: &mut TileSums,
) {
    let n = targets.x.len();
    out.resize(n);
    // only a tile holding one of the targets needs the test for the body itself
    let first = sources.first_id;
    let end = first + sources.x.len() as u64;
    let holds_target = targets.id.first().is_some_and(|&a| a < end)
        && targets.id.last().is_some_and(|&b| b >= first);
    #[cfg(target_arch = "x86_64")]
    {
        if method == InverseSqrt::Newton {
            assert!(newton_available(), "the Newton kernel needs AVX-512F");
            // SAFETY: the processor has AVX-512F.
            unsafe {
                if holds_target {
                    newton::tile_sums::<true>(targets, sources, eps2, out)
                } else {
                    newton::tile_sums::<false>(targets, sources, eps2, out)
                }
            }
            return;
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F.
            return unsafe { tile_sums_avx512(targets, sources, eps2, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { tile_sums_avx2(targets, sources, eps2, out) };
        }
    }
    assert!(
        method == InverseSqrt::Exact,
        "the Newton kernel needs AVX-512F"
    );
    let _ = holds_target;
    tile_sums_body(targets, sources, eps2, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_sums_avx512(targets: Targets, sources: Sources, eps2: f64, out: &mut TileSums) {
    tile_sums_body(targets, sources, eps2, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tile_sums_avx2(targets: Targets, sources: Sources, eps2: f64, out: &mut TileSums) {
    tile_sums_body(targets, sources, eps2, out)
}

#[inline(always)]
fn tile_sums_body(t: Targets, s: Sources, eps2: f64, out: &mut TileSums) {
    let n = t.x.len();
    let mut start = 0;
    while start < n {
        let len = LANES.min(n - start);
        let mut xi = [0.0; LANES];
        let mut yi = [0.0; LANES];
        let mut zi = [0.0; LANES];
        let mut self_j = [u64::MAX; LANES];
        for l in 0..len {
            xi[l] = t.x[start + l];
            yi[l] = t.y[start + l];
            zi[l] = t.z[start + l];
            self_j[l] = t.id[start + l].wrapping_sub(s.first_id);
        }
        let (mut ax, mut ay, mut az, mut phi) =
            ([0.0; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
        for j in 0..s.x.len() {
            let (xj, yj, zj, mj) = (s.x[j], s.y[j], s.z[j], s.m[j]);
            for l in 0..LANES {
                let dx = xj - xi[l];
                let dy = yj - yi[l];
                let dz = zj - zi[l];
                let r2 = dx * dx + dy * dy + dz * dz + eps2;
                // the body itself contributes an exact zero
                let m = if self_j[l] == j as u64 { 0.0 } else { mj };
                let r2 = if self_j[l] == j as u64 { 1.0 } else { r2 };
                let inv = 1.0 / r2.sqrt();
                let m_inv = m * inv;
                let m_inv3 = m_inv * inv * inv;
                ax[l] += m_inv3 * dx;
                ay[l] += m_inv3 * dy;
                az[l] += m_inv3 * dz;
                phi[l] -= m_inv;
            }
        }
        out.ax[start..start + len].copy_from_slice(&ax[..len]);
        out.ay[start..start + len].copy_from_slice(&ay[..len]);
        out.az[start..start + len].copy_from_slice(&az[..len]);
        out.phi[start..start + len].copy_from_slice(&phi[..len]);
        start += len;
    }
}

/// The `Newton` kernel: AVX-512 intrinsics, two groups of 8 targets per pass over the
/// sources (independent chains for the pipelines). Each target's sum is in source order.
#[cfg(target_arch = "x86_64")]
mod newton {
    use super::{Sources, Targets, TileSums};
    use std::arch::x86_64::*;

    const GROUP: usize = 16;

    /// `1 / sqrt(r2)`: the 14-bit estimate and two Newton steps in correction form.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub fn inverse_sqrt(r2: __m512d) -> __m512d {
        let half = _mm512_set1_pd(0.5);
        let h = _mm512_mul_pd(half, r2);
        let mut y = _mm512_rsqrt14_pd(r2);
        for _ in 0..2 {
            let hy = _mm512_mul_pd(h, y);
            let c = _mm512_fnmadd_pd(hy, y, half);
            y = _mm512_fmadd_pd(y, c, y);
        }
        y
    }

    /// # Safety
    /// The processor must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tile_sums<const SELF: bool>(
        t: Targets,
        s: Sources,
        eps2: f64,
        out: &mut TileSums,
    ) {
        let n = t.x.len();
        let m = s.x.len();
        assert!(s.y.len() == m && s.z.len() == m && s.m.len() == m);
        let eps2v = _mm512_set1_pd(eps2);
        let zero = _mm512_setzero_pd();
        let one = _mm512_set1_pd(1.0);
        let mut start = 0;
        while start < n {
            let len = GROUP.min(n - start);
            let mut xi = [0.0; GROUP];
            let mut yi = [0.0; GROUP];
            let mut zi = [0.0; GROUP];
            let mut self_j = [u64::MAX; GROUP];
            for l in 0..len {
                xi[l] = t.x[start + l];
                yi[l] = t.y[start + l];
                zi[l] = t.z[start + l];
                self_j[l] = t.id[start + l].wrapping_sub(s.first_id);
            }
            let load = |a: &[f64; GROUP], g: usize| _mm512_loadu_pd(a[8 * g..].as_ptr());
            let xs = [load(&xi, 0), load(&xi, 1)];
            let ys = [load(&yi, 0), load(&yi, 1)];
            let zs = [load(&zi, 0), load(&zi, 1)];
            let selfs = [
                _mm512_loadu_si512(self_j.as_ptr() as *const _),
                _mm512_loadu_si512(self_j[8..].as_ptr() as *const _),
            ];
            let mut ax = [zero; 2];
            let mut ay = [zero; 2];
            let mut az = [zero; 2];
            let mut phi = [zero; 2];
            for j in 0..m {
                // SAFETY: j < m, the length of every source slice (asserted above).
                let (xj, yj, zj, mj) = unsafe {
                    (
                        _mm512_set1_pd(*s.x.get_unchecked(j)),
                        _mm512_set1_pd(*s.y.get_unchecked(j)),
                        _mm512_set1_pd(*s.z.get_unchecked(j)),
                        _mm512_set1_pd(*s.m.get_unchecked(j)),
                    )
                };
                let jv = _mm512_set1_epi64(j as i64);
                for g in 0..2 {
                    let dx = _mm512_sub_pd(xj, xs[g]);
                    let dy = _mm512_sub_pd(yj, ys[g]);
                    let dz = _mm512_sub_pd(zj, zs[g]);
                    let mut r2 = _mm512_fmadd_pd(
                        dx,
                        dx,
                        _mm512_fmadd_pd(dy, dy, _mm512_fmadd_pd(dz, dz, eps2v)),
                    );
                    let mut mass = mj;
                    if SELF {
                        // the body itself contributes an exact zero
                        let me = _mm512_cmpeq_epi64_mask(selfs[g], jv);
                        r2 = _mm512_mask_blend_pd(me, r2, one);
                        mass = _mm512_mask_blend_pd(me, mj, zero);
                    }
                    let inv = inverse_sqrt(r2);
                    let m_inv = _mm512_mul_pd(mass, inv);
                    let m_inv3 = _mm512_mul_pd(_mm512_mul_pd(m_inv, inv), inv);
                    ax[g] = _mm512_fmadd_pd(m_inv3, dx, ax[g]);
                    ay[g] = _mm512_fmadd_pd(m_inv3, dy, ay[g]);
                    az[g] = _mm512_fmadd_pd(m_inv3, dz, az[g]);
                    phi[g] = _mm512_sub_pd(phi[g], m_inv);
                }
            }
            let mut buf = [0.0; GROUP];
            for (acc, dst) in [
                (&ax, &mut out.ax),
                (&ay, &mut out.ay),
                (&az, &mut out.az),
                (&phi, &mut out.phi),
            ] {
                _mm512_storeu_pd(buf.as_mut_ptr(), acc[0]);
                _mm512_storeu_pd(buf[8..].as_mut_ptr(), acc[1]);
                dst[start..start + len].copy_from_slice(&buf[..len]);
            }
            start += len;
        }
    }

    /// The inverse square root of each of `r2` (for tests), 8 at a time.
    #[cfg(test)]
    pub fn inverse_sqrt_of(r2: &[f64]) -> Vec<f64> {
        assert!(super::newton_available());
        let mut out = Vec::with_capacity(r2.len());
        for chunk in r2.chunks(8) {
            let mut a = [1.0; 8];
            a[..chunk.len()].copy_from_slice(chunk);
            let mut b = [0.0; 8];
            // SAFETY: the processor has AVX-512F (asserted).
            unsafe {
                let y = avx512_inverse_sqrt(&a);
                b.copy_from_slice(&y);
            }
            out.extend_from_slice(&b[..chunk.len()]);
        }
        out
    }

    #[cfg(test)]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512_inverse_sqrt(a: &[f64; 8]) -> [f64; 8] {
        let mut b = [0.0; 8];
        // SAFETY: both arrays hold 8 values.
        unsafe { _mm512_storeu_pd(b.as_mut_ptr(), inverse_sqrt(_mm512_loadu_pd(a.as_ptr()))) };
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct System {
        x: Vec<f64>,
        y: Vec<f64>,
        z: Vec<f64>,
        m: Vec<f64>,
        id: Vec<u64>,
    }

    fn system(n: usize, seed: u64) -> System {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut s = System {
            x: vec![],
            y: vec![],
            z: vec![],
            m: vec![],
            id: vec![],
        };
        for i in 0..n {
            s.x.push(next() - 0.5);
            s.y.push(next() - 0.5);
            s.z.push(next() - 0.5);
            s.m.push(0.5 + next());
            s.id.push(i as u64);
        }
        s
    }

    fn sums(s: &System, targets: std::ops::Range<usize>, eps2: f64) -> TileSums {
        sums_by(s, targets, eps2, InverseSqrt::Exact)
    }

    fn sums_by(
        s: &System,
        targets: std::ops::Range<usize>,
        eps2: f64,
        method: InverseSqrt,
    ) -> TileSums {
        let mut out = TileSums::default();
        let t = Targets {
            x: &s.x[targets.clone()],
            y: &s.y[targets.clone()],
            z: &s.z[targets.clone()],
            id: &s.id[targets],
        };
        let src = Sources {
            x: &s.x,
            y: &s.y,
            z: &s.z,
            m: &s.m,
            first_id: 0,
        };
        tile_sums(t, src, eps2, method, &mut out);
        out
    }

    #[test]
    fn two_and_three_bodies_by_hand() {
        // masses 2 and 3 a distance 2 apart on the x axis, no softening
        let s = System {
            x: vec![0.0, 2.0],
            y: vec![0.0; 2],
            z: vec![0.0; 2],
            m: vec![2.0, 3.0],
            id: vec![0, 1],
        };
        let out = sums(&s, 0..2, 0.0);
        assert_eq!(out.ax, vec![3.0 / 4.0, -2.0 / 4.0]);
        assert_eq!(out.phi, vec![-3.0 / 2.0, -2.0 / 2.0]);
        assert_eq!((out.ay[0], out.az[1]), (0.0, 0.0));
        // an equilateral triangle of unit masses, side 1, softening 0.5: each body is pulled
        // towards the centre by 2 cos(30 deg) / (1 + 0.25)^(3/2)
        let h = 3f64.sqrt() / 2.0;
        let s = System {
            x: vec![0.0, 1.0, 0.5],
            y: vec![0.0, 0.0, h],
            z: vec![0.0; 3],
            m: vec![1.0; 3],
            id: vec![0, 1, 2],
        };
        let out = sums(&s, 0..3, 0.25);
        let pull = 2.0 * h / 1.25f64.powf(1.5);
        let c = [0.5, h / 3.0];
        for i in 0..3 {
            let (dx, dy) = (c[0] - s.x[i], c[1] - s.y[i]);
            let d = (dx * dx + dy * dy).sqrt();
            assert!(
                (out.ax[i] - pull * dx / d).abs() < 1e-15,
                "{i}: {}",
                out.ax[i]
            );
            assert!(
                (out.ay[i] - pull * dy / d).abs() < 1e-15,
                "{i}: {}",
                out.ay[i]
            );
            assert!((out.phi[i] + 2.0 / 1.25f64.sqrt()).abs() < 1e-15);
        }
    }

    #[test]
    fn the_vector_loop_is_the_scalar_double_loop_bit_for_bit() {
        let s = system(TILE, 3);
        let eps2 = 1e-4;
        let out = sums(&s, 0..TILE, eps2);
        for i in 0..TILE {
            let (mut ax, mut phi) = (0.0, 0.0);
            for j in 0..TILE {
                if j == i {
                    continue;
                }
                let (dx, dy, dz) = (s.x[j] - s.x[i], s.y[j] - s.y[i], s.z[j] - s.z[i]);
                let r2 = dx * dx + dy * dy + dz * dz + eps2;
                let inv = 1.0 / r2.sqrt();
                ax += s.m[j] * inv * inv * inv * dx;
                phi -= s.m[j] * inv;
            }
            assert_eq!(out.ax[i].to_bits(), ax.to_bits(), "a_x of body {i}");
            assert_eq!(out.phi[i].to_bits(), phi.to_bits(), "phi of body {i}");
        }
        // a ragged target count (not a multiple of the lanes) gives the same values
        let part = sums(&s, 5..26, eps2);
        assert_eq!(part.az, out.az[5..26].to_vec());
    }

    #[test]
    fn forces_obey_newtons_third_law() {
        let s = system(TILE, 9);
        let out = sums(&s, 0..TILE, 1e-6);
        let (mut fx, mut fy, mut fz, mut scale) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..TILE {
            fx += s.m[i] * out.ax[i];
            fy += s.m[i] * out.ay[i];
            fz += s.m[i] * out.az[i];
            scale += (s.m[i] * out.ax[i]).abs();
        }
        for f in [fx, fy, fz] {
            assert!(
                f.abs() < 1e-13 * scale,
                "total force {f:e} against {scale:e}"
            );
        }
    }

    #[test]
    fn newton_inverse_square_roots_are_within_the_stated_bound() {
        if !newton_available() {
            return;
        }
        // every binade from 2^-60 to 2^60, 4096 points in each
        let mut r2 = Vec::new();
        let mut state = 7u64;
        for e in -60..60 {
            for _ in 0..4096 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let f = 1.0 + (state >> 11) as f64 / (1u64 << 53) as f64;
                r2.push(f * 2f64.powi(e));
            }
        }
        let y = newton::inverse_sqrt_of(&r2);
        let mut worst: f64 = 0.0;
        for (&x, &y) in r2.iter().zip(&y) {
            // the reference in extended precision: 1/sqrt(x) = sqrt(x)/x, error checked in
            // the residual 1 - x y^2 (= 2 rel + O(rel^2))
            let exact = 1.0 / x.sqrt();
            let rel = ((y - exact) / exact).abs();
            worst = worst.max(rel);
        }
        // the reference itself is off by up to 1 ulp (2^-53 relative)
        assert!(
            worst < NEWTON_MAX_ERROR,
            "worst relative error {worst:e} over {} values",
            r2.len()
        );
    }

    #[test]
    fn the_newton_kernel_is_its_scalar_loop_bit_for_bit_and_near_the_exact_one() {
        if !newton_available() {
            return;
        }
        let s = system(TILE, 5);
        let eps2 = 1e-4;
        let out = sums_by(&s, 0..TILE, eps2, InverseSqrt::Newton);
        let exact = sums(&s, 0..TILE, eps2);
        for i in 0..TILE {
            let (mut ax, mut phi) = (0.0f64, 0.0f64);
            for j in 0..TILE {
                if j == i {
                    continue;
                }
                let (dx, dy, dz) = (s.x[j] - s.x[i], s.y[j] - s.y[i], s.z[j] - s.z[i]);
                let r2 = dx.mul_add(dx, dy.mul_add(dy, dz.mul_add(dz, eps2)));
                let inv = newton::inverse_sqrt_of(&[r2])[0];
                let m_inv = s.m[j] * inv;
                ax = (m_inv * inv * inv).mul_add(dx, ax);
                phi -= m_inv;
            }
            assert_eq!(out.ax[i].to_bits(), ax.to_bits(), "a_x of body {i}");
            assert_eq!(out.phi[i].to_bits(), phi.to_bits(), "phi of body {i}");
            // and within a few rounding errors per term of the exact kernel
            let scale: f64 = (0..TILE).map(|j| s.m[j]).sum::<f64>() / eps2;
            assert!((out.ax[i] - exact.ax[i]).abs() < 1e-14 * scale);
            assert!((out.phi[i] - exact.phi[i]).abs() < 1e-14 * phi.abs());
        }
        // the same bodies under other ids take the path without the self test: a body's
        // pull on itself is then included, which is an exact zero in a (dx = 0) and
        // -m/eps in phi
        let t = Targets {
            x: &s.x[..20],
            y: &s.y[..20],
            z: &s.z[..20],
            id: &s.id[..20],
        };
        let src = Sources {
            x: &s.x,
            y: &s.y,
            z: &s.z,
            m: &s.m,
            first_id: 10 * TILE as u64,
        };
        let mut unmasked = TileSums::default();
        tile_sums(t, src, eps2, InverseSqrt::Newton, &mut unmasked);
        assert_eq!(unmasked.ax, out.ax[..20].to_vec());
        assert_eq!(unmasked.az, out.az[..20].to_vec());
        for i in 0..20 {
            let own = s.m[i] / eps2.sqrt();
            assert!((unmasked.phi[i] - (out.phi[i] - own)).abs() < 1e-12 * own);
        }
    }
}
