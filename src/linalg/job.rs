//! A solve as a job on the shared driver: one Krylov iteration per step, so checkpoints,
//! `--restart auto`, stop signals, `--max-runtime` and the run report work as for any
//! simulation. A checkpoint holds the method's whole state (for CG: `x, r, z, p` and
//! `r.z`) as `/vectors/NAME` in the global layout (grid vectors with their grid shape, and an
//! XDMF sidecar), the residual history and `||b||`; the operator and preconditioner are
//! rebuilt from the run's parameters, so a restart on any rank count continues the
//! iteration bit for bit.

use crate::driver::report::{Phases, Work};
use crate::driver::{Advance, Stepper};
use crate::error::{Error, Result};
use crate::io::checkpoint::{Checkpoint, Writer};
use crate::io::hdf5::Block;
use crate::io::xdmf::{Attribute, Sidecar};
use crate::linalg::krylov::{Context, KrylovMethod, Solve, State, Stop, Timers, Tolerances};
use crate::linalg::operator::{LinearOperator, Preconditioner};
use crate::linalg::vector::Split;
use crate::parallel::Parallel;
use std::time::Duration;

/// The phases a solve reports, exclusive of each other.
pub const PHASES: [&str; 4] = ["operator", "preconditioner", "reductions", "vectors"];

/// A solve on the driver.
pub struct SolverJob {
    op: Box<dyn LinearOperator>,
    pc: Box<dyn Preconditioner>,
    solve: Solve,
    timers: Timers,
    /// Grid spacing, for the XDMF sidecar of grid vectors.
    spacing: f64,
}

impl SolverJob {
    /// Starts `method` on `A x = b` from `x0` (the initial residual is computed here; a
    /// restart replaces the state). `tolerances.max_iterations` is ignored: the job's
    /// `--steps` is the limit. Collective.
    pub fn new(
        op: Box<dyn LinearOperator>,
        pc: Box<dyn Preconditioner>,
        method: Box<dyn KrylovMethod>,
        tolerances: Tolerances,
        x0: &[f64],
        b: &[f64],
        spacing: f64,
    ) -> SolverJob {
        let (mut op, mut pc) = (op, pc);
        let mut timers = Timers::default();
        let tolerances = Tolerances {
            max_iterations: u64::MAX,
            ..tolerances
        };
        let mut ctx = Context {
            op: op.as_mut(),
            pc: pc.as_mut(),
            timers: &mut timers,
        };
        let solve = Solve::start(method, tolerances, &mut ctx, x0, b);
        SolverJob {
            op,
            pc,
            solve,
            timers,
            spacing,
        }
    }

    pub fn solve(&self) -> &Solve {
        &self.solve
    }

    pub fn operator(&mut self) -> &mut dyn LinearOperator {
        self.op.as_mut()
    }

    pub fn preconditioner(&self) -> &dyn Preconditioner {
        self.pc.as_ref()
    }

    /// Time in each part of the solve on this rank, and in ghost exchanges (included in
    /// the parts).
    pub fn timers(&self) -> (Timers, Duration) {
        (
            self.timers,
            self.op.exchange_time() + self.pc.exchange_time(),
        )
    }

    /// How the vectors are stored: `(dataset shape, this rank's block)`.
    fn block(&self) -> Block {
        let layout = self.op.layout();
        match layout.split() {
            Split::Grid(d) => {
                let shape = d.grid().shape();
                let off = crate::grid::geometry::DIMS - shape.len();
                let owned = layout.owned_box().expect("a grid layout has a block");
                Block {
                    global: shape.clone(),
                    start: owned.lo[off..].to_vec(),
                    count: owned.size[off..].to_vec(),
                    local: owned.size[off..].to_vec(),
                    local_start: vec![0; shape.len()],
                }
            }
            Split::Rows { start, global } => {
                Block::rows(*global as usize, *start as usize, layout.local_len(), 0)
            }
        }
    }
}

impl Stepper for SolverJob {
    fn name(&self) -> &str {
        "solve"
    }

    fn phases(&self) -> Vec<&'static str> {
        PHASES.to_vec()
    }

    fn work(&self) -> Work {
        Work {
            per_step: self.op.layout().global_len() as f64,
            item: "unknown",
            unit: "Munknown-iterations/s",
            scale: 1e6,
        }
    }

    fn state_bytes(&self) -> f64 {
        8.0 * self.op.layout().global_len() as f64 * self.solve.method.state().vectors.len() as f64
    }

    fn decomposition(&self) -> String {
        let layout = self.op.layout();
        match layout.split() {
            Split::Grid(d) => format!(
                "{} ranks on a {} process grid",
                layout.comm().size(),
                d.procs_string()
            ),
            Split::Rows { .. } => format!("{} ranks, contiguous rows", layout.comm().size()),
        }
    }

    fn advance(
        &mut self,
        _parallel: &Parallel,
        _step: u64,
        phases: &mut Phases,
    ) -> Result<Advance> {
        if self.solve.stop.is_some() {
            return Ok(Advance::Finished);
        }
        let before = self.timers;
        let mut ctx = Context {
            op: self.op.as_mut(),
            pc: self.pc.as_mut(),
            timers: &mut self.timers,
        };
        self.solve.step(&mut ctx);
        let after = self.timers;
        phases.add("operator", after.operator - before.operator);
        phases.add(
            "preconditioner",
            after.preconditioner - before.preconditioner,
        );
        phases.add("reductions", after.reductions - before.reductions);
        phases.add("vectors", after.vectors - before.vectors);
        Ok(Advance::Stepped)
    }

    fn progress_note(&self) -> Option<String> {
        Some(format!(
            "||r||/||b|| {:.3e}",
            self.solve.residual() / self.solve.rhs_norm
        ))
    }

    fn series(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![("residual_norm", self.solve.history.clone())]
    }

    fn save(&self, parallel: &Parallel, writer: &mut Writer) -> Result<()> {
        let block = self.block();
        let shape: Vec<u64> = block.global.iter().map(|&n| n as u64).collect();
        writer.attr("vector_shape", &shape)?;
        writer.attr("rhs_norm", &[self.solve.rhs_norm])?;
        let state = self.solve.method.state();
        for (name, values) in [
            ("solver/residual_norm", &self.solve.history),
            ("solver/scalars", &state.scalars),
        ] {
            // the same on every rank: rank 0 writes it
            let mine = if parallel.is_root() { values.len() } else { 0 };
            writer.dataset(
                name,
                &Block::rows(values.len(), 0, mine, 0),
                &values[..mine],
            )?;
        }
        let mut fields = Vec::new();
        for (name, values) in &state.vectors {
            let dataset = format!("vectors/{name}");
            writer.dataset(&dataset, &block, values)?;
            fields.push(Attribute {
                name: name.to_string(),
                dataset,
                number_type: ("Float", 8),
                components: 1,
            });
        }
        if let Split::Grid(_) = self.op.layout().split() {
            let h = self.spacing;
            writer.sidecar(Sidecar::UniformGrid {
                shape: block.global.clone(),
                origin: vec![h; block.global.len()],
                spacing: vec![h; block.global.len()],
                fields,
            });
        }
        Ok(())
    }

    fn check_geometry(&self, checkpoint: &Checkpoint) -> Result<()> {
        let theirs: Vec<usize> = checkpoint
            .attr::<u64>("vector_shape")?
            .iter()
            .map(|&n| n as usize)
            .collect();
        let ours = self.block().global;
        if theirs != ours {
            return Err(Error::checkpoint(
                checkpoint.path(),
                format!(
                    "its vectors are {} but this run's are {}",
                    crate::partition::join_x(&theirs),
                    crate::partition::join_x(&ours)
                ),
            ));
        }
        Ok(())
    }

    fn restore(&mut self, parallel: &Parallel, checkpoint: &Checkpoint) -> Result<()> {
        let block = self.block();
        let scalars = read_replicated(parallel, checkpoint, "solver/scalars")?;
        let names = self.solve.method.vector_names(&scalars);
        let local = self.op.layout().local_len();
        let mut vectors = Vec::new();
        for name in names {
            let mut v = vec![0.0; local];
            checkpoint.read(parallel, &format!("vectors/{name}"), &block, &mut v)?;
            vectors.push((name, v));
        }
        let history = read_replicated(parallel, checkpoint, "solver/residual_norm")?;
        let rhs_norm = checkpoint.attr::<f64>("rhs_norm")?;
        if history.is_empty() || rhs_norm.len() != 1 {
            return Err(Error::checkpoint(
                checkpoint.path(),
                "the solver state is incomplete",
            ));
        }
        self.solve
            .method
            .restore(State { vectors, scalars })
            .map_err(|why| Error::checkpoint(checkpoint.path(), format!("solver state: {why}")))?;
        self.solve.rhs_norm = rhs_norm[0];
        self.solve.history = history;
        let last = self.solve.residual();
        self.solve.stop = self.solve.judge(last);
        Ok(())
    }
}

/// A 1-D dataset every rank needs whole: each rank reads a share (the integrity check
/// sums disjoint parts), then all share them. Collective.
fn read_replicated(parallel: &Parallel, checkpoint: &Checkpoint, path: &str) -> Result<Vec<f64>> {
    let len = checkpoint.shape(path)?[0];
    let (first, count) = crate::partition::split_axis(len, parallel.size(), parallel.rank());
    let mut part = vec![0.0; count];
    checkpoint.read(
        parallel,
        path,
        &Block::rows(len, first, count, 0),
        &mut part,
    )?;
    Ok(parallel.all_gather_varcount(&part))
}

impl SolverJob {
    /// Forms the iterate of a method that keeps it implicit between restarts (GMRES stopped
    /// by the iteration limit), for the final checks; after the last checkpoint, which
    /// keeps the state a restart continues from. Collective.
    pub fn form_solution(&mut self) {
        let mut ctx = Context {
            op: self.op.as_mut(),
            pc: self.pc.as_mut(),
            timers: &mut self.timers,
        };
        if self.solve.stop.is_none() {
            self.solve.method.finish(&mut ctx);
        }
    }

    /// Why the solve ended, or `IterationLimit` if it has not.
    pub fn outcome(&self) -> Stop {
        self.solve.stop.clone().unwrap_or(Stop::IterationLimit)
    }
}
