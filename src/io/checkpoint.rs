//! Parallel HDF5 checkpoints (format `tessera-checkpoint`, version 1).
//!
//! One file per save, written collectively by all ranks through MPI-IO:
//! - root attributes: `format`, `format_version`, `simulation`, `step`, `time`,
//!   `grid_shape`, `origin`, `spacing`, `nranks` and `process_grid` (who wrote it;
//!   informational), `tool_version`;
//! - group `/parameters`: one attribute per run parameter; a restart refuses a file whose
//!   parameters differ from the run's;
//! - group `/fields`: one dataset per field with the GLOBAL grid shape, owned cells only,
//!   each rank writing its hyperslab with a collective transfer. Each dataset carries a
//!   `checksum` attribute: the wrapping sum over all cells of a hash of (global linear index,
//!   value bits), which does not depend on how many ranks wrote or read it.
//!
//! A checkpoint appears atomically: it is written as `NAME.tmp` and renamed once every rank
//! has closed it. An XDMF sidecar (`NAME.xmf`) lets ParaView and VisIt open it.
//! Restart reads each rank's hyperslab for the NEW decomposition, so the rank count may change.

use crate::error::{Error, Result};
use crate::grid::field::{Field, Scalar};
use crate::grid::geometry::{Decomposition, DIMS};
use crate::parallel::Parallel;
use hdf5::types::VarLenUnicode;
use hdf5::H5Type;
use hdf5_sys::h5d::{H5Dread, H5Dwrite};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio};
use hdf5_sys::h5s::{H5S_seloper_t, H5Sclose, H5Screate_simple, H5Sselect_hyperslab};
use std::path::{Path, PathBuf};

/// Name stored in the `format` attribute.
pub const FORMAT: &str = "tessera-checkpoint";
/// Version stored in the `format_version` attribute.
pub const FORMAT_VERSION: u64 = 1;

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

/// What a checkpoint says about itself (everything but the field data).
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub simulation: String,
    pub step: u64,
    pub time: f64,
    /// Global grid shape (1 to 3 axes).
    pub shape: Vec<usize>,
    /// Coordinates of the first grid point, per axis.
    pub origin: Vec<f64>,
    /// Grid spacing, per axis.
    pub spacing: Vec<f64>,
    /// Run parameters; a restart must match them all.
    pub parameters: Vec<(String, Param)>,
}

/// The checkpoint file name for `simulation` at `step`: `heat_00002000.h5`.
pub fn file_name(simulation: &str, step: u64) -> String {
    format!("{simulation}_{step:08}.h5")
}

fn h5err<'a>(context: &str, path: &'a Path) -> impl Fn(hdf5::Error) -> Error + 'a {
    let context = context.to_string();
    move |e| Error::io(format!("{context} {}", path.display()), e)
}

/// An HDF5 id closed on drop (dataspaces and property lists made through the C API).
struct Handle(hid_t, unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the id was created by the matching H5*create call and is closed once.
        unsafe { (self.1)(self.0) };
    }
}

/// A collective data-transfer property list.
fn collective_transfer() -> Result<Handle> {
    // SAFETY: plain HDF5 C calls on ids we own; failures are negative ids / codes.
    unsafe {
        let dxpl = H5Pcreate(*hdf5::globals::H5P_DATASET_XFER);
        if dxpl < 0 {
            return Err(Error::io("HDF5", "cannot create a transfer property list"));
        }
        let h = Handle(dxpl, H5Pclose);
        if H5Pset_dxpl_mpio(dxpl, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE) < 0 {
            return Err(Error::io(
                "HDF5",
                "cannot select collective MPI-IO transfers",
            ));
        }
        Ok(h)
    }
}

/// A dataspace of `dims` with the hyperslab `start .. start + count` selected.
fn hyperslab(dims: &[usize], start: &[usize], count: &[usize]) -> Result<Handle> {
    let d: Vec<u64> = dims.iter().map(|&x| x as u64).collect();
    let s: Vec<u64> = start.iter().map(|&x| x as u64).collect();
    let c: Vec<u64> = count.iter().map(|&x| x as u64).collect();
    // SAFETY: the arrays outlive the calls and have `dims.len()` elements.
    unsafe {
        let space = H5Screate_simple(d.len() as i32, d.as_ptr(), std::ptr::null());
        if space < 0 {
            return Err(Error::io("HDF5", "cannot create a dataspace"));
        }
        let h = Handle(space, H5Sclose);
        let rc = H5Sselect_hyperslab(
            space,
            H5S_seloper_t::H5S_SELECT_SET,
            s.as_ptr(),
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
        );
        if rc < 0 {
            return Err(Error::io("HDF5", "cannot select a hyperslab"));
        }
        Ok(h)
    }
}

/// Memory and file dataspaces for a rank's owned cells of `field` in a dataset of the
/// global `shape` (active axes only).
fn spaces<T: Scalar>(field: &Field<T>, shape: &[usize]) -> Result<(Handle, Handle)> {
    let owned = field.owned();
    let memory = hyperslab(&field.shape(), &field.ghost(), &owned.size)?;
    let off = DIMS - shape.len();
    let file = hyperslab(shape, &owned.lo[off..], &owned.size[off..])?;
    Ok((memory, file))
}

/// Order-independent checksum of a rank's owned cells: the wrapping sum, over cells, of a
/// hash of (global linear index, value bits). Summed over ranks it is the same for any
/// decomposition.
pub fn local_checksum<T: Scalar>(field: &Field<T>, global: [usize; DIMS]) -> u64 {
    let inner = field.interior();
    let owned = field.owned();
    let a = field.array();
    let mut sum = 0u64;
    for i in 0..inner.size[0] {
        for j in 0..inner.size[1] {
            let row = ((owned.lo[0] + i) * global[1] + owned.lo[1] + j) * global[2] + owned.lo[2];
            for k in 0..inner.size[2] {
                let v = a[[inner.lo[0] + i, inner.lo[1] + j, inner.lo[2] + k]].to_bits_u64();
                sum = sum.wrapping_add(mix(v ^ mix((row + k) as u64)));
            }
        }
    }
    sum
}

/// SplitMix64's finaliser: a cheap, well-mixing 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn text(s: &str) -> VarLenUnicode {
    s.parse().expect("attribute text has no NUL")
}

/// Opens `path` for collective access by all ranks.
fn open_parallel(parallel: &Parallel, path: &Path, create: bool) -> hdf5::Result<hdf5::File> {
    let comm = parallel.raw();
    let mut builder = hdf5::File::with_options();
    builder.with_fapl(|p| p.mpio(comm, None));
    if create {
        builder.create(path)
    } else {
        builder.open(path)
    }
}

/// Writes a checkpoint of `fields` (name, rank's block) to `dir/file_name(...)`, atomically.
/// Collective: every rank calls it with the same header. Returns the final path.
pub fn write<T: Scalar + H5Type>(
    parallel: &Parallel,
    decomposition: &Decomposition,
    dir: &Path,
    header: &Header,
    fields: &[(&str, &Field<T>)],
) -> Result<PathBuf> {
    let path = dir.join(file_name(&header.simulation, header.step));
    let tmp = dir.join(format!(
        "{}.tmp",
        file_name(&header.simulation, header.step)
    ));
    let global = decomposition.grid().extents();
    let written = parallel.agree(write_file(
        parallel,
        decomposition,
        &tmp,
        header,
        fields,
        global,
    ));
    written?;
    // Every rank has closed the file: make it visible under its real name.
    let renamed = if parallel.is_root() {
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::io(format!("renaming {} into place", tmp.display()), e))
            .and_then(|_| {
                write_xdmf(
                    &path,
                    header,
                    T::XDMF_NUMBER_TYPE,
                    fields.iter().map(|f| f.0),
                )
            })
    } else {
        Ok(())
    };
    parallel.agree(renamed)?;
    Ok(path)
}

fn write_file<T: Scalar + H5Type>(
    parallel: &Parallel,
    decomposition: &Decomposition,
    tmp: &Path,
    header: &Header,
    fields: &[(&str, &Field<T>)],
    global: [usize; DIMS],
) -> Result<()> {
    let err = |what: &'static str| h5err(what, tmp);
    // Checksums first: they need collective reductions, which must not interleave with
    // HDF5's own collective calls.
    let sums: Vec<u64> = fields
        .iter()
        .map(|(_, f)| parallel.sum(local_checksum(f, global)))
        .collect();
    let file = open_parallel(parallel, tmp, true).map_err(err("creating"))?;
    let root_u64 = |name: &str, v: u64| -> hdf5::Result<()> {
        file.new_attr::<u64>().create(name)?.write_scalar(&v)
    };
    let root_text = |name: &str, v: &str| -> hdf5::Result<()> {
        file.new_attr::<VarLenUnicode>()
            .create(name)?
            .write_scalar(&text(v))
    };
    let root_array = |name: &str, v: &[f64]| -> hdf5::Result<()> {
        file.new_attr_builder()
            .with_data(v)
            .create(name)
            .map(|_| ())
    };
    let procs: Vec<u64> = decomposition.procs()[DIMS - header.shape.len()..]
        .iter()
        .map(|&p| p as u64)
        .collect();
    let shape: Vec<u64> = header.shape.iter().map(|&n| n as u64).collect();
    (|| -> hdf5::Result<()> {
        root_text("format", FORMAT)?;
        root_u64("format_version", FORMAT_VERSION)?;
        root_text("simulation", &header.simulation)?;
        root_u64("step", header.step)?;
        file.new_attr::<f64>()
            .create("time")?
            .write_scalar(&header.time)?;
        file.new_attr_builder()
            .with_data(&shape)
            .create("grid_shape")?;
        root_array("origin", &header.origin)?;
        root_array("spacing", &header.spacing)?;
        root_u64("nranks", parallel.size() as u64)?;
        file.new_attr_builder()
            .with_data(&procs)
            .create("process_grid")?;
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
    let group = file.create_group("fields").map_err(err("writing"))?;
    let dxpl = collective_transfer()?;
    for ((name, field), sum) in fields.iter().zip(sums) {
        let dset = group
            .new_dataset::<T>()
            .shape(header.shape.clone())
            .create(*name)
            .map_err(err("creating a dataset in"))?;
        dset.new_attr::<u64>()
            .create("checksum")
            .and_then(|a| a.write_scalar(&sum))
            .map_err(err("writing"))?;
        let (mem, fil) = spaces(field, &header.shape)?;
        let dtype = hdf5::Datatype::from_type::<T>().map_err(err("writing"))?;
        // SAFETY: `field` holds `shape()` cells of T and `mem` selects inside them.
        let rc = unsafe {
            H5Dwrite(
                dset.id(),
                dtype.id(),
                mem.0,
                fil.0,
                dxpl.0,
                field.as_slice().as_ptr().cast(),
            )
        };
        if rc < 0 {
            return Err(Error::io(
                format!("writing /fields/{name} to {}", tmp.display()),
                "H5Dwrite failed",
            ));
        }
    }
    drop(group);
    file.close().map_err(err("closing"))?;
    Ok(())
}

/// Writes the XDMF sidecar that lets ParaView and VisIt read the fields of `h5`.
/// `number_type` is XDMF's `(NumberType, Precision)` of the fields, e.g. `("Float", 8)`.
fn write_xdmf<'a>(
    h5: &Path,
    header: &Header,
    number_type: (&str, usize),
    names: impl Iterator<Item = &'a str>,
) -> Result<()> {
    let (number, precision) = number_type;
    let file = h5.file_name().unwrap().to_string_lossy();
    let dims = header
        .shape
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let n = header.shape.len();
    // XDMF's CoRectMesh wants 2 or 3 axes, slowest first.
    let (topo, geo, origin, spacing) = if n == 3 {
        (
            "3DCoRectMesh",
            "ORIGIN_DXDYDZ",
            header.origin.clone(),
            header.spacing.clone(),
        )
    } else {
        let mut o = header.origin.clone();
        let mut s = header.spacing.clone();
        let mut d = header.shape.clone();
        while d.len() < 2 {
            d.insert(0, 1);
            o.insert(0, 0.0);
            s.insert(0, 1.0);
        }
        ("2DCoRectMesh", "ORIGIN_DXDY", o, s)
    };
    let dims_topo = if n == 1 {
        format!("1 {dims}")
    } else {
        dims.clone()
    };
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" ?>\n<Xdmf Version=\"3.0\">\n <Domain>\n  <Grid Name=\"{sim}\" GridType=\"Uniform\">\n   <Time Value=\"{time:e}\"/>\n   <Topology TopologyType=\"{topo}\" Dimensions=\"{dims_topo}\"/>\n   <Geometry GeometryType=\"{geo}\">\n    <DataItem Format=\"XML\" Dimensions=\"{na}\">{o}</DataItem>\n    <DataItem Format=\"XML\" Dimensions=\"{na}\">{s}</DataItem>\n   </Geometry>\n",
        sim = header.simulation,
        time = header.time,
        na = origin.len(),
        o = fmt(&origin),
        s = fmt(&spacing),
    );
    for name in names {
        xml += &format!(
            "   <Attribute Name=\"{name}\" AttributeType=\"Scalar\" Center=\"Node\">\n    <DataItem Format=\"HDF\" NumberType=\"{number}\" Precision=\"{precision}\" Dimensions=\"{dims_topo}\">{file}:/fields/{name}</DataItem>\n   </Attribute>\n"
        );
    }
    xml += "  </Grid>\n </Domain>\n</Xdmf>\n";
    let xmf = h5.with_extension("xmf");
    std::fs::write(&xmf, xml).map_err(|e| Error::io(format!("writing {}", xmf.display()), e))
}

/// A checkpoint opened for restart by all ranks.
pub struct Checkpoint {
    file: hdf5::File,
    path: PathBuf,
    pub header: Header,
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
    /// checkpoints (missing, truncated, not HDF5, another format or version).
    pub fn open(parallel: &Parallel, path: &Path) -> Result<Checkpoint> {
        let bad = |m: String| Error::checkpoint(path, m);
        if !path.is_file() {
            return Err(bad("no such file".into()));
        }
        let file = open_parallel(parallel, path, false)
            .map_err(|_| bad("not a readable HDF5 file (truncated or corrupt?)".into()))?;
        let format = attr_text(&file, "format").unwrap_or_default();
        if format != FORMAT {
            return Err(bad(format!(
                "not a {FORMAT} file (no 'format' attribute saying so)"
            )));
        }
        let version = attr_u64(&file, "format_version").map_err(|e| bad(e.to_string()))?;
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version}, this build reads {FORMAT_VERSION}"
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
                shape: file
                    .attr("grid_shape")?
                    .read_raw::<u64>()?
                    .iter()
                    .map(|&n| n as usize)
                    .collect(),
                origin: file.attr("origin")?.read_raw::<f64>()?,
                spacing: file.attr("spacing")?.read_raw::<f64>()?,
                parameters,
            })
        })()
        .map_err(|e| bad(format!("unreadable header ({e})")))?;
        Ok(Checkpoint {
            file,
            path: path.to_path_buf(),
            header,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the file was written by `simulation` on a grid of `shape` with the same
    /// `parameters`, naming the first thing that differs.
    pub fn check_matches(
        &self,
        simulation: &str,
        shape: &[usize],
        parameters: &[(String, Param)],
    ) -> Result<()> {
        let h = &self.header;
        let bad = |m: String| Err(Error::checkpoint(&self.path, m));
        if h.simulation != simulation {
            return bad(format!(
                "written by simulation '{}', not '{simulation}'",
                h.simulation
            ));
        }
        if h.shape != shape {
            return bad(format!(
                "grid is {} but this run's --size is {}",
                crate::partition::join_x(&h.shape),
                crate::partition::join_x(shape)
            ));
        }
        for (name, want) in parameters {
            match h.parameters.iter().find(|(n, _)| n == name) {
                None => return bad(format!("has no parameter '{name}'")),
                Some((_, got)) if got != want => {
                    return bad(format!(
                        "was run with {name} = {got}, this run has {name} = {want}"
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads dataset `/fields/NAME` into the owned cells of `field` (this rank's hyperslab)
    /// and verifies the dataset's checksum. Collective.
    pub fn read_field<T: Scalar + H5Type>(
        &self,
        parallel: &Parallel,
        name: &str,
        field: &mut Field<T>,
    ) -> Result<()> {
        let bad = |m: String| Error::checkpoint(&self.path, m);
        let dset = self
            .file
            .dataset(&format!("fields/{name}"))
            .map_err(|_| bad(format!("has no dataset /fields/{name}")))?;
        if dset.shape() != self.header.shape {
            return Err(bad(format!(
                "/fields/{name} has shape {:?}, the header says {:?}",
                dset.shape(),
                self.header.shape
            )));
        }
        let stored = attr_u64(&dset, "checksum")
            .map_err(|_| bad(format!("/fields/{name} has no checksum")))?;
        let (mem, fil) = spaces(field, &self.header.shape)?;
        let dtype = hdf5::Datatype::from_type::<T>().map_err(|e| bad(e.to_string()))?;
        let dxpl = collective_transfer()?;
        // SAFETY: `field` holds `shape()` cells of T and `mem` selects inside them.
        let rc = unsafe {
            H5Dread(
                dset.id(),
                dtype.id(),
                mem.0,
                fil.0,
                dxpl.0,
                field.as_slice_mut().as_mut_ptr().cast(),
            )
        };
        // every rank must reach the checksum reduction, so report a failed read after it
        let mut global = [1; DIMS];
        global[DIMS - self.header.shape.len()..].copy_from_slice(&self.header.shape);
        let sum = parallel.sum(if rc < 0 {
            0
        } else {
            local_checksum(field, global)
        });
        let failed = parallel.max(if rc < 0 { 1.0 } else { 0.0 }) > 0.0;
        if failed {
            return Err(bad(format!(
                "/fields/{name} cannot be read (truncated or corrupt?)"
            )));
        }
        if sum != stored {
            return Err(bad(format!(
                "/fields/{name} fails its integrity check (checksum {sum:#018x}, stored {stored:#018x}): the data is corrupt"
            )));
        }
        Ok(())
    }
}
