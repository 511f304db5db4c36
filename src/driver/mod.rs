//! The family-independent job: everything a long run needs around the numerics.
//!
//! A family implements [`Stepper`] (advance one step; save and restore its state; say how
//! much work a step is) and [`run`] does the rest: the step loop, the checkpoint cadence
//! and the final save, `--restart FILE|auto` with fallback past damaged files, `--keep`,
//! the `--overwrite` policy, stop signals and `--max-runtime` / the Slurm end time,
//! progress lines, per-phase timing and the run report ([`conclude`]). Every cross-rank
//! decision is typed and agreed on by all ranks.
//!
//! - [`job`]: the options of a job, restarts, deadlines;
//! - [`report`]: phases, rates, progress, the JSON run report;
//! - [`study`]: convergence studies (errors and observed orders over refined grids).

pub mod job;
pub mod report;
pub mod study;

use crate::error::{Error, Name, Result};
use crate::io::checkpoint::{self, Checkpoint, Header, Writer};
use crate::io::lock::DirectoryLock;
use crate::io::recovery;
use crate::io::space;
use crate::memory;
use crate::parallel::Parallel;
use crate::signals;
use job::{Deadline, JobOptions, Restart};
use report::{
    CheckpointRecord, Measured, Phases, Progress, Report, Summary, Verdict, Work, CHECKPOINT_PHASE,
};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// The state moved one step on.
    Stepped,
    /// The state is final already (an iterative solver converged); it did not move.
    Finished,
}

/// One family's time stepper (or iteration) on this rank's share of the problem.
/// Every method is collective: all ranks call it together.
pub trait Stepper {
    /// Short name of the simulation: checkpoint files are `NAME_STEP.h5`.
    fn name(&self) -> &str;

    /// The phases [`Stepper::advance`] times, in the order they are reported; the first is
    /// the update itself.
    fn phases(&self) -> Vec<&'static str>;

    /// The work a step does, for rates.
    fn work(&self) -> Work;

    /// Approximate bytes of state, for an estimate of the checkpoint time.
    fn state_bytes(&self) -> f64;

    /// `2 ranks on a 2x1 process grid, ...`: how the problem is split (for the report).
    fn decomposition(&self) -> String;

    /// Threads per rank.
    fn threads(&self) -> usize {
        1
    }

    /// Advances the state by one step (`step` is the state's step before it), adding the
    /// time of each phase to `phases`.
    fn advance(&mut self, parallel: &Parallel, step: u64, phases: &mut Phases) -> Result<Advance>;

    /// Advances the state by at least one and at most `limit` steps at once (a stepper
    /// that gains by computing several steps together, such as temporal blocking); returns
    /// how many steps it took and whether it reached its goal (then the state is the one
    /// after those steps). The driver never lets a block cross a checkpoint or the end;
    /// signals and deadlines are looked at between blocks. Default: one [`Stepper::advance`].
    fn advance_steps(
        &mut self,
        parallel: &Parallel,
        step: u64,
        limit: u64,
        phases: &mut Phases,
    ) -> Result<(u64, Advance)> {
        debug_assert!(limit >= 1);
        Ok(match self.advance(parallel, step, phases)? {
            Advance::Finished => (0, Advance::Finished),
            Advance::Stepped => (1, Advance::Stepped),
        })
    }

    /// Called once after the last step (state at `step`): a last check of the final state
    /// (an iterative solver's residual). `Finished` means the run reached its goal.
    fn finish(
        &mut self,
        _parallel: &Parallel,
        _step: u64,
        _phases: &mut Phases,
    ) -> Result<Advance> {
        Ok(Advance::Stepped)
    }

    /// A note for progress lines (`residual 1.2e-5`); `None`: the simulated time.
    fn progress_note(&self) -> Option<String> {
        None
    }

    /// Named series for the run report (a solver's residual history).
    fn series(&self) -> Vec<(&'static str, Vec<f64>)> {
        Vec::new()
    }

    /// Writes the state: attributes describing the geometry and the datasets. Called once
    /// on a dry run that only counts bytes (to reserve the file's space) and once for
    /// real, so it must make the same calls both times and have no other effect.
    fn save(&self, parallel: &Parallel, writer: &mut Writer) -> Result<()>;

    /// Whether `checkpoint` (already known to be this simulation's, with this run's
    /// parameters) has this run's geometry; an error names what differs. A mismatch is
    /// the user's to resolve, not damage to fall back from.
    fn check_geometry(&self, checkpoint: &Checkpoint) -> Result<()>;

    /// Reads the state from `checkpoint`; an error means the file is damaged.
    fn restore(&mut self, parallel: &Parallel, checkpoint: &Checkpoint) -> Result<()>;
}

/// The result of a run on this rank.
pub struct Outcome {
    /// The step the run started from (0, or the restart checkpoint's).
    pub start_step: u64,
    pub step: u64,
    pub time: f64,
    /// Whether the stepper reported its goal reached ([`Advance::Finished`]).
    pub finished: bool,
    /// Path of the last checkpoint written (the final state).
    pub checkpoint: Option<PathBuf>,
    /// This rank's measurements.
    pub measured: Measured,
}

/// Runs `stepper` as `job` says. Collective.
pub fn run<S: Stepper>(parallel: &Parallel, stepper: &mut S, job: &JobOptions) -> Result<Outcome> {
    let started = Instant::now();
    let mut phases = Phases::new(&stepper.phases());
    phases.add(CHECKPOINT_PHASE, Duration::ZERO);
    let mut run = Run {
        parallel,
        job,
        checkpoints: Vec::new(),
    };

    // One run per output directory, taken before anything in it is read or moved.
    let _lock = if job.write_checkpoints || job.restart == Some(Restart::Auto) {
        lock_output_dir(parallel, stepper.name(), &job.out_dir)?
    } else {
        None
    };

    // Start from the initial condition or from a checkpoint (any rank count).
    let t = Instant::now();
    let mut step = match &job.restart {
        None => 0,
        Some(Restart::File(path)) => {
            let step = parallel.agree(restore_from(parallel, stepper, path, job))?;
            if parallel.is_root() {
                println!("  restarting from {} (step {step})", path.display());
            }
            step
        }
        Some(Restart::Auto) => resume_newest(parallel, stepper, job)?,
    };
    phases.add(CHECKPOINT_PHASE, t.elapsed());
    if job.end_step < step {
        return parallel.agree(Err(Error::value(
            "steps",
            format!(
                "{} is before the restart checkpoint's step {step}",
                job.end_step
            ),
        )));
    }
    if job.write_checkpoints {
        parallel.agree(prepare_output_dir(
            parallel,
            stepper.name(),
            &job.out_dir,
            step,
            job.overwrite,
        ))?;
        // No run computes for hours into a directory that cannot take its checkpoints.
        let header = run.header(stepper, step);
        checkpoint::probe(parallel, &job.out_dir, &header, |w| {
            stepper.save(parallel, w)
        })?;
    }
    if let Some(why) = stop_requested(parallel, None, Duration::ZERO, Instant::now()) {
        return parallel.agree(Err(Error::Stopped(format!(
            "{why} during start-up: stopped at step {step} before computing anything; nothing to save"
        ))));
    }

    let start_step = step;
    let work = stepper.work();
    let mut progress = Progress::new(
        parallel.is_root(),
        job.progress_every,
        start_step,
        job.end_step,
        work,
    );
    let deadline = Deadline::new(started, job.max_runtime);
    let mut longest_write = job::checkpoint_time_estimate(stepper.state_bytes());
    let mut step_started = Instant::now();
    let mut finished = false;

    while step < job.end_step {
        // a block of steps ends at the next checkpoint or the end
        let every = job.checkpoint_every;
        let next_save = if job.write_checkpoints && every > 0 {
            (step / every + 1).saturating_mul(every)
        } else {
            job.end_step
        };
        let limit = job.end_step.min(next_save) - step;
        let (taken, advance) = stepper.advance_steps(parallel, step, limit, &mut phases)?;
        step += taken;
        if advance == Advance::Finished {
            finished = true;
            break;
        }
        let due = every > 0 && step % every == 0;
        if job.write_checkpoints && (due || step == job.end_step) {
            let seconds = run.save(stepper, step, &mut phases)?;
            longest_write = longest_write.max(Duration::from_secs_f64(seconds));
        }
        progress.update(step, || match stepper.progress_note() {
            Some(note) => note,
            None if job.dt > 0.0 => format!("t = {:.4e}", step as f64 * job.dt),
            None => String::new(),
        });
        if step < job.end_step {
            let stop = stop_requested(parallel, deadline.as_ref(), longest_write, step_started);
            step_started = Instant::now();
            if let Some(why) = stop {
                return run.stop(stepper, step, &mut phases, started, start_step, why);
            }
        }
    }
    if !finished {
        finished = stepper.finish(parallel, step, &mut phases)? == Advance::Finished;
    }
    // A state that reached its goal before the end step is the final checkpoint, unless
    // it is saved already or is the very checkpoint a restart started from.
    let saved = run.checkpoints.last().map(|c| c.step) == Some(step);
    let new_state = step > start_step || job.restart.is_none();
    if finished && job.write_checkpoints && !saved && new_state {
        run.save(stepper, step, &mut phases)?;
    }
    Ok(run.outcome(step, start_step, finished, phases, started, work))
}

/// The state of a run the driver keeps between steps.
struct Run<'a> {
    parallel: &'a Parallel,
    job: &'a JobOptions,
    checkpoints: Vec<CheckpointRecord>,
}

impl Run<'_> {
    /// The checkpoint header of `stepper`'s state at `step`.
    fn header<S: Stepper>(&self, stepper: &S, step: u64) -> Header {
        Header {
            simulation: stepper.name().to_string(),
            step,
            time: step as f64 * self.job.dt,
            parameters: self.job.parameters.clone(),
        }
    }

    /// Writes the checkpoint of `step` and prunes old ones; returns the write's seconds.
    fn save<S: Stepper>(&mut self, stepper: &S, step: u64, phases: &mut Phases) -> Result<f64> {
        let t = Instant::now();
        let (parallel, job) = (self.parallel, self.job);
        let header = self.header(stepper, step);
        // --keep N: the N-1 newest earlier checkpoints stay. With N >= 2 the others go
        // before the new one takes its name, so that the directory never holds more than
        // N complete checkpoints, even after a kill -9; with N = 1 the one earlier
        // checkpoint goes only once the new one is in place, so that there is always one.
        let prune = || {
            let Some(keep) = job.keep else { return Ok(()) };
            let pruned = if parallel.is_root() {
                let older = keep.saturating_sub(1);
                recovery::prune(&job.out_dir, stepper.name(), &job.parameters, older, step)
                    .map(|_| ())
            } else {
                Ok(())
            };
            parallel.agree(pruned)
        };
        let prune_first = job.keep.is_some_and(|keep| keep >= 2);
        let written = checkpoint::write_replacing(
            parallel,
            &job.out_dir,
            &header,
            |w| stepper.save(parallel, w),
            || if prune_first { prune() } else { Ok(()) },
        )?;
        if !prune_first {
            prune()?;
        }
        let seconds = t.elapsed().as_secs_f64();
        phases.add(CHECKPOINT_PHASE, t.elapsed());
        self.checkpoints.push(CheckpointRecord {
            path: written.path,
            step,
            bytes: written.bytes,
            seconds: parallel.max(seconds),
        });
        Ok(seconds)
    }

    fn outcome(
        self,
        step: u64,
        start_step: u64,
        finished: bool,
        phases: Phases,
        started: Instant,
        work: Work,
    ) -> Outcome {
        Outcome {
            start_step,
            step,
            time: step as f64 * self.job.dt,
            finished,
            checkpoint: self.checkpoints.last().map(|c| c.path.clone()),
            measured: Measured {
                phases,
                total: started.elapsed(),
                work,
                steps: step - start_step,
                checkpoints: self.checkpoints,
            },
        }
    }

    /// Ends a run that must stop at `step`: writes its checkpoint (unless this step is
    /// saved already or the run writes none), the report, and returns [`Error::Stopped`]
    /// on every rank.
    fn stop<S: Stepper>(
        mut self,
        stepper: &S,
        step: u64,
        phases: &mut Phases,
        started: Instant,
        start_step: u64,
        why: String,
    ) -> Result<Outcome> {
        let (parallel, job) = (self.parallel, self.job);
        let saved = self.checkpoints.last().map(|c| c.step) == Some(step);
        let what = if !job.write_checkpoints {
            "no checkpoint written (this run writes none)".to_string()
        } else {
            if !saved {
                self.save(stepper, step, phases)?;
            }
            let path = &self.checkpoints.last().expect("just saved").path;
            format!(
                "checkpoint {} written; continue with {} auto",
                path.display(),
                Name("restart")
            )
        };
        let message = format!("{why}: stopped at step {step} of {}; {what}", job.end_step);
        let outcome = self.outcome(
            step,
            start_step,
            false,
            phases.clone(),
            started,
            stepper.work(),
        );
        if job.report.is_some() {
            let summary = outcome.measured.summarise(parallel);
            let verdict = Verdict::Stopped(message.clone());
            write_report(parallel, stepper, job, &outcome, &summary, &verdict, &[])?;
        }
        parallel.agree(Err(Error::Stopped(message)))
    }
}

/// Ends a simulation binary's run: prints (rank 0) its verdict, `  Solution validates` or
/// `  Solution does NOT validate` (nothing when nothing was checked), then its performance
/// and checkpoint, writes the run report when asked, and returns `Ok`, or on every rank
/// [`Error::NotValidated`] with the verdict's reason. Collective.
pub fn conclude<S: Stepper>(
    parallel: &Parallel,
    stepper: &S,
    job: &JobOptions,
    outcome: &Outcome,
    verdict: Verdict,
    figures: &[(String, f64)],
) -> Result<()> {
    if parallel.is_root() {
        match &verdict {
            Verdict::Validates => println!("  Solution validates"),
            Verdict::DoesNotValidate(_) => println!("  Solution does NOT validate"),
            _ => {}
        }
    }
    let summary = outcome.measured.summarise(parallel);
    if parallel.is_root() {
        summary.print();
        match &outcome.checkpoint {
            Some(p) => println!(
                "checkpoint: {} (ParaView: {})",
                p.display(),
                p.with_extension("xmf").display()
            ),
            None => println!("checkpoint: none written (at step {})", outcome.step),
        }
    }
    write_report(parallel, stepper, job, outcome, &summary, &verdict, figures)?;
    match verdict {
        Verdict::DoesNotValidate(why) => parallel.agree(Err(Error::NotValidated(why))),
        _ => Ok(()),
    }
}

/// Writes the run report if `job` asks for one (rank 0 writes). Collective.
fn write_report<S: Stepper>(
    parallel: &Parallel,
    stepper: &S,
    job: &JobOptions,
    outcome: &Outcome,
    summary: &Summary,
    verdict: &Verdict,
    figures: &[(String, f64)],
) -> Result<()> {
    let Some(path) = &job.report else {
        return Ok(());
    };
    let written = if parallel.is_root() {
        Report {
            simulation: stepper.name(),
            parameters: &job.parameters,
            ranks: parallel.size(),
            threads: stepper.threads(),
            decomposition: stepper.decomposition(),
            start_step: outcome.start_step,
            end_step: outcome.step,
            time: outcome.time,
            summary,
            verdict,
            figures,
            series: &stepper.series(),
        }
        .write(path)
    } else {
        Ok(())
    };
    parallel.agree(written)
}

/// Reads the checkpoint at `path` into `stepper` after checking it belongs to this run.
fn restore_from<S: Stepper>(
    parallel: &Parallel,
    stepper: &mut S,
    path: &Path,
    job: &JobOptions,
) -> Result<u64> {
    let ck = Checkpoint::open(parallel, path)?;
    ck.check_matches(stepper.name(), &job.parameters)?;
    stepper.check_geometry(&ck)?;
    stepper.restore(parallel, &ck)?;
    Ok(ck.header.step)
}

/// Refuses, before anything is allocated, a run whose state does not fit in memory:
/// `bytes` on this rank, summed over the ranks on its node, against what the node
/// allows ([`memory::available`]). `parameter` names what sets the size (`size`).
/// Collective.
pub fn check_memory(parallel: &Parallel, parameter: &'static str, bytes: u64) -> Result<()> {
    let node = parallel.node();
    let (on_node, ranks) = (node.sum(bytes), node.size());
    let refuse = |limit: memory::Limit, needed: String, hint: &str| {
        Err(Error::value(
            parameter,
            format!(
                "the run needs {} of memory per rank{needed}, but {} allows {} ({}); choose a smaller {}{hint}",
                space::human(bytes),
                if limit.source == "RLIMIT_AS" { "a process" } else { "the node" },
                space::human(limit.bytes),
                limit.source,
                Name(parameter)
            ),
        ))
    };
    let verdict = match (memory::available(), memory::process_room()) {
        (Some(limit), _) if on_node > limit.bytes => refuse(
            limit,
            format!(
                " ({} for the {ranks} rank{} on this node)",
                space::human(on_node),
                if ranks == 1 { "" } else { "s" }
            ),
            " or spread the run over more nodes",
        ),
        (_, Some(limit)) if bytes > limit.bytes => {
            refuse(limit, String::new(), " or raise the limit (ulimit -v)")
        }
        _ => Ok(()),
    };
    parallel.agree(verdict)
}

/// Takes the lock on `dir` for this run (rank 0 holds it; see [`DirectoryLock`]).
/// Collective.
fn lock_output_dir(
    parallel: &Parallel,
    simulation: &str,
    dir: &Path,
) -> Result<Option<DirectoryLock>> {
    let lock = if parallel.is_root() {
        DirectoryLock::acquire(dir, simulation).map(Some)
    } else {
        Ok(None)
    };
    let lock = parallel.agree(lock)?;
    if let Some(lock) = &lock {
        match &lock.unsupported {
            Some(why) => println!("  warning: {why}"),
            // the directory is this run's: what interrupted writes left can go
            None => {
                let removed = recovery::remove_leftovers(dir, simulation);
                if !removed.is_empty() {
                    println!(
                        "  removed {} temporary file(s) of interrupted writes in {}",
                        removed.len(),
                        dir.display()
                    );
                }
            }
        }
    }
    Ok(lock)
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
        .map_err(|e| Error::io(format!("creating {} {}", Name("out"), dir.display()), e))?;
    if overwrite {
        return Ok(());
    }
    let clash = recovery::checkpoints_in(dir, simulation)
        .into_iter()
        .rfind(|&(s, _)| s > start_step);
    match clash {
        None => Ok(()),
        Some((s, _)) => Err(Error::value(
            "out",
            format!(
                "{} already holds {} (step {s}), which this run would overwrite; \
                 restart from the newest checkpoint, choose another {}, or pass {}",
                dir.display(),
                checkpoint::file_name(simulation, s),
                Name("out"),
                Name("overwrite")
            ),
        )),
    }
}

/// Why a run must stop now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopReason {
    Signal(i32),
    Deadline,
}

/// Collective: whether the run must stop now, and why: a stop signal on any rank, or the
/// deadline too near to take another step and still write a checkpoint (any rank's clock).
fn stop_requested(
    parallel: &Parallel,
    deadline: Option<&Deadline>,
    longest_write: Duration,
    step_started: Instant,
) -> Option<String> {
    let mine = match (signals::requested(), deadline) {
        (Some(signal), _) => Some(StopReason::Signal(signal)),
        (None, Some(d)) if d.is_near(longest_write, step_started.elapsed()) => {
            Some(StopReason::Deadline)
        }
        _ => None,
    };
    // One reduction per step: the highest signal number, and whether any rank is out of
    // time. A signal anywhere wins over a deadline.
    let agreed = parallel.max_each(&[
        match mine {
            Some(StopReason::Signal(s)) => s as u32,
            _ => 0,
        },
        u32::from(mine == Some(StopReason::Deadline)),
    ]);
    let (signal, out_of_time) = (agreed[0] as i32, agreed[1] == 1);
    if signal != 0 {
        Some(format!("{} received", signals::name(signal)))
    } else if out_of_time {
        Some(format!(
            "{} is near",
            deadline.map_or("the deadline".to_string(), |d| d.source.to_string())
        ))
    } else {
        None
    }
}

/// What became of one checkpoint `--restart auto` tried (agreed over all ranks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attempt {
    /// Read: the run resumes from it.
    Read,
    /// Damaged (unreadable, truncated, failing its checksum): set aside, try the previous.
    Damaged,
    /// Not this run's (another simulation, grid or parameters, or a newer format): an
    /// error to resolve.
    NotThisRun,
}

/// The verdict on a checkpoint over all ranks: the worst any rank saw. Collective.
fn agreed_attempt(parallel: &Parallel, mine: Attempt) -> Attempt {
    match parallel.max(mine as u32) {
        0 => Attempt::Read,
        1 => Attempt::Damaged,
        _ => Attempt::NotThisRun,
    }
}

/// Where `--restart auto` resumes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume<C> {
    /// This checkpoint, read.
    From(C),
    /// This checkpoint is not this run's: stop, leaving it and everything older in place.
    Refuse(C),
    /// No usable checkpoint: the initial state.
    Fresh,
}

/// The fallback rule of `--restart auto` over `candidates`, newest first: `attempt` each
/// in turn; resume from the first that reads; set aside (`set_aside`) each damaged one
/// met before it and go on to the previous; stop at the first that is not this run's;
/// start fresh when none is left. Errors of `attempt` and `set_aside` end the search.
pub fn fallback<C>(
    candidates: impl IntoIterator<Item = C>,
    mut attempt: impl FnMut(&C) -> Result<Attempt>,
    mut set_aside: impl FnMut(&C) -> Result<()>,
) -> Result<Resume<C>> {
    for c in candidates {
        match attempt(&c)? {
            Attempt::Read => return Ok(Resume::From(c)),
            Attempt::NotThisRun => return Ok(Resume::Refuse(c)),
            Attempt::Damaged => set_aside(&c)?,
        }
    }
    Ok(Resume::Fresh)
}

/// `--restart auto`: reads the newest of this simulation's checkpoints in `--out` that
/// passes its integrity check into `stepper` and returns its step ([`fallback`]): a
/// damaged one is moved aside (`NAME.h5.damaged`), with a message, and the one before it
/// is tried; with none, the run starts from the initial state (step 0). A checkpoint of
/// another grid or other parameters is an error, not damage. Collective.
fn resume_newest<S: Stepper>(
    parallel: &Parallel,
    stepper: &mut S,
    job: &JobOptions,
) -> Result<u64> {
    // every rank lists the directory; they must agree on what they saw
    let found = recovery::checkpoints_in(&job.out_dir, stepper.name());
    let count = found.len() as u64;
    let same = parallel.min(count) == parallel.max(count);
    parallel.agree(if same {
        Ok(())
    } else {
        Err(Error::value(
            "restart",
            format!(
                "the ranks see different checkpoints in {}: is it on a shared file system?",
                job.out_dir.display()
            ),
        ))
    })?;
    let name = stepper.name().to_string();
    // this rank's error on the latest checkpoint tried (its reason for `Damaged` or
    // `NotThisRun`), shared by the two steps of the rule
    let failure: RefCell<Option<Error>> = RefCell::new(None);
    let attempt = |(_, path): &(u64, PathBuf)| -> Result<Attempt> {
        let result = Checkpoint::open(parallel, path)
            .map_err(|e| match e {
                Error::CheckpointTooNew { .. } => (Attempt::NotThisRun, e),
                e => (Attempt::Damaged, e),
            })
            .and_then(|ck| {
                ck.check_matches(&name, &job.parameters)
                    .and_then(|_| stepper.check_geometry(&ck))
                    .map_err(|e| (Attempt::NotThisRun, e))?;
                stepper
                    .restore(parallel, &ck)
                    .map_err(|e| (Attempt::Damaged, e))
            });
        let mine = result.as_ref().map_or_else(|e| e.0, |_| Attempt::Read);
        *failure.borrow_mut() = result.err().map(|(_, e)| e);
        Ok(agreed_attempt(parallel, mine))
    };
    let set_aside = |(_, path): &(u64, PathBuf)| -> Result<()> {
        let reason = match failure.borrow_mut().take() {
            Some(e) if parallel.is_root() => e.to_string(),
            _ => format!(
                "checkpoint {} is damaged (see another rank)",
                path.display()
            ),
        };
        parallel.barrier(); // every rank is done with the file
        let aside = if parallel.is_root() {
            recovery::set_aside(path)
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
        Ok(())
    };
    match fallback(found, attempt, set_aside)? {
        Resume::From((step, path)) => {
            if parallel.is_root() {
                println!(
                    "  restarting from {} (step {step}, newest good checkpoint)",
                    path.display()
                );
            }
            Ok(step)
        }
        // not this run's checkpoint: an error the user must resolve, reported by the
        // lowest rank that saw it
        Resume::Refuse(_) => {
            parallel.agree(Err(failure.take().unwrap_or(Error::ReportedElsewhere)))
        }
        Resume::Fresh => {
            if parallel.is_root() {
                println!(
                    "  no usable {name} checkpoint in {}: starting from the initial state",
                    job.out_dir.display()
                );
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the rule over checkpoints named by step, each with the verdict `verdicts` gives.
    fn rule(verdicts: &[(u64, Attempt)]) -> (Resume<u64>, Vec<u64>, Vec<u64>) {
        let mut tried = Vec::new();
        let mut aside = Vec::new();
        let resume = fallback(
            verdicts.iter().map(|v| v.0),
            |&step| {
                tried.push(step);
                Ok(verdicts.iter().find(|v| v.0 == step).unwrap().1)
            },
            |&step| {
                aside.push(step);
                Ok(())
            },
        )
        .unwrap();
        (resume, tried, aside)
    }

    #[test]
    fn restart_auto_falls_back_past_damage_and_stops_at_a_mismatch() {
        use Attempt::*;
        // the newest reads: nothing else is touched
        assert_eq!(
            rule(&[(30, Read), (20, Read)]),
            (Resume::From(30), vec![30], vec![])
        );
        // damaged files are set aside, newest first, until one reads
        assert_eq!(
            rule(&[(30, Damaged), (20, Damaged), (10, Read)]),
            (Resume::From(10), vec![30, 20, 10], vec![30, 20])
        );
        // another run's checkpoint stops the search; nothing older is tried or moved
        assert_eq!(
            rule(&[(30, Damaged), (20, NotThisRun), (10, Read)]),
            (Resume::Refuse(20), vec![30, 20], vec![30])
        );
        // all damaged, or none: a fresh start
        assert_eq!(
            rule(&[(20, Damaged), (10, Damaged)]),
            (Resume::Fresh, vec![20, 10], vec![20, 10])
        );
        assert_eq!(rule(&[]), (Resume::Fresh, vec![], vec![]));
    }

    #[test]
    fn a_failure_to_set_aside_ends_the_search() {
        let r = fallback(
            [3u64, 2, 1],
            |_| Ok(Attempt::Damaged),
            |&s| {
                if s == 2 {
                    Err(Error::io("moving aside", "read-only"))
                } else {
                    Ok(())
                }
            },
        );
        assert!(r.is_err());
    }

    #[test]
    fn the_worst_attempt_decides() {
        // `agreed_attempt` reduces with max, so the order is the severity
        assert!(Attempt::Read < Attempt::Damaged);
        assert!(Attempt::Damaged < Attempt::NotThisRun);
    }
}
