//! `snncc inspect MODEL`: the layer table.

use anyhow::Context;
use serde_json::json;
use snncc::import::{self, ImportError, ImportedModel};
use snncc::ir::{Activation, Graph, Node, Op};
use snncc::report::Table;
use snncc::snn::{self, Neurons, Source};

use super::InspectArgs;

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    if snn::is_net_dir(&args.model) {
        return inspect_net(args);
    }
    match import::load_model(&args.model) {
        Ok(model) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&model_json(args, &model))?
                );
            } else {
                print!("{}", model_table(args, &model));
            }
            Ok(())
        }
        Err(ImportError::Unsupported { problems, file }) => {
            let survey = import::survey(&args.model)
                .with_context(|| format!("cannot list the layers of {file}"))?;
            if args.json {
                let layers: Vec<_> = survey
                    .iter()
                    .map(|p| {
                        json!({"name": p.layer, "type": p.class_name,
                               "convertible": p.reason.is_empty(), "reason": p.reason})
                    })
                    .collect();
                let doc = json!({"model": args.model, "convertible": false, "layers": layers});
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                let mut table = Table::new(["layer", "type", "convertible"]);
                for p in &survey {
                    let verdict = if p.reason.is_empty() {
                        "yes".to_string()
                    } else {
                        format!("NO: {}", p.reason)
                    };
                    table.row([p.layer.clone(), p.class_name.clone(), verdict]);
                }
                println!("{}: not convertible as it is\n", args.model.display());
                print!("{}", table.render());
            }
            anyhow::bail!(
                "{file}: {} layer problem(s); see the table above",
                problems.len()
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// A short description of the layer's options.
fn details(node: &Node) -> String {
    let act = |a: Activation| match a {
        Activation::Linear => String::new(),
        other => format!(" +{}", other.name()),
    };
    match &node.op {
        Op::Conv2d(c) => format!(
            "{}x{} /{}x{} {}{}{}",
            c.window.size.0,
            c.window.size.1,
            c.window.strides.0,
            c.window.strides.1,
            serde_json::to_value(c.window.padding)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            if c.bias.is_none() { " no-bias" } else { "" },
            act(c.activation)
        ),
        Op::Dense(d) => format!(
            "{}{}",
            if d.bias.is_none() { "no-bias" } else { "" },
            act(d.activation)
        )
        .trim()
        .to_string(),
        Op::BatchNorm(b) => format!("eps {}", b.epsilon),
        Op::Activation(a) => a.name().to_string(),
        Op::Pool2d(p) => format!(
            "{}x{} /{}x{}",
            p.window.size.0, p.window.size.1, p.window.strides.0, p.window.strides.1
        ),
        Op::ZeroPad2d(p) => format!("t{} b{} l{} r{}", p.top, p.bottom, p.left, p.right),
        Op::Dropout { rate } => format!("rate {rate}"),
        _ => String::new(),
    }
}

fn kind_label(model: &ImportedModel) -> String {
    let kind = match model.kind {
        import::FileKind::Hdf5 => "HDF5 .h5",
        import::FileKind::KerasZip => "Keras 3 .keras",
    };
    match &model.keras_version {
        Some(v) => format!("{kind}, keras {v}"),
        None => kind.to_string(),
    }
}

/// Each node's fate from conversion itself; a model conversion refuses
/// says why on every row.
fn conversion_roles(g: &Graph) -> Vec<(bool, String)> {
    match snncc::ecc::roles(g) {
        Ok(roles) => roles.into_iter().map(|r| (true, r)).collect(),
        Err(e) => vec![(false, e.to_string()); g.nodes().len()],
    }
}

fn model_table(args: &InspectArgs, model: &ImportedModel) -> String {
    let g = &model.graph;
    let roles = conversion_roles(g);
    let mut table = Table::new([
        "#",
        "layer",
        "type",
        "options",
        "inputs",
        "output",
        "params",
        "convertible",
    ]);
    for (id, node) in g.nodes().iter().enumerate() {
        let inputs: Vec<&str> = node
            .inputs
            .iter()
            .map(|&i| g.node(i).name.as_str())
            .collect();
        table.row([
            id.to_string(),
            node.name.clone(),
            model
                .classes
                .get(&node.name)
                .cloned()
                .unwrap_or_else(|| node.op.kind_name().to_string()),
            details(node),
            inputs.join(","),
            node.shape.to_string(),
            node.op.param_count().to_string(),
            match &roles[id] {
                (true, role) => format!("yes: {role}"),
                (false, why) => format!("NO: {why}"),
            },
        ]);
    }
    format!(
        "model '{}' from {} ({})\ninput {}  output {}  parameters {}\n\n{}",
        g.name,
        args.model.display(),
        kind_label(model),
        g.input_shape(),
        g.output_shape(),
        g.param_count(),
        table.render()
    )
}

fn model_json(args: &InspectArgs, model: &ImportedModel) -> serde_json::Value {
    let g = &model.graph;
    let roles = conversion_roles(g);
    let layers: Vec<_> = g
        .nodes()
        .iter()
        .enumerate()
        .map(|(id, node)| {
            json!({
                "name": node.name,
                "type": model.classes.get(&node.name).cloned()
                    .unwrap_or_else(|| node.op.kind_name().to_string()),
                "op": node.op.kind_name(),
                "options": details(node),
                "inputs": node.inputs.iter().map(|&i| g.node(i).name.clone()).collect::<Vec<_>>(),
                "output_shape": node.shape.dims(),
                "params": node.op.param_count(),
                "convertible": roles[id].0,
                "conversion": roles[id].1,
            })
        })
        .collect();
    json!({
        "model": args.model,
        "name": g.name,
        "format": kind_label(model),
        "input_shape": g.input_shape().dims(),
        "output_shape": g.output_shape().dims(),
        "params": g.param_count(),
        "convertible": roles.iter().all(|r| r.0),
        "layers": layers,
    })
}

/// The layers of a converted network directory.
fn inspect_net(args: &InspectArgs) -> anyhow::Result<()> {
    let model = snn::load_net(&args.model)?;
    let source_name = |s: Source| match s {
        Source::Input => "input".to_string(),
        Source::Layer(i) => model.layers[i].name.clone(),
    };
    let rows: Vec<serde_json::Value> = model
        .layers
        .iter()
        .map(|l| {
            let (kind, threshold) = match l.neurons {
                Neurons::IntegrateAndFire { threshold } => ("integrate_and_fire", Some(threshold)),
                Neurons::MaxGate { .. } => ("max_gate", None),
                Neurons::Readout => ("readout", None),
                Neurons::SpikeCountReadout { threshold } => {
                    ("spike_count_readout", Some(threshold))
                }
            };
            let inputs: Vec<String> = l
                .inputs
                .iter()
                .map(|c| format!("{}:{}", source_name(c.source), c.synapses.kind_name()))
                .chain(l.gate_source.map(|s| format!("{}:gate", source_name(s))))
                .collect();
            let lambda_max = l.lambda.iter().copied().fold(0f32, f32::max);
            json!({"name": l.name, "neurons": kind, "shape": l.shape.dims(), "size": l.size(),
                   "inputs": inputs, "threshold": threshold, "lambda_max": lambda_max})
        })
        .collect();
    if args.json {
        let doc = json!({"network": args.model, "name": model.name, "h": model.h,
                         "input_shape": model.input_shape.dims(), "layers": rows});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let mut table = Table::new([
        "layer",
        "neurons",
        "shape",
        "inputs",
        "threshold",
        "lambda (max)",
    ]);
    for (l, r) in model.layers.iter().zip(&rows) {
        table.row([
            l.name.clone(),
            r["neurons"].as_str().unwrap_or_default().to_string(),
            l.shape.to_string(),
            r["inputs"].as_array().map_or(String::new(), |a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" + ")
            }),
            r["threshold"]
                .as_f64()
                .map_or("-".into(), |t| format!("{t}")),
            format!("{:.4}", r["lambda_max"].as_f64().unwrap_or(0.0)),
        ]);
    }
    println!(
        "converted network '{}' from {} (input {}, h = {})\n\n{}",
        model.name,
        args.model.display(),
        model.input_shape,
        model.h,
        table.render()
    );
    Ok(())
}
