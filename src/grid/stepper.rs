//! The time loop shared by every stencil simulation:
//! exchange ghosts -> update (interior first, while halos are in flight) -> rotate time
//! levels; checkpoints on a cadence and at the end; progress lines; a per-phase timing.

use crate::error::{Error, Result};
use crate::grid::field::{Field, Scalar};
use crate::grid::geometry::{Decomposition, Grid, IndexBox, DIMS};
use crate::grid::halo::HaloExchange;
use crate::grid::stencil::{self, Kernel};
use crate::io::checkpoint::{self, Checkpoint, Header, Param};
use crate::io::recovery::{self, Deadline, Restart};
use crate::parallel::Parallel;
use crate::parallel::Threads;
use crate::signals;
use mpi::datatype::Equivalence;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What may be stored in a field the driver runs: a scalar MPI and HDF5 both know.
pub trait Cell: Scalar + Equivalence + hdf5::H5Type {}
impl<T: Scalar + Equivalence + hdf5::H5Type> Cell for T {}

/// How to run: everything but the kernel and the decomposition.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The step at which the run ends, counted from the start of the simulation.
    pub end_step: u64,
    /// Time step (simulated time = step * dt).
    pub dt: f64,
    /// Checkpoint every this many steps (0: only the final state).
    pub checkpoint_every: u64,
    /// Directory for checkpoints.
    pub out_dir: PathBuf,
    /// Start from a checkpoint (a file, or the newest good one in `out_dir`) instead of the
    /// initial condition.
    pub restart: Option<Restart>,
    /// Stop with a checkpoint before this much time has passed since the start of the run
    /// (the Slurm job's end, where Slurm says it, counts too).
    pub max_runtime: Option<Duration>,
    /// Keep only the newest this many checkpoints in `out_dir` (`None`: all).
    pub keep: Option<usize>,
    /// Ghost layers per side, at least what one exchange cycle reads (`None`: exactly
    /// that, see [`RunOptions::ghost_width`]).
    pub ghost: Option<usize>,
    /// Update the interior while halos are in flight.
    pub overlap: bool,
    /// Allow replacing checkpoint files already in `out_dir`.
    pub overwrite: bool,
    /// Seconds between progress lines (rank 0).
    pub progress_every: f64,
    /// Parameters recorded in checkpoints; a restart must match them.
    pub parameters: Vec<(String, Param)>,
    /// Coordinates of the first grid point and the spacing, per axis (for viewers).
    pub origin: Vec<f64>,
    pub spacing: Vec<f64>,
    /// Steps between ghost exchanges (deep halos): with `S > 1` the ghosts must be at
    /// least `S * phases * radius` wide, and each rank recomputes a shrinking band of
    /// ghost cells instead of exchanging every step. Results are bitwise those of `S = 1`.
    pub steps_per_exchange: usize,
    /// Threads per rank sharing each update (results do not depend on it).
    pub threads: usize,
    /// Stop once the residual is small enough (iterative solvers); `None` runs to `end_step`.
    pub convergence: Option<Convergence>,
    /// Write checkpoints (the cadence and the final state). Off for convergence studies.
    pub write_checkpoints: bool,
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

impl RunOptions {
    /// The ghost width used with `kernel`: the one asked for, or by default what the sweeps
    /// between two exchanges read, `steps_per_exchange * phases * radius`.
    pub fn ghost_width<K: Kernel>(&self, kernel: &K) -> usize {
        self.ghost
            .unwrap_or(self.steps_per_exchange.max(1) * kernel.phases() * kernel.radius())
    }

    /// `4 ranks on a 2x2 process grid, ghost width 1, overlap on, 1 thread per rank`.
    pub fn layout_line<K: Kernel>(
        &self,
        parallel: &Parallel,
        decomposition: &Decomposition,
        kernel: &K,
    ) -> String {
        let deep = if self.steps_per_exchange > 1 {
            format!(", exchange every {} steps", self.steps_per_exchange)
        } else {
            String::new()
        };
        format!(
            "{} ranks on a {} process grid, ghost width {}{deep}, overlap {}, {} thread{} per rank",
            parallel.size(),
            decomposition.procs_string(),
            self.ghost_width(kernel),
            if self.overlap { "on" } else { "off" },
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )
    }

    /// Defaults for everything but what every run must choose.
    pub fn new(end_step: u64, dt: f64, out_dir: PathBuf) -> RunOptions {
        RunOptions {
            end_step,
            dt,
            checkpoint_every: 0,
            out_dir,
            restart: None,
            max_runtime: None,
            keep: None,
            ghost: None,
            overlap: true,
            overwrite: false,
            progress_every: 0.0,
            parameters: Vec::new(),
            origin: Vec::new(),
            spacing: Vec::new(),
            steps_per_exchange: 1,
            threads: 1,
            convergence: None,
            write_checkpoints: true,
        }
    }
}

/// Wall time spent in each phase (the maximum over ranks once [`Timings::max_over_ranks`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub compute: Duration,
    pub halo: Duration,
    /// Residual norms of iterative solvers (the sweep and the global reduction).
    pub reduction: Duration,
    pub checkpoint: Duration,
    pub total: Duration,
}

impl Timings {
    /// Each phase's maximum over ranks (collective).
    pub fn max_over_ranks(&self, parallel: &Parallel) -> Timings {
        let m = |d: Duration| Duration::from_secs_f64(parallel.max(d.as_secs_f64()));
        Timings {
            compute: m(self.compute),
            halo: m(self.halo),
            reduction: m(self.reduction),
            checkpoint: m(self.checkpoint),
            total: m(self.total),
        }
    }

    /// `compute 1.23 s (80%) | halo exchange 0.20 s (13%) | checkpoint I/O ...`
    pub fn breakdown(&self) -> String {
        let total = self.total.as_secs_f64().max(1e-12);
        let other = (self
            .total
            .saturating_sub(self.compute + self.halo + self.reduction + self.checkpoint))
        .as_secs_f64();
        let part = |name: &str, s: f64| format!("{name} {s:.3} s ({:.0}%)", 100.0 * s / total);
        [
            part("compute", self.compute.as_secs_f64()),
            part("halo exchange", self.halo.as_secs_f64()),
            part("residual norms", self.reduction.as_secs_f64()),
            part("checkpoint I/O", self.checkpoint.as_secs_f64()),
            part("other", other),
        ]
        .join(" | ")
    }
}

/// The result of a run on this rank.
pub struct Outcome<T> {
    /// The final state, newest time level first (this rank's blocks).
    pub levels: Vec<Field<T>>,
    /// The step the run started from (0, or the restart checkpoint's).
    pub start_step: u64,
    pub step: u64,
    pub time: f64,
    /// Path of the last checkpoint written (the final state).
    pub checkpoint: Option<PathBuf>,
    /// This rank's timings.
    pub timings: Timings,
    /// Residual norms `(step, norm)` as checked, the final state's last (iterative solvers).
    pub residuals: Vec<(u64, f64)>,
    /// Whether the residual reached the tolerance (iterative solvers).
    pub converged: bool,
}

/// Runs `kernel` on `decomposition` as `options` say. Collective.
///
/// Each step is `kernel.phases()` sweeps. A sweep that follows a ghost exchange updates the
/// interior (cells whose stencil reads no ghost) while the messages are in flight, then
/// the boundary shell. With deep halos (`steps_per_exchange = S > 1`), only every `S`-th
/// step exchanges: after an exchange of `W`-wide ghosts the block's ghost cells are valid
/// `W` deep, and each sweep computes the owned cells plus every ghost cell that a later
/// sweep before the next exchange will read, `(sweeps left) * radius` deep.
pub fn run<K>(
    parallel: &Parallel,
    decomposition: &Decomposition,
    kernel: &K,
    options: &RunOptions,
) -> Result<Outcome<K::Value>>
where
    K: Kernel,
    K::Value: Cell,
{
    let started = Instant::now();
    let mut timings = Timings::default();
    let grid = decomposition.grid();
    let (radius, phases) = (kernel.radius(), kernel.phases());
    let sweeps_per_exchange = options.steps_per_exchange.max(1) * phases;
    parallel.agree(check_options(decomposition, kernel, options))?;
    let threads = parallel.agree(Threads::new(options.threads))?;

    // Fields: every time level plus the one being computed. Ghosts past a non-periodic
    // edge hold the kernel's boundary values for the whole run.
    let owned = decomposition.owned(parallel.rank());
    let ghost = decomposition.ghost_widths(options.ghost_width(kernel));
    let nlevels = kernel.time_levels();
    let mut levels: Vec<Field<K::Value>> = (0..nlevels)
        .map(|level| stencil::initial_block(kernel, grid, owned, ghost, level))
        .collect();
    // scratch for the new state: only its boundary ghosts matter, and they are the same
    let mut next = levels[0].clone();

    // Start from the initial condition or from a checkpoint (any rank count).
    let t = Instant::now();
    let step = match &options.restart {
        None => 0,
        Some(Restart::File(path)) => {
            let step = parallel.agree(restart_into(
                parallel,
                kernel,
                grid.shape(),
                path,
                options,
                &mut levels,
            ))?;
            if parallel.is_root() {
                println!("  restarting from {} (step {step})", path.display());
            }
            step
        }
        Some(Restart::Auto) => resume_newest(parallel, kernel, grid.shape(), options, &mut levels)?,
    };
    let mut step = step;
    timings.checkpoint += t.elapsed();
    if options.end_step < step {
        return parallel.agree(Err(Error::arg(
            "--steps",
            format!(
                "{} is before the restart checkpoint's step {step}",
                options.end_step
            ),
        )));
    }
    if options.write_checkpoints {
        parallel.agree(prepare_output_dir(
            parallel,
            kernel.name(),
            &options.out_dir,
            step,
            options.overwrite,
        ))?;
    }

    let start_step = step;
    // Only the newest level's ghosts are read by a single sweep; deep halos compute ghost
    // cells of every level, so every level is exchanged (each on its own tag channel).
    let exchanged = if sweeps_per_exchange > 1 { nlevels } else { 1 };
    let mut halos: Vec<HaloExchange<K::Value>> = (0..exchanged)
        .map(|l| HaloExchange::on_channel(parallel, decomposition, &levels[l], l))
        .collect();
    let whole = levels[0].interior();
    let interior = whole.shrink(decomposition.ghost_widths(radius));
    let cells = grid.cells() as f64;
    let mut progress = Progress::new(parallel.is_root(), options, start_step, cells);
    let mut last_checkpoint = None;
    let mut residuals = Vec::new();
    let mut converged = false;
    let mut cycle = 0; // sweeps since the last exchange
    let deadline = Deadline::new(started, options.max_runtime);
    let state_bytes = cells * (nlevels * std::mem::size_of::<K::Value>()) as f64;
    let mut longest_write = recovery::checkpoint_time_estimate(state_bytes);
    let mut step_started = Instant::now();

    'steps: while step < options.end_step {
        for phase in 0..phases {
            let depth = (sweeps_per_exchange - 1 - cycle) * radius;
            let region = grown(&levels[0], grid, depth);
            let t0 = Instant::now();
            if cycle == 0 {
                let pending: Vec<_> = halos
                    .iter_mut()
                    .zip(&levels)
                    .map(|(h, f)| h.begin(f))
                    .collect();
                let t1 = Instant::now();
                if options.overlap {
                    stencil::apply_rows(
                        kernel,
                        &inputs(&levels),
                        &mut next,
                        &interior,
                        phase,
                        &threads,
                    );
                }
                let t2 = Instant::now();
                for (p, f) in pending.into_iter().zip(levels.iter_mut()) {
                    p.finish(f);
                }
                let t3 = Instant::now();
                let rest = if options.overlap {
                    region.minus(&interior)
                } else {
                    vec![region]
                };
                for r in &rest {
                    stencil::apply_rows(kernel, &inputs(&levels), &mut next, r, phase, &threads);
                }
                timings.halo += (t1 - t0) + (t3 - t2);
                timings.compute += (t2 - t1) + t3.elapsed();
            } else {
                stencil::apply_rows(
                    kernel,
                    &inputs(&levels),
                    &mut next,
                    &region,
                    phase,
                    &threads,
                );
                timings.compute += t0.elapsed();
            }
            // The residual of the state at the start of the step: its ghosts are valid here.
            if let Some(c) = options
                .convergence
                .filter(|c| phase == 0 && step % c.check_every == 0)
            {
                let t = Instant::now();
                let norm = residual_norm(parallel, kernel, &levels, &whole, &threads);
                timings.reduction += t.elapsed();
                residuals.push((step, norm));
                progress.residual = Some(norm);
                if norm <= c.rtol * c.reference {
                    converged = true;
                    break 'steps; // the state is levels[0]; `next` is discarded
                }
            }
            // rotate: next becomes the newest level, the oldest becomes scratch
            std::mem::swap(&mut next, &mut levels[nlevels - 1]);
            levels.rotate_right(1);
            cycle = (cycle + 1) % sweeps_per_exchange;
        }
        step += 1;

        let due = options.checkpoint_every > 0 && step % options.checkpoint_every == 0;
        if options.write_checkpoints && (due || step == options.end_step) {
            let t = Instant::now();
            last_checkpoint = Some(save(
                parallel,
                decomposition,
                kernel,
                options,
                step,
                &levels,
            )?);
            timings.checkpoint += t.elapsed();
            longest_write = longest_write.max(t.elapsed());
        }
        progress.update(step, step as f64 * options.dt);
        if step < options.end_step {
            let stop = stop_requested(parallel, deadline.as_ref(), longest_write, step_started);
            step_started = Instant::now();
            if let Some(why) = stop {
                return stop_with_checkpoint(
                    parallel,
                    decomposition,
                    kernel,
                    options,
                    step,
                    &levels,
                    last_checkpoint,
                    why,
                );
            }
        }
    }
    if let Some(c) = options.convergence {
        if !converged && residuals.last().map(|r| r.0) != Some(step) {
            // the final state was not checked yet: fill its ghosts and check it
            let t = Instant::now();
            halos[0].exchange(&mut levels[0]);
            let norm = residual_norm(parallel, kernel, &levels, &whole, &threads);
            timings.reduction += t.elapsed();
            residuals.push((step, norm));
            converged = norm <= c.rtol * c.reference;
        }
        // the loop saved this step already if it completed it on the cadence
        let due = options.checkpoint_every > 0 && step % options.checkpoint_every == 0;
        let saved = step > start_step && (due || step == options.end_step);
        // a restart that is converged already has nothing new to save (and must not
        // rewrite the file it started from)
        let new_state = step > start_step || options.restart.is_none();
        if converged && options.write_checkpoints && !saved && new_state {
            // stopped early: the converged state is the final checkpoint
            let t = Instant::now();
            last_checkpoint = Some(save(
                parallel,
                decomposition,
                kernel,
                options,
                step,
                &levels,
            )?);
            timings.checkpoint += t.elapsed();
        }
    }
    timings.total = started.elapsed();
    Ok(Outcome {
        levels,
        start_step,
        step,
        time: step as f64 * options.dt,
        checkpoint: last_checkpoint,
        timings,
        residuals,
        converged,
    })
}

/// Refuses options that cannot work with this kernel and decomposition.
fn check_options<K: Kernel>(
    decomposition: &Decomposition,
    kernel: &K,
    options: &RunOptions,
) -> Result<()> {
    let ghost = options.ghost_width(kernel);
    if ghost < kernel.radius() {
        return Err(Error::arg(
            "--ghost",
            format!(
                "{ghost} is less than the stencil radius {}",
                kernel.radius()
            ),
        ));
    }
    let s = options.steps_per_exchange;
    let needed = s * kernel.phases() * kernel.radius();
    if s == 0 {
        return Err(Error::arg("--steps-per-exchange", "must be at least 1"));
    }
    if needed > ghost {
        return Err(Error::arg(
            "--steps-per-exchange",
            format!(
                "{s} steps between exchanges read {needed} ghost layers ({} sweeps per step, \
                 stencil radius {}), but --ghost is {}",
                kernel.phases(),
                kernel.radius(),
                ghost
            ),
        ));
    }
    if let Some(c) = options.convergence {
        if !(c.rtol > 0.0 && c.rtol.is_finite()) {
            return Err(Error::arg(
                "--rtol",
                format!("must be positive, got {}", c.rtol),
            ));
        }
        if c.check_every == 0 {
            return Err(Error::arg("--check-every", "must be at least 1"));
        }
    }
    decomposition.check_ghost_width(ghost)
}

/// The owned cells of `field` grown by `depth` ghost layers on every side that has ghost
/// cells to compute (none past a non-periodic edge of the grid: those hold boundary data),
/// in local indices.
fn grown<T: Scalar>(field: &Field<T>, grid: &Grid, depth: usize) -> IndexBox {
    let mut b = field.interior();
    let owned = field.owned();
    let (extents, periodic) = (grid.extents(), grid.periodic());
    for a in (0..DIMS).filter(|&a| grid.is_active(a)) {
        let below = if periodic[a] || owned.lo[a] > 0 {
            depth
        } else {
            0
        };
        let above = if periodic[a] || owned.hi()[a] < extents[a] {
            depth
        } else {
            0
        };
        b.lo[a] -= below;
        b.size[a] += below + above;
    }
    b
}

/// The time levels as the slice of references a sweep reads.
fn inputs<T>(levels: &[Field<T>]) -> Vec<&Field<T>> {
    levels.iter().collect()
}

/// `sqrt(sum of the kernel's squared residuals)` over the owned cells of every rank,
/// summed exactly so every rank count and thread count gives the same bits. Collective.
fn residual_norm<K: Kernel>(
    parallel: &Parallel,
    kernel: &K,
    levels: &[Field<K::Value>],
    owned: &IndexBox,
    threads: &Threads,
) -> f64 {
    let inputs: Vec<&Field<K::Value>> = levels.iter().collect();
    let local = stencil::sum_rows(&inputs, owned, threads, |row, sum| {
        kernel.residual_row(row, sum)
    });
    parallel.sum_exact(&local).sqrt()
}

/// Ends a simulation binary's run: prints (rank 0) its verdict, `  Solution validates` or
/// `  Solution does NOT validate` (nothing when `validates` is `None`: nothing was
/// checked), then its performance ([`print_performance`]), and returns `Ok`, or on every
/// rank [`Error::NotValidated`] with the message `why()`. Collective.
pub fn conclude<T>(
    parallel: &Parallel,
    grid: &Grid,
    outcome: &Outcome<T>,
    validates: Option<bool>,
    why: impl FnOnce() -> String,
) -> Result<()> {
    if let (Some(v), true) = (validates, parallel.is_root()) {
        let verdict = if v { "validates" } else { "does NOT validate" };
        println!("  Solution {verdict}");
    }
    print_performance(parallel, grid, outcome);
    match validates {
        Some(false) => parallel.agree(Err(Error::NotValidated(why()))),
        _ => Ok(()),
    }
}

/// Prints (rank 0) the performance of a finished run and where its checkpoint is:
/// update rate overall, in the time loop (update, halo exchange and residual norms: the
/// slowest rank's total) and in the update alone, and the time per phase (each phase's
/// maximum over ranks, so with overlap the parts may add up to more than the total).
/// Collective.
pub fn print_performance<T>(parallel: &Parallel, grid: &Grid, outcome: &Outcome<T>) {
    let timings = outcome.timings.max_over_ranks(parallel);
    // a rank's own time stepping (its phases never overlap), then the slowest rank's
    let mine = outcome.timings;
    let time_loop = parallel.max((mine.compute + mine.halo + mine.reduction).as_secs_f64());
    if !parallel.is_root() {
        return;
    }
    let steps = outcome.step - outcome.start_step;
    let updates = steps as f64 * grid.cells() as f64;
    println!("performance");
    let rate = |seconds: f64| updates / seconds.max(1e-12) / 1e9;
    println!(
        "  {steps} steps x {} points in {:.3} s: {:.3} Glups overall, {:.3} Glups in the time \
         loop, {:.3} Glups in the update",
        grid.cells(),
        timings.total.as_secs_f64(),
        rate(timings.total.as_secs_f64()),
        rate(time_loop),
        rate(timings.compute.as_secs_f64())
    );
    println!("  time: {}", timings.breakdown());
    match &outcome.checkpoint {
        Some(p) => println!(
            "checkpoint: {} (ParaView: {})",
            p.display(),
            p.with_extension("xmf").display()
        ),
        None => println!("checkpoint: none written (at step {})", outcome.step),
    }
}

/// Reads the checkpoint at `path` into `levels` after checking it belongs to this run.
fn restart_into<K>(
    parallel: &Parallel,
    kernel: &K,
    shape: Vec<usize>,
    path: &Path,
    options: &RunOptions,
    levels: &mut [Field<K::Value>],
) -> Result<u64>
where
    K: Kernel,
    K::Value: Cell,
{
    let ck = Checkpoint::open(parallel, path)?;
    ck.check_matches(kernel.name(), &shape, &options.parameters)?;
    for (l, field) in levels.iter_mut().enumerate() {
        ck.read_field(parallel, &kernel.level_name(l), field)?;
    }
    Ok(ck.header.step)
}

/// Creates `dir` and refuses to run if it holds checkpoints this run would overwrite:
/// any of this simulation's checkpoints later than `start_step`.
fn prepare_output_dir(
    parallel: &Parallel,
    simulation: &str,
    dir: &Path,
    start_step: u64,
    overwrite: bool,
) -> Result<()> {
    if !parallel.is_root() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating --out {}", dir.display()), e))?;
    if overwrite {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading --out {}", dir.display()), e))?;
    let prefix = format!("{simulation}_");
    let mut clash: Vec<u64> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix(&prefix)?
                .strip_suffix(".h5")?
                .parse::<u64>()
                .ok()
        })
        .filter(|&s| s > start_step)
        .collect();
    clash.sort_unstable();
    match clash.first() {
        None => Ok(()),
        Some(s) => Err(Error::arg(
            "--out",
            format!(
                "{} already holds {} (step {s}), which this run would overwrite; \
                 restart from the newest checkpoint, choose another --out, or pass --overwrite",
                dir.display(),
                checkpoint::file_name(simulation, *s)
            ),
        )),
    }
}

fn save<K>(
    parallel: &Parallel,
    decomposition: &Decomposition,
    kernel: &K,
    options: &RunOptions,
    step: u64,
    levels: &[Field<K::Value>],
) -> Result<PathBuf>
where
    K: Kernel,
    K::Value: Cell,
{
    let header = Header {
        simulation: kernel.name().to_string(),
        step,
        time: step as f64 * options.dt,
        shape: decomposition.grid().shape(),
        origin: options.origin.clone(),
        spacing: options.spacing.clone(),
        parameters: options.parameters.clone(),
    };
    let names: Vec<String> = (0..levels.len()).map(|l| kernel.level_name(l)).collect();
    let fields: Vec<(&str, &Field<K::Value>)> = names
        .iter()
        .map(|n| n.as_str())
        .zip(levels.iter())
        .collect();
    let path = checkpoint::write(parallel, decomposition, &options.out_dir, &header, &fields)?;
    if let Some(keep) = options.keep {
        let pruned = if parallel.is_root() {
            recovery::prune(&options.out_dir, kernel.name(), keep).map(|_| ())
        } else {
            Ok(())
        };
        parallel.agree(pruned)?;
    }
    Ok(path)
}

/// Progress lines on rank 0: step, simulated time, rate, ETA.
struct Progress {
    enabled: bool,
    every: f64,
    end: u64,
    cells: f64,
    start: Instant,
    start_step: u64,
    last: Instant,
    /// The latest residual norm (iterative solvers).
    residual: Option<f64>,
    timed: bool,
}

impl Progress {
    fn new(is_root: bool, options: &RunOptions, start_step: u64, cells: f64) -> Self {
        let now = Instant::now();
        Progress {
            enabled: is_root && options.progress_every > 0.0,
            every: options.progress_every,
            end: options.end_step,
            cells,
            start: now,
            start_step,
            last: now,
            residual: None,
            timed: options.dt > 0.0,
        }
    }

    fn update(&mut self, step: u64, time: f64) {
        if !self.enabled || self.last.elapsed().as_secs_f64() < self.every {
            return;
        }
        self.last = Instant::now();
        let elapsed = self.start.elapsed().as_secs_f64();
        let done = (step - self.start_step) as f64;
        let rate = done / elapsed;
        let eta = (self.end - step) as f64 / rate;
        let what = match (self.residual, self.timed) {
            (Some(r), _) => format!("residual {r:.3e}"),
            (None, true) => format!("t = {time:.4e}"),
            (None, false) => String::new(),
        };
        println!(
            "  step {step:>8}/{}  {what}  {:.3} Glups  ETA {eta:.1} s",
            self.end,
            rate * self.cells / 1e9
        );
    }
}

/// Collective: whether the run must stop now, and why: a stop signal on any rank, or the
/// deadline too near to take another step and still write a checkpoint (any rank's clock).
fn stop_requested(
    parallel: &Parallel,
    deadline: Option<&Deadline>,
    longest_write: Duration,
    step_started: Instant,
) -> Option<String> {
    // 0: go on; a signal number; DEADLINE: out of time
    const DEADLINE: f64 = 1e6;
    let mine = match (signals::requested(), deadline) {
        (Some(signal), _) => signal as f64,
        (None, Some(d)) if d.is_near(longest_write, step_started.elapsed()) => DEADLINE,
        _ => 0.0,
    };
    match parallel.max(mine) {
        0.0 => None,
        DEADLINE => Some(format!(
            "{} is near",
            deadline.map_or("the deadline", |d| d.source)
        )),
        signal => Some(format!("{} received", signals::name(signal as i32))),
    }
}

/// Ends a run that must stop at `step`: writes its checkpoint (unless this step is saved
/// already or the run writes none) and returns [`Error::Stopped`] on every rank.
#[allow(clippy::too_many_arguments)]
fn stop_with_checkpoint<K>(
    parallel: &Parallel,
    decomposition: &Decomposition,
    kernel: &K,
    options: &RunOptions,
    step: u64,
    levels: &[Field<K::Value>],
    last_checkpoint: Option<PathBuf>,
    why: String,
) -> Result<Outcome<K::Value>>
where
    K: Kernel,
    K::Value: Cell,
{
    let saved_now = last_checkpoint
        .filter(|p| *p == recovery::checkpoint_path(&options.out_dir, kernel.name(), step));
    let what = if !options.write_checkpoints {
        "no checkpoint written (this run writes none)".to_string()
    } else {
        let path = match saved_now {
            Some(p) => p,
            None => save(parallel, decomposition, kernel, options, step, levels)?,
        };
        format!(
            "checkpoint {} written; continue with --restart auto",
            path.display()
        )
    };
    parallel.agree(Err(Error::Stopped(format!(
        "{why}: stopped at step {step} of {}; {what}",
        options.end_step
    ))))
}

/// `--restart auto`: reads the newest of this simulation's checkpoints in `--out` that
/// passes its integrity check into `levels` and returns its step. A damaged one is moved
/// aside (`NAME.h5.damaged`), with a message, and the one before it is tried; with none,
/// the run starts from the initial state (step 0). A checkpoint of another grid or other
/// parameters is an error, not damage. Collective.
fn resume_newest<K>(
    parallel: &Parallel,
    kernel: &K,
    shape: Vec<usize>,
    options: &RunOptions,
    levels: &mut [Field<K::Value>],
) -> Result<u64>
where
    K: Kernel,
    K::Value: Cell,
{
    // every rank lists the directory; they must agree on what they saw
    let found = recovery::checkpoints_in(&options.out_dir, kernel.name());
    let count = found.len() as u64;
    let same = parallel.sum(count) == count * parallel.size() as u64;
    parallel.agree(if same {
        Ok(())
    } else {
        Err(Error::arg(
            "--restart auto",
            format!(
                "the ranks see different checkpoints in {}: is it on a shared file system?",
                options.out_dir.display()
            ),
        ))
    })?;
    for (step, path) in found {
        // 0: read; 1: damaged; 2: not this run's (an error)
        let result = Checkpoint::open(parallel, &path)
            .map_err(|e| (1.0, e))
            .and_then(|ck| {
                ck.check_matches(kernel.name(), &shape, &options.parameters)
                    .map_err(|e| (2.0, e))?;
                for (l, field) in levels.iter_mut().enumerate() {
                    ck.read_field(parallel, &kernel.level_name(l), field)
                        .map_err(|e| (1.0, e))?;
                }
                Ok(ck.header.step)
            });
        let kind = parallel.max(result.as_ref().map_or_else(|e| e.0, |_| 0.0));
        if kind == 0.0 {
            let read = result.expect("every rank read it");
            debug_assert_eq!(read, step);
            if parallel.is_root() {
                println!(
                    "  restarting from {} (step {read}, newest good checkpoint)",
                    path.display()
                );
            }
            return Ok(read);
        }
        if kind == 2.0 {
            // not this run's checkpoint: an error the user must resolve
            let mine = result.err().map_or(Error::ReportedElsewhere, |(_, e)| e);
            return parallel.agree(Err(mine));
        }
        let reason = match result {
            Err((_, e)) if parallel.is_root() => e.to_string(),
            _ => format!(
                "checkpoint {} is damaged (see another rank)",
                path.display()
            ),
        };
        parallel.barrier(); // every rank is done with the file
        let aside = if parallel.is_root() {
            recovery::set_aside(&path)
        } else {
            Ok(PathBuf::new())
        };
        let aside = parallel.agree(aside)?;
        if parallel.is_root() {
            println!(
                "  {reason}\n  -> moved aside to {}; falling back to the previous checkpoint",
                aside.display()
            );
        }
    }
    if parallel.is_root() {
        println!(
            "  no usable {} checkpoint in {}: starting from the initial state",
            kernel.name(),
            options.out_dir.display()
        );
    }
    Ok(0)
}
