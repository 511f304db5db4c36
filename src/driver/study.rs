//! Convergence studies: errors on a sequence of refined grids and the observed order of
//! accuracy between successive levels, `p = log(e_coarse / e_fine) / log(h_coarse / h_fine)`.
//! [`run`] drives a study for any simulation: the binary says how to run one level (its
//! grid, time step and steps, and the globally reduced errors); the study refuses what it
//! cannot combine with, prints the table on rank 0 and stops at the first level that fails
//! its own validation.

use crate::driver::{self, job::JobOptions};
use crate::error::{Error, Name, Result};
use crate::grid::geometry::MAX_CELLS;
use crate::parallel::Parallel;
use crate::partition::join_x;
use std::path::PathBuf;

/// The grids of a study: `count` levels refined from `coarse` (see [`refined`]).
#[derive(Clone, Copy, Debug)]
pub struct Levels<'a> {
    pub count: u32,
    pub coarse: &'a [usize],
    pub periodic: bool,
}

/// One grid of a refinement study.
#[derive(Clone, Debug)]
pub struct Level {
    /// The grid, as `63x63`.
    pub grid: String,
    /// Grid spacing (the coarsest axis's).
    pub h: f64,
    /// Steps taken to the common final time (or iterations, for a steady problem).
    pub steps: u64,
    /// The errors measured on this grid, one per column of the table.
    pub errors: Vec<f64>,
}

/// The grid of level `level` of a study from the `coarse` grid, refined 2x per axis per
/// level: `n * 2^level` points per axis on a periodic grid, and on a Dirichlet grid (whose
/// `n` interior points have `n + 1` intervals) `(n + 1) * 2^level - 1`, so that every level's
/// points include the coarser levels' points.
pub fn refined(coarse: &[usize], level: u32, periodic: bool) -> Result<Vec<usize>> {
    let too_fine = || {
        Error::value(
            "convergence",
            format!(
                "level {level} of a study from {} would have more cells per axis than can be counted",
                join_x(coarse)
            ),
        )
    };
    let r = 1usize.checked_shl(level).ok_or_else(too_fine)?;
    coarse
        .iter()
        .map(|&n| {
            if periodic {
                n.checked_mul(r)
            } else {
                n.checked_add(1)
                    .and_then(|m| m.checked_mul(r))
                    .map(|m| m - 1)
            }
            .ok_or_else(too_fine)
        })
        .collect()
}

/// Bytes per cell a study level holds at most (`f64` state and scratch levels).
const STUDY_BYTES_PER_CELL: u64 = 32;

/// The job of one level: `end_step` steps of `dt`, no checkpoints, no progress lines; it
/// stops (exit 75, nothing saved) once `max_runtime` has passed since the level began.
pub fn level_job(
    end_step: u64,
    dt: f64,
    parameters: Vec<(String, crate::io::checkpoint::Param)>,
    max_runtime: Option<std::time::Duration>,
) -> JobOptions {
    JobOptions {
        write_checkpoints: false,
        progress_every: 0.0,
        parameters,
        max_runtime,
        ..JobOptions::new(end_step, dt, PathBuf::new())
    }
}

/// A level's verdict: `Ok` if it validates, else the error that ends the study, naming the
/// level, its grid `shape` and `why`. Collective.
pub fn check_level(
    parallel: &Parallel,
    level: u32,
    shape: &[usize],
    validates: bool,
    why: impl FnOnce() -> String,
) -> Result<()> {
    if validates {
        return Ok(());
    }
    parallel.agree(Err(Error::NotValidated(format!(
        "level {level} ({}) does not validate: {}",
        join_x(shape),
        why()
    ))))
}

/// Runs a study of `levels` levels (collective) from the grid `coarse` (`periodic` or
/// not, see [`refined`]): refuses a study whose finest grid is not a grid or does not
/// fit in memory, prints `title` (rank 0), computes each level with `level(l, shape)`,
/// then prints the table with `columns` (name, theoretical order)
/// and the `closing` line saying what every level passed. A study runs fresh grids, so
/// `restart` is refused.
pub fn run(
    parallel: &Parallel,
    title: &str,
    levels: Levels<'_>,
    restart: bool,
    columns: &[(&str, f64)],
    closing: &str,
    mut level: impl FnMut(u32, &[usize]) -> Result<Level>,
) -> Result<()> {
    let Levels {
        count: levels,
        coarse,
        periodic,
    } = levels;
    if restart {
        return parallel.agree(Err(Error::value(
            "convergence",
            format!(
                "runs fresh grids; it cannot be combined with {}",
                Name("restart")
            ),
        )));
    }
    let shapes = parallel.agree(
        (0..levels)
            .map(|l| refined(coarse, l, periodic))
            .collect::<Result<Vec<_>>>(),
    )?;
    if let Some(finest) = shapes.last() {
        let cells = finest
            .iter()
            .try_fold(1u64, |n, &e| n.checked_mul(e as u64));
        let Some(cells) = cells.filter(|&c| c <= MAX_CELLS) else {
            return parallel.agree(Err(Error::value(
                "convergence",
                format!(
                    "{levels} levels from {} end on a {} grid, more than {MAX_CELLS} cells; use fewer levels",
                    join_x(coarse),
                    join_x(finest)
                ),
            )));
        };
        let per_rank = cells.div_ceil(parallel.size() as u64);
        let bytes = per_rank.saturating_mul(STUDY_BYTES_PER_CELL);
        driver::check_memory(parallel, "convergence", bytes)?;
    }
    if parallel.is_root() {
        println!("{title}");
    }
    let mut done = Vec::new();
    for (l, shape) in (0..levels).zip(&shapes) {
        done.push(level(l, shape)?);
    }
    if parallel.is_root() {
        print!("{}", table(&done, columns));
        println!("  {closing}");
    }
    Ok(())
}

/// The closing line of a study whose levels validate against their scheme's exact solution.
pub const VALIDATES_AGAINST_SCHEME: &str =
    "every level validates against the exact solution of its scheme";

impl Level {
    /// The level of a grid of `shape` with `spacing` per axis (its `h` is the coarsest
    /// axis's), `steps` steps and these `errors`.
    pub fn new(shape: &[usize], spacing: &[f64], steps: u64, errors: Vec<f64>) -> Level {
        Level {
            grid: join_x(shape),
            h: spacing.iter().copied().fold(0.0, f64::max),
            steps,
            errors,
        }
    }
}

/// Observed orders between successive levels for error column `column`.
pub fn observed_orders(levels: &[Level], column: usize) -> Vec<f64> {
    levels
        .windows(2)
        .map(|w| (w[0].errors[column] / w[1].errors[column]).ln() / (w[0].h / w[1].h).ln())
        .collect()
}

/// The study as a table: one line per level with each error and the observed order
/// against the previous level, then the finest order of each column against theory:
///
/// ```text
///   grid           h        steps   max |u - u_exact|  order
///   31x31      3.125e-2       100          1.234e-4
///   63x63      1.562e-2       400          3.085e-5   2.00
/// observed order (finest pair): max |u - u_exact| 2.00 (theory 2)
/// ```
pub fn table(levels: &[Level], columns: &[(&str, f64)]) -> String {
    let mut out = format!("  {:<14} {:>10} {:>9}", "grid", "h", "steps");
    for (name, _) in columns {
        out += &format!("  {name:>22}  order");
    }
    out.push('\n');
    let orders: Vec<Vec<f64>> = (0..columns.len())
        .map(|c| observed_orders(levels, c))
        .collect();
    for (l, level) in levels.iter().enumerate() {
        out += &format!("  {:<14} {:>10.3e} {:>9}", level.grid, level.h, level.steps);
        for (c, e) in level.errors.iter().enumerate() {
            let order = if l == 0 {
                "     ".to_string()
            } else {
                format!("{:5.2}", orders[c][l - 1])
            };
            out += &format!("  {e:>22.3e}  {order}");
        }
        out.push('\n');
    }
    if levels.len() > 1 {
        let finest: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(c, (name, theory))| {
                format!("{name} {:.2} (theory {theory})", orders[c].last().unwrap())
            })
            .collect();
        out += &format!("observed order (finest pair): {}\n", finest.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_of_a_second_order_sequence() {
        let levels: Vec<Level> = [16usize, 32, 64]
            .iter()
            .map(|&n| {
                let h = 1.0 / n as f64;
                Level {
                    grid: format!("{n}x{n}"),
                    h,
                    steps: 1,
                    errors: vec![3.0 * h * h, 0.5 * h.powi(4)],
                }
            })
            .collect();
        for o in observed_orders(&levels, 0) {
            assert!((o - 2.0).abs() < 1e-12);
        }
        for o in observed_orders(&levels, 1) {
            assert!((o - 4.0).abs() < 1e-12);
        }
        let t = table(&levels, &[("a", 2.0), ("b", 4.0)]);
        assert!(
            t.contains("observed order (finest pair): a 2.00 (theory 2), b 4.00 (theory 4)"),
            "{t}"
        );
    }
}
