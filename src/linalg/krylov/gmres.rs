//! Restarted GMRES(m) (Saad and Schultz, 1986) for non-symmetric `A`, right-preconditioned
//! (`A B u = b`, `x = x_0 + B V y`), so the residual it tracks is the true one.
//!
//! Each iteration is one Arnoldi step: `w = A B v_j`, orthogonalised against `v_0 .. v_j` by
//! classical Gram-Schmidt applied twice (CGS2: each pass is one reduction of `j + 1` dot
//! products, and the second pass restores the orthogonality one pass loses), normalised
//! into `v_{j+1}`. Givens rotations keep the Hessenberg matrix triangular, and
//! `|g_{j+1}|` is the residual norm `||b - A x_j||` without forming `x_j`. After `m` steps
//! (or when the solve stops) `y` solves the triangular system and `x += B (V y)`; a new
//! cycle starts from the true residual. `m = 30`, PETSc's default.

use super::{Context, KrylovMethod, State};
use crate::linalg::vector::difference;

/// Krylov vectors per cycle.
pub const RESTART: usize = 30;

#[derive(Default)]
pub struct Gmres {
    x: Vec<f64>,
    b: Vec<f64>,
    /// The Arnoldi basis `v_0 ..= v_j`.
    basis: Vec<Vec<f64>>,
    /// Column `k` of the rotated Hessenberg matrix (`k + 2` entries).
    h: Vec<Vec<f64>>,
    g: Vec<f64>,
    cs: Vec<f64>,
    sn: Vec<f64>,
    /// Steps taken in this cycle.
    j: usize,
    /// The basis is stale: `x` was formed and a new cycle must start.
    restart: bool,
    work: Vec<f64>,
    z: Vec<f64>,
}

impl Gmres {
    pub fn boxed() -> Box<dyn KrylovMethod> {
        Box::<Gmres>::default()
    }

    /// A new cycle from the true residual of `x`; returns its norm.
    fn new_cycle(&mut self, ctx: &mut Context) -> f64 {
        let n = self.x.len();
        let mut r = vec![0.0; n];
        ctx.apply(&self.x, &mut self.work);
        let (b, w) = (&self.b, &self.work);
        ctx.update(|| difference(&mut r, b, w));
        let beta = ctx.dots(&[(&r, &r)])[0].sqrt();
        if beta > 0.0 {
            ctx.update(|| r.iter_mut().for_each(|v| *v /= beta));
        }
        self.basis = vec![r];
        self.h.clear();
        self.g = vec![beta];
        self.cs.clear();
        self.sn.clear();
        self.j = 0;
        self.restart = false;
        beta
    }

    /// `x += B V y` with `R y = g` (the cycle's least-squares solution).
    fn form_solution(&mut self, ctx: &mut Context) {
        let j = self.j;
        if j == 0 {
            return;
        }
        let mut y = vec![0.0; j];
        for i in (0..j).rev() {
            let mut s = self.g[i];
            for (column, yk) in self.h[i + 1..j].iter().zip(&y[i + 1..j]) {
                s -= column[i] * yk;
            }
            y[i] = s / self.h[i][i];
        }
        let (u, basis) = (&mut self.work, &self.basis);
        ctx.update(|| {
            u.iter_mut().for_each(|v| *v = 0.0);
            for (yk, v) in y.iter().zip(basis) {
                for (u, v) in u.iter_mut().zip(v) {
                    *u += yk * v;
                }
            }
        });
        ctx.precondition(&self.work, &mut self.z);
        let (x, z) = (&mut self.x, &self.z);
        ctx.update(|| x.iter_mut().zip(z).for_each(|(x, z)| *x += z));
        self.j = 0;
        self.restart = true;
        self.basis.clear();
        self.h.clear();
        self.cs.clear();
        self.sn.clear();
        self.g = vec![0.0];
    }
}

impl KrylovMethod for Gmres {
    fn name(&self) -> &'static str {
        "gmres"
    }

    fn start(&mut self, ctx: &mut Context, x0: &[f64], b: &[f64]) -> f64 {
        self.x = x0.to_vec();
        self.b = b.to_vec();
        self.work = vec![0.0; b.len()];
        self.z = vec![0.0; b.len()];
        self.new_cycle(ctx)
    }

    fn iterate(&mut self, ctx: &mut Context) -> Result<f64, String> {
        if self.j == RESTART || self.restart {
            self.form_solution(ctx);
            self.new_cycle(ctx);
        }
        let j = self.j;
        let mut w = vec![0.0; self.x.len()];
        ctx.precondition(&self.basis[j], &mut self.z);
        ctx.apply(&self.z, &mut w);
        // CGS2
        let mut column = vec![0.0; j + 2];
        for _pass in 0..2 {
            let pairs: Vec<(&[f64], &[f64])> =
                self.basis.iter().map(|v| (&v[..], &w[..])).collect();
            let h = ctx.dots(&pairs);
            let basis = &self.basis;
            ctx.update(|| {
                for (hk, v) in h.iter().zip(basis) {
                    for (w, v) in w.iter_mut().zip(v) {
                        *w -= hk * v;
                    }
                }
            });
            for (c, hk) in column.iter_mut().zip(&h) {
                *c += hk;
            }
        }
        let norm = ctx.dots(&[(&w, &w)])[0].sqrt();
        column[j + 1] = norm;
        if norm > 0.0 {
            ctx.update(|| w.iter_mut().for_each(|v| *v /= norm));
        }
        self.basis.push(w);
        // previous rotations, then a new one that zeroes column[j + 1]
        for k in 0..j {
            let (a, b) = (column[k], column[k + 1]);
            column[k] = self.cs[k] * a + self.sn[k] * b;
            column[k + 1] = -self.sn[k] * a + self.cs[k] * b;
        }
        let (a, b) = (column[j], column[j + 1]);
        let d = a.hypot(b);
        if d == 0.0 || !d.is_finite() {
            return Err(format!("the Hessenberg matrix is singular (|h| = {d:e})"));
        }
        let (c, s) = (a / d, b / d);
        column[j] = d;
        column[j + 1] = 0.0;
        self.cs.push(c);
        self.sn.push(s);
        let gj = self.g[j];
        self.g[j] = c * gj;
        self.g.push(-s * gj);
        self.h.push(column);
        self.j += 1;
        Ok(self.g[j + 1].abs())
    }

    fn solution(&self) -> &[f64] {
        &self.x
    }

    fn finish(&mut self, ctx: &mut Context) {
        if !self.restart {
            self.form_solution(ctx);
        }
    }

    fn state(&self) -> State<&[f64]> {
        let mut vectors = vec![
            ("x".to_string(), &self.x[..]),
            ("b".to_string(), &self.b[..]),
        ];
        // the basis, unless x was formed from it (then a new cycle starts)
        if !self.restart {
            for (k, v) in self.basis[..=self.j].iter().enumerate() {
                vectors.push((format!("v{k}"), &v[..]));
            }
        }
        let mut scalars = vec![self.j as f64, f64::from(u8::from(self.restart))];
        scalars.extend(&self.g);
        scalars.extend(&self.cs);
        scalars.extend(&self.sn);
        for column in &self.h {
            scalars.extend(column);
        }
        State { vectors, scalars }
    }

    fn vector_names(&self, scalars: &[f64]) -> Vec<String> {
        let mut names = vec!["x".to_string(), "b".to_string()];
        if let [j, restart, ..] = scalars {
            // a damaged count is caught by restore; it must not ask for a billion vectors
            if *restart == 0.0 && (0.0..=RESTART as f64).contains(j) {
                names.extend((0..=*j as usize).map(|k| format!("v{k}")));
            }
        }
        names
    }

    fn restore(&mut self, state: State<Vec<f64>>) -> Result<(), String> {
        let mut basis = Vec::new();
        for (name, v) in state.vectors {
            match name.as_str() {
                "x" => self.x = v,
                "b" => self.b = v,
                _ => basis.push(v),
            }
        }
        self.basis = basis;
        let s = &state.scalars;
        let j = s.first().map_or(usize::MAX, |&j| j as usize);
        let expected = 2 + (j + 1) + 2 * j + (0..j).map(|k| k + 2).sum::<usize>();
        if j > RESTART || s.len() != expected {
            return Err(format!("{} scalars do not describe a GMRES cycle", s.len()));
        }
        self.j = j;
        self.restart = s[1] != 0.0;
        let mut at = 2;
        let mut take = |n: usize| {
            let out = s[at..at + n].to_vec();
            at += n;
            out
        };
        self.g = take(j + 1);
        self.cs = take(j);
        self.sn = take(j);
        self.h = (0..j).map(|k| take(k + 2)).collect();
        self.work = vec![0.0; self.x.len()];
        self.z = vec![0.0; self.x.len()];
        Ok(())
    }
}
