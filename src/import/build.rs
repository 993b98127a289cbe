//! Assemble an `ir::Graph` from a parsed config and a weight reader.

use std::collections::HashMap;

use super::config::{parse_model_config, ModelSpec};
use super::layers::{build_op, plan_layer, LayerPlan};
use super::weights::StoredWeights;
use super::{ImportError, LayerProblem};
use crate::ir::{Activation, Graph, NodeId, Shape};

/// Keras class name of every layer, by layer name (for reports).
pub type LayerClasses = HashMap<String, String>;

/// Reads the stored weights of one layer by name; `Err` is a reason.
pub type WeightReader<'a> = dyn Fn(&str) -> Result<StoredWeights, String> + 'a;

/// Build the graph for a model config (JSON text) whose weights come from
/// `read_weights`. `file` names the source in every error.
///
/// Every layer is checked for support first, and all problems are reported
/// in one error before a single weight is read.
pub fn build_graph(
    config_json: &str,
    file: &str,
    read_weights: &WeightReader,
) -> Result<(Graph, LayerClasses), ImportError> {
    let spec = parse_model_config(config_json, file)?;
    let mut classes: LayerClasses = spec
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.class_name.clone()))
        .collect();
    let plans = plan_all(&spec, file)?;
    let layer_err = |layer: &str, reason: String| ImportError::Layer {
        file: file.into(),
        layer: layer.into(),
        reason,
    };

    // The input node: an InputLayer, or a synthetic one for Sequential
    // models that declare the shape on their first layer.
    let input_layer = &spec.inputs[0];
    let (input_name, input_dims, synthetic) = match plans.get(input_layer.as_str()) {
        Some(LayerPlan::Input(dims)) => (input_layer.clone(), dims.clone(), false),
        _ => {
            let dims = spec.declared_input.clone().ok_or_else(|| ImportError::Config {
                file: file.into(),
                reason: "the model declares no input shape (no InputLayer, no batch_input_shape); build it with keras.Input before saving".into(),
            })?;
            (unique_input_name(&spec), dims, true)
        }
    };
    let input_shape = input_shape(&input_dims).map_err(|r| layer_err(&input_name, r))?;
    let mut graph = Graph::new(spec.name.clone(), input_name.clone(), input_shape);
    classes
        .entry(input_name.clone())
        .or_insert_with(|| "InputLayer".into());
    let mut ids: HashMap<String, NodeId> = HashMap::new();
    ids.insert(input_name.clone(), 0);

    // Add layers as soon as all their producers exist, so a config listed in
    // any order still yields a topological graph.
    let mut pending: Vec<&super::config::LayerSpec> = spec
        .layers
        .iter()
        .filter(|l| !matches!(plans.get(l.name.as_str()), Some(LayerPlan::Input(_))))
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for layer in pending {
            let producers: Option<Vec<NodeId>> = if synthetic && layer.inbound.is_empty() {
                Some(vec![0])
            } else {
                layer.inbound.iter().map(|p| ids.get(p).copied()).collect()
            };
            let Some(inputs) = producers else {
                rest.push(layer);
                continue;
            };
            let plan = &plans[layer.name.as_str()];
            let stored = read_weights(&layer.name).map_err(|r| layer_err(&layer.name, r))?;
            let op = build_op(plan, stored).map_err(|r| layer_err(&layer.name, r))?;
            for (what, values) in op.weight_arrays() {
                check_finite(values)
                    .map_err(|r| layer_err(&layer.name, format!("weight '{what}' {r}")))?;
            }
            let id =
                graph
                    .add(layer.name.clone(), op, inputs)
                    .map_err(|e| ImportError::Config {
                        file: file.into(),
                        reason: e.to_string(),
                    })?;
            ids.insert(layer.name.clone(), id);
        }
        if rest.len() == before {
            let names: Vec<String> = rest
                .iter()
                .map(|l| format!("'{}' (reads {})", l.name, l.inbound.join(", ")))
                .collect();
            return Err(ImportError::Config {
                file: file.into(),
                reason: format!(
                    "layers whose inputs never appear (a cycle or a missing layer): {}",
                    names.join("; ")
                ),
            });
        }
        pending = rest;
    }
    let output = &spec.outputs[0];
    let out_id = *ids.get(output).ok_or_else(|| ImportError::Config {
        file: file.into(),
        reason: format!("output layer '{output}' is not a layer of the model"),
    })?;
    graph.set_output(out_id);
    Ok((graph, classes))
}

/// Every layer with its problems (an empty reason list means convertible),
/// plus model-level problems under the model's name.
pub fn survey(config_json: &str, file: &str) -> Result<Vec<LayerProblem>, ImportError> {
    let spec = parse_model_config(config_json, file)?;
    let problems = match plan_all(&spec, file) {
        Ok(_) => Vec::new(),
        Err(ImportError::Unsupported { problems, .. }) => problems,
        Err(other) => return Err(other),
    };
    let mut out: Vec<LayerProblem> = problems
        .iter()
        .filter(|p| p.class_name == "Model")
        .cloned()
        .collect();
    for layer in &spec.layers {
        let mine: Vec<&LayerProblem> = problems
            .iter()
            .filter(|p| p.layer == layer.name && p.class_name == layer.class_name)
            .collect();
        if mine.is_empty() {
            out.push(LayerProblem {
                layer: layer.name.clone(),
                class_name: layer.class_name.clone(),
                reason: String::new(),
            });
        } else {
            out.extend(mine.into_iter().cloned());
        }
    }
    Ok(out)
}

/// Plan every layer; collect every problem, including model-level ones.
fn plan_all<'s>(
    spec: &'s ModelSpec,
    file: &str,
) -> Result<HashMap<&'s str, LayerPlan>, ImportError> {
    let mut problems = Vec::new();
    let mut plans = HashMap::new();
    let model_problem = |reason: String| LayerProblem {
        layer: spec.name.clone(),
        class_name: "Model".into(),
        reason,
    };
    if spec.inputs.len() != 1 {
        problems.push(model_problem(format!(
            "the model has {} inputs ({}); snncc compiles single-input models",
            spec.inputs.len(),
            spec.inputs.join(", ")
        )));
    }
    if spec.outputs.len() != 1 {
        problems.push(model_problem(format!(
            "the model has {} outputs ({}); snncc compiles single-output models",
            spec.outputs.len(),
            spec.outputs.join(", ")
        )));
    }
    for layer in &spec.layers {
        match plan_layer(layer) {
            Ok(plan) => {
                // Softmax is argmax-invariant only at the very end; inside the
                // network it has no spiking equivalent.
                if plan.activation() == Some(Activation::Softmax)
                    && !spec.outputs.contains(&layer.name)
                {
                    problems.push(LayerProblem {
                        layer: layer.name.clone(),
                        class_name: layer.class_name.clone(),
                        reason: "softmax in a hidden layer is not supported (only as the model's output)".into(),
                    });
                }
                plans.insert(layer.name.as_str(), plan);
            }
            Err(reasons) => problems.extend(reasons.into_iter().map(|reason| LayerProblem {
                layer: layer.name.clone(),
                class_name: layer.class_name.clone(),
                reason,
            })),
        }
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(ImportError::Unsupported {
            file: file.into(),
            problems,
        })
    }
}

fn unique_input_name(spec: &ModelSpec) -> String {
    let mut name = "input".to_string();
    while spec.layers.iter().any(|l| l.name == name) {
        name.push('_');
    }
    name
}

fn input_shape(dims: &[Option<usize>]) -> Result<Shape, String> {
    let known: Option<Vec<usize>> = dims.iter().copied().collect();
    match known.as_deref() {
        Some(&[h, w, c]) if h > 0 && w > 0 && c > 0 => Ok(Shape::Map { h, w, c }),
        Some(&[n]) if n > 0 => Ok(Shape::Vector { n }),
        Some(other) => Err(format!(
            "input shape {other:?} is not supported (need H x W x C or a flat vector)"
        )),
        None => Err(format!(
            "input shape {dims:?} has unknown dimensions; snncc needs a fixed input size"
        )),
    }
}

/// `Err` describes the first NaN or infinity and how many there are.
fn check_finite(values: &[f32]) -> Result<(), String> {
    let bad = values.iter().filter(|v| !v.is_finite()).count();
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(format!(
            "contains {bad} non-finite value(s) (first: {} at flat index {i}); the model cannot be compiled",
            values[i]
        )),
    }
}
