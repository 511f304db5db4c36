//! `advect`: linear advection du/dt + a . grad(u) = 0 on the periodic unit square or cube,
//! upwind or unsplit Lax-Wendroff, on a grid split over MPI ranks; by default the profile
//! travels exactly one period and is checked against where it started.
//!
//!     mpirun -n 4 target/release/advect --size 512x512 --velocity 1,0.5 --out runs/advect
//!     mpirun -n 2 target/release/advect --size 32x32 --scheme upwind --convergence 4
//!
//! See `tessera::grid::kernels::advection` for the schemes, their stability limits and the
//! validation.

use clap::{CommandFactory, Parser};
use std::process::ExitCode;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver;
use tessera::driver::job::JobOptions;
use tessera::driver::report::Verdict;
use tessera::driver::study::{self, Level};
use tessera::grid::field::Field;
use tessera::grid::geometry::Decomposition;
use tessera::grid::kernels::advection::{is_whole_period, Advection, AdvectionErrors, Scheme};
use tessera::grid::stepper::{self, GridOptions, GridStepper};
use tessera::io::checkpoint::Param;
use tessera::parallel::{self, Parallel};
use tessera::partition::join_x;
use tessera::Result;

/// Linear advection du/dt + a . grad(u) = 0 on the periodic [0,1]^d (d = 1, 2, 3), first-order
/// upwind or unsplit Lax-Wendroff, MPI-parallel, with parallel HDF5 checkpoints. By default
/// runs exactly one period and validates against the exact solution of the scheme.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Grid points per axis: NX, NXxNY or NXxNYxNZ (periodic on every axis).
    #[arg(long, value_name = "NXxNY[xNZ]", default_value = "512x512")]
    size: Extents,
    /// Velocity: one number for every axis, or one per axis separated by commas.
    #[arg(
        long,
        value_name = "AX[,AY[,AZ]]",
        default_value = "1",
        allow_hyphen_values = true
    )]
    velocity: Velocity,
    /// upwind (first order) or lax-wendroff (second order).
    #[arg(long, default_value = "lax-wendroff")]
    scheme: Scheme,
    /// Time step (default: one period T divided into the fewest steps that keep dt at most
    /// 80% of the stability limit). Without --steps, runs as close to one period as whole
    /// steps of this dt allow.
    #[arg(long)]
    dt: Option<f64>,
    /// Convergence study instead of one run: LEVELS grids, each refined 2x per axis from
    /// --size with dt halved, run to the same final time (one period unless --steps says
    /// otherwise), and the observed order of accuracy. Writes no checkpoints.
    #[arg(long, value_name = "LEVELS", default_value_t = 0)]
    convergence: u32,
    #[command(flatten)]
    run: RunFlags,
}

/// `--velocity`: comma-separated numbers.
#[derive(Clone, Debug)]
struct Velocity(Vec<f64>);

impl std::str::FromStr for Velocity {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        s.split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<std::result::Result<Vec<f64>, _>>()
            .map(Velocity)
            .map_err(|_| {
                format!("'{s}' is not a velocity (numbers separated by commas, e.g. 1,0.5)")
            })
    }
}

fn main() -> ExitCode {
    parallel::main_with_mpi("advect", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    if cli.convergence > 0 {
        return convergence_study(parallel, &cli);
    }
    let (adv, decomposition) = parallel.agree(setup(parallel, &cli, &cli.size.0, cli.dt))?;
    let grid = decomposition.grid();
    let steps = end_step(&cli, &adv);
    let job = JobOptions {
        end_step: steps,
        ..cli.run.job(adv.dt(), parameters(&cli, &adv))
    };
    let mut sim = GridStepper::new(parallel, &decomposition, &adv, &grid_options(&cli, &adv))?;
    let (period, whole) = adv.period();
    let (cfl, cfl_limit) = adv.cfl();
    if parallel.is_root() {
        println!(
            "tessera advect: {}D linear advection on a {} periodic grid, {} scheme (order {})",
            grid.ndim(),
            grid.shape_string(),
            cli.scheme.as_str(),
            cli.scheme.order()
        );
        println!(
            "  velocity ({}), {} T = {period}",
            join(&adv.velocity()),
            if whole {
                "period"
            } else {
                "no whole period: crossing time"
            }
        );
        println!(
            "  dt {:.4e} (CFL max|a_a| dt/h_a = {cfl:.4}, {:.0}% of the stability limit {cfl_limit:.6}), up to step {steps}",
            adv.dt(),
            100.0 * cfl / cfl_limit
        );
        println!("  {}", sim.layout_line());
    }
    let mass0 = parallel.sum_exact(&adv.local_initial_sum(decomposition.owned(parallel.rank())));

    let outcome = driver::run(parallel, &mut sim, &job)?;

    let u = &sim.levels()[0];
    let errors = global_errors(parallel, &adv, u, outcome.step);
    let mass1 = parallel.sum_exact(&Advection::local_sum(u));
    let volume = adv.cell_volume();
    let tolerance = Advection::roundoff_tolerance(outcome.step);
    if parallel.is_root() {
        let t = outcome.time;
        println!(
            "result at step {} (t = {t:.6e}, {:.6} periods)",
            outcome.step,
            t / period
        );
        if is_whole_period(&adv.velocity(), t) {
            println!(
                "  a t is a whole number on every axis: the exact solution is the initial profile"
            );
            println!(
                "  max |u - u0|       = {:.3e}   back to the start: the error of one trip",
                errors.vs_initial
            );
        }
        println!(
            "  max |u - u_exact|  = {:.3e}   translated profile u0(x - a t); the scheme's discretisation error predicts {:.3e}",
            errors.vs_exact, errors.discretisation
        );
        println!(
            "  max |u - u_scheme| = {:.3e}   exact solution of the scheme (modes times G^n); round-off tolerance {:.1e}",
            errors.vs_scheme, tolerance
        );
        println!(
            "  mass sum u h^d: start {:.6e}, end {:.6e}, drift {:.3e}",
            mass0 * volume,
            mass1 * volume,
            (mass1 - mass0) * volume
        );
    }
    let verdict = Verdict::check(errors.validates(outcome.step), || {
        format!(
            "the solution does not validate (max error {:.3e} against the scheme)",
            errors.vs_scheme
        )
    });
    let figures = [
        ("max_error_vs_exact".to_string(), errors.vs_exact),
        (
            "predicted_discretisation_error".to_string(),
            errors.discretisation,
        ),
        ("max_error_vs_scheme".to_string(), errors.vs_scheme),
        ("roundoff_tolerance".to_string(), tolerance),
        ("mass_drift".to_string(), (mass1 - mass0) * volume),
    ];
    driver::conclude(parallel, &sim, &job, &outcome, verdict, &figures)
}

/// The problem and its split over the ranks, or why not.
fn setup(
    parallel: &Parallel,
    cli: &Cli,
    shape: &[usize],
    dt: Option<f64>,
) -> Result<(Advection, Decomposition)> {
    let v = &cli.velocity.0;
    let velocity = if v.len() == 1 {
        vec![v[0]; shape.len()]
    } else {
        v.clone()
    };
    let adv = Advection::new(shape, cli.scheme, &velocity, dt)?;
    Ok((adv, cli.run.decomposition(parallel, shape, true)?))
}

/// The run's last step: --steps if given; else one period (the default dt) or as close to
/// it as whole steps of --dt allow.
fn end_step(cli: &Cli, adv: &Advection) -> u64 {
    let given = Cli::command()
        .try_get_matches()
        .ok()
        .and_then(|m| m.value_source("steps"))
        == Some(clap::parser::ValueSource::CommandLine);
    match (given, cli.dt) {
        (true, _) => cli.run.steps,
        (false, None) => adv.steps_per_period(),
        (false, Some(dt)) => ((adv.period().0 / dt).round() as u64).max(1),
    }
}

/// The parameters that change the numbers: recorded in checkpoints, checked on restart.
fn parameters(cli: &Cli, adv: &Advection) -> Vec<(String, Param)> {
    vec![
        ("scheme".into(), Param::Text(cli.scheme.as_str().into())),
        ("velocity".into(), Param::Text(join(&adv.velocity()))),
        ("dt".into(), Param::Float(adv.dt())),
    ]
}

fn grid_options(cli: &Cli, adv: &Advection) -> GridOptions {
    cli.run.grid(adv.origin(), adv.spacing())
}

/// `1,0.5`: shortest round-trip forms, so equal text means equal numbers.
fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The errors of `u` after `step` steps, maxima over all ranks.
fn global_errors(
    parallel: &Parallel,
    adv: &Advection,
    u: &Field<f64>,
    step: u64,
) -> AdvectionErrors {
    let e = adv.local_errors(u, step);
    let m = parallel.max_each(&[e.vs_exact, e.vs_scheme, e.discretisation, e.vs_initial]);
    AdvectionErrors {
        vs_exact: m[0],
        vs_scheme: m[1],
        discretisation: m[2],
        vs_initial: m[3],
    }
}

/// `--convergence LEVELS`: the same final time on grids refined 2x per axis per level (dt
/// halved, twice the steps), the error against the translated profile and its order.
fn convergence_study(parallel: &Parallel, cli: &Cli) -> Result<()> {
    let coarse = &cli.size.0;
    let (adv0, _) = parallel.agree(setup(parallel, cli, coarse, cli.dt))?;
    let (dt0, steps0) = (adv0.dt(), end_step(cli, &adv0));
    let title = format!(
        "tessera advect: convergence study, {} levels from {}, {} scheme, velocity ({}), t = {:.4e}",
        cli.convergence,
        join_x(coarse),
        cli.scheme.as_str(),
        join(&adv0.velocity()),
        steps0 as f64 * dt0
    );
    let columns = [("max |u - u_exact|", cli.scheme.order() as f64)];
    let restart = cli.run.restart.is_some();
    study::run(
        parallel,
        &title,
        study::Levels {
            count: cli.convergence,
            coarse,
            periodic: true,
        },
        restart,
        &columns,
        study::VALIDATES_AGAINST_SCHEME,
        |l, shape| {
            let refine = 1u64 << l;
            let (dt, steps) = (dt0 / refine as f64, steps0.saturating_mul(refine));
            let (adv, decomposition) = parallel.agree(setup(parallel, cli, shape, Some(dt)))?;
            let job = study::level_job(steps, adv.dt(), parameters(cli, &adv), cli.run.max_runtime);
            let (sim, outcome) = stepper::run(
                parallel,
                &decomposition,
                &adv,
                &grid_options(cli, &adv),
                &job,
            )?;
            let e = global_errors(parallel, &adv, &sim.levels()[0], outcome.step);
            study::check_level(parallel, l, shape, e.validates(outcome.step), || {
                format!("max error {:.3e} against the scheme", e.vs_scheme)
            })?;
            Ok(Level::new(shape, &adv.spacing(), steps, vec![e.vs_exact]))
        },
    )
}
