//! The quantisation YAML (`snncc quantize -o q.yaml`, `--quant q.yaml`):
//! a `QuantSpec` written out for editing and read back. Every error names
//! the file and the line (docs/fixed-point.md §6 describes the file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::quant::{InputFormat, LayerFormats, LayerSpec, Overflow, QFormat, QuantSpec, Rounding};

/// The first line of every quantisation file.
pub const FORMAT: &str = "snncc-quant 1";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Syntax { path: PathBuf, reason: String },
    #[error("{}:{line}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatDoc {
    bits: u32,
    frac: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputDoc {
    bits: u32,
    frac: u32,
    scale: f64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerDoc {
    name: String,
    scale: f64,
    weights: FormatDoc,
    bias: FormatDoc,
    threshold: FormatDoc,
    membrane: FormatDoc,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuantDoc {
    format: String,
    model: String,
    rounding: Rounding,
    overflow: Overflow,
    timesteps: usize,
    input: InputDoc,
    layers: Vec<LayerDoc>,
}

fn doc_format(q: QFormat) -> FormatDoc {
    FormatDoc {
        bits: q.bits(),
        frac: q.frac(),
    }
}

/// The YAML text of `spec` for the network `model`, with a header
/// explaining the fields.
pub fn to_yaml(spec: &QuantSpec, model: &str) -> String {
    let doc = QuantDoc {
        format: FORMAT.into(),
        model: model.into(),
        rounding: spec.rounding,
        overflow: spec.overflow,
        timesteps: spec.timesteps,
        input: InputDoc {
            bits: spec.input.format.bits(),
            frac: spec.input.format.frac(),
            scale: spec.input.scale,
        },
        layers: spec
            .layers
            .iter()
            .map(|l| LayerDoc {
                name: l.name.clone(),
                scale: l.scale,
                weights: doc_format(l.formats.weights),
                bias: doc_format(l.formats.bias),
                threshold: doc_format(l.formats.threshold),
                membrane: doc_format(l.formats.membrane),
            })
            .collect(),
    };
    let body = serde_norway::to_string(&doc).expect("plain structs always serialise");
    format!(
        "# snncc quantisation (docs/fixed-point.md). Edit and pass back with --quant.\n\
         # Formats are signed: {{bits: total, frac: fractional}}; raw = round(x * scale * 2^frac).\n\
         # rounding: nearest_even | nearest | toward_zero | floor; overflow: saturate | wrap.\n\
         # timesteps: the T the membrane widths were proven for (longer runs may overflow).\n\
         {body}"
    )
}

/// Read a quantisation file.
pub fn read(path: &Path) -> Result<QuantSpec, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.into(),
        source,
    })?;
    parse(&text, path)
}

/// Parse quantisation YAML; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<QuantSpec, ConfigError> {
    let doc: QuantDoc = serde_norway::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let invalid = |line: usize, reason: String| ConfigError::Invalid {
        path: path.into(),
        line,
        reason,
    };
    if doc.format != FORMAT {
        return Err(invalid(
            line_of(text, "format:", 0),
            format!("format '{}' is not '{FORMAT}'", doc.format),
        ));
    }
    if doc.timesteps == 0 {
        return Err(invalid(
            line_of(text, "timesteps:", 0),
            "timesteps must be at least 1".into(),
        ));
    }
    let input_line = line_of(text, "input:", 0);
    let input_format = QFormat::new(doc.input.bits, doc.input.frac)
        .map_err(|e| invalid(input_line, format!("input: {e}")))?;
    if !(doc.input.scale.is_finite() && doc.input.scale > 0.0) {
        return Err(invalid(
            input_line,
            "input: scale must be a positive number".into(),
        ));
    }
    let mut layers = Vec::with_capacity(doc.layers.len());
    for l in &doc.layers {
        let start = layer_line(text, &l.name);
        let field = |key: &str| line_of(text, &format!("{key}:"), start);
        let q = |key: &str, f: &FormatDoc| {
            QFormat::new(f.bits, f.frac)
                .map_err(|e| invalid(field(key), format!("layer {}: {key}: {e}", l.name)))
        };
        if !(l.scale.is_finite() && l.scale > 0.0) {
            return Err(invalid(
                field("scale"),
                format!("layer {}: scale must be a positive number", l.name),
            ));
        }
        layers.push(LayerSpec {
            name: l.name.clone(),
            scale: l.scale,
            formats: LayerFormats {
                weights: q("weights", &l.weights)?,
                bias: q("bias", &l.bias)?,
                threshold: q("threshold", &l.threshold)?,
                membrane: q("membrane", &l.membrane)?,
            },
        });
    }
    Ok(QuantSpec {
        rounding: doc.rounding,
        overflow: doc.overflow,
        timesteps: doc.timesteps,
        input: InputFormat {
            format: input_format,
            scale: doc.input.scale,
        },
        layers,
    })
}

/// 1-based line of the layer entry `name` in the text (1 if not found).
pub fn layer_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.strip_prefix("name:")
                .map(|v| v.trim().trim_matches(['\'', '"']) == name)
                .unwrap_or(false)
        })
        .map_or(1, |i| i + 1)
}

/// 1-based line of the first `key` at or after line `from` (1-based;
/// `from` itself if not found).
fn line_of(text: &str, key: &str, from: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.trim_start().trim_start_matches("- ").starts_with(key))
        .map_or(from.max(1), |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> QuantSpec {
        let q = |b, f| QFormat::new(b, f).unwrap();
        QuantSpec {
            rounding: Rounding::Floor,
            overflow: Overflow::Wrap,
            timesteps: 64,
            input: InputFormat {
                format: q(9, 8),
                scale: 0.996,
            },
            layers: vec![LayerSpec {
                name: "conv1".into(),
                scale: 12.345678901234567,
                formats: LayerFormats {
                    weights: q(8, 7),
                    bias: q(12, 7),
                    threshold: q(12, 7),
                    membrane: q(20, 7),
                },
            }],
        }
    }

    #[test]
    fn round_trip_is_exact() {
        let text = to_yaml(&spec(), "net");
        assert_eq!(parse(&text, Path::new("q.yaml")).unwrap(), spec());
    }

    #[test]
    fn errors_name_the_line() {
        let text = to_yaml(&spec(), "net");
        let bad = text.replace("bits: 20", "bits: 0");
        let err = parse(&bad, Path::new("q.yaml")).unwrap_err().to_string();
        let line = bad.lines().position(|l| l.contains("membrane:")).unwrap() + 1;
        assert!(err.starts_with(&format!("q.yaml:{line}:")), "{err}");
        assert!(
            err.contains("membrane") && err.contains("at least 1 bit"),
            "{err}"
        );

        let bad = text.replace("frac: 7\n", "frac: 9\n");
        let err = parse(&bad, Path::new("q.yaml")).unwrap_err().to_string();
        assert!(
            err.contains("weights: 9 fractional bits do not fit in 8 bits"),
            "{err}"
        );

        let bad = text.replace("overflow: wrap", "overflow: wrap\ncolour: blue");
        let err = parse(&bad, Path::new("q.yaml")).unwrap_err().to_string();
        assert!(
            err.contains("unknown field `colour`") && err.contains("line"),
            "{err}"
        );

        let bad = text.replace("bits: 8", "bits: 65");
        let err = parse(&bad, Path::new("q.yaml")).unwrap_err().to_string();
        assert!(err.contains("more than the 64"), "{err}");
    }
}
