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
//! **Cost.** 20 floating-point operations per interaction by the customary count (3
//! subtractions, 3 multiply-adds for `r^2`, the square root and division counted as the
//! usual handful, 3 multiply-adds for `a`, 2 for `phi`); here `1 / sqrt(r^2)` is computed
//! exactly rounded (no approximate reciprocal square root), so results do not depend on
//! the processor's instruction set.

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
    pub fn resize(&mut self, n: usize) {
        for v in [&mut self.ax, &mut self.ay, &mut self.az, &mut self.phi] {
            v.clear();
            v.resize(n, 0.0);
        }
    }
}

/// `out[i]` = the sum over the tile's bodies `j` (in id order, `j = i` left out) of body
/// `j`'s pull on target `i`, softened by `eps2 = eps^2`.
pub fn tile_sums(targets: Targets, sources: Sources, eps2: f64, out: &mut TileSums) {
    let n = targets.x.len();
    out.resize(n);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F.
            return unsafe { tile_sums_avx512(targets, sources, eps2, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { tile_sums_avx2(targets, sources, eps2, out) };
        }
    }
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
        tile_sums(t, src, eps2, &mut out);
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
}
