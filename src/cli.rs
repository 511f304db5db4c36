//! Command-line pieces shared by the simulation binaries: grid-size and process-grid
//! syntax, the common run flags, and turning clap's verdict into tessera's errors.

use crate::driver::job::{self, JobOptions, Restart};
use crate::error::{Error, Result};
use crate::grid::geometry::{Decomposition, Grid};
use crate::grid::stencil::Stores;
use crate::grid::stepper::GridOptions;
use crate::io::checkpoint::Param;
use crate::parallel::Parallel;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Parses `NX[xNY[xNZ]]` (e.g. `1024x1024`, `128x128x128`): 1 to 3 positive integers.
pub fn parse_extents(s: &str) -> std::result::Result<Vec<usize>, String> {
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!("'{s}' is not NX, NXxNY or NXxNYxNZ"));
    }
    parts
        .iter()
        .map(|p| match p.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "'{s}' is not NX, NXxNY or NXxNYxNZ with positive integers"
            )),
        })
        .collect()
}

/// Parses a non-negative, finite number of seconds (`--progress`).
pub fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("'{s}' is not a number of seconds >= 0")),
    }
}

/// A list of extents written `AxB[xC]` (grid sizes, process grids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extents(pub Vec<usize>);

impl std::str::FromStr for Extents {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        parse_extents(s).map(Extents)
    }
}

/// Flags every simulation takes, whatever its family (flattened into each binary's own
/// parser): the job's length, checkpoints, restarts, limits, progress, threads, report.
#[derive(clap::Args, Clone, Debug)]
pub struct JobFlags {
    /// The step at which the run ends, counted from the start of the simulation (so the
    /// same command with --restart finishes the same job).
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Write a checkpoint every N steps (0: only the final state, which is always written).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub checkpoint_every: u64,
    /// Directory for checkpoints (created if missing); file names carry the step number.
    #[arg(long, value_name = "DIR", default_value = "runs/out")]
    pub out: PathBuf,
    /// Continue from this checkpoint, on any number of ranks; `auto`: from the newest
    /// checkpoint in --out that passes its integrity check (falling back to older ones),
    /// or from the start when there is none.
    #[arg(long, value_name = "FILE|auto")]
    pub restart: Option<PathBuf>,
    /// Stop with a checkpoint (exit status 75) before this much time has passed: 90s, 15m,
    /// 1h30m or HH:MM:SS. The safety margin grows with the measured checkpoint time.
    #[arg(long, value_name = "DURATION", value_parser = job::parse_duration)]
    pub max_runtime: Option<Duration>,
    /// Keep only the newest N checkpoints in --out (default: all).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// Process grid, e.g. 2x2 (default: chosen to minimise the surface between ranks).
    #[arg(long, value_name = "AxB[xC]")]
    pub procs: Option<Extents>,
    /// Allow replacing checkpoint files already in --out.
    #[arg(long)]
    pub overwrite: bool,
    /// Write no checkpoint at all (benchmarks, throw-away runs).
    #[arg(long, conflicts_with = "checkpoint_every")]
    pub no_checkpoint: bool,
    /// Seconds between progress lines (0: none).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_seconds)]
    pub progress: f64,
    /// Threads per rank sharing each update (results are identical for any count).
    #[arg(long, value_name = "T", default_value_t = 1)]
    pub threads: usize,
    /// Write the run report (parameters, decomposition, per-phase times over ranks,
    /// rates, checkpoints, validation) as JSON to this file at the end.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

/// Flags every stencil simulation takes: the job's flags and the grid stepper's.
#[derive(clap::Args, Clone, Debug)]
pub struct RunFlags {
    #[command(flatten)]
    pub common: JobFlags,
    /// Ghost-layer width (default: what the stencil and --steps-per-exchange need).
    #[arg(long, value_name = "W")]
    pub ghost: Option<usize>,
    /// Do not overlap the halo exchange with the interior update.
    #[arg(long)]
    pub no_overlap: bool,
    /// Deep halos: exchange ghosts only every S steps, recomputing a band of ghost cells in
    /// between (needs --ghost >= S x stencil radius; results are identical to S = 1)
    /// [default: the time block].
    #[arg(long, value_name = "S")]
    pub steps_per_exchange: Option<usize>,
    /// Temporal blocking: compute up to T steps together, tile by tile while the tiles
    /// stay in cache, instead of sweeping the whole block T times (results are identical
    /// to T = 1; a block never crosses a ghost exchange, a checkpoint or a residual check).
    #[arg(long, value_name = "T", default_value_t = 1)]
    pub time_block: usize,
    /// The tiles of a time block, in cells: the wavefront's step along the slowest axis
    /// and the width of the strips the next axis is cut into (0: not cut), as STEPxWIDTH
    /// [default: chosen to fit --cache, or tuned].
    #[arg(long, value_name = "STEPxWIDTH", value_parser = parse_tile)]
    pub tile: Option<(usize, usize)>,
    /// Cache, in KiB, that a time block's tiles should fit [default: tuned: the first
    /// blocks try 1, 2, 4 and 8 times the level-2 cache the OS reports, the rest use the
    /// fastest; results do not depend on it].
    #[arg(long, value_name = "KIB", value_parser = clap::value_parser!(u64).range(1..(1 << 30)))]
    pub cache: Option<u64>,
    /// How a step stores its output: streaming (non-temporal stores past the caches,
    /// for blocks larger than the cache) or cached [default: streaming when a rank's
    /// time levels do not fit the last-level cache the OS reports; results do not
    /// depend on it].
    #[arg(long, value_name = "KIND")]
    pub stores: Option<Stores>,
}

/// `4x256` -> (4, 256): a time block's wavefront step and strip width.
fn parse_tile(s: &str) -> std::result::Result<(usize, usize), String> {
    let parts: Vec<&str> = s.split('x').collect();
    let number = |p: &str| {
        p.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{s}' is not STEPxWIDTH (two whole numbers, e.g. 4x256)"))
    };
    match parts.as_slice() {
        [step, width] => Ok((number(step)?, number(width)?)),
        _ => Err(format!("'{s}' is not STEPxWIDTH (e.g. 4x256)")),
    }
}

impl std::ops::Deref for RunFlags {
    type Target = JobFlags;
    fn deref(&self) -> &JobFlags {
        &self.common
    }
}

impl JobFlags {
    /// The job's options for these flags, time step `dt` and the run's `parameters`
    /// (recorded in checkpoints, checked on restart).
    pub fn job(&self, dt: f64, parameters: Vec<(String, Param)>) -> JobOptions {
        JobOptions {
            checkpoint_every: self.checkpoint_every,
            restart: self.restart.as_deref().map(Restart::from_flag),
            max_runtime: self.max_runtime,
            keep: self.keep.map(|k| k as usize),
            overwrite: self.overwrite,
            write_checkpoints: !self.no_checkpoint,
            progress_every: self.progress,
            parameters,
            report: self.report.clone(),
            ..JobOptions::new(self.steps, dt, self.out.clone())
        }
    }
}

impl RunFlags {
    /// The split of a grid of `shape` (periodic on every axis, or on none) over the job's
    /// ranks: `--procs` if given, else the process grid that cuts the fewest faces.
    pub fn decomposition(
        &self,
        parallel: &Parallel,
        shape: &[usize],
        periodic: bool,
    ) -> Result<Decomposition> {
        let grid = Grid::new(shape, &vec![periodic; shape.len()])?;
        let procs = self.procs.as_ref().map(|p| p.0.as_slice());
        Decomposition::new(grid, parallel.size(), procs)
    }

    /// The grid stepper's options for these flags, with the grid's `origin` and `spacing`
    /// per axis.
    pub fn grid(&self, origin: Vec<f64>, spacing: Vec<f64>) -> GridOptions {
        GridOptions {
            ghost: self.ghost,
            overlap: !self.no_overlap,
            steps_per_exchange: self.steps_per_exchange.unwrap_or(self.time_block),
            time_block: self.time_block,
            tile: self.tile,
            cache: self.cache.map(|k| k as usize * 1024),
            stores: self.stores,
            threads: self.threads,
            convergence: None,
            origin,
            spacing,
        }
    }
}

/// Parses the command line on every rank. `--help` and `--version` print on rank 0 and
/// yield `Ok(None)`; a malformed command line is a one-line [`Error::Usage`].
///
/// A flag given twice takes its last value, so a batch script's defaults can be
/// overridden by appending flags.
pub fn parse<P: Parser>(parallel: &Parallel) -> Result<Option<P>> {
    crate::error::name_parameters_as_flags();
    let command = P::command().args_override_self(true);
    match command
        .try_get_matches()
        .and_then(|m| P::from_arg_matches(&m))
    {
        Ok(p) => Ok(Some(p)),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                if parallel.is_root() {
                    print!("{e}");
                }
                Ok(None)
            }
            _ => {
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("bad command line");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                Err(Error::Usage(format!("{first} (see --help)")))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_syntax() {
        assert_eq!(parse_extents("1024x1024").unwrap(), vec![1024, 1024]);
        assert_eq!(parse_extents("17x13x11").unwrap(), vec![17, 13, 11]);
        assert_eq!(parse_extents("7").unwrap(), vec![7]);
        for bad in ["", "10x", "x10", "0x4", "-3x4", "1x2x3x4", "axb", "4.5x2"] {
            assert!(parse_extents(bad).is_err(), "{bad}");
        }
    }
}
