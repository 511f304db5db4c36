//! Preconditioned Richardson iteration, `x += B (b - A x)`: the preconditioner used as a
//! solver (multigrid V-cycles, Jacobi sweeps).

use super::{Context, KrylovMethod, State};
use crate::linalg::vector::{axpy, difference};

#[derive(Default)]
pub struct Richardson {
    x: Vec<f64>,
    b: Vec<f64>,
    r: Vec<f64>,
    z: Vec<f64>,
}

impl Richardson {
    pub fn boxed() -> Box<dyn KrylovMethod> {
        Box::<Richardson>::default()
    }

    fn residual(&mut self, ctx: &mut Context) -> f64 {
        ctx.apply(&self.x, &mut self.z);
        let (r, b, z) = (&mut self.r, &self.b, &self.z);
        ctx.update(|| difference(r, b, z));
        ctx.dots(&[(&self.r, &self.r)])[0].sqrt()
    }
}

impl KrylovMethod for Richardson {
    fn name(&self) -> &'static str {
        "richardson"
    }

    fn start(&mut self, ctx: &mut Context, x0: &[f64], b: &[f64]) -> f64 {
        self.x = x0.to_vec();
        self.b = b.to_vec();
        self.r = vec![0.0; b.len()];
        self.z = vec![0.0; b.len()];
        self.residual(ctx)
    }

    fn iterate(&mut self, ctx: &mut Context) -> Result<f64, String> {
        ctx.precondition(&self.r, &mut self.z);
        let (x, z) = (&mut self.x, &self.z);
        ctx.update(|| axpy(x, 1.0, z));
        Ok(self.residual(ctx))
    }

    fn solution(&self) -> &[f64] {
        &self.x
    }

    fn state(&self) -> State<&[f64]> {
        State {
            vectors: vec![
                ("x".into(), &self.x[..]),
                ("b".into(), &self.b[..]),
                ("r".into(), &self.r[..]),
            ],
            scalars: vec![],
        }
    }

    fn restore(&mut self, state: State<Vec<f64>>) -> Result<(), String> {
        if !state.scalars.is_empty() {
            return Err(format!("{} scalars, expected 0", state.scalars.len()));
        }
        for (name, v) in state.vectors {
            match name.as_str() {
                "x" => self.x = v,
                "b" => self.b = v,
                "r" => self.r = v,
                _ => return Err(format!("Richardson has no vector '{name}'")),
            }
        }
        self.z = vec![0.0; self.x.len()];
        Ok(())
    }
}
