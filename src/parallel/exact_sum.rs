//! Exact, order-independent summation of `f64` values (a "superaccumulator").
//!
//! Floating-point addition is not associative, so a global sum reduced over 2 ranks differs
//! in its last bits from the same sum over 3 ranks, and an iterative solver that stops on
//! `||r|| < tol` could then take a different number of iterations on a different rank count.
//! [`ExactSum`] avoids this: every finite double is an integer multiple of `2^-1074`, so
//! the accumulator holds the sum EXACTLY as a wide fixed-point integer (67 limbs of 32 bits
//! each, kept in `i64` so carries can wait). Integer addition is associative, so partial
//! sums may be merged in any order - across threads or with `MPI_Allreduce(MPI_SUM)` on the
//! limbs - and [`ExactSum::value`] rounds the one exact result to a double, identically
//! whatever the split. (The idea is Kulisch's long accumulator; see also Collange et al.,
//! "Numerical reproducibility for the parallel reduction on multi- and many-core
//! architectures", 2015.)
//!
//! Cost: a handful of integer operations per term, about as much as the stencil update
//! whose residual is being summed.

/// Bits per limb.
const LIMB_BITS: u32 = 32;
/// Limbs: bit positions `0 ..= 2045 + 53` of the value in units of `2^-1074`, plus room for
/// carries out of the top.
pub const LIMBS: usize = 67;
/// Length of [`ExactSum::to_wire`]: the limbs and a non-finite flag.
pub const WIRE: usize = LIMBS + 1;
/// Terms that may be added before carries must be propagated (each adds `< 2^32` per limb).
const ADDS_BEFORE_CARRY: u32 = 1 << 30;

/// An exact sum of doubles. Non-finite terms make the sum NaN.
#[derive(Clone, Debug)]
pub struct ExactSum {
    limbs: [i64; LIMBS],
    pending: u32,
    not_finite: bool,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            limbs: [0; LIMBS],
            pending: 0,
            not_finite: false,
        }
    }
}

impl ExactSum {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `x` exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x == 0.0 {
            return;
        }
        if !x.is_finite() {
            self.not_finite = true;
            return;
        }
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as u32;
        let fraction = bits & ((1u64 << 52) - 1);
        // |x| = mantissa * 2^(position - 1074)
        let (mantissa, position) = if biased == 0 {
            (fraction, 0)
        } else {
            (fraction | (1u64 << 52), biased - 1)
        };
        let limb = (position / LIMB_BITS) as usize;
        let wide = u128::from(mantissa) << (position % LIMB_BITS);
        let sign: i64 = if x < 0.0 { -1 } else { 1 };
        for t in 0..3 {
            let digit = ((wide >> (LIMB_BITS * t as u32)) & 0xffff_ffff) as i64;
            self.limbs[limb + t] += sign * digit;
        }
        self.pending += 1;
        if self.pending == ADDS_BEFORE_CARRY {
            self.carry();
        }
    }

    /// Adds every term of another partial sum.
    pub fn merge(&mut self, other: &ExactSum) {
        self.carry();
        let mut o = other.clone();
        o.carry();
        for (a, b) in self.limbs.iter_mut().zip(o.limbs) {
            *a += b;
        }
        self.not_finite |= o.not_finite;
        self.carry();
    }

    /// Propagates carries: afterwards limbs `0 .. LIMBS-1` lie in `[0, 2^32)` and the top
    /// limb carries the sign. This form is unique for each value.
    fn carry(&mut self) {
        for t in 0..LIMBS - 1 {
            let c = self.limbs[t] >> LIMB_BITS; // floor division by 2^32
            self.limbs[t] -= c << LIMB_BITS;
            self.limbs[t + 1] += c;
        }
        self.pending = 0;
    }

    /// The partial sum as integers for summing across ranks (`MPI_SUM` on `i64`): the
    /// limbs in carried form, then a count of non-finite terms. Summing up to `2^31` such
    /// arrays cannot overflow.
    pub fn to_wire(&self) -> [i64; WIRE] {
        let mut c = self.clone();
        c.carry();
        let mut w = [0; WIRE];
        w[..LIMBS].copy_from_slice(&c.limbs);
        w[LIMBS] = i64::from(c.not_finite);
        w
    }

    /// The sum of the partial sums whose [`ExactSum::to_wire`] arrays summed to `wire`.
    pub fn from_wire(wire: [i64; WIRE]) -> ExactSum {
        let mut s = ExactSum {
            limbs: wire[..LIMBS].try_into().expect("LIMBS limbs"),
            pending: 0,
            not_finite: wire[LIMBS] != 0,
        };
        s.carry();
        s
    }

    /// The sum rounded to a double (faithfully: within one unit in the last place). The
    /// result depends only on the exact sum, never on how the terms were grouped.
    pub fn value(&self) -> f64 {
        if self.not_finite {
            return f64::NAN;
        }
        let mut c = self.clone();
        c.carry();
        let negative = c.limbs[LIMBS - 1] < 0;
        if negative {
            for l in c.limbs.iter_mut() {
                *l = -*l;
            }
            c.carry();
        }
        let Some(top) = c.limbs.iter().rposition(|&l| l != 0) else {
            return 0.0;
        };
        // the three most significant limbs hold at least 65 significant bits
        let magnitude: f64 = (top.saturating_sub(2)..=top)
            .rev()
            .map(|t| c.limbs[t] as f64 * pow2(LIMB_BITS as i32 * t as i32 - 1074))
            .sum();
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// `2^e` for `-1074 <= e <= 1023`, built from its bits (exact, no library call); larger
/// exponents give infinity.
fn pow2(e: i32) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

impl std::iter::FromIterator<f64> for ExactSum {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut s = ExactSum::new();
        for x in iter {
            s.add(x);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible stream of doubles spanning many magnitudes and both signs.
    fn terms(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let m = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let e = ((s >> 3) % 80) as i32 - 40;
                m * 2f64.powi(e)
            })
            .collect()
    }

    #[test]
    fn simple_sums_are_exact() {
        let s: ExactSum = [1.0, 2.0, 3.5, -0.25].into_iter().collect();
        assert_eq!(s.value(), 6.25);
        // 1e16 + 1 - 1e16 loses the 1 in floating point, not here
        let s: ExactSum = [1e16, 1.0, -1e16].into_iter().collect();
        assert_eq!(s.value(), 1.0);
        let s: ExactSum = [f64::MAX, f64::MAX, -f64::MAX].into_iter().collect();
        assert_eq!(s.value(), f64::MAX);
        let tiny = f64::from_bits(1); // smallest subnormal
        let s: ExactSum = [tiny, tiny, tiny].into_iter().collect();
        assert_eq!(s.value(), 3.0 * tiny);
        let s: ExactSum = [-3.0, 1.0].into_iter().collect();
        assert_eq!(s.value(), -2.0);
        assert_eq!(ExactSum::new().value(), 0.0);
        let s: ExactSum = [1.0, f64::NAN].into_iter().collect();
        assert!(s.value().is_nan());
    }

    #[test]
    fn any_grouping_gives_the_same_bits() {
        let t = terms(10_000, 7);
        let whole: ExactSum = t.iter().copied().collect();
        for parts in [2, 3, 4, 7] {
            let chunk = t.len().div_ceil(parts);
            // merged directly, in reverse order
            let mut merged = ExactSum::new();
            for c in t.chunks(chunk).rev() {
                merged.merge(&c.iter().copied().collect());
            }
            assert_eq!(merged.value().to_bits(), whole.value().to_bits());
            // through integer limbs, as MPI_Allreduce(MPI_SUM) combines them
            let mut wire = [0i64; WIRE];
            for c in t.chunks(chunk) {
                let l = c.iter().copied().collect::<ExactSum>().to_wire();
                for (a, b) in wire.iter_mut().zip(l) {
                    *a += b;
                }
            }
            assert_eq!(
                ExactSum::from_wire(wire).value().to_bits(),
                whole.value().to_bits()
            );
        }
    }

    #[test]
    fn agrees_with_a_careful_sum() {
        // integers-valued doubles sum exactly in i128: compare
        let t: Vec<f64> = terms(5000, 3).iter().map(|x| (x * 1e6).round()).collect();
        let exact: i128 = t.iter().map(|&x| x as i128).sum();
        let s: ExactSum = t.iter().copied().collect();
        assert_eq!(s.value(), exact as f64);
        // and floating-point terms agree to rounding with a compensated sum
        let t = terms(5000, 11);
        let (mut sum, mut comp) = (0.0f64, 0.0f64);
        for &x in &t {
            let y = x - comp;
            let z = sum + y;
            comp = (z - sum) - y;
            sum = z;
        }
        let s: ExactSum = t.iter().copied().collect();
        assert!((s.value() - sum).abs() <= 4.0 * f64::EPSILON * sum.abs());
    }

    #[test]
    fn non_finite_survives_merging_through_the_wire() {
        let bad: ExactSum = [1.0, f64::INFINITY].into_iter().collect();
        let good: ExactSum = [1.0].into_iter().collect();
        let mut wire = good.to_wire();
        for (a, b) in wire.iter_mut().zip(bad.to_wire()) {
            *a += b;
        }
        assert!(ExactSum::from_wire(wire).value().is_nan());
    }
}
