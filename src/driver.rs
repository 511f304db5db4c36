//! The time loop shared by every stencil simulation:
//! exchange ghosts -> update (interior first, while halos are in flight) -> rotate time
//! levels; checkpoints on a cadence and at the end; progress lines; a per-phase timing.

use crate::checkpoint::{self, Checkpoint, Header, Param};
use crate::error::{Error, Result};
use crate::field::{Field, Scalar};
use crate::geometry::Decomposition;
use crate::kernel::{self, Kernel};
use crate::runtime::{HaloExchange, Parallel};
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
    /// Restart from this checkpoint instead of the initial condition.
    pub restart: Option<PathBuf>,
    /// Ghost layers per side (at least the kernel's radius).
    pub ghost: usize,
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
}

/// Wall time spent in each phase (the maximum over ranks once [`Timings::max_over_ranks`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub compute: Duration,
    pub halo: Duration,
    pub checkpoint: Duration,
    pub total: Duration,
}

impl Timings {
    /// Each phase's maximum over ranks (collective).
    pub fn max_over_ranks(&self, parallel: &Parallel) -> Timings {
        let m = |d: Duration| Duration::from_secs_f64(parallel.max_f64(d.as_secs_f64()));
        Timings {
            compute: m(self.compute),
            halo: m(self.halo),
            checkpoint: m(self.checkpoint),
            total: m(self.total),
        }
    }

    /// `compute 1.23 s (80%) | halo exchange 0.20 s (13%) | checkpoint I/O ...`
    pub fn breakdown(&self) -> String {
        let total = self.total.as_secs_f64().max(1e-12);
        let other = (self
            .total
            .saturating_sub(self.compute + self.halo + self.checkpoint))
        .as_secs_f64();
        let part = |name: &str, s: f64| format!("{name} {s:.3} s ({:.0}%)", 100.0 * s / total);
        [
            part("compute", self.compute.as_secs_f64()),
            part("halo exchange", self.halo.as_secs_f64()),
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
}

/// Runs `kernel` on `decomposition` as `options` say. Collective.
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
    let ghost_ok = if options.ghost < kernel.radius() {
        Err(Error::arg(
            "--ghost",
            format!(
                "{} is less than the stencil radius {}",
                options.ghost,
                kernel.radius()
            ),
        ))
    } else {
        decomposition.check_ghost_width(options.ghost)
    };
    parallel.agree(ghost_ok)?;

    // Fields: every time level plus the one being computed. Ghosts past a non-periodic
    // edge hold the kernel's boundary values for the whole run.
    let owned = decomposition.owned(parallel.rank());
    let ghost = decomposition.ghost_widths(options.ghost);
    let nlevels = kernel.time_levels();
    let mut levels: Vec<Field<K::Value>> = (0..nlevels)
        .map(|level| kernel::initial_block(kernel, grid, owned, ghost, level))
        .collect();
    // scratch for the new state: only its boundary ghosts matter, and they are the same
    let mut next = levels[0].clone();

    // Start from the initial condition or from a checkpoint (any rank count).
    let mut step = 0;
    if let Some(path) = &options.restart {
        let t = Instant::now();
        step = parallel.agree(restart_into(
            parallel,
            kernel,
            grid.shape(),
            path,
            options,
            &mut levels,
        ))?;
        timings.checkpoint += t.elapsed();
    }
    if options.end_step < step {
        return parallel.agree(Err(Error::arg(
            "--steps",
            format!(
                "{} is before the restart checkpoint's step {step}",
                options.end_step
            ),
        )));
    }
    parallel.agree(prepare_output_dir(
        parallel,
        kernel.name(),
        &options.out_dir,
        step,
        options.overwrite,
    ))?;

    let start_step = step;
    let mut halo = HaloExchange::new(parallel, decomposition, &levels[0]);
    let whole = levels[0].interior();
    let interior = whole.shrink(decomposition.ghost_widths(kernel.radius()));
    let shell = whole.minus(&interior);
    let cells = grid.cells() as f64;
    let mut progress = Progress::new(parallel.is_root(), options, start_step, cells);
    let mut last_checkpoint = None;

    while step < options.end_step {
        let t0 = Instant::now();
        let pending = halo.begin(&levels[0]);
        let t1 = Instant::now();
        if options.overlap {
            kernel::apply_rows(
                kernel,
                &levels.iter().collect::<Vec<_>>(),
                &mut next,
                &interior,
            );
        }
        let t2 = Instant::now();
        pending.finish(&mut levels[0]);
        let t3 = Instant::now();
        let inputs: Vec<&Field<K::Value>> = levels.iter().collect();
        for region in if options.overlap {
            &shell[..]
        } else {
            std::slice::from_ref(&whole)
        } {
            kernel::apply_rows(kernel, &inputs, &mut next, region);
        }
        // rotate: next becomes the newest level, the oldest becomes scratch
        std::mem::swap(&mut next, &mut levels[nlevels - 1]);
        levels.rotate_right(1);
        step += 1;
        let t4 = Instant::now();
        timings.halo += (t1 - t0) + (t3 - t2);
        timings.compute += (t2 - t1) + (t4 - t3);

        let due = options.checkpoint_every > 0 && step % options.checkpoint_every == 0;
        if due || step == options.end_step {
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
        progress.update(step, step as f64 * options.dt);
    }
    timings.total = started.elapsed();
    Ok(Outcome {
        levels,
        start_step,
        step,
        time: step as f64 * options.dt,
        checkpoint: last_checkpoint,
        timings,
    })
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
    checkpoint::write(parallel, decomposition, &options.out_dir, &header, &fields)
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
        println!(
            "  step {step:>8}/{}  t = {time:.4e}  {:.3} Glups  ETA {eta:.1} s",
            self.end,
            rate * self.cells / 1e9
        );
    }
}
