//! `allen-cahn`: phase separation by the Allen–Cahn equation
//! du/dt = eps^2 Laplacian(u) + u - u^3, explicit forward Euler on a grid split over MPI
//! ranks. A bent interface between the phases u = -1 and u = +1 relaxes towards the flat
//! one; the run checks the discrete maximum principle and the decrease of the free energy.
//!
//!     mpirun -n 2 target/release/allen-cahn --size 256x256 --steps 2000 --out runs/ac
//!
//! This is the README's "Write your own kernel" example; see `tessera::grid::kernels::allen_cahn`.

use clap::Parser;
use std::process::ExitCode;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::grid::field::Field;
use tessera::grid::geometry::Decomposition;
use tessera::grid::halo::HaloExchange;
use tessera::grid::kernels::allen_cahn::AllenCahn;
use tessera::grid::stencil;
use tessera::grid::stepper::GridStepper;
use tessera::io::checkpoint::Param;
use tessera::parallel::Threads;
use tessera::parallel::{self, Parallel};
use tessera::Result;

/// The Allen–Cahn equation du/dt = eps^2 Laplacian(u) + u - u^3 on [0,1]^d (d = 1, 2, 3),
/// explicit forward Euler, MPI-parallel, with parallel HDF5 checkpoints. Checks the
/// discrete maximum principle |u| <= 1 and that the free energy does not increase.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Grid points per axis: NX, NXxNY or NXxNYxNZ.
    #[arg(long, value_name = "NXxNY[xNZ]", default_value = "256x256")]
    size: Extents,
    /// Interface width eps.
    #[arg(long, default_value_t = 0.05)]
    eps: f64,
    /// Time step (default: 80% of the limit 1/(2 eps^2 sum 1/h^2 + 2)).
    #[arg(long)]
    dt: Option<f64>,
    #[command(flatten)]
    run: RunFlags,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("allen-cahn", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let shape = &cli.size.0;
    let limit = AllenCahn::stability_limit(shape, cli.eps);
    let dt = parallel.agree(stencil::time_step(
        cli.dt,
        stencil::DEFAULT_DT_FRACTION,
        limit,
        "eps",
    ))?;
    let (ac, decomposition) = parallel.agree(setup(parallel, &cli, dt))?;
    let parameters = vec![
        ("eps".into(), Param::Float(cli.eps)),
        ("dt".into(), Param::Float(dt)),
    ];
    let job = cli.run.job(dt, parameters);
    let grid_options = cli.run.grid(ac.origin(), ac.spacing());
    let mut sim = GridStepper::new(parallel, &decomposition, &ac, &grid_options)?;
    let grid = decomposition.grid();
    if parallel.is_root() {
        println!(
            "tessera allen-cahn: {}D Allen-Cahn equation on a {} grid, interface width eps {}",
            grid.ndim(),
            grid.shape_string(),
            cli.eps
        );
        println!(
            "  dt {dt:.4e} ({:.0}% of the maximum-principle limit {limit:.4e}), up to step {}",
            100.0 * dt / limit,
            cli.run.steps
        );
        println!("  {}", sim.layout_line());
    }

    let outcome = driver::run(parallel, &mut sim, &job)?;

    // the same checks on the initial state and on the final one
    let threads = parallel.agree(Threads::new(cli.run.threads))?;
    let owned = decomposition.owned(parallel.rank());
    let ghost = decomposition.ghost_widths(1);
    let mut initial = stencil::initial_block(&ac, grid, owned, ghost, 0);
    let start = measure(parallel, &decomposition, &ac, &threads, &mut initial);
    let end = measure(
        parallel,
        &decomposition,
        &ac,
        &threads,
        &mut sim.levels_mut()[0],
    );
    let bounded = end.max_u <= 1.0 + 1e-14;
    let dissipates = end.energy <= start.energy + AllenCahn::energy_tolerance(start.energy);
    if parallel.is_root() {
        println!("result at step {} (t = {:.6e})", outcome.step, outcome.time);
        println!(
            "  max |u|       = {:.15}   maximum principle: at most 1",
            end.max_u
        );
        println!(
            "  free energy   = {:.12e}   from {:.12e} at t = 0: must not increase",
            end.energy, start.energy
        );
        println!(
            "  max |u - u*|  = {:.3e}   from {:.3e} at t = 0 (u* the flat interface)",
            end.from_flat, start.from_flat
        );
    }
    let verdict = Verdict::check(bounded && dissipates, || {
        format!(
            "max |u| = {:e}, free energy {:e} -> {:e}",
            end.max_u, start.energy, end.energy
        )
    });
    let figures = [
        ("max_abs_u".to_string(), end.max_u),
        ("free_energy_start".to_string(), start.energy),
        ("free_energy_end".to_string(), end.energy),
    ];
    driver::conclude(parallel, &sim, &job, &outcome, verdict, &figures)
}

/// The problem and its split over the ranks, or why not.
fn setup(parallel: &Parallel, cli: &Cli, dt: f64) -> Result<(AllenCahn, Decomposition)> {
    let shape = &cli.size.0;
    let ac = AllenCahn::new(shape, cli.eps, dt)?;
    Ok((ac, cli.run.decomposition(parallel, shape, false)?))
}

/// What the run checks about one state, over all ranks.
struct Measures {
    max_u: f64,
    from_flat: f64,
    energy: f64,
}

/// Measures `u` after filling its ghosts. The energy is summed exactly, so it has the same
/// bits on any rank or thread count. Collective.
fn measure(
    parallel: &Parallel,
    decomposition: &Decomposition,
    ac: &AllenCahn,
    threads: &Threads,
    u: &mut Field<f64>,
) -> Measures {
    HaloExchange::new(parallel, decomposition, u).exchange(u);
    let sum = stencil::sum_rows(&[&*u], &u.interior(), threads, |s, e| ac.energy_row(s, e));
    let (max_u, from_flat) = ac.local_maxima(u);
    Measures {
        max_u: parallel.max(max_u),
        from_flat: parallel.max(from_flat),
        energy: parallel.sum_exact(&sum),
    }
}
