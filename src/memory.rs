//! What memory this node allows a job: the least of the memory the kernel says is
//! available (`MemAvailable` in `/proc/meminfo`) and the room left under the cgroup
//! limits of the job (`memory.max` less what is in use, cgroup v2, on the process's cgroup
//! and its ancestors; Slurm and containers set them), shared by the ranks of a node; and
//! what one process may still map (`RLIMIT_AS`, `ulimit -v`). A run compares its estimate
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

/// The tightest of the node's memory limits (`MemAvailable`, the cgroup's room), shared
/// by every rank on the node; `None` if none can be read.
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
    limits.into_iter().min_by_key(|l| l.bytes)
}

/// What this one process may still map (`RLIMIT_AS` less what it maps already), if limited.
pub fn process_room() -> Option<Limit> {
    let limit = address_space_limit()?;
    let mapped = status_kib("VmSize").unwrap_or(0).saturating_mul(1024);
    Some(Limit {
        bytes: limit.saturating_sub(mapped),
        source: "RLIMIT_AS",
    })
}

/// The most memory this process has had resident so far (`VmHWM`), if it can be read.
pub fn peak_resident() -> Option<u64> {
    status_kib("VmHWM").map(|kib| kib.saturating_mul(1024))
}

fn status_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn meminfo_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The least room under `memory.max` of this process's cgroup and its ancestors (cgroup
/// v2; a Slurm job's limit is on an ancestor of its tasks' cgroups): `memory.max` less
/// what is in use, not counting page cache the kernel can reclaim (`inactive_file`).
fn cgroup_room() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let root = Path::new("/sys/fs/cgroup");
    let mut dir = root.join(rel.trim_start_matches('/'));
    let mut room: Option<u64> = None;
    while dir.starts_with(root) {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        // "max": no limit at this level
        let max = read("memory.max").and_then(|m| m.trim().parse::<u64>().ok());
        if let (Some(max), Some(current)) = (
            max,
            read("memory.current").and_then(|c| c.trim().parse::<u64>().ok()),
        ) {
            let cache = read("memory.stat")
                .and_then(|st| {
                    st.lines()
                        .find_map(|l| l.strip_prefix("inactive_file "))
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
                .unwrap_or(0);
            let here = max.saturating_sub(current.saturating_sub(cache));
            room = Some(room.map_or(here, |r| r.min(here)));
        }
        if !dir.pop() {
            break;
        }
    }
    room
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
