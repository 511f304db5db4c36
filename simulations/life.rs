//! `life`: Conway's Game of Life (B3/S23) on a periodic 2D grid split over MPI ranks, with
//! a `u8` field. A glider checks itself exactly against its known motion.
//!
//!     mpirun -n 4 target/release/life --size 4096x4096 --steps 1000 --out runs/life
//!     mpirun -n 4 target/release/life --pattern soup --density 0.3 --seed 7 --size 512x512
//!
//! See `tessera::grid::kernels::life` for the rule and the validation.

use clap::Parser;
use std::process::ExitCode;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::grid::geometry::Decomposition;
use tessera::grid::kernels::life::{self, Life, Pattern};
use tessera::grid::stepper::GridStepper;
use tessera::io::checkpoint::Param;
use tessera::parallel::{self, Parallel};
use tessera::{Error, Result};

/// Conway's Game of Life (B3/S23) on a periodic NXxNY grid, MPI-parallel, with parallel
/// HDF5 checkpoints of the u8 field. A glider validates itself exactly (it moves one cell
/// diagonally every 4 generations); a random soup only reports its population.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Grid cells per axis: NXxNY (periodic on both axes).
    #[arg(long, value_name = "NXxNY", default_value = "1024x1024")]
    size: Extents,
    /// Initial state: glider (one glider near the centre, validated) or soup (random).
    #[arg(long, value_name = "glider|soup", default_value = "glider")]
    pattern: String,
    /// Soup: probability that a cell starts alive.
    #[arg(long, default_value_t = 0.3)]
    density: f64,
    /// Soup: seed of the hash that decides each cell from its global index.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    run: RunFlags,
}

/// One generation per step: simulated time counts generations.
const DT: f64 = 1.0;

fn main() -> ExitCode {
    parallel::main_with_mpi("life", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let (life, decomposition) = parallel.agree(setup(parallel, &cli))?;
    let grid = decomposition.grid();
    let job = cli.run.job(DT, parameters(&life));
    let grid_options = cli.run.grid(life.origin(), life.spacing());
    let mut sim = GridStepper::new(parallel, &decomposition, &life, &grid_options)?;
    let owned = decomposition.owned(parallel.rank());
    let initial_population = parallel.sum(life.local_initial_population(&owned));
    if parallel.is_root() {
        println!(
            "tessera life: Conway's Game of Life (B3/S23) on a {} periodic grid, u8 cells",
            grid.shape_string()
        );
        match life.pattern() {
            Pattern::Glider => {
                let o = life.glider_origin();
                println!(
                    "  one glider, its box at ({}, {}), moving (+1, +1) every 4 generations; \
                     up to generation {}",
                    o[0], o[1], cli.run.steps
                );
            }
            Pattern::Soup { density, seed } => println!(
                "  random soup, density {density} (seed {seed}): {initial_population} live cells \
                 at generation 0; up to generation {}",
                cli.run.steps
            ),
        }
        println!("  {}", sim.layout_line());
    }

    let outcome = driver::run(parallel, &mut sim, &job)?;

    let u = &sim.levels()[0];
    let population = parallel.sum(life::local_population(u));
    let mismatches = parallel.sum(life.local_mismatches(u, outcome.step));
    let glider = life.pattern() == Pattern::Glider;
    let validates = mismatches == 0;
    if parallel.is_root() {
        println!("result at generation {}", outcome.step);
        if glider {
            let shift = outcome.step / 4;
            println!("  live cells: {population} (a glider always has 5)");
            println!(
                "  cells differing from the glider in phase {} moved ({shift}, {shift}): \
                 {mismatches}",
                outcome.step % 4
            );
        } else {
            println!("  live cells: {population}");
            println!("  live cells at generation 0: {initial_population}");
            println!("  (no reference solution for a random soup: the run completed, nothing more is checked)");
        }
    }
    let verdict = match glider {
        true => Verdict::check(validates, || {
            format!("the glider does not validate: {mismatches} cells differ from its expected position")
        }),
        false => Verdict::NotChecked,
    };
    let figures = [
        ("live_cells".to_string(), population as f64),
        ("live_cells_at_start".to_string(), initial_population as f64),
        ("cells_differing_from_glider".to_string(), mismatches as f64),
    ];
    driver::conclude(
        parallel,
        &sim,
        &job,
        &outcome,
        verdict,
        &figures[..if glider { 3 } else { 2 }],
    )
}

/// The automaton and its split over the ranks, or why not.
fn setup(parallel: &Parallel, cli: &Cli) -> Result<(Life, Decomposition)> {
    let pattern = match cli.pattern.as_str() {
        "glider" => Pattern::Glider,
        "soup" => Pattern::Soup {
            density: cli.density,
            seed: cli.seed,
        },
        other => {
            return Err(Error::arg(
                "--pattern",
                format!("'{other}' is not a pattern (glider or soup)"),
            ))
        }
    };
    let shape = &cli.size.0;
    let life = Life::new(shape, pattern)?;
    Ok((life, cli.run.decomposition(parallel, shape, true)?))
}

/// What defines the run, recorded in checkpoints (a restart must match it).
fn parameters(life: &Life) -> Vec<(String, Param)> {
    let mut parameters = vec![
        ("rule".into(), Param::Text("B3/S23".into())),
        (
            "pattern".into(),
            Param::Text(life.pattern().as_str().into()),
        ),
    ];
    if let Pattern::Soup { density, seed } = life.pattern() {
        parameters.push(("density".into(), Param::Float(density)));
        // stored as i64 bits: a restart compares it the same way
        parameters.push(("seed".into(), Param::Int(seed as i64)));
    }
    parameters
}
