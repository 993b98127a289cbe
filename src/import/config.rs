//! The Keras model config (the JSON in `model_config` / `config.json`) read
//! into a flat list of layer specs with their producers.
//!
//! Two dialects exist: tf.keras 2 writes inbound nodes as
//! `[[["producer", 0, 0, {}], ...]]`; Keras 3 writes
//! `[{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history":
//! ["producer", 0, 0]}}], "kwargs": {}}]`. Sequential models list no inbound
//! nodes at all; each layer reads the previous one.

use serde_json::Value;

use super::ImportError;

/// One layer as the config describes it, before its weights are attached.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    pub name: String,
    pub class_name: String,
    /// The layer's own `config` object.
    pub config: Value,
    /// Names of the layers whose outputs this layer reads, in argument order.
    pub inbound: Vec<String>,
    /// Set when the layer is called more than once (shared weights), which
    /// snncc does not support; the number of calls.
    pub calls: usize,
}

/// The model's layers, in the config's order, and its input and output.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: String,
    pub layers: Vec<LayerSpec>,
    /// Input shape (without the batch axis) when the model declares it
    /// outside an InputLayer (Sequential `build_input_shape`, or
    /// `batch_input_shape` on the first layer of a tf.keras 2 Sequential).
    pub declared_input: Option<Vec<Option<usize>>>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

/// Parse the top-level model config JSON text.
pub fn parse_model_config(text: &str, file: &str) -> Result<ModelSpec, ImportError> {
    let root: Value = serde_json::from_str(text).map_err(|e| ImportError::Config {
        file: file.into(),
        reason: format!("model config is not valid JSON: {e}"),
    })?;
    let bad = |reason: String| ImportError::Config {
        file: file.into(),
        reason,
    };
    let class = root
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("model config has no 'class_name'".into()))?;
    let config = root
        .get("config")
        .ok_or_else(|| bad("model config has no 'config' object".into()))?;
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model")
        .to_string();
    // A Sequential config is either {"layers": [...]} (tf.keras >= 2.2,
    // Keras 3) or, in very old files, the bare list of layers.
    let layers_json = config
        .get("layers")
        .or(if config.is_array() {
            Some(config)
        } else {
            None
        })
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("{class} config has no 'layers' list")))?;

    match class {
        "Sequential" => parse_sequential(name, config, &root, layers_json, &bad),
        "Functional" | "Model" => parse_functional(name, config, layers_json, &bad),
        other => Err(bad(format!(
            "top-level model class '{other}' is not supported (expected Sequential or a Functional model; subclassed models carry no graph)"
        ))),
    }
}

fn layer_name(layer: &Value, index: usize) -> String {
    layer
        .get("config")
        .and_then(|c| c.get("name"))
        .or_else(|| layer.get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("<layer #{index}>"), str::to_string)
}

fn class_name(layer: &Value) -> String {
    layer
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("<missing class_name>")
        .to_string()
}

fn parse_sequential(
    name: String,
    config: &Value,
    root: &Value,
    layers_json: &[Value],
    bad: &dyn Fn(String) -> ImportError,
) -> Result<ModelSpec, ImportError> {
    let mut layers = Vec::with_capacity(layers_json.len() + 1);
    for (i, layer) in layers_json.iter().enumerate() {
        let spec = LayerSpec {
            name: layer_name(layer, i),
            class_name: class_name(layer),
            config: layer.get("config").cloned().unwrap_or(Value::Null),
            inbound: layers
                .last()
                .map(|p: &LayerSpec| vec![p.name.clone()])
                .unwrap_or_default(),
            calls: 1,
        };
        layers.push(spec);
    }
    if layers.is_empty() {
        return Err(bad("the Sequential model has no layers".into()));
    }
    // Without an InputLayer the input shape lives on the first layer
    // (tf.keras 2: batch_input_shape) or on the model (build_input_shape).
    let declared_input = if layers[0].class_name == "InputLayer" {
        None
    } else {
        [
            layers[0].config.get("batch_input_shape"),
            layers[0].config.get("batch_shape"),
            config.get("build_input_shape"),
            root.get("build_config").and_then(|b| b.get("input_shape")),
        ]
        .into_iter()
        .flatten()
        .find_map(batch_shape)
    };
    let inputs = vec![layers[0].name.clone()];
    let outputs = vec![layers[layers.len() - 1].name.clone()];
    Ok(ModelSpec {
        name,
        layers,
        declared_input,
        inputs,
        outputs,
    })
}

fn parse_functional(
    name: String,
    config: &Value,
    layers_json: &[Value],
    bad: &dyn Fn(String) -> ImportError,
) -> Result<ModelSpec, ImportError> {
    let mut layers = Vec::with_capacity(layers_json.len());
    for (i, layer) in layers_json.iter().enumerate() {
        let name = layer_name(layer, i);
        let nodes = layer
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let inbound = match nodes.first() {
            None => Vec::new(),
            Some(node) => {
                let mut names = Vec::new();
                collect_producers(node, &mut names);
                if names.is_empty() {
                    return Err(bad(format!(
                        "layer '{name}': cannot read its inbound node {node}"
                    )));
                }
                names
            }
        };
        layers.push(LayerSpec {
            name,
            class_name: class_name(layer),
            config: layer.get("config").cloned().unwrap_or(Value::Null),
            inbound,
            calls: nodes.len().max(1),
        });
    }
    let endpoints = |key: &str| -> Result<Vec<String>, ImportError> {
        let v = config
            .get(key)
            .ok_or_else(|| bad(format!("Functional config has no '{key}'")))?;
        let mut names = Vec::new();
        collect_endpoints(v, &mut names);
        if names.is_empty() {
            return Err(bad(format!("cannot read '{key}' = {v}")));
        }
        Ok(names)
    };
    Ok(ModelSpec {
        name,
        layers,
        declared_input: None,
        inputs: endpoints("input_layers")?,
        outputs: endpoints("output_layers")?,
    })
}

/// Producer layer names of one inbound node, in argument order, from either
/// dialect (see the module comment).
fn collect_producers(node: &Value, out: &mut Vec<String>) {
    match node {
        // tf.keras 2: [["name", node_index, tensor_index, {kwargs}], ...]
        Value::Array(items) => {
            if let [Value::String(name), Value::Number(_), ..] = items.as_slice() {
                out.push(name.clone());
            } else {
                for item in items {
                    collect_producers(item, out);
                }
            }
        }
        // Keras 3: {"args": [...], "kwargs": {...}} with keras tensors inside.
        Value::Object(map) => {
            if let Some(history) = map
                .get("config")
                .and_then(|c| c.get("keras_history"))
                .and_then(Value::as_array)
            {
                if let Some(Value::String(name)) = history.first() {
                    out.push(name.clone());
                }
            } else if let Some(args) = map.get("args") {
                collect_producers(args, out);
            }
        }
        _ => {}
    }
}

/// Layer names in `input_layers` / `output_layers`: either `["name", 0, 0]`
/// or a list of such triples.
fn collect_endpoints(v: &Value, out: &mut Vec<String>) {
    if let Some(items) = v.as_array() {
        if let Some(Value::String(name)) = items.first() {
            out.push(name.clone());
        } else {
            for item in items {
                collect_endpoints(item, out);
            }
        }
    }
}

/// A Keras batch shape `[null, 28, 28, 1]` without its batch axis.
pub fn batch_shape(v: &Value) -> Option<Vec<Option<usize>>> {
    let items = v.as_array()?;
    let dims: Vec<Option<usize>> = items
        .iter()
        .skip(1)
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect();
    (!dims.is_empty()).then_some(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tf2_functional_inbound_nodes() {
        let json = r#"{"class_name":"Functional","config":{"name":"m","layers":[
            {"class_name":"InputLayer","name":"in","config":{"name":"in","batch_input_shape":[null,4,4,1]},"inbound_nodes":[]},
            {"class_name":"ReLU","name":"a","config":{"name":"a"},"inbound_nodes":[[["in",0,0,{}]]]},
            {"class_name":"Add","name":"s","config":{"name":"s"},"inbound_nodes":[[["a",0,0,{}],["in",0,0,{}]]]}
            ],"input_layers":[["in",0,0]],"output_layers":[["s",0,0]]}}"#;
        let spec = parse_model_config(json, "m.h5").unwrap();
        assert_eq!(spec.layers[2].inbound, vec!["a", "in"]);
        assert_eq!(spec.inputs, vec!["in"]);
        assert_eq!(spec.outputs, vec!["s"]);
    }

    #[test]
    fn reads_keras3_functional_inbound_nodes() {
        let t = |n: &str| {
            format!(
                r#"{{"class_name":"__keras_tensor__","config":{{"shape":[null,4],"dtype":"float32","keras_history":["{n}",0,0]}}}}"#
            )
        };
        let json = format!(
            r#"{{"class_name":"Functional","config":{{"name":"m","layers":[
            {{"class_name":"InputLayer","name":"in","config":{{"name":"in","batch_shape":[null,4]}},"inbound_nodes":[]}},
            {{"class_name":"ReLU","name":"a","config":{{"name":"a"}},"inbound_nodes":[{{"args":[{}],"kwargs":{{}}}}]}},
            {{"class_name":"Add","name":"s","config":{{"name":"s"}},"inbound_nodes":[{{"args":[[{},{}]],"kwargs":{{}}}}]}}
            ],"input_layers":["in",0,0],"output_layers":["s",0,0]}}}}"#,
            t("in"),
            t("a"),
            t("in")
        );
        let spec = parse_model_config(&json, "m.keras").unwrap();
        assert_eq!(spec.layers[1].inbound, vec!["in"]);
        assert_eq!(spec.layers[2].inbound, vec!["a", "in"]);
        assert_eq!(spec.inputs, vec!["in"]);
    }

    #[test]
    fn sequential_without_input_layer_takes_batch_input_shape() {
        let json = r#"{"class_name":"Sequential","config":{"name":"s","layers":[
            {"class_name":"Dense","config":{"name":"d","units":2,"batch_input_shape":[null,3]}}]}}"#;
        let spec = parse_model_config(json, "s.h5").unwrap();
        assert_eq!(spec.declared_input, Some(vec![Some(3)]));
    }

    #[test]
    fn bad_json_names_the_file() {
        let err = parse_model_config("{", "x.h5").unwrap_err();
        assert!(err.to_string().contains("x.h5"), "{err}");
    }
}
