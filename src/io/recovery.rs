//! What keeps a long job's work safe: where a run resumes from (`--restart FILE|auto`),
//! which checkpoints it keeps (`--keep N`), and when it must stop to checkpoint before its
//! time runs out (`--max-runtime`, the Slurm job's end). File-system and clock logic only;
//! the driver makes the decisions collective.

use crate::error::{Error, Result};
use crate::io::checkpoint;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// `simulation`'s checkpoints in `dir` (`NAME_STEP.h5`, complete files only: a file
/// still being written is `NAME_STEP.h5.tmp`), newest first.
pub fn checkpoints_in(dir: &Path, simulation: &str) -> Vec<(u64, PathBuf)> {
    let prefix = format!("{simulation}_");
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let step = name.strip_prefix(&prefix)?.strip_suffix(".h5")?;
            if step.len() < 8 || !step.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((step.parse().ok()?, dir.join(&name)))
        })
        .collect();
    found.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    found
}

/// Moves a damaged checkpoint aside (`NAME.h5.damaged`) so no later run tries it again
/// and nothing overwrites it; returns the new name.
pub fn set_aside(path: &Path) -> Result<PathBuf> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)
        .map_err(|e| Error::io(format!("moving aside {}", path.display()), e))?;
    Ok(aside)
}

/// Deletes all but the newest `keep` of `simulation`'s checkpoints in `dir` (and their
/// XDMF sidecars); returns the deleted files.
pub fn prune(dir: &Path, simulation: &str, keep: usize) -> Result<Vec<PathBuf>> {
    let old: Vec<PathBuf> = checkpoints_in(dir, simulation)
        .into_iter()
        .skip(keep)
        .map(|(_, p)| p)
        .collect();
    for p in &old {
        std::fs::remove_file(p).map_err(|e| Error::io(format!("removing {}", p.display()), e))?;
        let _ = std::fs::remove_file(p.with_extension("xmf"));
    }
    Ok(old)
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
        return Ok(Duration::from_secs(
            parts.iter().fold(0, |acc, &p| acc * 60 + p),
        ));
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
    Ok(Duration::from_secs_f64(total))
}

/// The moment a run must have stopped by: `--max-runtime` after its start, or the Slurm
/// job's end (`SLURM_JOB_END_TIME`, seconds since the epoch, where Slurm sets it),
/// whichever is sooner.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    /// What sets it, for messages.
    pub source: &'static str,
}

impl Deadline {
    pub fn new(started: Instant, max_runtime: Option<Duration>) -> Option<Deadline> {
        let own = max_runtime.map(|d| Deadline {
            at: started + d,
            source: "--max-runtime",
        });
        let slurm = std::env::var("SLURM_JOB_END_TIME")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .and_then(|end| {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
                let left = Duration::from_secs(end).checked_sub(now)?;
                Some(Deadline {
                    at: Instant::now() + left,
                    source: "the Slurm job's time limit",
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

/// `DIR/NAME_STEP.h5` as the checkpoint of `simulation` at `step`.
pub fn checkpoint_path(dir: &Path, simulation: &str, step: u64) -> PathBuf {
    dir.join(checkpoint::file_name(simulation, step))
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
        for bad in ["", "0", "-5", "1x", "1:60", "h", "1:2:3:4"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checkpoints_are_listed_newest_first_and_pruned() {
        let dir = std::env::temp_dir().join(format!("tessera-recovery-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "heat_00000010.h5",
            "heat_00000030.h5",
            "heat_00000020.h5",
            "heat_00000020.xmf",
            "heat_00000040.h5.tmp",
            "heat_00000050.h5.damaged",
            "wave_00000060.h5",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let steps: Vec<u64> = checkpoints_in(&dir, "heat").iter().map(|c| c.0).collect();
        assert_eq!(steps, [30, 20, 10]);
        let gone = prune(&dir, "heat", 1).unwrap();
        assert_eq!(gone.len(), 2);
        assert!(!dir.join("heat_00000020.xmf").exists());
        let steps: Vec<u64> = checkpoints_in(&dir, "heat").iter().map(|c| c.0).collect();
        assert_eq!(steps, [30]);
        assert!(dir.join("wave_00000060.h5").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
