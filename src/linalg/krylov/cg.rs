//! Preconditioned conjugate gradients (Hestenes and Stiefel) for symmetric positive
//! definite `A` and `B`:
//!
//! ```text
//! r = b - A x,  z = B r,  p = z,  rz = r.z
//! repeat:  q = A p;  alpha = rz / p.q;  x += alpha p;  r -= alpha q
//!          z = B r;  (rz', r.r) in one reduction;  p = z + (rz' / rz) p
//! ```
//!
//! `p.q <= 0` means `A` is not positive definite on the Krylov space: a breakdown, reported
//! as such. The residual norm checked is `sqrt(r.r)` of the updated residual, as PETSc's
//! KSPCG with `-ksp_norm_type unpreconditioned` (one more dot than the minimum, fused into
//! the reduction of `r.z`).

use super::{Context, KrylovMethod, State};
use crate::linalg::vector::{axpy, aypx};

#[derive(Default)]
pub struct Cg {
    x: Vec<f64>,
    r: Vec<f64>,
    z: Vec<f64>,
    p: Vec<f64>,
    q: Vec<f64>,
    rz: f64,
}

impl Cg {
    pub fn boxed() -> Box<dyn KrylovMethod> {
        Box::<Cg>::default()
    }
}

impl KrylovMethod for Cg {
    fn name(&self) -> &'static str {
        "cg"
    }

    fn start(&mut self, ctx: &mut Context, x0: &[f64], b: &[f64]) -> f64 {
        let n = b.len();
        self.x = x0.to_vec();
        self.r = vec![0.0; n];
        self.z = vec![0.0; n];
        self.q = vec![0.0; n];
        ctx.apply(&self.x, &mut self.q);
        let (r, q) = (&mut self.r, &self.q);
        ctx.update(|| crate::linalg::vector::difference(r, b, q));
        ctx.precondition(&self.r, &mut self.z);
        self.p = self.z.clone();
        let d = ctx.dots(&[(&self.r, &self.z), (&self.r, &self.r)]);
        self.rz = d[0];
        d[1].sqrt()
    }

    fn iterate(&mut self, ctx: &mut Context) -> Result<f64, String> {
        ctx.apply(&self.p, &mut self.q);
        let pq = ctx.dots(&[(&self.p, &self.q)])[0];
        if pq.is_nan() || pq <= 0.0 {
            return Err(format!(
                "p.Ap = {pq:e}: the operator (or preconditioner) is not positive definite"
            ));
        }
        let alpha = self.rz / pq;
        let (x, r, p, q) = (&mut self.x, &mut self.r, &self.p, &self.q);
        ctx.update(|| {
            axpy(x, alpha, p);
            axpy(r, -alpha, q);
        });
        ctx.precondition(&self.r, &mut self.z);
        let d = ctx.dots(&[(&self.r, &self.z), (&self.r, &self.r)]);
        let beta = d[0] / self.rz;
        self.rz = d[0];
        let (p, z) = (&mut self.p, &self.z);
        ctx.update(|| aypx(p, beta, z));
        Ok(d[1].sqrt())
    }

    fn solution(&self) -> &[f64] {
        &self.x
    }

    fn state(&self) -> State<&[f64]> {
        State {
            vectors: vec![
                ("x".into(), &self.x[..]),
                ("r".into(), &self.r[..]),
                ("z".into(), &self.z[..]),
                ("p".into(), &self.p[..]),
            ],
            scalars: vec![self.rz],
        }
    }

    fn restore(&mut self, state: State<Vec<f64>>) -> Result<(), String> {
        if state.scalars.len() != 1 {
            return Err(format!("{} scalars, expected 1", state.scalars.len()));
        }
        for (name, v) in state.vectors {
            match name.as_str() {
                "x" => self.x = v,
                "r" => self.r = v,
                "z" => self.z = v,
                "p" => self.p = v,
                _ => return Err(format!("CG has no vector '{name}'")),
            }
        }
        self.q = vec![0.0; self.x.len()];
        self.rz = state.scalars[0];
        Ok(())
    }
}
