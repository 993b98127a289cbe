//! Reading layer weights out of the three HDF5 layouts Keras writes.
//!
//! - tf.keras 2 `.h5` and Keras 3 legacy `.h5`: the group
//!   `model_weights/<layer>` carries an attribute `weight_names` whose entries
//!   are dataset paths relative to that group (`conv/kernel:0`, or in Keras 3
//!   `sequential/conv/kernel`); the last path component names the weight.
//! - Keras 3 `.keras` (`model.weights.h5` inside the zip): datasets
//!   `layers/<group>/vars/0, 1, ...`. The group is named after the layer's
//!   *class* (`conv2d`, `conv2d_1`, ...), not the layer; the `vars` group's
//!   attribute `name` holds the layer name, and that is what we match on.
//!   Within a layer the numbering is the layer's creation order, which Keras
//!   fixes per layer type (kernel then bias; gamma, beta, moving_mean,
//!   moving_variance): that order is the format's definition.

use std::collections::HashMap;

use hdf5_reader::group::Group;
use hdf5_reader::{Dataset, Hdf5File};
use ndarray::ArrayD;

/// The arrays one layer stores, as the file identifies them.
#[derive(Debug)]
pub enum StoredWeights {
    /// Named weights (`.h5` layouts), in file order.
    Named(Vec<(String, ArrayD<f32>)>),
    /// Numbered weights (`.keras`), in creation order.
    Numbered(Vec<ArrayD<f32>>),
}

impl StoredWeights {
    /// The arrays for `names`, in that order, or why they cannot be had.
    /// Extra stored weights are an error too: they mean the layer has state
    /// snncc would silently ignore.
    pub fn take(self, names: &[&str]) -> Result<Vec<ArrayD<f32>>, String> {
        match self {
            StoredWeights::Numbered(arrays) => {
                if arrays.len() != names.len() {
                    return Err(format!(
                        "the file stores {} weight arrays, the layer config implies {} ({})",
                        arrays.len(),
                        names.len(),
                        names.join(", ")
                    ));
                }
                Ok(arrays)
            }
            StoredWeights::Named(mut named) => {
                let found: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
                let mut out = Vec::with_capacity(names.len());
                for want in names {
                    let pos = named.iter().position(|(n, _)| n == want).ok_or_else(|| {
                        format!(
                            "weight '{want}' not found in the file (it has: {})",
                            if found.is_empty() {
                                "none".into()
                            } else {
                                found.join(", ")
                            }
                        )
                    })?;
                    out.push(named.remove(pos).1);
                }
                if let Some((extra, _)) = named.first() {
                    return Err(format!(
                        "the file stores a weight '{extra}' the layer config does not explain"
                    ));
                }
                Ok(out)
            }
        }
    }
}

/// Where the weights of a model live inside an open HDF5 file.
pub enum WeightLayout {
    /// `.h5`: layer groups under this path, each with `weight_names`.
    NamedGroups { root: String },
    /// `.keras`: layer name -> path of its `vars` group.
    NumberedVars {
        vars_by_layer: HashMap<String, String>,
    },
}

impl WeightLayout {
    /// Index the `layers/*/vars` groups of a `.keras` weights file by the
    /// layer name each records. Groups without the attribute (older Keras 3
    /// releases) are indexed by their own name.
    pub fn numbered_vars(file: &Hdf5File) -> Result<WeightLayout, String> {
        let mut vars_by_layer = HashMap::new();
        let Ok(layers) = file.group("layers") else {
            return Ok(WeightLayout::NumberedVars { vars_by_layer });
        };
        let (groups, _) = layers
            .member_names()
            .map_err(|e| format!("cannot list the 'layers' group: {e}"))?;
        for group in groups {
            let path = format!("layers/{group}/vars");
            let name = file
                .group(&path)
                .ok()
                .and_then(|g| attr_strings(&g, "name"))
                .and_then(|names| names.into_iter().next())
                .unwrap_or_else(|| group.clone());
            vars_by_layer.insert(name, path);
        }
        Ok(WeightLayout::NumberedVars { vars_by_layer })
    }
}

/// Read all weights of layer `layer`. A layer without a group stores no
/// weights (Keras omits groups of weightless layers in `.keras` files).
pub fn read_layer(
    file: &Hdf5File,
    layout: &WeightLayout,
    layer: &str,
) -> Result<StoredWeights, String> {
    match layout {
        WeightLayout::NamedGroups { root } => {
            let path = format!("{root}/{layer}");
            let Ok(group) = file.group(&path) else {
                return Ok(StoredWeights::Named(Vec::new()));
            };
            let names = attr_strings(&group, "weight_names").unwrap_or_default();
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let ds = file
                    .dataset(&format!("{path}/{name}"))
                    .map_err(|e| format!("cannot open weight dataset '{path}/{name}': {e}"))?;
                let short = name
                    .rsplit('/')
                    .next()
                    .unwrap_or(&name)
                    .trim_end_matches(":0")
                    .to_string();
                out.push((short, read_f32(&ds, &name)?));
            }
            Ok(StoredWeights::Named(out))
        }
        WeightLayout::NumberedVars { vars_by_layer } => {
            let Some(vars) = vars_by_layer.get(layer).and_then(|p| file.group(p).ok()) else {
                return Ok(StoredWeights::Numbered(Vec::new()));
            };
            let (_, datasets) = vars
                .member_names()
                .map_err(|e| format!("cannot list the weights of layer '{layer}': {e}"))?;
            let mut numbered: Vec<(usize, String)> = Vec::new();
            for name in datasets {
                let index = name.parse::<usize>().map_err(|_| {
                    format!("unexpected weight dataset '{name}' (expected 0, 1, ...)")
                })?;
                numbered.push((index, name));
            }
            numbered.sort();
            if numbered.iter().enumerate().any(|(i, (n, _))| i != *n) {
                return Err("weight datasets are not numbered 0..n without gaps".into());
            }
            let mut out = Vec::with_capacity(numbered.len());
            for (_, name) in numbered {
                let ds = vars
                    .dataset(&name)
                    .map_err(|e| format!("cannot open weight dataset vars/{name}: {e}"))?;
                out.push(read_f32(&ds, &format!("vars/{name}"))?);
            }
            Ok(StoredWeights::Numbered(out))
        }
    }
}

/// A float dataset as f32. Keras stores float32; float64 is narrowed, float16
/// (mixed-precision models) is refused because hdf5-reader cannot decode it.
fn read_f32(ds: &Dataset, what: &str) -> Result<ArrayD<f32>, String> {
    match ds.dtype() {
        hdf5_reader::Datatype::FloatingPoint { size: 4, .. } => ds
            .read_array::<f32>()
            .map_err(|e| format!("cannot read weight '{what}': {e}")),
        hdf5_reader::Datatype::FloatingPoint { size: 8, .. } => ds
            .read_array::<f64>()
            .map(|a| a.mapv(|v| v as f32))
            .map_err(|e| format!("cannot read weight '{what}': {e}")),
        hdf5_reader::Datatype::FloatingPoint { size: 2, .. } => Err(format!(
            "weight '{what}' is float16 (a mixed-precision model); re-save it with float32 weights"
        )),
        other => Err(format!("weight '{what}' has non-float type {other:?}")),
    }
}

/// A string or string-list attribute of a group.
pub fn attr_strings(group: &Group, name: &str) -> Option<Vec<String>> {
    let attr = group.attribute(name).ok()?;
    attr.read_strings()
        .ok()
        .or_else(|| attr.read_string().ok().map(|s| vec![s]))
}
