//! `nbody`: gravitational n-body dynamics by direct summation, the blocks of bodies
//! travelling round a ring of MPI ranks; the same trajectory bit for bit on any number
//! of ranks and threads.
//!
//!     mpirun -n 2 target/release/nbody --model plummer --bodies 65536 --steps 100 \
//!         --dt 1e-3 --softening 0.01
//!     mpirun -n 2 target/release/nbody --input bodies.h5 --steps 1000
//!
//! See `tessera::particles::nbody` for the method and why it is reproducible.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use tessera::cli::{self, JobFlags};
use tessera::driver;
use tessera::driver::report::Verdict;
use tessera::io::checkpoint::Param;
use tessera::parallel::{self, Parallel};
use tessera::particles::gravity::{self, InverseSqrt};
use tessera::particles::models::Model;
use tessera::particles::nbody::{self, Bodies, Nbody, NbodyOptions, Summation};
use tessera::{Error, Result};

/// Gravitational n-body dynamics (G = 1) by direct summation over a ring of MPI ranks,
/// leapfrog with Plummer softening, checkpointed to parallel HDF5. Bitwise-identical
/// trajectories on any number of ranks and threads; every run checks energy, momentum and
/// angular momentum conservation.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Initial condition in Hénon units (G = M = 1): plummer (a Plummer sphere, E = -1/4),
    /// cold-sphere (a uniform sphere of radius 1 at rest) or two-plummers (two spheres
    /// of mass 1/2 on a parabolic collision orbit).
    #[arg(long, default_value = "plummer")]
    model: String,
    /// Number of bodies of the model.
    #[arg(long, default_value_t = 16384)]
    bodies: u64,
    /// Seed of the model's random numbers (keyed by body id).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start from the bodies in an HDF5 file instead of a model: /particles/position and
    /// /particles/velocity (N x 3) and /particles/mass (N), f64 (an nbody checkpoint is
    /// such a file).
    #[arg(long, value_name = "FILE.h5")]
    input: Option<PathBuf>,
    /// Time step.
    #[arg(long, default_value_t = 1e-3)]
    dt: f64,
    /// Plummer softening length eps: forces go as r / (r^2 + eps^2)^(3/2).
    #[arg(long, default_value_t = 0.01)]
    softening: f64,
    /// How 1/sqrt(r^2) is computed: exact (correctly rounded, any processor), newton
    /// (AVX-512 estimate + 2 Newton steps, relative error < 2^-51, about twice as fast)
    /// or auto (newton where the processor has AVX-512F).
    #[arg(long, default_value = "auto")]
    inverse_sqrt: String,
    /// How each body's contributions are added: tree (the sums of tiles of 64 body ids
    /// combined by a tree fixed by the ids: the same bits on any rank count) or arrival
    /// (the tile sums in the order the ring brings them: no tree, depends on the rank
    /// count; for comparison).
    #[arg(long, default_value = "tree")]
    summation: String,
    /// Diagnostics every N steps (0: the first and last step only).
    #[arg(long, value_name = "N", default_value_t = 10)]
    diagnostics: u64,
    /// The run fails its check if the relative energy error |E - E0| / |E0| exceeds this.
    #[arg(long, default_value_t = 1e-3)]
    energy_tolerance: f64,
    #[command(flatten)]
    run: JobFlags,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("nbody", run)
}

/// The bound on the change of the total momentum and angular momentum, relative to
/// `sum m |v|` and `sum m |x| |v|`: round-off only (leapfrog with pairwise central forces
/// conserves both exactly in exact arithmetic).
const CONSERVATION_BOUND: f64 = 1e-10;

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let (opts, model) = parallel.agree(options(&cli))?;
    let (total, bodies, source) = match &cli.input {
        Some(path) => {
            let (total, bodies) = nbody::read_input(parallel, path)?;
            (total, bodies, format!("from {}", path.display()))
        }
        None => {
            parallel.agree(check_count(parallel, cli.bodies))?;
            let (first, n) = nbody::block_of(cli.bodies, parallel.size(), parallel.rank());
            let mut bodies = Bodies::zeros(first, n);
            for i in 0..n {
                let b = model.body(cli.seed, first + i as u64, cli.bodies);
                for a in 0..3 {
                    bodies.pos[a][i] = b.pos[a];
                    bodies.vel[a][i] = b.vel[a];
                }
                bodies.mass[i] = b.mass;
            }
            (
                cli.bodies,
                bodies,
                format!("{} model, seed {}", cli.model, cli.seed),
            )
        }
    };
    let job = cli.run.job(cli.dt, parameters(&cli, &opts));
    if parallel.is_root() {
        println!("tessera nbody: {total} bodies, {source}");
        println!(
            "  dt {}, softening {}, 1/sqrt {}, summation {}; {} ranks in a ring, {} thread(s) each",
            cli.dt,
            cli.softening,
            opts.inverse_sqrt.name(),
            opts.summation.name(),
            parallel.size(),
            cli.run.threads
        );
    }
    let mut nb = Nbody::new(parallel, "nbody", total, bodies, cli.input.is_none(), opts)?;
    let outcome = driver::run(parallel, &mut nb, &job)?;

    let initial = nb.initial().expect("measured at the start");
    let last = *nb.diagnostics.last().expect("diagnostics at the last step");
    let change = |a: [f64; 3], b: [f64; 3]| (0..3).fold(0.0f64, |m, k| m.max((a[k] - b[k]).abs()));
    let momentum = change(last.momentum, initial.momentum);
    let momentum_bound = CONSERVATION_BOUND * last.momentum_scale.max(initial.momentum_scale);
    let angular = change(last.angular, initial.angular);
    let angular_bound = CONSERVATION_BOUND * last.angular_scale.max(initial.angular_scale);
    let energy = last.energy_error.abs();
    // a Plummer sphere starts in virial equilibrium, to within its sampling noise
    let virial_bound = 0.01 + 4.0 / (total as f64).sqrt();
    let virial_checked = cli.input.is_none() && model == Model::Plummer;
    let virial_ok = !virial_checked || (initial.virial - 0.5).abs() <= virial_bound;
    if parallel.is_root() {
        println!(
            "result at step {} (t = {:.6}): E {:.12} (E0 {:.12}), K/|W| {:.6}, Lagrangian radii 10/50/90 % {:.6} {:.6} {:.6}",
            outcome.step,
            outcome.time,
            last.total,
            initial.total,
            last.virial,
            last.lagrangian[0],
            last.lagrangian[1],
            last.lagrangian[2]
        );
        println!(
            "  relative energy error |E - E0|/|E0| = {energy:.3e} (bound {:.1e}, --energy-tolerance)",
            cli.energy_tolerance
        );
        println!(
            "  momentum change max |d sum m v| = {momentum:.3e} (bound {momentum_bound:.3e} = {CONSERVATION_BOUND:.0e} x sum m|v|)"
        );
        println!(
            "  angular momentum change max |d sum m x*v| = {angular:.3e} (bound {angular_bound:.3e} = {CONSERVATION_BOUND:.0e} x sum m|x||v|)"
        );
        let peak = nb.tree_peak();
        if nb.options().summation == Summation::Tree {
            println!(
                "  memory of the order-independent sum on rank 0: at most {peak} tree nodes waited at once, {} bytes per body (the body itself: 88)",
                peak * 4 * 8
            );
        }
        if virial_checked {
            println!(
                "  virial ratio K/|W| at t = 0: {:.6} (Plummer: 1/2 within {virial_bound:.4})",
                initial.virial
            );
        }
    }
    let verdict = Verdict::check(
        energy <= cli.energy_tolerance
            && momentum <= momentum_bound
            && angular <= angular_bound
            && virial_ok,
        || {
            format!(
                "energy error {energy:.3e} (bound {:.1e}), momentum change {momentum:.3e} (bound {momentum_bound:.3e}), angular momentum change {angular:.3e} (bound {angular_bound:.3e}) or initial virial ratio {:.4} (1/2 within {virial_bound:.4}) out of bounds",
                cli.energy_tolerance, initial.virial
            )
        },
    );
    let figures = [
        ("energy".to_string(), last.total),
        ("energy_error".to_string(), last.energy_error),
        ("momentum_change".to_string(), momentum),
        ("angular_momentum_change".to_string(), angular),
        ("virial_ratio_initial".to_string(), initial.virial),
        ("virial_ratio".to_string(), last.virial),
        ("r10".to_string(), last.lagrangian[0]),
        ("r50".to_string(), last.lagrangian[1]),
        ("r90".to_string(), last.lagrangian[2]),
        (
            "flops_per_interaction".to_string(),
            gravity::FLOPS_PER_INTERACTION,
        ),
    ];
    driver::conclude(parallel, &nb, &job, &outcome, verdict, &figures)
}

/// At least one body per rank.
fn check_count(parallel: &Parallel, bodies: u64) -> Result<()> {
    if bodies < parallel.size() as u64 {
        return Err(Error::value(
            "bodies",
            format!(
                "{bodies} is fewer than the {} ranks (each rank needs at least one body)",
                parallel.size()
            ),
        ));
    }
    Ok(())
}

/// The run's options and model from the flags, or what is wrong with them.
fn options(cli: &Cli) -> Result<(NbodyOptions, Model)> {
    let model = Model::from_name(&cli.model)?;
    if !(cli.dt > 0.0 && cli.dt.is_finite()) {
        return Err(Error::value(
            "dt",
            format!("must be positive, got {}", cli.dt),
        ));
    }
    if !(cli.softening >= 0.0 && cli.softening.is_finite()) {
        return Err(Error::value(
            "softening",
            format!("must be 0 or more, got {}", cli.softening),
        ));
    }
    if !(cli.energy_tolerance > 0.0 && cli.energy_tolerance.is_finite()) {
        return Err(Error::value(
            "energy-tolerance",
            format!("must be positive, got {}", cli.energy_tolerance),
        ));
    }
    let inverse_sqrt = match cli.inverse_sqrt.as_str() {
        "auto" => InverseSqrt::fastest(),
        "exact" => InverseSqrt::Exact,
        "newton" if gravity::newton_available() => InverseSqrt::Newton,
        "newton" => {
            return Err(Error::value(
                "inverse-sqrt",
                "newton needs a processor with AVX-512F; this one has none (use exact)",
            ))
        }
        other => {
            return Err(Error::value(
                "inverse-sqrt",
                format!("unknown method '{other}' (known: auto, exact, newton)"),
            ))
        }
    };
    let summation = match cli.summation.as_str() {
        "tree" => Summation::Tree,
        "arrival" => Summation::Arrival,
        other => {
            return Err(Error::value(
                "summation",
                format!("unknown order '{other}' (known: tree, arrival)"),
            ))
        }
    };
    Ok((
        NbodyOptions {
            dt: cli.dt,
            softening: cli.softening,
            inverse_sqrt,
            summation,
            diagnostics_every: cli.diagnostics,
            threads: cli.run.threads,
        },
        model,
    ))
}

/// The parameters that change the trajectory: recorded in checkpoints, checked on restart.
fn parameters(cli: &Cli, opts: &NbodyOptions) -> Vec<(String, Param)> {
    vec![
        ("dt".into(), Param::Float(cli.dt)),
        ("softening".into(), Param::Float(cli.softening)),
        (
            "inverse-sqrt".into(),
            Param::Text(opts.inverse_sqrt.name().into()),
        ),
        (
            "summation".into(),
            Param::Text(opts.summation.name().into()),
        ),
    ]
}
