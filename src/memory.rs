//! What memory this node allows a job: the least of the memory the kernel says is
//! available (`MemAvailable` in `/proc/meminfo`), the room left under the job's cgroup
//! limit (`memory.max` minus `memory.current`, cgroup v2; Slurm and containers set it),
//! and the address-space limit (`RLIMIT_AS`, `ulimit -v`). A run compares its estimate
//! with it before allocating, so what cannot fit is refused with both numbers instead of
//! dying in an allocation abort.

use std::path::Path;

/// A memory limit and what sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    /// `MemAvailable`, `the cgroup limit` or `RLIMIT_AS`.
    pub source: &'static str,
}

/// The tightest of the node's memory limits, or `None` if none can be read.
pub fn available() -> Option<Limit> {
    let mut limits = Vec::new();
    if let Some(kib) = meminfo_kib("MemAvailable") {
        limits.push(Limit {
            bytes: kib.saturating_mul(1024),
            source: "MemAvailable",
        });
    }
    if let Some(bytes) = cgroup_room() {
        limits.push(Limit {
            bytes,
            source: "the cgroup limit",
        });
    }
    if let Some(bytes) = address_space_limit() {
        limits.push(Limit {
            bytes,
            source: "RLIMIT_AS",
        });
    }
    limits.into_iter().min_by_key(|l| l.bytes)
}

fn meminfo_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `memory.max - memory.current` of this process's cgroup (v2), if it has a limit.
fn cgroup_room() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(rel.trim_start_matches('/'));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max": no limit
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

fn address_space_limit() -> Option<u64> {
    // SAFETY: `r` is plain data getrlimit fills.
    let mut r: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(r.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_has_a_limit() {
        let limit = available().expect("/proc/meminfo is readable");
        assert!(limit.bytes > 1 << 20, "{limit:?}");
    }
}
