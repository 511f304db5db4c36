//! One run per output directory: an advisory lock (`flock`) on `DIR/.tessera.lock`,
//! held for the run's life. The kernel releases it when the process ends in any way
//! (`kill -9`, a Slurm time-out), so a local or Lustre directory is never left locked;
//! the file itself stays and names the last holder. (On NFS, a crashed client's lock
//! lasts until the server notices; a `local_lock` mount locks per node only.) A second run on the directory is
//! refused before it touches anything, with the holder's process, host and start time.

use crate::error::{Error, Name, Result};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

/// The lock file's name inside the directory.
pub const LOCK_FILE: &str = ".tessera.lock";

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DirectoryLock {
    _file: Option<std::fs::File>,
    /// Why the directory could not be locked (a file system without `flock`): the run goes
    /// on unprotected, and says so.
    pub unsupported: Option<String>,
}

impl DirectoryLock {
    /// Takes the lock on `dir` (created if missing) for a run of `simulation`.
    pub fn acquire(dir: &Path, simulation: &str) -> Result<DirectoryLock> {
        let out = |e: std::io::Error| Error::io(format!("{} {}", Name("out"), dir.display()), e);
        std::fs::create_dir_all(dir).map_err(out)?;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(out)?;
        // SAFETY: a plain system call on a descriptor `file` owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EWOULDBLOCK) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    Err(Error::value(
                        "out",
                        format!(
                            "{} is in use by another run ({}); wait for it to end or choose another {}",
                            dir.display(),
                            if holder.is_empty() { "holder unknown" } else { holder },
                            Name("out")
                        ),
                    ))
                }
                Some(libc::ENOLCK) | Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => {
                    Ok(DirectoryLock {
                        _file: None,
                        unsupported: Some(format!(
                            "{} cannot be locked ({err}): nothing stops a second run from using it",
                            dir.display()
                        )),
                    })
                }
                _ => Err(out(err)),
            };
        }
        let holder = format!(
            "{simulation}, pid {} on {}, started {}",
            std::process::id(),
            hostname(),
            utc_now()
        );
        let written = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{holder}"));
        written.map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(DirectoryLock {
            _file: Some(file),
            unsupported: None,
        })
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "an unknown host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Now as `2026-12-02 04:10:00 UTC`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_789), (2026, 12, 2));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn a_second_lock_on_a_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirectoryLock::acquire(dir.path(), "heat").unwrap();
        assert!(first.unsupported.is_none());
        let refused = DirectoryLock::acquire(dir.path(), "heat").unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("in use by another run"), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        drop(first);
        DirectoryLock::acquire(dir.path(), "heat").unwrap();
    }
}
