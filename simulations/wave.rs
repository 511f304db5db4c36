//! `wave`: the wave equation u_tt = c^2 Laplacian(u) on the unit interval, square or cube,
//! leapfrog on a grid split over MPI ranks, checked against the exact solution of its
//! scheme and the conservation of its discrete energy.
//!
//!     mpirun -n 4 target/release/wave --size 1024x1024 --steps 2000 --out runs/wave
//!     mpirun -n 2 target/release/wave --size 15x15 --steps 20 --convergence 4
//!
//! See `tessera::grid::kernels::wave` for the discretisation and the validation.

use clap::Parser;
use std::process::ExitCode;
use tessera::cli::{self, Extents, RunFlags};
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::driver::study::{self, Level};
use tessera::grid::field::Field;
use tessera::grid::geometry::Decomposition;
use tessera::grid::halo::HaloExchange;
use tessera::grid::kernels::wave::{Boundary, Wave, WaveErrors};
use tessera::grid::stencil;
use tessera::grid::stepper::{self, GridOptions, GridStepper};
use tessera::io::checkpoint::Param;
use tessera::parallel::Threads;
use tessera::parallel::{self, Parallel};
use tessera::partition::join_x;
use tessera::{Error, Result};

/// The wave equation u_tt = c^2 Laplacian(u) on [0,1]^d (d = 1, 2, 3), leapfrog in time
/// with the 3/5/7-point Laplacian, MPI-parallel, with parallel HDF5 checkpoints (both time
/// levels). Validates itself against the exact solution of its scheme for two standing
/// waves, and by the conservation of the scheme's discrete energy.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Grid points per axis: NX, NXxNY or NXxNYxNZ.
    #[arg(long, value_name = "NXxNY[xNZ]", default_value = "1024x1024")]
    size: Extents,
    /// Wave speed c.
    #[arg(long, default_value_t = 1.0)]
    c: f64,
    /// Courant number c dt sqrt(sum 1/h^2), stable up to 1 [default: 0.8].
    #[arg(long, conflicts_with = "dt")]
    cfl: Option<f64>,
    /// Time step (instead of --cfl; at most the stability limit 1/(c sqrt(sum 1/h^2))).
    #[arg(long)]
    dt: Option<f64>,
    /// Boundary condition on every side: dirichlet (u = 0) or periodic.
    #[arg(long, default_value = "dirichlet")]
    bc: Boundary,
    /// Convergence study instead of one run: LEVELS grids, each refined 2x per axis from
    /// --size, run to the same final time (--steps on the coarsest, dt halved per level),
    /// and the observed order of accuracy between them. Writes no checkpoints.
    #[arg(long, value_name = "LEVELS", default_value_t = 0)]
    convergence: u32,
    #[command(flatten)]
    run: RunFlags,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("wave", run)
}

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    if cli.convergence > 0 {
        return convergence_study(parallel, &cli);
    }
    let shape = &cli.size.0;
    let limit = Wave::stability_limit(shape, cli.bc, cli.c);
    let (wave, decomposition) =
        parallel.agree(time_step(&cli, limit).and_then(|dt| setup(parallel, &cli, shape, dt)))?;
    let grid = decomposition.grid();
    let job = cli.run.job(wave.dt(), parameters(&cli, &wave));
    let mut sim = GridStepper::new(parallel, &decomposition, &wave, &grid_options(&cli, &wave))?;
    if parallel.is_root() {
        println!(
            "tessera wave: {}D wave equation on a {} grid, leapfrog with the {}-point Laplacian, {} boundaries",
            grid.ndim(),
            grid.shape_string(),
            2 * grid.ndim() + 1,
            cli.bc.as_str()
        );
        println!(
            "  c {}, dt {:.4e} (Courant number {:.3}; stability limit dt <= {limit:.4e}), up to step {}",
            cli.c,
            wave.dt(),
            wave.courant(),
            cli.run.steps
        );
        println!("  {}", sim.layout_line());
    }

    let outcome = driver::run(parallel, &mut sim, &job)?;

    let check = check(
        parallel,
        &decomposition,
        &wave,
        &cli,
        sim.levels_mut(),
        outcome.step,
    )?;
    if parallel.is_root() {
        let e = &check.errors;
        println!("result at step {} (t = {:.6e})", outcome.step, outcome.time);
        println!(
            "  max |u - u_exact|  = {:.3e}   PDE solution; the scheme's discretisation error predicts {:.3e}",
            e.vs_analytic, e.discretisation
        );
        println!(
            "  max |u - u_scheme| = {:.3e}   exact solution of the scheme; round-off tolerance {:.1e}",
            e.vs_scheme, check.tolerance
        );
        println!(
            "  discrete energy E^(n-1/2) = {:.15e} at n = 0, {:.15e} at n = {}",
            check.energy.0, check.energy.1, outcome.step
        );
        println!(
            "  relative energy drift = {:.3e}   round-off tolerance {:.1e}",
            check.drift(),
            check.energy_tolerance
        );
    }
    let verdict = Verdict::check(check.validates(), || {
        format!(
            "the solution does not validate (max error {:.3e} against the scheme, energy drift {:.3e})",
            check.errors.vs_scheme,
            check.drift()
        )
    });
    let figures = [
        ("max_error_vs_pde".to_string(), check.errors.vs_analytic),
        ("max_error_vs_scheme".to_string(), check.errors.vs_scheme),
        ("roundoff_tolerance".to_string(), check.tolerance),
        ("relative_energy_drift".to_string(), check.drift()),
        ("energy_tolerance".to_string(), check.energy_tolerance),
    ];
    driver::conclude(parallel, &sim, &job, &outcome, verdict, &figures)
}

/// The time step: --dt, or --cfl (default 0.8) times the stability limit.
fn time_step(cli: &Cli, limit: f64) -> Result<f64> {
    match cli.cfl {
        Some(cfl) if !(cfl > 0.0 && cfl <= 1.0) => Err(Error::Unstable(format!(
            "--cfl {cfl} is not in (0, 1]: leapfrog needs the Courant number c dt sqrt(sum 1/h^2) <= 1"
        ))),
        Some(cfl) => stencil::time_step(cli.dt, cfl, limit, "c"),
        None => stencil::time_step(cli.dt, stencil::DEFAULT_DT_FRACTION, limit, "c"),
    }
}

/// The problem and its split over the ranks, or why not.
fn setup(
    parallel: &Parallel,
    cli: &Cli,
    shape: &[usize],
    dt: f64,
) -> Result<(Wave, Decomposition)> {
    let wave = Wave::new(shape, cli.bc, cli.c, dt)?;
    let periodic = cli.bc == Boundary::Periodic;
    Ok((wave, cli.run.decomposition(parallel, shape, periodic)?))
}

/// The parameters that change the numbers: recorded in checkpoints, checked on restart.
fn parameters(cli: &Cli, wave: &Wave) -> Vec<(String, Param)> {
    vec![
        ("bc".into(), Param::Text(cli.bc.as_str().into())),
        ("c".into(), Param::Float(cli.c)),
        ("dt".into(), Param::Float(wave.dt())),
    ]
}

fn grid_options(cli: &Cli, wave: &Wave) -> GridOptions {
    cli.run.grid(wave.origin(), wave.spacing())
}

/// The checks of a final state: errors (maxima over all ranks) and the energy at the
/// start and the end, each with its round-off tolerance.
struct Check {
    errors: WaveErrors,
    tolerance: f64,
    energy: (f64, f64),
    energy_tolerance: f64,
}

impl Check {
    fn drift(&self) -> f64 {
        (self.energy.1 - self.energy.0) / self.energy.0
    }

    fn validates(&self) -> bool {
        // NaN fails both comparisons
        self.errors.validates(self.tolerance) && self.drift().abs() <= self.energy_tolerance
    }
}

/// Checks the final `levels` (`[u^N, u^{N-1}]`, whose ghosts it refreshes) after `step`
/// steps. Collective.
fn check(
    parallel: &Parallel,
    decomposition: &Decomposition,
    wave: &Wave,
    cli: &Cli,
    levels: &mut [Field<f64>],
    step: u64,
) -> Result<Check> {
    let e = wave.local_errors(&levels[0], step);
    let m = parallel.max_each(&[e.vs_analytic, e.vs_scheme, e.discretisation]);
    let errors = WaveErrors {
        vs_analytic: m[0],
        vs_scheme: m[1],
        discretisation: m[2],
    };
    let threads = parallel.agree(Threads::new(cli.run.threads))?;
    // the initial levels u^0, u^{-1}, one ghost layer
    let grid = decomposition.grid();
    let owned = decomposition.owned(parallel.rank());
    let ghost = decomposition.ghost_widths(1);
    let mut start: Vec<Field<f64>> = (0..2)
        .map(|l| stencil::initial_block(wave, grid, owned, ghost, l))
        .collect();
    let (first, rest) = start.split_at_mut(1);
    let e0 = energy(
        parallel,
        decomposition,
        wave,
        &threads,
        &mut first[0],
        &mut rest[0],
    );
    let (first, rest) = levels.split_at_mut(1);
    let e1 = energy(
        parallel,
        decomposition,
        wave,
        &threads,
        &mut first[0],
        &mut rest[0],
    );
    Ok(Check {
        errors,
        tolerance: wave.roundoff_tolerance(step),
        energy: (e0, e1),
        energy_tolerance: wave.energy_tolerance(step),
    })
}

/// The discrete energy of the levels `(newer, older)` over all ranks, after filling their
/// ghosts: summed exactly, so the same bits on any rank or thread count. Collective.
fn energy(
    parallel: &Parallel,
    decomposition: &Decomposition,
    wave: &Wave,
    threads: &Threads,
    newer: &mut Field<f64>,
    older: &mut Field<f64>,
) -> f64 {
    HaloExchange::new(parallel, decomposition, newer).exchange(newer);
    HaloExchange::new(parallel, decomposition, older).exchange(older);
    let local = stencil::sum_rows(
        &[&*newer, &*older],
        &newer.interior(),
        threads,
        |row, sum| wave.energy_row(row, sum),
    );
    parallel.sum_exact(&local)
}

/// `--convergence LEVELS`: the same final time on grids refined 2x per axis per level
/// (dt / 2 and 2x the steps per level), printing the error against the PDE (order 2).
/// Every level must also validate against its scheme and conserve its energy.
fn convergence_study(parallel: &Parallel, cli: &Cli) -> Result<()> {
    let coarse = &cli.size.0;
    let dt0 = parallel.agree(time_step(cli, Wave::stability_limit(coarse, cli.bc, cli.c)))?;
    let title = format!(
        "tessera wave: convergence study, {} levels from {}, leapfrog, {} boundaries, t = {:.4e}",
        cli.convergence,
        join_x(coarse),
        cli.bc.as_str(),
        cli.run.steps as f64 * dt0
    );
    let closing = format!(
        "{} and conserves its energy",
        study::VALIDATES_AGAINST_SCHEME
    );
    let columns = [("max |u - u_exact|", 2.0)];
    let restart = cli.run.restart.is_some();
    study::run(
        parallel,
        &title,
        study::Levels {
            count: cli.convergence,
            coarse,
            periodic: cli.bc == Boundary::Periodic,
        },
        restart,
        &columns,
        &closing,
        |l, shape| {
            let refine = 1u64 << l;
            let (dt, steps) = (dt0 / refine as f64, cli.run.steps.saturating_mul(refine));
            let (wave, decomposition) = parallel.agree(setup(parallel, cli, shape, dt))?;
            let job = study::level_job(steps, dt, parameters(cli, &wave), cli.run.max_runtime);
            let (mut sim, outcome) = stepper::run(
                parallel,
                &decomposition,
                &wave,
                &grid_options(cli, &wave),
                &job,
            )?;
            let c = check(
                parallel,
                &decomposition,
                &wave,
                cli,
                sim.levels_mut(),
                outcome.step,
            )?;
            study::check_level(parallel, l, shape, c.validates(), || {
                format!(
                    "max error {:.3e} against the scheme, energy drift {:.3e}",
                    c.errors.vs_scheme,
                    c.drift()
                )
            })?;
            Ok(Level::new(
                shape,
                &wave.spacing(),
                steps,
                vec![c.errors.vs_analytic],
            ))
        },
    )
}
