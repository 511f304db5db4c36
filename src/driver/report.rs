//! What a run reports: the time spent in each phase (min / mean / max over ranks), the
//! rates, progress lines while it runs, the performance summary at the end, and the run
//! report, one JSON document (`--report FILE.json`) that scripts and plots read instead of
//! scraping text (PETSc's `-log_view`, HPCG's YAML and LAMMPS's timing breakdown are the
//! models).

use crate::error::{Error, Result};
use crate::parallel::Comm;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Name of the phase the driver adds for checkpoint writes and reads.
pub const CHECKPOINT_PHASE: &str = "checkpoint I/O";

/// Wall time per named phase on this rank, in the order the phases were declared.
#[derive(Clone, Debug, Default)]
pub struct Phases {
    parts: Vec<(&'static str, Duration)>,
}

impl Phases {
    /// Phases with these names, in this order (more may be added by [`Phases::add`]).
    pub fn new(names: &[&'static str]) -> Phases {
        Phases {
            parts: names.iter().map(|&n| (n, Duration::ZERO)).collect(),
        }
    }

    /// Adds `d` to phase `name`.
    pub fn add(&mut self, name: &'static str, d: Duration) {
        match self.parts.iter_mut().find(|p| p.0 == name) {
            Some(p) => p.1 += d,
            None => self.parts.push((name, d)),
        }
    }

    /// Time in phase `name` (zero if never entered).
    pub fn get(&self, name: &str) -> Duration {
        self.parts
            .iter()
            .find(|p| p.0 == name)
            .map_or(Duration::ZERO, |p| p.1)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts.iter().map(|p| p.0)
    }

    /// The sum of every phase but `except`.
    pub fn sum_except(&self, except: &str) -> Duration {
        self.parts
            .iter()
            .filter(|p| p.0 != except)
            .map(|p| p.1)
            .sum()
    }
}

/// The work a step does, for rates: `per_step` items (grid points, atoms, rows) counted
/// in `unit`s of `scale` items per second (`Glups`, 1e9).
#[derive(Clone, Copy, Debug)]
pub struct Work {
    pub per_step: f64,
    pub item: &'static str,
    pub unit: &'static str,
    pub scale: f64,
}

/// A phase's time over the ranks, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

impl Spread {
    /// Collective.
    pub fn over_ranks(comm: &Comm, d: Duration) -> Spread {
        let s = d.as_secs_f64();
        Spread {
            min: comm.min(s),
            mean: comm.sum(s) / comm.size() as f64,
            max: comm.max(s),
        }
    }

    fn json(&self) -> Value {
        json!({"min": self.min, "mean": self.mean, "max": self.max})
    }
}

/// One checkpoint written by the run.
#[derive(Clone, Debug)]
pub struct CheckpointRecord {
    pub path: PathBuf,
    pub step: u64,
    /// Dataset bytes, all ranks together.
    pub bytes: u64,
    /// Wall time of the write (the slowest rank's, as every rank waits for it).
    pub seconds: f64,
}

/// Everything the run measured, for the summary and the report. Every rank has one;
/// [`Measured::summarise`] combines them.
#[derive(Clone, Debug)]
pub struct Measured {
    pub phases: Phases,
    pub total: Duration,
    pub work: Work,
    pub steps: u64,
    pub checkpoints: Vec<CheckpointRecord>,
}

/// The measurements over all ranks.
pub struct Summary {
    /// Per phase, then the driver's checkpoint phase, then `other`.
    pub phases: Vec<(&'static str, Spread)>,
    pub total: Spread,
    /// The slowest rank's time in the stepper's phases (its own phases never overlap).
    pub time_loop: f64,
    pub work: Work,
    pub steps: u64,
    pub checkpoints: Vec<CheckpointRecord>,
    /// Peak resident memory (`VmHWM`): summed over the ranks, and the largest rank's
    /// (bytes; 0 where it cannot be read).
    pub peak_resident_sum: u64,
    pub peak_resident_max: u64,
}

impl Measured {
    /// Collective.
    pub fn summarise(&self, comm: &Comm) -> Summary {
        let mut phases: Vec<(&'static str, Spread)> = self
            .phases
            .names()
            .map(|n| (n, Spread::over_ranks(comm, self.phases.get(n))))
            .collect();
        let accounted: Duration = self.phases.names().map(|n| self.phases.get(n)).sum();
        let other = self.total.saturating_sub(accounted);
        phases.push(("other", Spread::over_ranks(comm, other)));
        let time_loop = comm.max(self.phases.sum_except(CHECKPOINT_PHASE).as_secs_f64());
        let peak = crate::memory::peak_resident().unwrap_or(0);
        Summary {
            peak_resident_sum: comm.sum(peak),
            peak_resident_max: comm.max(peak),
            phases,
            total: Spread::over_ranks(comm, self.total),
            time_loop,
            work: self.work,
            steps: self.steps,
            checkpoints: self.checkpoints.clone(),
        }
    }
}

impl Summary {
    fn rate(&self, seconds: f64) -> f64 {
        self.steps as f64 * self.work.per_step / seconds.max(1e-12) / self.work.scale
    }

    /// `compute 1.23 s (80%) | halo exchange 0.20 s (13%) | ... | other ...`: each phase's
    /// maximum over ranks (with overlap, the parts may add up to more than the total).
    pub fn breakdown(&self) -> String {
        let total = self.total.max.max(1e-12);
        self.phases
            .iter()
            .map(|(name, s)| format!("{name} {:.3} s ({:.0}%)", s.max, 100.0 * s.max / total))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Prints the performance block (rank 0 calls it): the rate overall, in the time loop
    /// (the stepper's phases: the slowest rank's total) and in the first phase alone (the
    /// update), and the time per phase.
    pub fn print(&self) {
        let unit = self.work.unit;
        let update = self.phases.first().map_or(0.0, |p| p.1.max);
        println!("performance");
        println!(
            "  {} steps x {} {} in {:.3} s: {:.3} {unit} overall, {:.3} {unit} in the time \
             loop, {:.3} {unit} in the update",
            self.steps,
            self.work.per_step,
            self.work.item,
            self.total.max,
            self.rate(self.total.max),
            self.rate(self.time_loop),
            self.rate(update)
        );
        println!("  time: {}", self.breakdown());
        if self.peak_resident_sum > 0 {
            println!(
                "  memory: peak resident {} on the largest rank, {} over all ranks",
                crate::io::space::human(self.peak_resident_max),
                crate::io::space::human(self.peak_resident_sum)
            );
        }
    }

    fn json(&self) -> Value {
        let phases: Map<String, Value> = self
            .phases
            .iter()
            .map(|(n, s)| (n.to_string(), s.json()))
            .collect();
        let update = self.phases.first().map_or(0.0, |p| p.1.max);
        let checkpoints: Vec<Value> = self
            .checkpoints
            .iter()
            .map(|c| {
                json!({
                    "path": c.path.display().to_string(),
                    "step": c.step,
                    "bytes": c.bytes,
                    "seconds": c.seconds,
                    "write_bandwidth_MB_per_s": c.bytes as f64 / c.seconds.max(1e-12) / 1e6,
                })
            })
            .collect();
        json!({
            "steps": self.steps,
            "work_per_step": {"count": self.work.per_step, "item": self.work.item},
            "seconds": {"total": self.total.json(), "phases": phases},
            "rates": {
                "unit": self.work.unit,
                "overall": self.rate(self.total.max),
                "time_loop": self.rate(self.time_loop),
                "update": self.rate(update),
            },
            "checkpoints": checkpoints,
            "memory": {
                "peak_resident_bytes_sum_over_ranks": self.peak_resident_sum,
                "peak_resident_bytes_max_rank": self.peak_resident_max,
            },
        })
    }
}

/// The verdict of a run's own check.
#[derive(Clone, Debug)]
pub enum Verdict {
    Validates,
    DoesNotValidate(String),
    /// Nothing was checked (a run that only reports).
    NotChecked,
    /// The run stopped early (a signal, a time limit) after a checkpoint.
    Stopped(String),
}

impl Verdict {
    /// The verdict in the report's words, and its detail.
    pub fn words(&self) -> (&'static str, Option<String>) {
        match self {
            Verdict::Validates => ("validates", None),
            Verdict::DoesNotValidate(why) => ("does not validate", Some(why.clone())),
            Verdict::NotChecked => ("not checked", None),
            Verdict::Stopped(why) => ("stopped", Some(why.clone())),
        }
    }

    /// `Validates` if `validates`, else `DoesNotValidate(why())`.
    pub fn check(validates: bool, why: impl FnOnce() -> String) -> Verdict {
        if validates {
            Verdict::Validates
        } else {
            Verdict::DoesNotValidate(why())
        }
    }
}

/// The run report: what was run, where, how long each phase took, and how it checked
/// itself.
pub struct Report<'a> {
    pub simulation: &'a str,
    pub parameters: &'a [(String, crate::io::checkpoint::Param)],
    pub ranks: usize,
    pub threads: usize,
    pub decomposition: String,
    pub start_step: u64,
    pub end_step: u64,
    pub time: f64,
    pub summary: &'a Summary,
    pub verdict: &'a Verdict,
    /// The figures the verdict rests on (errors, tolerances, energies).
    pub figures: &'a [(String, f64)],
    /// Named series (a solver's residual history).
    pub series: &'a [(&'static str, Vec<f64>)],
}

impl Report<'_> {
    pub fn json(&self) -> Value {
        let mut value = common_json(
            self.simulation,
            self.parameters,
            self.ranks,
            self.threads,
            &self.decomposition,
            self.verdict,
            self.figures,
        );
        let object = value.as_object_mut().expect("an object");
        object.insert("start_step".into(), json!(self.start_step));
        object.insert("end_step".into(), json!(self.end_step));
        object.insert("simulated_time".into(), json!(self.time));
        object.insert("performance".into(), self.summary.json());
        let series: Map<String, Value> = self
            .series
            .iter()
            .map(|(n, v)| (n.to_string(), json!(v)))
            .collect();
        object.insert("series".into(), Value::Object(series));
        value
    }

    /// Writes the report to `path` (rank 0 calls it).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.json()).expect("a JSON value prints");
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::io(format!("writing the report {}", path.display()), e))
    }
}

/// The keys every report has: what ran, where, and its verdict with the figures it
/// rests on.
fn common_json(
    simulation: &str,
    parameters: &[(String, crate::io::checkpoint::Param)],
    ranks: usize,
    threads: usize,
    decomposition: &str,
    verdict: &Verdict,
    figures: &[(String, f64)],
) -> Value {
    let (verdict, detail) = verdict.words();
    json!({
        "tessera": env!("CARGO_PKG_VERSION"),
        "simulation": simulation,
        "command_line": std::env::args().collect::<Vec<_>>(),
        "parameters": parameters_json(parameters),
        "ranks": ranks,
        "threads_per_rank": threads,
        "decomposition": decomposition,
        "validation": {"verdict": verdict, "detail": detail, "figures": figures_json(figures)},
    })
}

/// Named numbers as a JSON object.
fn figures_json(figures: &[(String, f64)]) -> Map<String, Value> {
    figures.iter().map(|(n, v)| (n.clone(), json!(v))).collect()
}

/// Run parameters as a JSON object.
fn parameters_json(parameters: &[(String, crate::io::checkpoint::Param)]) -> Map<String, Value> {
    parameters
        .iter()
        .map(|(n, p)| {
            let v = match p {
                crate::io::checkpoint::Param::Int(i) => json!(i),
                crate::io::checkpoint::Param::Float(f) => json!(f),
                crate::io::checkpoint::Param::Text(t) => json!(t),
            };
            (n.clone(), v)
        })
        .collect()
}

/// The report of a one-shot command (a dense product or factorisation: no steps, no
/// checkpoints), in the run report's schema: the same keys where they apply, the
/// measured times and rates under `performance`.
pub struct CommandReport<'a> {
    pub simulation: &'a str,
    pub parameters: &'a [(String, crate::io::checkpoint::Param)],
    pub ranks: usize,
    /// BLAS threads per rank.
    pub threads: usize,
    pub decomposition: &'a str,
    /// Named times (seconds) and rates.
    pub performance: &'a [(String, f64)],
    pub verdict: &'a Verdict,
    pub figures: &'a [(String, f64)],
}

impl CommandReport<'_> {
    /// Writes the report to `path` (rank 0 calls it).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut value = common_json(
            self.simulation,
            self.parameters,
            self.ranks,
            self.threads,
            self.decomposition,
            self.verdict,
            self.figures,
        );
        value.as_object_mut().expect("an object").insert(
            "performance".into(),
            Value::Object(figures_json(self.performance)),
        );
        let text = serde_json::to_string_pretty(&value).expect("a JSON value prints");
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::io(format!("writing the report {}", path.display()), e))
    }
}

/// Progress lines on rank 0: step, simulated time (or a note such as a residual), rate,
/// ETA.
pub struct Progress {
    enabled: bool,
    every: f64,
    end: u64,
    work: Work,
    start: Instant,
    start_step: u64,
    last: Instant,
}

impl Progress {
    pub fn new(enabled: bool, every: f64, start_step: u64, end: u64, work: Work) -> Self {
        let now = Instant::now();
        Progress {
            enabled: enabled && every > 0.0,
            every,
            end,
            work,
            start: now,
            start_step,
            last: now,
        }
    }

    /// Prints a line if one is due; `what` describes the state (`t = 1.0e-3`).
    pub fn update(&mut self, step: u64, what: impl FnOnce() -> String) {
        if !self.enabled || self.last.elapsed().as_secs_f64() < self.every {
            return;
        }
        self.last = Instant::now();
        let elapsed = self.start.elapsed().as_secs_f64();
        let done = (step - self.start_step) as f64;
        let rate = done / elapsed;
        let eta = (self.end - step) as f64 / rate;
        println!(
            "  step {step:>8}/{}  {}  {:.3} {}  ETA {eta:.1} s",
            self.end,
            what(),
            rate * self.work.per_step / self.work.scale,
            self.work.unit
        );
    }
}
