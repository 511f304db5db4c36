//! The grid family's [`Stepper`]: exchange ghosts -> update (interior first, while halos
//! are in flight) -> rotate time levels, with deep halos, red-black phases, threads and
//! residual-based stopping. The job around it (checkpoints, restarts, signals, progress,
//! the report) is the driver's.

use crate::driver::report::{Phases, Work};
use crate::driver::{self, job::JobOptions, Advance, Outcome, Stepper};
use crate::error::{Error, Name, Result};
use crate::grid::blocking;
use crate::grid::field::{Field, Scalar};
use crate::grid::geometry::{Decomposition, Grid, IndexBox, DIMS};
use crate::grid::halo::HaloExchange;
use crate::grid::stencil::{self, Kernel, Stores};
use crate::io::checkpoint::{Checkpoint, Writer};
use crate::io::xdmf::{Attribute, Sidecar};
use crate::parallel::{Parallel, Threads};
use mpi::datatype::Equivalence;
use std::time::Instant;

/// What may be stored in a field the stepper runs: a scalar MPI and HDF5 both know.
pub trait Cell: Scalar + Equivalence {}
impl<T: Scalar + Equivalence> Cell for T {}

/// Phases of a grid step, as reported.
const COMPUTE: &str = "compute";
const HALO: &str = "halo exchange";
const RESIDUAL: &str = "residual norms";

/// How to run a kernel on a decomposed grid: everything but the job's options.
#[derive(Clone, Debug)]
pub struct GridOptions {
    /// Ghost layers per side, at least what one exchange cycle reads (`None`: exactly
    /// that, see [`GridOptions::ghost_width`]).
    pub ghost: Option<usize>,
    /// Update the interior while halos are in flight.
    pub overlap: bool,
    /// Steps between ghost exchanges (deep halos): with `S > 1` the ghosts must be at
    /// least `S * phases * radius` wide, and each rank recomputes a shrinking band of
    /// ghost cells instead of exchanging every step. Results are bitwise those of `S = 1`.
    pub steps_per_exchange: usize,
    /// Temporal blocking: up to this many steps computed together, tile by tile while
    /// the tiles are in cache (1: step by step). A block never crosses a ghost exchange,
    /// so it needs `steps_per_exchange >= time_block`. Results are bitwise those of 1.
    pub time_block: usize,
    /// The tiles of a time block: the wavefront's step and the strips' width in cells
    /// (0: no strips); `None`: chosen to fit [`GridOptions::cache`].
    pub tile: Option<(usize, usize)>,
    /// Bytes of cache a time block's tiles should fit. `None`: tuned, each rank timing its
    /// first blocks with 1, 2, 4 and 8 times the level-2 cache the OS reports (1 MiB if it
    /// does not) and keeping the fastest ([`blocking::TileTuner`]).
    pub cache: Option<usize>,
    /// How sweeps outside time blocks store their output; `None`: streaming when the
    /// time levels of a rank's block do not fit the last-level cache, else cached.
    pub stores: Option<Stores>,
    /// Threads per rank sharing each update (results do not depend on it).
    pub threads: usize,
    /// Stop once the residual is small enough (iterative solvers); `None` runs to the end.
    pub convergence: Option<Convergence>,
    /// Coordinates of the first grid point and the spacing, per axis (for viewers).
    pub origin: Vec<f64>,
    pub spacing: Vec<f64>,
}

impl Default for GridOptions {
    fn default() -> Self {
        GridOptions {
            ghost: None,
            overlap: true,
            steps_per_exchange: 1,
            time_block: 1,
            tile: None,
            cache: None,
            stores: None,
            threads: 1,
            convergence: None,
            origin: Vec::new(),
            spacing: Vec::new(),
        }
    }
}

/// When an iterative solver stops: at the first checked step whose residual norm
/// `sqrt(sum_cells residual^2)` is at most `rtol * reference`.
#[derive(Clone, Copy, Debug)]
pub struct Convergence {
    pub rtol: f64,
    /// The norm the residual is measured against (typically the right-hand side's).
    pub reference: f64,
    /// Check every this many steps (the check costs about one extra sweep and a reduction).
    pub check_every: u64,
}

impl GridOptions {
    /// The ghost width used with `kernel`: the one asked for, or by default what the sweeps
    /// between two exchanges read, `steps_per_exchange * phases * radius`.
    pub fn ghost_width<K: Kernel>(&self, kernel: &K) -> usize {
        self.ghost.unwrap_or(
            self.steps_per_exchange
                .max(1)
                .saturating_mul(kernel.phases() * kernel.radius()),
        )
    }

    /// Refuses options that cannot work with this kernel and decomposition.
    fn check<K: Kernel>(&self, decomposition: &Decomposition, kernel: &K) -> Result<()> {
        let ghost = self.ghost_width(kernel);
        if ghost < kernel.radius() {
            return Err(Error::value(
                "ghost",
                format!(
                    "{ghost} is less than the stencil radius {}",
                    kernel.radius()
                ),
            ));
        }
        let s = self.steps_per_exchange;
        let needed = s.saturating_mul(kernel.phases() * kernel.radius());
        let t = self.time_block;
        if t == 0 {
            return Err(Error::value("time-block", "must be at least 1"));
        }
        if s == 0 {
            return Err(Error::value("steps-per-exchange", "must be at least 1"));
        }
        if t > s {
            return Err(Error::value(
                "time-block",
                format!(
                    "{t} steps is longer than the {s} between ghost exchanges ({}); a time \
                     block never crosses an exchange",
                    Name("steps-per-exchange")
                ),
            ));
        }
        if self.tile.is_some_and(|(step, _)| step == 0) {
            return Err(Error::value(
                "tile",
                "the wavefront step must be at least 1 cell",
            ));
        }
        if self.cache == Some(0) {
            return Err(Error::value("cache", "must be at least 1 KiB"));
        }
        // the flag that set the exchange interval: the time block's, unless given apart
        let interval = if t > 1 && t == s {
            "time-block"
        } else {
            "steps-per-exchange"
        };
        if needed > ghost {
            return Err(Error::value(
                "steps-per-exchange",
                format!(
                    "{s} steps between exchanges read {needed} ghost layers ({} sweeps per step, \
                     stencil radius {}), but {} is {}",
                    kernel.phases(),
                    kernel.radius(),
                    Name("ghost"),
                    ghost
                ),
            ));
        }
        if let Some(c) = self.convergence {
            if !(c.rtol > 0.0 && c.rtol.is_finite()) {
                return Err(Error::value(
                    "rtol",
                    format!("must be positive, got {}", c.rtol),
                ));
            }
            if c.check_every == 0 {
                return Err(Error::value("check-every", "must be at least 1"));
            }
        }
        // no halo is wider than the grid (a typing mistake, or an overflow)
        let widest = decomposition
            .grid()
            .extents()
            .into_iter()
            .max()
            .unwrap_or(1);
        if ghost > widest {
            let (flag, what) = match self.ghost {
                Some(_) => ("ghost", format!("{ghost}")),
                None => (interval, format!("{s} (a ghost width of {ghost})")),
            };
            return Err(Error::value(
                flag,
                format!("{what} is wider than the grid ({widest} cells at most)"),
            ));
        }
        decomposition
            .check_ghost_width(ghost, needed)
            .map_err(|e| match self.ghost {
                // the user gave the exchange interval, not the width it implies
                None if s > 1 => Error::value(
                    interval,
                    format!(
                        "{s} steps between exchanges need {needed} ghost layers, more than the \
                         thinnest block holds; use fewer steps between exchanges or fewer ranks"
                    ),
                ),
                _ => e,
            })
    }
}

/// A kernel running on this rank's block of a decomposed grid.
pub struct GridStepper<'a, K: Kernel> {
    kernel: &'a K,
    decomposition: &'a Decomposition,
    options: GridOptions,
    threads: Threads,
    /// The ring of buffers: the state, newest time level first, then the scratch for the
    /// new state (only its boundary ghosts matter, and they never change). A sweep writes
    /// the scratch, then the ring rotates right by one.
    buffers: Vec<Field<K::Value>>,
    halos: Vec<HaloExchange<K::Value>>,
    /// Owned cells (local indices), and those whose stencil reads no exchanged ghost.
    whole: IndexBox,
    interior: IndexBox,
    sweeps_per_exchange: usize,
    /// Sweeps since the last exchange.
    cycle: usize,
    residuals: Vec<(u64, f64)>,
    converged: bool,
    /// Bytes of cache the time blocks' tiles aim at: [`GridOptions::cache`], or the L2
    /// the OS reports (1 MiB if it does not), read once.
    cache: usize,
    /// Picks the time blocks' cache target when neither tiles nor a cache size are given.
    tuner: Option<blocking::TileTuner>,
    /// How sweeps (outside time blocks) write their output.
    stores: Stores,
}

impl<'a, K> GridStepper<'a, K>
where
    K: Kernel,
    K::Value: Cell,
{
    /// `kernel`'s initial state on this rank's block. Collective.
    pub fn new(
        parallel: &Parallel,
        decomposition: &'a Decomposition,
        kernel: &'a K,
        options: &GridOptions,
    ) -> Result<Self> {
        parallel.agree(options.check(decomposition, kernel))?;
        let threads = parallel.agree(Threads::new(options.threads))?;
        let grid = decomposition.grid();
        // Ghosts past a non-periodic edge hold the kernel's boundary values for the run.
        let owned = decomposition.owned(parallel.rank());
        let ghost = decomposition.ghost_widths(options.ghost_width(kernel));
        let nlevels = kernel.time_levels();
        // the time levels and the scratch level, each ghosted, plus halo buffers
        let ghosted = (0..3).try_fold(1u64, |n, a| {
            let width = (ghost[a] as u64).checked_mul(2)?;
            n.checked_mul((owned.size[a] as u64).checked_add(width)?)
        });
        let bytes = ghosted
            .and_then(|n| n.checked_mul(std::mem::size_of::<K::Value>() as u64))
            .and_then(|n| n.checked_mul(nlevels as u64 + 2))
            .unwrap_or(u64::MAX);
        driver::check_memory(parallel, "size", bytes)?;
        let mut buffers: Vec<Field<K::Value>> = (0..nlevels)
            .map(|level| stencil::initial_block(kernel, grid, owned, ghost, level))
            .collect();
        buffers.push(buffers[0].clone());
        let sweeps_per_exchange = options.steps_per_exchange.max(1) * kernel.phases();
        // Only the newest level's ghosts are read by a single sweep; deep halos compute
        // ghost cells of every level, so every level is exchanged (each on its own tags).
        let exchanged = if sweeps_per_exchange > 1 { nlevels } else { 1 };
        let halos = (0..exchanged)
            .map(|l| HaloExchange::on_channel(parallel, decomposition, &buffers[l], l))
            .collect();
        let whole = buffers[0].interior();
        let interior = not_reading_halos(&buffers[0], grid, kernel.radius());
        let cache = options
            .cache
            .or_else(blocking::level2_cache_bytes)
            .unwrap_or(1 << 20);
        Ok(GridStepper {
            kernel,
            decomposition,
            options: options.clone(),
            threads,
            buffers,
            halos,
            whole,
            interior,
            sweeps_per_exchange,
            cycle: 0,
            residuals: Vec::new(),
            converged: false,
            cache,
            tuner: (options.time_block > 1 && options.tile.is_none() && options.cache.is_none())
                .then(|| blocking::TileTuner::new(cache)),
            stores: options.stores.unwrap_or_else(|| {
                let cache = blocking::last_level_cache_bytes().unwrap_or(32 << 20);
                if bytes > cache as u64 {
                    Stores::Streaming
                } else {
                    Stores::Cached
                }
            }),
        })
    }

    /// The state, newest time level first (this rank's blocks).
    pub fn levels(&self) -> &[Field<K::Value>] {
        &self.buffers[..self.buffers.len() - 1]
    }

    pub fn levels_mut(&mut self) -> &mut [Field<K::Value>] {
        let n = self.buffers.len() - 1;
        &mut self.buffers[..n]
    }

    /// Residual norms `(step, norm)` as checked, the final state's last (iterative solvers).
    pub fn residuals(&self) -> &[(u64, f64)] {
        &self.residuals
    }

    /// Whether the residual reached the tolerance (iterative solvers).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// `4 ranks on a 2x2 process grid, ghost width 1, overlap on, 1 thread per rank`.
    pub fn layout_line(&self) -> String {
        let o = &self.options;
        let mut deep = if o.steps_per_exchange > 1 {
            format!(", exchange every {} steps", o.steps_per_exchange)
        } else {
            String::new()
        };
        if o.time_block > 1 {
            let tiles = match o.tile {
                Some((step, 0)) => format!("wavefront step {step}"),
                Some((step, width)) => format!("wavefront step {step}, strips {width} wide"),
                None if o.cache.is_some() => format!("tiles for {} KiB of cache", self.cache >> 10),
                None => format!("tiles tuned for 1-8 x {} KiB of cache", self.cache >> 10),
            };
            deep += &format!(", time blocks of {} steps ({tiles})", o.time_block);
        }
        let stores = self.stores.as_str();
        format!(
            "{} ranks on a {} process grid, ghost width {}{deep}, overlap {}, {stores} stores, {} thread{} per rank",
            self.decomposition.nranks(),
            self.decomposition.procs_string(),
            o.ghost_width(self.kernel),
            if o.overlap { "on" } else { "off" },
            o.threads,
            if o.threads == 1 { "" } else { "s" }
        )
    }

    /// `sqrt(sum of the kernel's squared residuals)` over the owned cells of every rank,
    /// summed exactly so every rank count and thread count gives the same bits.
    fn residual_norm(&self, parallel: &Parallel) -> f64 {
        let inputs: Vec<&Field<K::Value>> = self.levels().iter().collect();
        let local = stencil::sum_rows(&inputs, &self.whole, &self.threads, |row, sum| {
            self.kernel.residual_row(row, sum)
        });
        parallel.sum_exact(&local).sqrt()
    }

    /// Checks the residual of the state at `step` (its ghosts valid); whether it converged.
    fn check_residual(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> bool {
        let c = self.options.convergence.expect("a run with a tolerance");
        let t = Instant::now();
        let norm = self.residual_norm(parallel);
        phases.add(RESIDUAL, t.elapsed());
        self.residuals.push((step, norm));
        self.converged = norm <= c.rtol * c.reference;
        self.converged
    }

    /// One sweep (`phase` of the step), exchanging ghosts first when the cycle says so.
    fn sweep(&mut self, phase: usize, phases: &mut Phases) {
        let grid = self.decomposition.grid();
        let radius = self.kernel.radius();
        let depth = (self.sweeps_per_exchange - 1 - self.cycle) * radius;
        let region = grown(&self.buffers[0], grid, depth);
        let (kernel, overlap, interior) = (self.kernel, self.options.overlap, self.interior);
        let (cycle, threads, stores) = (self.cycle, &self.threads, self.stores);
        let t0 = Instant::now();
        if cycle == 0 {
            let nl = self.buffers.len() - 1;
            let pending: Vec<_> = self
                .halos
                .iter_mut()
                .zip(&self.buffers[..nl])
                .map(|(h, f)| h.begin(f))
                .collect();
            let (levels, next) = levels_and_next(&mut self.buffers);
            let t1 = Instant::now();
            if overlap {
                let inputs: Vec<&Field<K::Value>> = levels.iter().collect();
                stencil::apply_rows(kernel, &inputs, next, &interior, phase, threads, stores);
            }
            let t2 = Instant::now();
            for (p, f) in pending.into_iter().zip(levels.iter_mut()) {
                p.finish(f);
            }
            let t3 = Instant::now();
            let rest = if overlap {
                region.minus(&interior)
            } else {
                vec![region]
            };
            let inputs: Vec<&Field<K::Value>> = levels.iter().collect();
            for r in &rest {
                stencil::apply_rows(kernel, &inputs, next, r, phase, threads, stores);
            }
            phases.add(HALO, (t1 - t0) + (t3 - t2));
            phases.add(COMPUTE, (t2 - t1) + t3.elapsed());
        } else {
            let (levels, next) = levels_and_next(&mut self.buffers);
            let inputs: Vec<&Field<K::Value>> = levels.iter().collect();
            stencil::apply_rows(kernel, &inputs, next, &region, phase, threads, stores);
            phases.add(COMPUTE, t0.elapsed());
        }
    }

    /// Makes the newest computed state the newest level; the oldest becomes scratch.
    fn rotate(&mut self) {
        self.buffers.rotate_right(1);
        self.cycle = (self.cycle + 1) % self.sweeps_per_exchange;
    }

    /// Exchanges the ghosts of every time level that is exchanged, without overlap.
    fn exchange(&mut self, phases: &mut Phases) {
        let t = Instant::now();
        let nl = self.buffers.len() - 1;
        for (h, f) in self.halos.iter_mut().zip(&mut self.buffers[..nl]) {
            h.exchange(f);
        }
        phases.add(HALO, t.elapsed());
    }

    /// Temporal blocking: the next `sweeps` sweeps of the exchange cycle (ghosts valid for
    /// all of them), computed tile by tile in the order of [`blocking::schedule`]; the
    /// same cells from the same inputs as sweep after sweep, so the same bits.
    fn time_block(&mut self, sweeps: usize, phases: &mut Phases) {
        let t = Instant::now();
        let grid = self.decomposition.grid();
        let (kernel, radius) = (self.kernel, self.kernel.radius());
        let (c0, per_cycle) = (self.cycle, self.sweeps_per_exchange);
        let regions: Vec<IndexBox> = (0..sweeps)
            .map(|j| grown(&self.buffers[0], grid, (per_cycle - 1 - c0 - j) * radius))
            .collect();
        let nb = self.buffers.len();
        let cache = self.tuner.as_ref().map_or(self.cache, |t| t.next_cache());
        let tiling = blocking::choose_tiling(
            &regions[0],
            sweeps,
            radius,
            nb,
            std::mem::size_of::<K::Value>(),
            cache,
            self.options.tile,
        );
        let threads = &self.threads;
        for piece in blocking::schedule(&regions, radius, &tiling) {
            let j = piece.sweep;
            let o = blocking::ring_output(j, nb);
            let (below, rest) = self.buffers.split_at_mut(o);
            let (out, above) = rest.split_first_mut().expect("the ring holds the output");
            let inputs: Vec<&Field<K::Value>> = (0..nb - 1)
                .map(|l| match blocking::ring_input(j, l, nb) {
                    i if i < o => &below[i],
                    i => &above[i - o - 1],
                })
                .collect();
            let phase = (c0 + j) % kernel.phases();
            stencil::apply_rows(
                kernel,
                &inputs,
                out,
                &piece.region,
                phase,
                threads,
                Stores::Cached,
            );
        }
        self.buffers.rotate_right(sweeps % nb);
        self.cycle = (c0 + sweeps) % per_cycle;
        if let Some(tuner) = &mut self.tuner {
            let cell_sweeps: usize = regions.iter().map(IndexBox::len).sum();
            tuner.record(cell_sweeps as f64, t.elapsed().as_secs_f64());
        }
        phases.add(COMPUTE, t.elapsed());
    }
}

impl<K> Stepper for GridStepper<'_, K>
where
    K: Kernel,
    K::Value: Cell,
{
    fn name(&self) -> &str {
        self.kernel.name()
    }

    fn phases(&self) -> Vec<&'static str> {
        vec![COMPUTE, HALO, RESIDUAL]
    }

    fn work(&self) -> Work {
        Work {
            per_step: self.decomposition.grid().cells() as f64,
            item: "points",
            unit: "Glups",
            scale: 1e9,
        }
    }

    fn state_bytes(&self) -> f64 {
        let cells = self.decomposition.grid().cells() as f64;
        cells * (self.levels().len() * std::mem::size_of::<K::Value>()) as f64
    }

    fn decomposition(&self) -> String {
        self.layout_line()
    }

    fn threads(&self) -> usize {
        self.threads.count()
    }

    /// Each step is `kernel.phases()` sweeps. A sweep that follows a ghost exchange
    /// updates the interior (cells whose stencil reads no ghost) while the messages are in
    /// flight, then the boundary shell. With deep halos (`steps_per_exchange = S > 1`),
    /// only every `S`-th step exchanges: after an exchange of `W`-wide ghosts the block's
    /// ghost cells are valid `W` deep, and each sweep computes the owned cells plus every
    /// ghost cell that a later sweep before the next exchange will read,
    /// `(sweeps left) * radius` deep.
    fn advance(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance> {
        for phase in 0..self.kernel.phases() {
            self.sweep(phase, phases);
            // The residual of the state at the start of the step: its ghosts are valid
            // here (just exchanged), and `next` is discarded if it has converged.
            let due = self
                .options
                .convergence
                .is_some_and(|c| phase == 0 && step.is_multiple_of(c.check_every));
            if due && self.check_residual(parallel, step, phases) {
                return Ok(Advance::Finished);
            }
            self.rotate();
        }
        Ok(Advance::Stepped)
    }

    /// With temporal blocking, the steps up to `limit`, the end of the exchange cycle, the
    /// time block and the next residual check are computed as one [`GridStepper::time_block`]
    /// (after the exchange, if the cycle starts here, and the residual check, if one is due;
    /// the exchange is not overlapped); otherwise one step.
    fn advance_steps(
        &mut self,
        parallel: &Parallel,
        step: u64,
        limit: u64,
        phases: &mut Phases,
    ) -> Result<(u64, Advance)> {
        let per_step = self.kernel.phases();
        let left_in_cycle = ((self.sweeps_per_exchange - self.cycle) / per_step) as u64;
        let to_check = self
            .options
            .convergence
            .map_or(u64::MAX, |c| c.check_every - step % c.check_every);
        let steps = limit
            .min(left_in_cycle)
            .min(to_check)
            .min(self.options.time_block as u64);
        if steps <= 1 {
            let advance = self.advance(parallel, step, phases)?;
            return Ok((u64::from(advance == Advance::Stepped), advance));
        }
        if self.cycle == 0 {
            self.exchange(phases);
        }
        let due = self
            .options
            .convergence
            .is_some_and(|c| step.is_multiple_of(c.check_every));
        if due && self.check_residual(parallel, step, phases) {
            return Ok((0, Advance::Finished));
        }
        self.time_block(steps as usize * per_step, phases);
        Ok((steps, Advance::Stepped))
    }

    fn finish(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance> {
        if self.options.convergence.is_none() {
            return Ok(Advance::Stepped);
        }
        if self.residuals.last().map(|r| r.0) != Some(step) {
            // the final state was not checked yet: fill its ghosts and check it
            let t = Instant::now();
            self.halos[0].exchange(&mut self.buffers[0]);
            phases.add(RESIDUAL, t.elapsed());
            self.check_residual(parallel, step, phases);
        }
        Ok(if self.converged {
            Advance::Finished
        } else {
            Advance::Stepped
        })
    }

    fn progress_note(&self) -> Option<String> {
        self.residuals
            .last()
            .map(|r| format!("residual {:.3e}", r.1))
    }

    /// The grid's shape, origin, spacing and process grid as root attributes, and each
    /// time level as `/fields/NAME` (owned cells of the global grid).
    fn save(&self, _parallel: &Parallel, writer: &mut Writer) -> Result<()> {
        let shape = self.decomposition.grid().shape();
        let u64s = |v: &[usize]| v.iter().map(|&n| n as u64).collect::<Vec<u64>>();
        writer.attr("grid_shape", &u64s(&shape))?;
        writer.attr("origin", &self.options.origin)?;
        writer.attr("spacing", &self.options.spacing)?;
        let procs = self.decomposition.procs();
        writer.attr("process_grid", &u64s(&procs[DIMS - shape.len()..]))?;
        let mut fields = Vec::new();
        for (l, field) in self.levels().iter().enumerate() {
            let name = self.kernel.level_name(l);
            writer.dataset(
                &format!("fields/{name}"),
                &field.owned_block(&shape),
                field.as_slice(),
            )?;
            fields.push(Attribute {
                dataset: format!("fields/{name}"),
                name,
                number_type: <K::Value as crate::io::hdf5::Element>::XDMF_NUMBER_TYPE,
                components: 1,
            });
        }
        writer.sidecar(Sidecar::UniformGrid {
            shape,
            origin: self.options.origin.clone(),
            spacing: self.options.spacing.clone(),
            fields,
        });
        Ok(())
    }

    fn check_geometry(&self, checkpoint: &Checkpoint) -> Result<()> {
        let shape = self.decomposition.grid().shape();
        let theirs: Vec<usize> = checkpoint
            .attr::<u64>("grid_shape")?
            .iter()
            .map(|&n| n as usize)
            .collect();
        if theirs != shape {
            return Err(Error::checkpoint(
                checkpoint.path(),
                format!(
                    "grid is {} but this run's {} is {}",
                    crate::partition::join_x(&theirs),
                    Name("size"),
                    crate::partition::join_x(&shape)
                ),
            ));
        }
        Ok(())
    }

    fn restore(&mut self, parallel: &Parallel, checkpoint: &Checkpoint) -> Result<()> {
        let shape = self.decomposition.grid().shape();
        for l in 0..self.levels().len() {
            let name = self.kernel.level_name(l);
            let block = self.buffers[l].owned_block(&shape);
            checkpoint.read(
                parallel,
                &format!("fields/{name}"),
                &block,
                self.buffers[l].as_slice_mut(),
            )?;
        }
        Ok(())
    }
}

/// The time levels (newest first) of a ring of buffers, and the scratch the next sweep writes.
fn levels_and_next<T>(buffers: &mut [Field<T>]) -> (&mut [Field<T>], &mut Field<T>) {
    let (levels, next) = buffers.split_at_mut(buffers.len() - 1);
    (levels, &mut next[0])
}

/// Runs `kernel` on `decomposition`: the stepper (holding the final state) and the
/// driver's outcome. Collective.
pub fn run<'a, K>(
    parallel: &Parallel,
    decomposition: &'a Decomposition,
    kernel: &'a K,
    grid: &GridOptions,
    job: &JobOptions,
) -> Result<(GridStepper<'a, K>, Outcome)>
where
    K: Kernel,
    K::Value: Cell,
{
    let mut stepper = GridStepper::new(parallel, decomposition, kernel, grid)?;
    let outcome = driver::run(parallel, &mut stepper, job)?;
    Ok((stepper, outcome))
}

/// The owned cells of `field` grown by `depth` ghost layers on every side that has ghost
/// cells to compute (none past a non-periodic edge of the grid: those hold boundary data),
/// in local indices.
pub fn grown<T: Scalar>(field: &Field<T>, grid: &Grid, depth: usize) -> IndexBox {
    let mut b = field.interior();
    for (a, [below, above]) in exchanged_sides(field, grid).into_iter().enumerate() {
        let (below, above) = (usize::from(below) * depth, usize::from(above) * depth);
        b.lo[a] -= below;
        b.size[a] += below + above;
    }
    b
}

/// The owned cells of `field` whose stencil of `radius` reads no ghost cell that a halo
/// exchange fills (ghosts past a non-periodic edge hold boundary data from the start), in
/// local indices: what a sweep can compute while the exchange is in flight.
pub fn not_reading_halos<T: Scalar>(field: &Field<T>, grid: &Grid, radius: usize) -> IndexBox {
    let mut b = field.interior();
    for (a, [below, above]) in exchanged_sides(field, grid).into_iter().enumerate() {
        let (below, above) = (usize::from(below) * radius, usize::from(above) * radius);
        if b.size[a] <= below + above {
            b.size[a] = 0;
        } else {
            b.lo[a] += below;
            b.size[a] -= below + above;
        }
    }
    b
}

/// For each axis, whether the ghosts below and above `field`'s owned cells are filled by
/// a halo exchange (a neighbouring block or a periodic image), not boundary data.
fn exchanged_sides<T: Scalar>(field: &Field<T>, grid: &Grid) -> [[bool; 2]; DIMS] {
    let owned = field.owned();
    let (extents, periodic) = (grid.extents(), grid.periodic());
    std::array::from_fn(|a| {
        let active = grid.is_active(a);
        [
            active && (periodic[a] || owned.lo[a] > 0),
            active && (periodic[a] || owned.hi()[a] < extents[a]),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::geometry::Decomposition;

    /// Deep halos: the region a sweep computes grows into the ghosts on every side that has
    /// a neighbour (or a periodic image), never past a non-periodic edge of the grid.
    #[test]
    fn grown_and_overlapped_regions_stop_at_non_periodic_edges() {
        for periodic in [false, true] {
            let grid = Grid::new(&[12, 10], &[periodic, periodic]).unwrap();
            let d = Decomposition::new(grid, 4, Some(&[2, 2])).unwrap();
            for rank in 0..4 {
                let field: Field<f64> = Field::new(d.owned(rank), d.ghost_widths(3));
                let owned = field.owned();
                let inner = field.interior();
                for depth in 0..=3 {
                    let b = grown(&field, d.grid(), depth);
                    for a in 1..DIMS {
                        let lower_edge = owned.lo[a] == 0 && !periodic;
                        let upper_edge = owned.hi()[a] == d.grid().extents()[a] && !periodic;
                        let below = if lower_edge { 0 } else { depth };
                        let above = if upper_edge { 0 } else { depth };
                        assert_eq!(b.lo[a], inner.lo[a] - below, "rank {rank} axis {a}");
                        assert_eq!(b.size[a], inner.size[a] + below + above);
                    }
                    // the inactive leading axis never grows
                    assert_eq!((b.lo[0], b.size[0]), (inner.lo[0], inner.size[0]));
                }
                // what overlaps the exchange: shrunk only where the ghosts are exchanged
                let quiet = not_reading_halos(&field, d.grid(), 2);
                for a in 1..DIMS {
                    let lower = usize::from(owned.lo[a] > 0 || periodic) * 2;
                    let upper = usize::from(owned.hi()[a] < d.grid().extents()[a] || periodic) * 2;
                    assert_eq!(quiet.lo[a], inner.lo[a] + lower, "rank {rank} axis {a}");
                    assert_eq!(quiet.size[a], inner.size[a] - lower - upper);
                }
                assert_eq!((quiet.lo[0], quiet.size[0]), (inner.lo[0], inner.size[0]));
            }
        }
    }
}
