//! Files given as input (`--restart FILE`, `render FILE`) are checked by their metadata
//! before anything reads them. Only a non-empty regular file on a disk file system is
//! read: a directory, a FIFO or a device is refused, and so is a file of `/proc` or
//! `/sys` (regular by its type, but endless or blocking to read), instead of hanging the
//! reader.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// `statfs` magic numbers of virtual file systems whose files are not data on disk.
const VIRTUAL_FILE_SYSTEMS: [(i64, &str); 7] = [
    (0x9fa0, "/proc"),
    (0x6265_6572, "/sys"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
];

/// Why `path` is not a file to read, or its size: `no such file`, `is a directory`, `is a
/// FIFO (named pipe), not a file`, `is empty`, `is a /proc file, not a file on disk`,
/// `cannot be read (Permission denied)`.
pub fn regular_file(path: &Path) -> std::result::Result<u64, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no such file".into()),
        Err(e) => return Err(format!("cannot be read ({e})")),
    };
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(format!("is {what}, not a file"));
    }
    if let Some(fs) = virtual_file_system(path) {
        return Err(format!("is a {fs} file, not a file on disk"));
    }
    if meta.len() == 0 {
        return Err("is empty".into());
    }
    std::fs::File::open(path).map_err(|e| format!("cannot be read ({e})"))?;
    Ok(meta.len())
}

/// The virtual file system holding `path`, if it is one.
fn virtual_file_system(path: &Path) -> Option<&'static str> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid C string; `s` is plain data statfs fills.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let magic = s.f_type as i64;
    VIRTUAL_FILE_SYSTEMS
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_empty_regular_files_on_disk_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.h5");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(regular_file(&file), Ok(1));
        let empty = dir.path().join("empty.h5");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(regular_file(&empty).unwrap_err(), "is empty");
        assert_eq!(
            regular_file(dir.path()).unwrap_err(),
            "is a directory, not a file"
        );
        assert_eq!(
            regular_file(&dir.path().join("missing")).unwrap_err(),
            "no such file"
        );
        assert!(regular_file(Path::new("/dev/null"))
            .unwrap_err()
            .contains("a device"));
        let proc = regular_file(Path::new("/proc/cpuinfo")).unwrap_err();
        assert!(proc.contains("/proc file"), "{proc}");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(regular_file(&fifo).unwrap_err().contains("FIFO"));
    }
}
