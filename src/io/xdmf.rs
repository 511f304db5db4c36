//! XDMF sidecars (`NAME.xmf` beside `NAME.h5`): a few lines of XML that tell ParaView and
//! VisIt what the HDF5 datasets of a checkpoint are. Grid fields are node-centred
//! attributes of a uniform (co-rectilinear) mesh; particles are a `Polyvertex` point set
//! with per-particle attributes.

use crate::error::{Error, Result};
use std::path::Path;

/// One dataset shown as an attribute: its name, path in the file, XDMF number type
/// (`("Float", 8)`) and components per point or cell (1 scalar, 3 vector).
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub dataset: String,
    pub number_type: (&'static str, usize),
    pub components: usize,
}

/// What the checkpoint holds, for viewers.
#[derive(Clone, Debug, PartialEq)]
pub enum Sidecar {
    /// Fields on a uniform grid of `shape` points (1 to 3 axes, slowest first) with the
    /// first point at `origin` and `spacing` between points.
    UniformGrid {
        shape: Vec<usize>,
        origin: Vec<f64>,
        spacing: Vec<f64>,
        fields: Vec<Attribute>,
    },
    /// `count` points whose coordinates are the `count x 3` dataset `positions`.
    Points {
        count: usize,
        positions: Attribute,
        attributes: Vec<Attribute>,
    },
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:e}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn data_item(file: &str, a: &Attribute, dims: &str) -> String {
    let (number, precision) = a.number_type;
    format!(
        "<DataItem Format=\"HDF\" NumberType=\"{number}\" Precision=\"{precision}\" Dimensions=\"{dims}\">{file}:/{}</DataItem>",
        a.dataset
    )
}

/// The XML of `sidecar` for the checkpoint file named `file` of `simulation` at `time`.
pub fn xml(file: &str, simulation: &str, time: f64, sidecar: &Sidecar) -> String {
    let head = format!(
        "<?xml version=\"1.0\" ?>\n<Xdmf Version=\"3.0\">\n <Domain>\n  <Grid Name=\"{simulation}\" GridType=\"Uniform\">\n   <Time Value=\"{time:e}\"/>\n"
    );
    let mut xml = head;
    match sidecar {
        Sidecar::UniformGrid {
            shape,
            origin,
            spacing,
            fields,
        } => {
            let dims = shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            // XDMF's CoRectMesh wants 2 or 3 axes, slowest first.
            let (topo, geo, o, s) = if shape.len() == 3 {
                (
                    "3DCoRectMesh",
                    "ORIGIN_DXDYDZ",
                    origin.clone(),
                    spacing.clone(),
                )
            } else {
                let (mut o, mut s) = (origin.clone(), spacing.clone());
                while o.len() < 2 {
                    o.insert(0, 0.0);
                    s.insert(0, 1.0);
                }
                ("2DCoRectMesh", "ORIGIN_DXDY", o, s)
            };
            let dims = if shape.len() == 1 {
                format!("1 {dims}")
            } else {
                dims
            };
            xml += &format!(
                "   <Topology TopologyType=\"{topo}\" Dimensions=\"{dims}\"/>\n   <Geometry GeometryType=\"{geo}\">\n    <DataItem Format=\"XML\" Dimensions=\"{na}\">{o}</DataItem>\n    <DataItem Format=\"XML\" Dimensions=\"{na}\">{s}</DataItem>\n   </Geometry>\n",
                na = o.len(),
                o = list(&o),
                s = list(&s),
            );
            for f in fields {
                xml += &format!(
                    "   <Attribute Name=\"{}\" AttributeType=\"Scalar\" Center=\"Node\">\n    {}\n   </Attribute>\n",
                    f.name,
                    data_item(file, f, &dims)
                );
            }
        }
        Sidecar::Points {
            count,
            positions,
            attributes,
        } => {
            xml += &format!(
                "   <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"{count}\"/>\n   <Geometry GeometryType=\"XYZ\">\n    {}\n   </Geometry>\n",
                data_item(file, positions, &format!("{count} 3"))
            );
            for a in attributes {
                let (kind, dims) = match a.components {
                    1 => ("Scalar", count.to_string()),
                    c => ("Vector", format!("{count} {c}")),
                };
                xml += &format!(
                    "   <Attribute Name=\"{}\" AttributeType=\"{kind}\" Center=\"Node\">\n    {}\n   </Attribute>\n",
                    a.name,
                    data_item(file, a, &dims)
                );
            }
        }
    }
    xml += "  </Grid>\n </Domain>\n</Xdmf>\n";
    xml
}

/// Writes the sidecar of checkpoint `h5` (`NAME.h5` -> `NAME.xmf`).
pub fn write(h5: &Path, simulation: &str, time: f64, sidecar: &Sidecar) -> Result<()> {
    let file = h5
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let xmf = h5.with_extension("xmf");
    std::fs::write(&xmf, xml(&file, simulation, time, sidecar))
        .map_err(|e| Error::io(format!("writing {}", xmf.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, dataset: &str, components: usize) -> Attribute {
        Attribute {
            name: name.into(),
            dataset: dataset.into(),
            number_type: ("Float", 8),
            components,
        }
    }

    #[test]
    fn uniform_grids_pad_to_two_axes() {
        let x = xml(
            "heat_00000010.h5",
            "heat",
            0.5,
            &Sidecar::UniformGrid {
                shape: vec![8],
                origin: vec![0.25],
                spacing: vec![0.5],
                fields: vec![attr("u", "fields/u", 1)],
            },
        );
        assert!(x.contains("TopologyType=\"2DCoRectMesh\" Dimensions=\"1 8\""));
        assert!(x.contains(">0e0 2.5e-1</DataItem>"));
        assert!(x.contains("Dimensions=\"1 8\">heat_00000010.h5:/fields/u</DataItem>"));
    }

    #[test]
    fn points_are_a_polyvertex_with_scalar_and_vector_attributes() {
        let x = xml(
            "md_00000100.h5",
            "md",
            1.0,
            &Sidecar::Points {
                count: 4,
                positions: attr("position", "particles/position", 3),
                attributes: vec![
                    attr("velocity", "particles/velocity", 3),
                    Attribute {
                        number_type: ("UInt", 8),
                        ..attr("id", "particles/id", 1)
                    },
                ],
            },
        );
        assert!(x.contains("TopologyType=\"Polyvertex\" NumberOfElements=\"4\""));
        assert!(x.contains("GeometryType=\"XYZ\""));
        assert!(x.contains("Dimensions=\"4 3\">md_00000100.h5:/particles/position"));
        assert!(x.contains("AttributeType=\"Vector\""));
        assert!(x.contains(
            "NumberType=\"UInt\" Precision=\"8\" Dimensions=\"4\">md_00000100.h5:/particles/id"
        ));
    }
}
