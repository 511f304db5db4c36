//! The checkpoints in a directory: listing them newest first (what `--restart auto` tries),
//! setting a damaged one aside, pruning old ones (`--keep N`). File-system logic only; the
//! driver makes the decisions collective.

use crate::error::{Error, Result};
use crate::io::checkpoint::{self, Param};
use std::path::{Path, PathBuf};

/// `simulation`'s checkpoints in `dir` (`NAME_STEP.h5`, complete files only: a file
/// still being written is `NAME_STEP.h5.ID.tmp`), newest first.
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

/// `--keep`: deletes all but the newest `older` (may be 0) of this run's checkpoints in
/// `dir` from before step `new`, the step of the checkpoint being written (and their XDMF
/// sidecars); returns the deleted files. This run's: `simulation`'s, with these
/// `parameters` (read serially from each file's header); a file of other parameters, or
/// one whose header cannot be read, is another run's and stays. The checkpoint of step
/// `new` and later ones are never touched.
pub fn prune(
    dir: &Path,
    simulation: &str,
    parameters: &[(String, Param)],
    older: usize,
    new: u64,
) -> Result<Vec<PathBuf>> {
    let ours = |path: &Path| {
        checkpoint::header_of(path).is_ok_and(|h| same_parameters(&h.parameters, parameters))
    };
    let old: Vec<PathBuf> = checkpoints_in(dir, simulation)
        .into_iter()
        .filter(|(step, path)| *step < new && ours(path))
        .skip(older)
        .map(|(_, p)| p)
        .collect();
    for p in &old {
        std::fs::remove_file(p).map_err(|e| Error::io(format!("removing {}", p.display()), e))?;
        let _ = std::fs::remove_file(p.with_extension("xmf"));
    }
    Ok(old)
}

/// Whether two parameter lists hold the same values, in any order.
fn same_parameters(a: &[(String, Param)], b: &[(String, Param)]) -> bool {
    a.len() == b.len() && a.iter().all(|p| b.contains(p))
}

/// Removes what interrupted writes of `simulation` left in `dir` (`NAME_STEP.h5.ID.tmp`
/// and probe files, which may hold a whole checkpoint's reserved space); returns them.
/// Only for the holder of the directory's lock: no other run is writing there.
pub fn remove_leftovers(dir: &Path, simulation: &str) -> Vec<PathBuf> {
    let (checkpoint, probe) = (format!("{simulation}_"), format!(".{simulation}.probe."));
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let ours = (name.starts_with(&checkpoint) && name.contains(".h5."))
                || name.starts_with(&probe);
            (ours && name.ends_with(".tmp")).then(|| dir.join(name))
        })
        .collect();
    leftovers
        .into_iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .collect()
}

/// `DIR/NAME_STEP.h5` as the checkpoint of `simulation` at `step`.
pub fn checkpoint_path(dir: &Path, simulation: &str, step: u64) -> PathBuf {
    dir.join(checkpoint::file_name(simulation, step))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_listed_newest_first_and_unreadable_ones_never_pruned() {
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
        // files whose header cannot be read are not this run's: pruning leaves them
        for new in [20, 30, 40] {
            let gone = prune(&dir, "heat", &[], 0, new).unwrap();
            assert!(gone.is_empty(), "{gone:?}");
        }
        assert!(dir.join("wave_00000060.h5").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
