//! Krylov solvers for `A x = b`, each one file behind [`KrylovMethod`] plus one line in
//! [`METHODS`]; [`Solve`] runs any of them to a tolerance and says why it stopped.
//!
//! A method is a state machine: [`KrylovMethod::start`] takes the initial guess and the
//! right-hand side, each [`KrylovMethod::iterate`] is one iteration. So a solve can be a
//! job on the shared driver (one iteration per step), checkpointed between iterations
//! with its whole state ([`KrylovMethod::state`]) and continued bitwise.
//!
//! Convergence is judged on the UNPRECONDITIONED residual `||b - A x||_2` as the method
//! updates it (PETSc's `-ksp_norm_type unpreconditioned`): converged when it is at most
//! `max(rtol ||b||, atol)`, diverged above `dtol ||b||`.

pub mod bicgstab;
pub mod cg;
pub mod gmres;
pub mod richardson;

use crate::error::{Error, Result};
use crate::linalg::operator::{LinearOperator, Preconditioner};
use std::time::{Duration, Instant};

type Constructor = fn() -> Box<dyn KrylovMethod>;

/// The registered methods: `(name, what it is, constructor)`.
pub const METHODS: &[(&str, &str, Constructor)] = &[
    ("cg", "conjugate gradients (SPD A and B)", cg::Cg::boxed),
    (
        "bicgstab",
        "BiCGStab, right-preconditioned (non-symmetric A)",
        bicgstab::BiCgStab::boxed,
    ),
    (
        "gmres",
        "restarted GMRES(30), right-preconditioned, CGS2 (non-symmetric A)",
        gmres::Gmres::boxed,
    ),
    (
        "richardson",
        "x += B (b - A x): the preconditioner as the solver",
        richardson::Richardson::boxed,
    ),
];

/// The method called `name`, or an error listing the known ones.
pub fn method(name: &str) -> Result<Box<dyn KrylovMethod>> {
    METHODS
        .iter()
        .find(|m| m.0 == name)
        .map(|m| (m.2)())
        .ok_or_else(|| {
            let known: Vec<&str> = METHODS.iter().map(|m| m.0).collect();
            Error::value(
                "ksp",
                format!(
                    "unknown Krylov method '{name}' (known: {})",
                    known.join(", ")
                ),
            )
        })
}

/// Wall time per part of a solve on this rank.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers {
    /// The method's own operator applies (halo exchange included).
    pub operator: Duration,
    /// Preconditioner applies (its own operator applies and exchanges included).
    pub preconditioner: Duration,
    /// Dot products and norms (local sums and the collective).
    pub reductions: Duration,
    /// Vector updates.
    pub vectors: Duration,
    /// Operator and preconditioner applies counted in the times above.
    pub operator_applies: u64,
    pub preconditioner_applies: u64,
}

/// What a method works with during one call.
pub struct Context<'a> {
    pub op: &'a mut dyn LinearOperator,
    pub pc: &'a mut dyn Preconditioner,
    pub timers: &'a mut Timers,
}

impl Context<'_> {
    /// `y = A x`, timed.
    pub fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        let t = Instant::now();
        self.op.apply(x, y);
        self.timers.operator += t.elapsed();
        self.timers.operator_applies += 1;
    }

    /// `z = B r`, timed.
    pub fn precondition(&mut self, r: &[f64], z: &mut [f64]) {
        let t = Instant::now();
        self.pc.apply(r, z);
        self.timers.preconditioner += t.elapsed();
        self.timers.preconditioner_applies += 1;
    }

    /// Several reproducible dot products in one collective, timed.
    pub fn dots(&mut self, pairs: &[(&[f64], &[f64])]) -> Vec<f64> {
        let t = Instant::now();
        let out = self.op.layout().dots(pairs);
        self.timers.reductions += t.elapsed();
        out
    }

    /// A pointwise vector update, timed.
    pub fn update<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.timers.vectors += t.elapsed();
        out
    }
}

/// A Krylov method's state between iterations.
pub trait KrylovMethod {
    fn name(&self) -> &'static str;

    /// Starts from the guess `x0` for `A x = b`; returns `||b - A x0||`. Collective.
    fn start(&mut self, ctx: &mut Context, x0: &[f64], b: &[f64]) -> f64;

    /// One iteration; returns the new unpreconditioned residual norm, or why the method
    /// cannot go on (a breakdown). Collective.
    fn iterate(&mut self, ctx: &mut Context) -> std::result::Result<f64, String>;

    /// The current iterate (after [`KrylovMethod::finish`] for methods that form it only
    /// at the end of a cycle).
    fn solution(&self) -> &[f64];

    /// Forms the iterate when the solve stops between restarts (GMRES). Collective.
    fn finish(&mut self, _ctx: &mut Context) {}

    /// The state that continues the iteration exactly.
    fn state(&self) -> State<&[f64]>;

    /// The names of the vectors of a saved state whose scalars are `scalars` (by default
    /// those of the current state; GMRES saves as many basis vectors as its cycle has).
    fn vector_names(&self, _scalars: &[f64]) -> Vec<String> {
        self.state().vectors.into_iter().map(|v| v.0).collect()
    }

    /// Puts back a state saved from [`KrylovMethod::state`]; an error says what does not
    /// fit (a damaged or foreign checkpoint).
    fn restore(&mut self, state: State<Vec<f64>>) -> std::result::Result<(), String>;
}

/// A method's state between iterations: named vectors (this rank's parts) and scalars
/// (the same on every rank, in an order the method defines).
pub struct State<V> {
    pub vectors: Vec<(String, V)>,
    pub scalars: Vec<f64>,
}

/// Tolerances and limits of a solve.
#[derive(Clone, Copy, Debug)]
pub struct Tolerances {
    /// Relative to `||b||`.
    pub rtol: f64,
    /// Absolute.
    pub atol: f64,
    /// Divergence when the residual exceeds `dtol ||b||`.
    pub dtol: f64,
    pub max_iterations: u64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            rtol: 1e-8,
            atol: 1e-50,
            dtol: 1e5,
            max_iterations: 10_000,
        }
    }
}

/// Why a solve stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    Converged,
    IterationLimit,
    /// The method could not continue (an indefinite matrix under CG, a zero divisor).
    Breakdown(String),
    Diverged,
    NotANumber,
}

impl Stop {
    pub fn describe(&self) -> String {
        match self {
            Stop::Converged => "converged".into(),
            Stop::IterationLimit => "iteration limit reached".into(),
            Stop::Breakdown(why) => format!("breakdown: {why}"),
            Stop::Diverged => "diverged".into(),
            Stop::NotANumber => "the residual is not a number".into(),
        }
    }
}

/// A solve in progress: the method, its tolerances and its residual history.
pub struct Solve {
    pub method: Box<dyn KrylovMethod>,
    pub tolerances: Tolerances,
    /// `||b||`.
    pub rhs_norm: f64,
    /// `||r_k||` for `k = 0 ..= iterations`.
    pub history: Vec<f64>,
    pub stop: Option<Stop>,
}

impl Solve {
    /// Starts `method` from `x0`. Collective.
    pub fn start(
        mut method: Box<dyn KrylovMethod>,
        tolerances: Tolerances,
        ctx: &mut Context,
        x0: &[f64],
        b: &[f64],
    ) -> Solve {
        let rhs_norm = ctx.dots(&[(b, b)])[0].sqrt();
        let r0 = method.start(ctx, x0, b);
        let mut solve = Solve {
            method,
            tolerances,
            rhs_norm,
            history: vec![r0],
            stop: None,
        };
        solve.stop = solve.judge(r0);
        solve
    }

    pub fn iterations(&self) -> u64 {
        self.history.len() as u64 - 1
    }

    /// The last residual norm.
    pub fn residual(&self) -> f64 {
        *self.history.last().expect("a started solve has a residual")
    }

    /// Whether the solve is over after a residual of `r`.
    pub(crate) fn judge(&self, r: f64) -> Option<Stop> {
        let t = &self.tolerances;
        if r.is_nan() {
            Some(Stop::NotANumber)
        } else if r <= (t.rtol * self.rhs_norm).max(t.atol) {
            Some(Stop::Converged)
        } else if r > t.dtol * self.rhs_norm {
            Some(Stop::Diverged)
        } else if self.iterations() >= t.max_iterations {
            Some(Stop::IterationLimit)
        } else {
            None
        }
    }

    /// One iteration (if the solve is not over); returns why it stopped, once it has.
    /// Collective.
    pub fn step(&mut self, ctx: &mut Context) -> Option<Stop> {
        if self.stop.is_some() {
            return self.stop.clone();
        }
        match self.method.iterate(ctx) {
            Ok(r) => {
                self.history.push(r);
                self.stop = self.judge(r);
            }
            Err(why) => self.stop = Some(Stop::Breakdown(why)),
        }
        if self.stop.is_some() {
            self.method.finish(ctx);
        }
        self.stop.clone()
    }
}
