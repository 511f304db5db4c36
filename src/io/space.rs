//! Room on a file system: how much is free, and reserving it before a collective write so
//! that the write itself cannot run out of space half-way (inside HDF5's collective calls
//! a failure on one rank cannot be agreed on: it hangs or crashes the job).

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Bytes an unprivileged user may still write on the file system holding `path`
/// (`statvfs`: available blocks times the fragment size); `None` if it cannot be asked.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid C string; `s` is plain data statvfs fills.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Reserves disk blocks for the first `bytes` of `file` without changing its size
/// (`fallocate` with `FALLOC_FL_KEEP_SIZE`), so that on file systems that allocate in
/// place (ext4, XFS, tmpfs, Lustre) writes up to that size do not fail for want of space
/// or quota (`ENOSPC`, `EDQUOT`): those errors come from here instead. Copy-on-write file
/// systems (ZFS, btrfs) may still run out later. Where the file system cannot reserve
/// (`EOPNOTSUPP`), the free space of `dir` is compared with `bytes` instead (which does
/// not see a user's quota).
pub fn reserve(file: &std::fs::File, dir: &Path, bytes: u64) -> std::io::Result<()> {
    let len =
        libc::off_t::try_from(bytes).map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: a plain system call on a descriptor `file` owns.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => match free_bytes(dir) {
            Some(free) if free < bytes => Err(std::io::Error::from_raw_os_error(libc::ENOSPC)),
            _ => Ok(()),
        },
        _ => Err(err),
    }
}

/// `bytes` for people: `512 B`, `3.2 KiB`, `1.0 MiB`, `2.50 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(2048), "2.0 KiB");
        assert_eq!(human(3 << 20), "3.0 MiB");
    }

    #[test]
    fn a_reservation_keeps_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::File::create(&path).unwrap();
        reserve(&file, dir.path(), 1 << 20).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 0);
        assert!(free_bytes(dir.path()).is_some());
        // more than any disk holds is refused, not granted
        assert!(reserve(&file, dir.path(), 1 << 62).is_err());
    }
}
