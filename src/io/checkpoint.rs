//! Parallel HDF5 checkpoints (format `tessera-checkpoint`, version 2; version 1 files,
//! written by grid simulations before particles and linear algebra existed, still read).
//!
//! One file per save, written collectively by all ranks through MPI-IO:
//! - root attributes: `format`, `format_version`, `simulation`, `step`, `time`, `nranks`
//!   (who wrote it; informational) and `tool_version`, plus what the family adds to describe
//!   its geometry (a grid: `grid_shape`, `origin`, `spacing`, `process_grid`);
//! - group `/parameters`: one attribute per run parameter; a restart refuses a file whose
//!   parameters differ from the run's, naming the first that differs;
//! - datasets in groups by kind (`/fields/NAME` for grid fields, `/particles/NAME`,
//!   `/vectors/NAME`), each written collectively by all ranks, each rank its [`Block`],
//!   and each with a `checksum` attribute that does not depend on the rank count (see
//!   [`crate::io::hdf5`]); a restart verifies it.
//!
//! A checkpoint appears atomically and durably: it is written as `NAME.h5.ID.tmp` (`ID`
//! unique to this write, so two runs on one directory never share it), synced to
//! disk by every rank, renamed once every rank has closed it, and the directory synced. An XDMF sidecar (`NAME.xmf`, [`crate::io::xdmf`]) lets ParaView open it.
//! A restart reads each rank's block for the NEW decomposition, so the rank count may
//! change.

use crate::error::{Error, Result};
use crate::io::hdf5::{self as h5, Block, Element};
use crate::io::xdmf::{self, Sidecar};
use crate::parallel::Parallel;
use hdf5::types::VarLenUnicode;
use std::path::{Path, PathBuf};

/// Name stored in the `format` attribute.
pub const FORMAT: &str = "tessera-checkpoint";
/// Version stored in the `format_version` attribute of the files this build writes.
pub const FORMAT_VERSION: u64 = 2;
/// The oldest version this build still reads.
pub const OLDEST_READABLE_VERSION: u64 = 1;

/// A run parameter recorded in a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Int(i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Param::Int(v) => write!(f, "{v}"),
            Param::Float(v) => write!(f, "{v:e}"),
            Param::Text(v) => write!(f, "{v}"),
        }
    }
}

/// What every checkpoint says about itself, whatever the family.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub simulation: String,
    pub step: u64,
    pub time: f64,
    /// Run parameters; a restart must match them all.
    pub parameters: Vec<(String, Param)>,
}

/// The checkpoint file name for `simulation` at `step`: `heat_00002000.h5`.
pub fn file_name(simulation: &str, step: u64) -> String {
    format!("{simulation}_{step:08}.h5")
}

fn text(s: &str) -> VarLenUnicode {
    s.parse().expect("attribute text has no NUL")
}

/// A checkpoint being written: what a family's `save` fills with its attributes and
/// datasets. Every call is collective: all ranks make the same calls in the same order.
pub struct Writer<'a> {
    parallel: &'a Parallel,
    file: hdf5::File,
    tmp: PathBuf,
    /// Bytes of dataset data this rank wrote.
    bytes: u64,
    sidecar: Option<Sidecar>,
}

impl Writer<'_> {
    fn failed(&self, what: impl std::fmt::Display) -> Error {
        Error::io(format!("writing {}", self.tmp.display()), what)
    }

    /// A root attribute holding `values` (a family's geometry: shape, origin, ...).
    pub fn attr<T: Element>(&self, name: &str, values: &[T]) -> Result<()> {
        self.file
            .new_attr_builder()
            .with_data(values)
            .create(name)
            .map(|_| ())
            .map_err(|e| self.failed(e))
    }

    /// Writes dataset `path` (`GROUP/NAME`, the group created when missing), this rank's
    /// `block` of it held in `data`, with its rank-count-independent checksum.
    pub fn dataset<T: Element>(&mut self, path: &str, block: &Block, data: &[T]) -> Result<()> {
        let sum = self.parallel.sum(block.checksum(data));
        let (group, name) = match path.rsplit_once('/') {
            Some((g, n)) => (
                self.file
                    .group(g)
                    .or_else(|_| self.file.create_group(g))
                    .map_err(|e| self.failed(e))?,
                n,
            ),
            None => (self.file.as_group().map_err(|e| self.failed(e))?, path),
        };
        self.bytes +=
            h5::write_block(&group, name, block, data, sum).map_err(|e| self.failed(e))?;
        Ok(())
    }

    /// What the XDMF sidecar written beside the file describes.
    pub fn sidecar(&mut self, sidecar: Sidecar) {
        self.sidecar = Some(sidecar);
    }
}

/// A checkpoint written: its path and size.
#[derive(Clone, Debug)]
pub struct Written {
    pub path: PathBuf,
    /// Bytes of dataset data, all ranks together.
    pub bytes: u64,
}

/// Writes checkpoint `dir/file_name(...)` of `header`, whose contents `fill` writes,
/// atomically. Collective: every rank calls it with the same header.
pub fn write(
    parallel: &Parallel,
    dir: &Path,
    header: &Header,
    fill: impl FnOnce(&mut Writer) -> Result<()>,
) -> Result<Written> {
    let path = dir.join(file_name(&header.simulation, header.step));
    // A name no other run writes at the same time (a resubmitted job on the same
    // directory): rank 0's process id and clock, agreed by all ranks.
    let unique = parallel.max(if parallel.is_root() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        (u64::from(std::process::id()) << 32) | u64::from(nanos)
    } else {
        0
    });
    let tmp = dir.join(format!(
        "{}.{unique:016x}.tmp",
        file_name(&header.simulation, header.step)
    ));
    // Durable: every rank syncs what it wrote (on a cluster, each node its own pages)
    // before the file gets its real name, and the directory entry is synced after.
    let written = write_file(parallel, &tmp, header, fill).and_then(|w| {
        sync(&tmp)?;
        Ok(w)
    });
    let (bytes, sidecar) = parallel.agree(written)?;
    let bytes = parallel.sum(bytes);
    // Every rank has closed and synced the file: make it visible under its real name.
    let renamed = if parallel.is_root() {
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(format!("renaming {} into place", tmp.display()), e))
            .and_then(|_| sync(dir))
            .and_then(|_| match &sidecar {
                Some(s) => xdmf::write(&path, &header.simulation, header.time, s),
                None => Ok(()),
            })
    } else {
        Ok(())
    };
    parallel.agree(renamed)?;
    Ok(Written { path, bytes })
}

/// `fsync` of a file or directory: its data (and, for a directory, its entries) on disk.
fn sync(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("syncing {} to disk", path.display()), e))
}

fn write_file(
    parallel: &Parallel,
    tmp: &Path,
    header: &Header,
    fill: impl FnOnce(&mut Writer) -> Result<()>,
) -> Result<(u64, Option<Sidecar>)> {
    let err = |what: &str| {
        let what = what.to_string();
        move |e: hdf5::Error| Error::io(format!("{what} {}", tmp.display()), e)
    };
    let file = h5::open_parallel(parallel, tmp, true).map_err(err("creating"))?;
    let root_u64 = |name: &str, v: u64| -> hdf5::Result<()> {
        file.new_attr::<u64>().create(name)?.write_scalar(&v)
    };
    let root_text = |name: &str, v: &str| -> hdf5::Result<()> {
        file.new_attr::<VarLenUnicode>()
            .create(name)?
            .write_scalar(&text(v))
    };
    (|| -> hdf5::Result<()> {
        root_text("format", FORMAT)?;
        root_u64("format_version", FORMAT_VERSION)?;
        root_text("simulation", &header.simulation)?;
        root_u64("step", header.step)?;
        file.new_attr::<f64>()
            .create("time")?
            .write_scalar(&header.time)?;
        root_u64("nranks", parallel.size() as u64)?;
        root_text(
            "tool_version",
            concat!("tessera ", env!("CARGO_PKG_VERSION")),
        )?;
        let params = file.create_group("parameters")?;
        for (name, value) in &header.parameters {
            match value {
                Param::Int(v) => params
                    .new_attr::<i64>()
                    .create(name.as_str())?
                    .write_scalar(v)?,
                Param::Float(v) => params
                    .new_attr::<f64>()
                    .create(name.as_str())?
                    .write_scalar(v)?,
                Param::Text(v) => params
                    .new_attr::<VarLenUnicode>()
                    .create(name.as_str())?
                    .write_scalar(&text(v))?,
            }
        }
        Ok(())
    })()
    .map_err(err("writing attributes of"))?;
    let mut writer = Writer {
        parallel,
        file,
        tmp: tmp.to_path_buf(),
        bytes: 0,
        sidecar: None,
    };
    fill(&mut writer)?;
    let Writer {
        file,
        bytes,
        sidecar,
        ..
    } = writer;
    file.close().map_err(err("closing"))?;
    Ok((bytes, sidecar))
}

/// A checkpoint opened for restart by all ranks.
pub struct Checkpoint {
    file: hdf5::File,
    path: PathBuf,
    pub header: Header,
    /// The `format_version` it was written with.
    pub version: u64,
}

fn attr_u64(loc: &hdf5::Location, name: &str) -> hdf5::Result<u64> {
    loc.attr(name)?.read_scalar::<u64>()
}
fn attr_f64(loc: &hdf5::Location, name: &str) -> hdf5::Result<f64> {
    loc.attr(name)?.read_scalar::<f64>()
}
fn attr_text(loc: &hdf5::Location, name: &str) -> hdf5::Result<String> {
    Ok(loc
        .attr(name)?
        .read_scalar::<VarLenUnicode>()?
        .as_str()
        .to_string())
}

impl Checkpoint {
    /// Opens `path` collectively and reads its header. Refuses files that are not tessera
    /// checkpoints (missing, truncated, not HDF5, another format or an unknown version).
    pub fn open(parallel: &Parallel, path: &Path) -> Result<Checkpoint> {
        let bad = |m: String| Error::checkpoint(path, m);
        if !path.is_file() {
            return Err(bad("no such file".into()));
        }
        let file = h5::open_parallel(parallel, path, false)
            .map_err(|_| bad("not a readable HDF5 file (truncated or corrupt?)".into()))?;
        let format = attr_text(&file, "format").unwrap_or_default();
        if format != FORMAT {
            return Err(bad(format!(
                "not a {FORMAT} file (no 'format' attribute saying so)"
            )));
        }
        let version = attr_u64(&file, "format_version").map_err(|e| bad(e.to_string()))?;
        if version > FORMAT_VERSION {
            return Err(Error::CheckpointTooNew {
                path: path.to_path_buf(),
                version,
                readable: FORMAT_VERSION,
            });
        }
        if version < OLDEST_READABLE_VERSION {
            return Err(bad(format!(
                "format version {version}, this build reads {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}"
            )));
        }
        let header = (|| -> hdf5::Result<Header> {
            let params = file.group("parameters")?;
            let mut parameters = Vec::new();
            for name in params.attr_names()? {
                let a = params.attr(&name)?;
                let dt = a.dtype()?;
                let value = if dt.is::<i64>() {
                    Param::Int(a.read_scalar::<i64>()?)
                } else if dt.is::<f64>() {
                    Param::Float(a.read_scalar::<f64>()?)
                } else {
                    Param::Text(a.read_scalar::<VarLenUnicode>()?.as_str().to_string())
                };
                parameters.push((name, value));
            }
            Ok(Header {
                simulation: attr_text(&file, "simulation")?,
                step: attr_u64(&file, "step")?,
                time: attr_f64(&file, "time")?,
                parameters,
            })
        })()
        .map_err(|e| bad(format!("unreadable header ({e})")))?;
        Ok(Checkpoint {
            file,
            path: path.to_path_buf(),
            header,
            version,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn bad(&self, message: impl Into<String>) -> Error {
        Error::checkpoint(&self.path, message)
    }

    /// Checks that the file was written by `simulation` with the same `parameters`,
    /// naming the first thing that differs. (A family checks its geometry itself.)
    pub fn check_matches(&self, simulation: &str, parameters: &[(String, Param)]) -> Result<()> {
        let h = &self.header;
        if h.simulation != simulation {
            return Err(self.bad(format!(
                "written by simulation '{}', not '{simulation}'",
                h.simulation
            )));
        }
        for (name, want) in parameters {
            match h.parameters.iter().find(|(n, _)| n == name) {
                None => return Err(self.bad(format!("has no parameter '{name}'"))),
                Some((_, got)) if got != want => {
                    return Err(self.bad(format!(
                        "was run with {name} = {got}, this run has {name} = {want}"
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The root attribute `name` (a family's geometry).
    pub fn attr<T: Element>(&self, name: &str) -> Result<Vec<T>> {
        self.file
            .attr(name)
            .and_then(|a| a.read_raw::<T>())
            .map_err(|e| self.bad(format!("unreadable header attribute '{name}' ({e})")))
    }

    /// The shape of dataset `path`.
    pub fn shape(&self, path: &str) -> Result<Vec<usize>> {
        self.file
            .dataset(path)
            .map(|d| d.shape())
            .map_err(|_| self.bad(format!("has no dataset /{path}")))
    }

    /// Reads this rank's `block` of dataset `path` into `data` and verifies the dataset's
    /// checksum. Collective: every rank calls it, each with its own block.
    pub fn read<T: Element>(
        &self,
        parallel: &Parallel,
        path: &str,
        block: &Block,
        data: &mut [T],
    ) -> Result<()> {
        // Every rank must reach the same collective calls, so a failure found on one rank
        // is agreed on before any rank goes on.
        let opened = self
            .file
            .dataset(path)
            .map_err(|_| self.bad(format!("has no dataset /{path}")))
            .and_then(|dset| {
                if dset.shape() != block.global {
                    return Err(self.bad(format!(
                        "/{path} has shape {:?}, the header says {:?}",
                        dset.shape(),
                        block.global
                    )));
                }
                let stored = attr_u64(&dset, "checksum")
                    .map_err(|_| self.bad(format!("/{path} has no checksum")))?;
                Ok((dset, stored))
            });
        let everywhere = parallel.all(opened.is_ok());
        let (dset, stored) = match opened {
            Err(e) => return Err(e),
            Ok(_) if !everywhere => {
                return Err(self.bad(format!("/{path} cannot be opened on another rank")))
            }
            Ok(found) => found,
        };
        let read = h5::read_block(&dset, block, data);
        let sum = parallel.sum(match read {
            Ok(()) => block.checksum(data),
            Err(_) => 0,
        });
        if parallel.any(read.is_err()) {
            return Err(self.bad(format!("/{path} cannot be read (truncated or corrupt?)")));
        }
        if sum != stored {
            return Err(self.bad(format!(
                "/{path} fails its integrity check (checksum {sum:#018x}, stored {stored:#018x}): the data is corrupt"
            )));
        }
        Ok(())
    }
}
