//! BiCGStab (van der Vorst, 1992) for non-symmetric `A`, right-preconditioned
//! (`A B u = b`, `x = B u`), so the residual it updates is the true, unpreconditioned one:
//!
//! ```text
//! r = b - A x,  rh = r,  rho = alpha = omega = 1,  v = p = 0
//! repeat:  rho' = rh.r;  beta = (rho'/rho)(alpha/omega);  p = r + beta (p - omega v)
//!          ph = B p;  v = A ph;  alpha = rho' / rh.v;  s = r - alpha v
//!          sh = B s;  t = A sh;  omega = t.s / t.t
//!          x += alpha ph + omega sh;  r = s - omega t
//! ```
//!
//! Three reductions per iteration (`rh.r` with `r.r`, `rh.v`, `t.s` with `t.t`). `rho' = 0`,
//! `rh.v = 0` or `omega = 0` is a breakdown, reported as such.

use super::{Context, KrylovMethod, State};
use crate::linalg::vector::difference;

#[derive(Default)]
pub struct BiCgStab {
    x: Vec<f64>,
    r: Vec<f64>,
    r_hat: Vec<f64>,
    p: Vec<f64>,
    v: Vec<f64>,
    p_hat: Vec<f64>,
    s_hat: Vec<f64>,
    t: Vec<f64>,
    rho: f64,
    alpha: f64,
    omega: f64,
}

impl BiCgStab {
    pub fn boxed() -> Box<dyn KrylovMethod> {
        Box::<BiCgStab>::default()
    }

    fn allocate(&mut self, n: usize) {
        for v in [&mut self.p_hat, &mut self.s_hat, &mut self.t] {
            *v = vec![0.0; n];
        }
    }
}

impl KrylovMethod for BiCgStab {
    fn name(&self) -> &'static str {
        "bicgstab"
    }

    fn start(&mut self, ctx: &mut Context, x0: &[f64], b: &[f64]) -> f64 {
        let n = b.len();
        self.allocate(n);
        self.x = x0.to_vec();
        self.r = vec![0.0; n];
        ctx.apply(&self.x, &mut self.t);
        let (r, t) = (&mut self.r, &self.t);
        ctx.update(|| difference(r, b, t));
        self.r_hat = self.r.clone();
        self.p = vec![0.0; n];
        self.v = vec![0.0; n];
        (self.rho, self.alpha, self.omega) = (1.0, 1.0, 1.0);
        ctx.dots(&[(&self.r, &self.r)])[0].sqrt()
    }

    fn iterate(&mut self, ctx: &mut Context) -> Result<f64, String> {
        let rho = ctx.dots(&[(&self.r_hat, &self.r)])[0];
        if rho == 0.0 || !rho.is_finite() {
            return Err(format!("r^.r = {rho:e}"));
        }
        let beta = (rho / self.rho) * (self.alpha / self.omega);
        let omega = self.omega;
        let (p, r, v) = (&mut self.p, &self.r, &self.v);
        ctx.update(|| {
            for ((p, r), v) in p.iter_mut().zip(r).zip(v) {
                *p = r + beta * (*p - omega * v);
            }
        });
        ctx.precondition(&self.p, &mut self.p_hat);
        ctx.apply(&self.p_hat, &mut self.v);
        let rv = ctx.dots(&[(&self.r_hat, &self.v)])[0];
        if rv == 0.0 || !rv.is_finite() {
            return Err(format!("r^.v = {rv:e}"));
        }
        let alpha = rho / rv;
        // s overwrites r
        let (r, v) = (&mut self.r, &self.v);
        ctx.update(|| {
            for (r, v) in r.iter_mut().zip(v) {
                *r -= alpha * v;
            }
        });
        ctx.precondition(&self.r, &mut self.s_hat);
        ctx.apply(&self.s_hat, &mut self.t);
        let d = ctx.dots(&[(&self.t, &self.r), (&self.t, &self.t)]);
        let omega = if d[1] == 0.0 { 0.0 } else { d[0] / d[1] };
        let (x, r, t, ph, sh) = (&mut self.x, &mut self.r, &self.t, &self.p_hat, &self.s_hat);
        ctx.update(|| {
            for ((x, ph), sh) in x.iter_mut().zip(ph).zip(sh) {
                *x += alpha * ph + omega * sh;
            }
            for (r, t) in r.iter_mut().zip(t) {
                *r -= omega * t;
            }
        });
        (self.rho, self.alpha, self.omega) = (rho, alpha, omega);
        let norm = ctx.dots(&[(&self.r, &self.r)])[0].sqrt();
        if omega == 0.0 && norm > 0.0 {
            return Err("omega = 0 (t.s = 0)".into());
        }
        Ok(norm)
    }

    fn solution(&self) -> &[f64] {
        &self.x
    }

    fn state(&self) -> State<&[f64]> {
        State {
            vectors: vec![
                ("x".into(), &self.x[..]),
                ("r".into(), &self.r[..]),
                ("r_hat".into(), &self.r_hat[..]),
                ("p".into(), &self.p[..]),
                ("v".into(), &self.v[..]),
            ],
            scalars: vec![self.rho, self.alpha, self.omega],
        }
    }

    fn restore(&mut self, state: State<Vec<f64>>) -> Result<(), String> {
        if state.scalars.len() != 3 {
            return Err(format!("{} scalars, expected 3", state.scalars.len()));
        }
        for (name, v) in state.vectors {
            match name.as_str() {
                "x" => self.x = v,
                "r" => self.r = v,
                "r_hat" => self.r_hat = v,
                "p" => self.p = v,
                "v" => self.v = v,
                _ => return Err(format!("BiCGStab has no vector '{name}'")),
            }
        }
        self.allocate(self.x.len());
        (self.rho, self.alpha, self.omega) = (state.scalars[0], state.scalars[1], state.scalars[2]);
        Ok(())
    }
}
