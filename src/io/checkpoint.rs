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
use crate::io::input;
use crate::io::space;
use crate::io::xdmf::{self, Sidecar};
use crate::parallel::Parallel;
use hdf5::types::{FixedUnicode, VarLenUnicode};
use std::path::{Path, PathBuf};

/// Name stored in the `format` attribute.
pub const FORMAT: &str = "tessera-checkpoint";
/// Version stored in the `format_version` attribute of the files this build writes.
pub const FORMAT_VERSION: u64 = 3;
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

/// Bytes a text attribute holds (format 3 on).
const TEXT_BYTES: usize = 256;

/// Text attributes are fixed-length strings since format 3: stored inline, they never
/// touch HDF5's global heap, whose damage crashes the HDF5 library when it reads a
/// variable-length string (found by fuzzing the files). Files of formats 1 and 2 hold
/// variable-length strings, read only once their format version says so.
type Text = FixedUnicode<TEXT_BYTES>;

fn text(s: &str) -> hdf5::Result<Text> {
    s.parse()
        .map_err(|_| hdf5::Error::from(format!("'{s}' is longer than {TEXT_BYTES} bytes")))
}

/// A checkpoint being written: what a family's `save` fills with its attributes and
/// datasets. Every call is collective: all ranks make the same calls in the same order.
///
/// `save` is called twice per checkpoint: first on a dry run that writes nothing and
/// only counts the bytes the file will take (so the space is reserved before any
/// collective HDF5 call), then for real.
pub struct Writer<'a> {
    parallel: &'a Parallel,
    /// `None`: a dry run.
    file: Option<hdf5::File>,
    tmp: PathBuf,
    /// Bytes of data: this rank's share written, or on a dry run all ranks' together.
    bytes: u64,
    /// Attributes and datasets, on a dry run.
    items: u64,
    sidecar: Option<Sidecar>,
}

impl Writer<'_> {
    fn failed(&self, what: impl std::fmt::Display) -> Error {
        Error::io(format!("writing {}", self.tmp.display()), what)
    }

    /// Whether this is the dry run that only counts bytes (see [`Writer`]): a caller may
    /// skip work whose only use is the data, since `dataset` then reads only the shape.
    pub fn is_dry_run(&self) -> bool {
        self.file.is_none()
    }

    /// A root attribute holding `values` (a family's geometry: shape, origin, ...).
    pub fn attr<T: Element>(&mut self, name: &str, values: &[T]) -> Result<()> {
        let Some(file) = &self.file else {
            self.bytes = self
                .bytes
                .saturating_add(std::mem::size_of_val(values) as u64);
            self.items += 1;
            return Ok(());
        };
        file.new_attr_builder()
            .with_data(values)
            .create(name)
            .map(|_| ())
            .map_err(|e| self.failed(e))
    }

    /// Writes dataset `path` (`GROUP/NAME`, the group created when missing), this rank's
    /// `block` of it held in `data`, with its rank-count-independent checksum.
    pub fn dataset<T: Element>(&mut self, path: &str, block: &Block, data: &[T]) -> Result<()> {
        let Some(file) = &self.file else {
            let elements = block
                .global
                .iter()
                .try_fold(1u64, |n, &x| n.checked_mul(x as u64));
            let bytes = elements.and_then(|n| n.checked_mul(std::mem::size_of::<T>() as u64));
            self.bytes = self.bytes.saturating_add(bytes.unwrap_or(u64::MAX));
            self.items += 1;
            return Ok(());
        };
        let sum = self.parallel.sum(block.checksum(data));
        let (group, name) = match path.rsplit_once('/') {
            Some((g, n)) => (
                file.group(g)
                    .or_else(|_| file.create_group(g))
                    .map_err(|e| self.failed(e))?,
                n,
            ),
            None => (file.as_group().map_err(|e| self.failed(e))?, path),
        };
        let bytes = h5::write_block(&group, name, block, data, sum).map_err(|e| self.failed(e))?;
        self.bytes += bytes;
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

/// The most bytes a checkpoint of `header` whose contents `fill` writes takes on disk:
/// its data (counted by a dry run of `fill`, which makes no collective call) plus room
/// for HDF5's metadata. Every rank gets the same answer.
pub fn size_on_disk(
    parallel: &Parallel,
    header: &Header,
    fill: impl Fn(&mut Writer) -> Result<()>,
) -> Result<u64> {
    let mut dry = Writer {
        parallel,
        file: None,
        tmp: PathBuf::new(),
        bytes: 0,
        items: 0,
        sidecar: None,
    };
    fill(&mut dry)?;
    // HDF5 metadata: the superblock and root group, then at most a few KiB per object
    // (object headers, attribute messages, group B-tree nodes and heaps).
    let objects = dry.items + header.parameters.len() as u64 + 16;
    Ok(dry
        .bytes
        .saturating_add(32 * 1024)
        .saturating_add(objects.saturating_mul(2048)))
}

/// A temporary name in `dir` for `name` no other run writes at the same time (a
/// resubmitted job on the same directory): rank 0's process id and clock, agreed by all
/// ranks. Collective.
fn unique_tmp(parallel: &Parallel, dir: &Path, name: &str) -> PathBuf {
    let unique = parallel.max(if parallel.is_root() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        (u64::from(std::process::id()) << 32) | u64::from(nanos)
    } else {
        0
    });
    dir.join(format!("{name}.{unique:016x}.tmp"))
}

/// Writes checkpoint `dir/file_name(...)` of `header`, whose contents `fill` writes,
/// atomically and durably. Collective: every rank calls it with the same header.
///
/// A failure on any rank (no space, over quota, an I/O error, permissions) is agreed by
/// all ranks before any goes on: the temporary file is removed, earlier checkpoints are
/// untouched, and the error names the directory, the bytes needed and free, and the
/// cause.
pub fn write(
    parallel: &Parallel,
    dir: &Path,
    header: &Header,
    fill: impl Fn(&mut Writer) -> Result<()>,
) -> Result<Written> {
    write_replacing(parallel, dir, header, fill, || Ok(()))
}

/// [`write`], calling `before_rename` (collectively, on every rank) once the new file is
/// complete and synced under its temporary name, just before it takes its real name: the
/// moment to delete a checkpoint it replaces (`--keep`), so that a job killed at any
/// instant never leaves more complete checkpoints than it keeps. The new checkpoint is
/// renamed into place even when `before_rename` fails; its error is returned afterwards.
pub fn write_replacing(
    parallel: &Parallel,
    dir: &Path,
    header: &Header,
    fill: impl Fn(&mut Writer) -> Result<()>,
    before_rename: impl FnOnce() -> Result<()>,
) -> Result<Written> {
    let name = file_name(&header.simulation, header.step);
    let path = dir.join(&name);
    let needed = size_on_disk(parallel, header, &fill)?;
    let not_written = |e: Error| {
        match e {
        Error::ReportedElsewhere => e,
        e => Error::io(
            format!(
                "checkpoint {name} not written to {} (it needs {}, {} free; earlier checkpoints are untouched)",
                dir.display(),
                space::human(needed),
                free_text(dir)
            ),
            e,
        ),
    }
    };
    let tmp = unique_tmp(parallel, dir, &name);
    let (bytes, sidecar) = write_tmp(parallel, dir, &tmp, needed, |file| {
        write_file(parallel, file, &tmp, header, fill)
    })
    .map_err(not_written)?;
    let bytes = parallel.sum(bytes);
    let replaced = before_rename();
    // Every rank has closed and synced the file: make it visible under its real name.
    let renamed = if parallel.is_root() {
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(format!("renaming {} into place", tmp.display()), e)
        })
    } else {
        Ok(())
    };
    parallel.agree(renamed).map_err(not_written)?;
    // In place: what fails from here on leaves a complete checkpoint behind.
    let finished = if parallel.is_root() {
        sync(dir).and_then(|_| match &sidecar {
            Some(s) => xdmf::write(&path, &header.simulation, header.time, s),
            None => Ok(()),
        })
    } else {
        Ok(())
    };
    parallel
        .agree(finished)
        .and(replaced)
        .map_err(|e| match e {
            Error::ReportedElsewhere => e,
            e => Error::io(format!("checkpoint {} written, but", path.display()), e),
        })?;
    Ok(Written { path, bytes })
}

/// Proves that `dir` takes a checkpoint of `header` (whose contents `fill` writes) before
/// a run computes anything: the path of [`write`] (create, reserve the space a
/// checkpoint needs, open through MPI-IO, write from every rank, close, sync) on a probe
/// file, which is then removed. Collective.
pub fn probe(
    parallel: &Parallel,
    dir: &Path,
    header: &Header,
    fill: impl Fn(&mut Writer) -> Result<()>,
) -> Result<()> {
    let needed = size_on_disk(parallel, header, fill)?;
    let tmp = unique_tmp(parallel, dir, &format!(".{}.probe", header.simulation));
    let probed = write_tmp(parallel, dir, &tmp, needed, |file| {
        write_file(parallel, file, &tmp, header, |w| {
            let block = Block::rows(parallel.size(), parallel.rank(), 1, 0);
            w.dataset("probe", &block, &[1u8])
        })
    });
    let removed = if parallel.is_root() && probed.is_ok() {
        std::fs::remove_file(&tmp).map_err(|e| Error::io(format!("removing {}", tmp.display()), e))
    } else {
        Ok(())
    };
    parallel.agree(probed.and(removed)).map_err(|e| match e {
        Error::ReportedElsewhere => e,
        e => Error::value(
            "out",
            format!(
                "{} cannot take this run's checkpoints (each needs {}, {} free): {e}",
                dir.display(),
                space::human(needed),
                free_text(dir)
            ),
        ),
    })
}

fn free_text(dir: &Path) -> String {
    space::free_bytes(dir).map_or_else(|| "unknown".into(), space::human)
}

/// Writes the temporary file `tmp` collectively: rank 0 creates it as an empty HDF5 file
/// and reserves `needed` bytes for it, every rank opens it through MPI-IO and `body`
/// writes and closes it, and every rank syncs
/// what it wrote. Each stage's failure on any rank is agreed before the next collective
/// call; after a failure the file is removed. Collective.
fn write_tmp<T>(
    parallel: &Parallel,
    dir: &Path,
    tmp: &Path,
    needed: u64,
    body: impl FnOnce(hdf5::File) -> Result<T>,
) -> Result<T> {
    let created = if parallel.is_root() {
        create_reserved(tmp, dir, needed)
    } else {
        Ok(())
    };
    let result = parallel.agree(created).and_then(|_| {
        let file = h5::open_parallel(parallel, tmp, h5::Access::ReadWrite)
            .map_err(|e| Error::io(format!("opening {}", tmp.display()), e));
        let file = parallel.agree(file)?;
        // (What is reserved past the file's end, the metadata margin, stays allocated: a
        // hole punched from one rank's view of the file's size could cut off data
        // another rank wrote, so none is.)
        let written = parallel.agree(body(file))?;
        // Durable: every rank syncs what it wrote (on a cluster, each node its own pages).
        parallel.agree(sync(tmp))?;
        Ok(written)
    });
    if result.is_err() && parallel.is_root() {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

/// Creates `tmp` as an empty HDF5 file (serially, on this rank) with `bytes` of disk
/// reserved for it; on failure nothing is left behind. The space is reserved once before
/// HDF5 writes anything, so that a full disk or quota is reported with the system's own
/// error, and again after HDF5 has created the file (its create truncates).
fn create_reserved(tmp: &Path, dir: &Path, bytes: u64) -> Result<()> {
    let reserve = || {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        space::reserve(&file, dir, bytes)
            .map_err(|e| Error::io(format!("reserving {}", space::human(bytes)), e))
    };
    let made = reserve().and_then(|_| {
        hdf5::File::create(tmp)
            .and_then(|f| f.close())
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))
            .and_then(|_| reserve())
    });
    if made.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    made
}

/// `fsync` of a file or directory: its data (and, for a directory, its entries) on disk.
fn sync(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("syncing {} to disk", path.display()), e))
}

/// A hash of what a header says (the simulation, step, time and every parameter with
/// its type), stored as the root attribute `header_checksum` since format version 3 so
/// that an edited header is found like damaged data.
pub fn header_checksum(header: &Header) -> u64 {
    let mut hash = 0u64;
    let mut add = |bits: u64| hash = h5::mix(hash ^ bits);
    let add_text = |add: &mut dyn FnMut(u64), t: &str| {
        add(t.len() as u64);
        for chunk in t.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            add(u64::from_le_bytes(word));
        }
    };
    add_text(&mut add, &header.simulation);
    add(header.step);
    add(header.time.to_bits());
    // by name: a reader lists attributes in its own order
    let mut parameters: Vec<&(String, Param)> = header.parameters.iter().collect();
    parameters.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in parameters {
        add_text(&mut add, name);
        match value {
            Param::Int(v) => {
                add(1);
                add(*v as u64)
            }
            Param::Float(v) => {
                add(2);
                add(v.to_bits())
            }
            Param::Text(v) => {
                add(3);
                add_text(&mut add, v)
            }
        }
    }
    hash
}

/// Fills the opened temporary file: the header, then what `fill` writes; closes it.
/// Returns this rank's bytes of data and the sidecar `fill` described.
fn write_file(
    parallel: &Parallel,
    file: hdf5::File,
    tmp: &Path,
    header: &Header,
    fill: impl FnOnce(&mut Writer) -> Result<()>,
) -> Result<(u64, Option<Sidecar>)> {
    let err = |what: &str| {
        let what = what.to_string();
        move |e: hdf5::Error| Error::io(format!("{what} {}", tmp.display()), e)
    };
    let root_u64 = |name: &str, v: u64| -> hdf5::Result<()> {
        file.new_attr::<u64>().create(name)?.write_scalar(&v)
    };
    let root_text = |name: &str, v: &str| -> hdf5::Result<()> {
        file.new_attr::<Text>()
            .create(name)?
            .write_scalar(&text(v)?)
    };
    (|| -> hdf5::Result<()> {
        root_text("format", FORMAT)?;
        root_u64("format_version", FORMAT_VERSION)?;
        root_text("simulation", &header.simulation)?;
        root_u64("step", header.step)?;
        file.new_attr::<f64>()
            .create("time")?
            .write_scalar(&header.time)?;
        root_u64("header_checksum", header_checksum(header))?;
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
                    .new_attr::<Text>()
                    .create(name.as_str())?
                    .write_scalar(&text(v)?)?,
            }
        }
        Ok(())
    })()
    .map_err(err("writing attributes of"))?;
    let mut writer = Writer {
        parallel,
        file: Some(file),
        tmp: tmp.to_path_buf(),
        bytes: 0,
        items: 0,
        sidecar: None,
    };
    fill(&mut writer)?;
    let Writer {
        file,
        bytes,
        sidecar,
        ..
    } = writer;
    file.expect("a real write has a file")
        .close()
        .map_err(err("closing"))?;
    Ok((bytes, sidecar))
}

/// The format version and header of an opened checkpoint file `path`; refuses what is not
/// a checkpoint this build reads (see [`Checkpoint::open`]).
fn read_header(file: &hdf5::File, path: &Path) -> Result<(u64, Header)> {
    let bad = |m: String| Error::checkpoint(path, m);
    let not_ours = || {
        bad(format!(
            "not a {FORMAT} file (no 'format' attribute saying so)"
        ))
    };
    // the version first: it says how text is stored
    let version =
        scalar::<u64>(file, "format_version", "unsigned 64-bit integer").map_err(|_| not_ours())?;
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
    if scalar_text(file, "format", version).ok().as_deref() != Some(FORMAT) {
        return Err(not_ours());
    }
    let header = (|| -> std::result::Result<Header, String> {
        let params = file
            .group("parameters")
            .map_err(|_| "has no /parameters group".to_string())?;
        let mut parameters = Vec::new();
        for name in params.attr_names().map_err(|e| e.to_string())? {
            let dt = params
                .attr(&name)
                .and_then(|a| a.dtype())
                .map_err(|e| e.to_string())?;
            let value = if dt.is::<i64>() {
                Param::Int(scalar(&params, &name, "integer")?)
            } else if dt.is::<f64>() {
                Param::Float(scalar(&params, &name, "number")?)
            } else {
                Param::Text(scalar_text(&params, &name, version)?)
            };
            parameters.push((name, value));
        }
        let header = Header {
            simulation: scalar_text(file, "simulation", version)?,
            step: scalar(file, "step", "unsigned 64-bit integer")?,
            time: scalar(file, "time", "64-bit float")?,
            parameters,
        };
        if !header.time.is_finite() {
            return Err(format!("its time {} is not a finite number", header.time));
        }
        if version >= 3 {
            let stored = scalar::<u64>(file, "header_checksum", "unsigned 64-bit integer")?;
            if stored != header_checksum(&header) {
                return Err("its header (simulation, step, time or parameters) fails its integrity check: the file was edited or is corrupt".into());
            }
        }
        Ok(header)
    })()
    .map_err(bad)?;
    Ok((version, header))
}

/// The header of the checkpoint at `path`, read serially by this rank alone (to decide
/// what `--keep` may prune). Refuses what [`Checkpoint::open`] refuses.
pub fn header_of(path: &Path) -> Result<Header> {
    input::regular_file(path).map_err(|m| Error::checkpoint(path, m))?;
    let file = hdf5::File::open(path)
        .map_err(|_| Error::checkpoint(path, "not a readable HDF5 file (truncated or corrupt?)"))?;
    read_header(&file, path).map(|(_, header)| header)
}

/// The most values a family's header attribute holds (a grid's shape has 3): a damaged
/// file claiming more is refused before anything is allocated for it.
const MAX_ATTRIBUTE_VALUES: usize = 64;

/// A checkpoint opened for restart by all ranks.
pub struct Checkpoint {
    file: hdf5::File,
    path: PathBuf,
    pub header: Header,
    /// The `format_version` it was written with.
    pub version: u64,
}

/// Root or group attribute `name`: a scalar of exactly type `T` (`what` names it in
/// messages); no conversion, so a `step` stored as -5 or 7.5 is refused, not read as 0 or 7.
fn scalar<T: hdf5::H5Type>(
    loc: &hdf5::Location,
    name: &str,
    what: &str,
) -> std::result::Result<T, String> {
    let a = loc
        .attr(name)
        .map_err(|_| format!("has no '{name}' attribute"))?;
    let exact = a.dtype().is_ok_and(|t| t.is::<T>()) && a.is_scalar();
    if !exact {
        return Err(format!("attribute '{name}' is not a single {what}"));
    }
    a.read_scalar::<T>()
        .map_err(|e| format!("attribute '{name}' cannot be read ({e})"))
}

/// Text attribute `name` of a file of format `version`: a fixed-length string (format 3
/// on; see [`Text`]), a variable-length one before.
fn scalar_text(
    loc: &hdf5::Location,
    name: &str,
    version: u64,
) -> std::result::Result<String, String> {
    let bytes = if version >= 3 {
        scalar::<Text>(loc, name, "fixed-length string")?
            .as_bytes()
            .to_vec()
    } else {
        scalar::<VarLenUnicode>(loc, name, "string")?
            .as_bytes()
            .to_vec()
    };
    String::from_utf8(bytes).map_err(|_| format!("attribute '{name}' is not UTF-8 text"))
}

impl Checkpoint {
    /// Opens `path` collectively and reads its header. Refuses files that are not tessera
    /// checkpoints (not a regular file, truncated, not HDF5, another format or an unknown
    /// version), header attributes of another type than written, and (format 3 on) a
    /// header that fails its checksum.
    pub fn open(parallel: &Parallel, path: &Path) -> Result<Checkpoint> {
        let bad = |m: String| Error::checkpoint(path, m);
        // by its metadata first: a directory, FIFO, device or /proc file is never opened
        parallel.agree(input::regular_file(path).map_err(bad))?;
        let file = h5::open_parallel(parallel, path, h5::Access::Read)
            .map_err(|_| bad("not a readable HDF5 file (truncated or corrupt?)".into()))?;
        let (version, header) = read_header(&file, path)?;
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
        let a = self
            .file
            .attr(name)
            .map_err(|_| self.bad(format!("has no header attribute '{name}'")))?;
        if !a.dtype().is_ok_and(|t| t.is::<T>()) || a.size() > MAX_ATTRIBUTE_VALUES {
            return Err(self.bad(format!(
                "header attribute '{name}' is not up to {MAX_ATTRIBUTE_VALUES} values of type {}",
                std::any::type_name::<T>()
            )));
        }
        a.read_raw::<T>()
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
                if !dset.dtype().is_ok_and(|t| t.is::<T>()) {
                    return Err(self.bad(format!(
                        "/{path} does not hold {} values",
                        std::any::type_name::<T>()
                    )));
                }
                let stored = scalar::<u64>(&dset, "checksum", "unsigned 64-bit integer")
                    .map_err(|e| self.bad(format!("/{path}: {e}")))?;
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
