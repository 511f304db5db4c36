//! What a job is asked to do, independent of the family: how far to run, where its
//! checkpoints go and how often, where it resumes from (`--restart FILE|auto`), and when it
//! must stop to checkpoint before its time runs out (`--max-runtime`, the Slurm job's end).

use crate::error::Name;
use crate::io::checkpoint::Param;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How to run a job: everything but the problem itself.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// The step at which the run ends, counted from the start of the simulation.
    pub end_step: u64,
    /// Simulated time per step (0 for iterations of a solver).
    pub dt: f64,
    /// Checkpoint every this many steps (0: only the final state).
    pub checkpoint_every: u64,
    /// Directory for checkpoints.
    pub out_dir: PathBuf,
    /// Start from a checkpoint (a file, or the newest good one in `out_dir`) instead of the
    /// initial condition.
    pub restart: Option<Restart>,
    /// Stop with a checkpoint before this much time has passed since the start of the run
    /// (the Slurm job's end, where Slurm says it, counts too).
    pub max_runtime: Option<Duration>,
    /// Keep only the newest this many checkpoints in `out_dir` (`None`: all).
    pub keep: Option<usize>,
    /// Allow replacing checkpoint files already in `out_dir`.
    pub overwrite: bool,
    /// Write checkpoints (the cadence and the final state). Off for convergence studies.
    pub write_checkpoints: bool,
    /// Seconds between progress lines (rank 0; 0: none).
    pub progress_every: f64,
    /// Parameters recorded in checkpoints; a restart must match them.
    pub parameters: Vec<(String, Param)>,
    /// Write the run report (JSON) here at the end.
    pub report: Option<PathBuf>,
}

impl JobOptions {
    /// Defaults for everything but what every run must choose.
    pub fn new(end_step: u64, dt: f64, out_dir: PathBuf) -> JobOptions {
        JobOptions {
            end_step,
            dt,
            checkpoint_every: 0,
            out_dir,
            restart: None,
            max_runtime: None,
            keep: None,
            overwrite: false,
            write_checkpoints: true,
            progress_every: 0.0,
            parameters: Vec::new(),
            report: None,
        }
    }
}

/// Where a run starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restart {
    /// This checkpoint; a damaged or mismatched file is refused.
    File(PathBuf),
    /// The newest checkpoint in `--out` that passes its integrity check, falling back to
    /// older ones; the initial state when there is none.
    Auto,
}

impl Restart {
    /// `--restart VALUE`: the word `auto`, or a file.
    pub fn from_flag(value: &Path) -> Restart {
        if value == Path::new("auto") {
            Restart::Auto
        } else {
            Restart::File(value.to_path_buf())
        }
    }
}

/// Parses a duration: seconds (`90`, `90s`), `15m`, `2h`, `1h30m`, or `[HH:]MM:SS`.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration (90s, 15m, 1h30m or HH:MM:SS)");
    let t = s.trim();
    if t.contains(':') {
        let parts: Vec<u64> = t
            .split(':')
            .map(|p| p.parse::<u64>().map_err(|_| bad()))
            .collect::<std::result::Result<_, _>>()?;
        if parts.len() > 3 || parts[1..].iter().any(|&p| p >= 60) {
            return Err(bad());
        }
        let seconds = parts
            .iter()
            .try_fold(0u64, |acc, &p| acc.checked_mul(60)?.checked_add(p))
            .ok_or_else(bad)?;
        // a zero limit is refused in every form (`0`, `00:00`)
        if seconds == 0 {
            return Err(bad());
        }
        return Ok(Duration::from_secs(seconds));
    }
    let (mut total, mut number) = (0.0f64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return Err(bad()),
        };
        total += number.parse::<f64>().map_err(|_| bad())? * unit;
        number.clear();
    }
    if !number.is_empty() {
        total += number.parse::<f64>().map_err(|_| bad())?;
    }
    if t.is_empty() || !(total > 0.0 && total.is_finite()) {
        return Err(bad());
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("'{s}' is longer than any clock counts"))
}

/// The moment a run must have stopped by: `--max-runtime` after its start, or the Slurm
/// job's end (`SLURM_JOB_END_TIME`, seconds since the epoch, where Slurm sets it),
/// whichever is sooner.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    /// What sets it, for messages.
    pub source: DeadlineSource,
}

/// What sets a deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineSource {
    /// The run's own limit (`max-runtime`).
    MaxRuntime,
    /// The Slurm job's end (`SLURM_JOB_END_TIME`).
    Slurm,
}

impl std::fmt::Display for DeadlineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeadlineSource::MaxRuntime => write!(f, "{}", Name("max-runtime")),
            DeadlineSource::Slurm => f.write_str("the Slurm job's time limit"),
        }
    }
}

impl Deadline {
    pub fn new(started: Instant, max_runtime: Option<Duration>) -> Option<Deadline> {
        // a limit beyond what the clock can represent is no limit
        let own = max_runtime
            .and_then(|d| started.checked_add(d))
            .map(|at| Deadline {
                at,
                source: DeadlineSource::MaxRuntime,
            });
        let slurm = std::env::var("SLURM_JOB_END_TIME")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .and_then(|end| {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
                let left = Duration::from_secs(end).checked_sub(now)?;
                Some(Deadline {
                    at: Instant::now().checked_add(left)?,
                    source: DeadlineSource::Slurm,
                })
            });
        match (own, slurm) {
            (Some(a), Some(b)) => Some(if a.at <= b.at { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Whether a run must stop now to checkpoint in time: the time left is less than the
    /// safety margin `2 x checkpoint + 2 x step + 0.5 s`, `checkpoint` the longest write
    /// measured so far (or an estimate before the first) and `step` the latest step's time.
    pub fn is_near(&self, checkpoint: Duration, step: Duration) -> bool {
        let margin = 2 * checkpoint + 2 * step + Duration::from_millis(500);
        Instant::now() + margin >= self.at
    }
}

/// An estimate of a checkpoint's write time before one was measured: `bytes` at 200 MB/s.
pub fn checkpoint_time_estimate(bytes: f64) -> Duration {
    Duration::from_secs_f64(bytes / 200e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_documented_form() {
        let s = |t: &str| parse_duration(t).unwrap().as_secs_f64();
        assert_eq!(s("90"), 90.0);
        assert_eq!(s("90s"), 90.0);
        assert_eq!(s("15m"), 900.0);
        assert_eq!(s("1h30m"), 5400.0);
        assert_eq!(s("2.5s"), 2.5);
        assert_eq!(s("01:30:00"), 5400.0);
        assert_eq!(s("10:05"), 605.0);
        for bad in [
            "",
            "0",
            "-5",
            "1x",
            "1:60",
            "h",
            "1:2:3:4",
            "00:00",
            "0:00:00",
            "5124095576030431:00:20",
            "99999999999999999h",
            "1e400",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deadlines_beyond_the_clock_are_no_deadlines() {
        let far = parse_duration("9999999999999999999s").unwrap();
        assert!(Deadline::new(Instant::now(), Some(far)).is_none());
    }
}
