//! What a finished sweep writes: its rows (`sweep.csv`), their Pareto
//! front (`pareto.csv`) and two SVG charts, accuracy against the
//! simulation length and against the weight memory.

use std::path::Path;

use super::shard::{Grid, Merged};
use super::{pareto_front, write_points, SweepError, SweepPoint};
use crate::report::plot::{self, Chart, Series, Style};

/// What the summary of a written sweep needs besides its rows.
pub struct Written {
    pub front: Vec<SweepPoint>,
    /// The float SNN's `(T, accuracy %)` per simulation length.
    pub float_runs: Vec<(f64, f64)>,
    pub timesteps: Vec<usize>,
}

/// Write `merged` (the rows of `grid`) into `dir`: sweep.csv, pareto.csv,
/// accuracy_vs_timesteps.svg and accuracy_vs_memory.svg.
pub fn write_outputs(dir: &Path, grid: &Grid, merged: &Merged) -> Result<Written, SweepError> {
    let points = &merged.points;
    write_points(&dir.join("sweep.csv"), points)?;
    let front = pareto_front(points);
    write_points(&dir.join("pareto.csv"), &front)?;
    let float_runs: Vec<(f64, f64)> = merged
        .float_runs
        .iter()
        .map(|r| (r.timesteps as f64, 100.0 * r.totals.accuracy()))
        .collect();
    let timesteps = merged.float_runs.iter().map(|r| r.timesteps).collect();
    write_charts(
        dir,
        points,
        &front,
        &grid.bits,
        &float_runs,
        merged.cnn_accuracy,
    )?;
    Ok(Written {
        front,
        float_runs,
        timesteps,
    })
}

fn write_charts(
    dir: &Path,
    points: &[SweepPoint],
    front: &[SweepPoint],
    bits: &[u32],
    float_runs: &[(f64, f64)],
    cnn_accuracy: Option<f64>,
) -> Result<(), SweepError> {
    let kib = |p: &SweepPoint| p.weight_memory_bits as f64 / 8192.0;
    let pareto = |x: &dyn Fn(&SweepPoint) -> f64| Series {
        name: "Pareto front".into(),
        points: front.iter().map(|p| (x(p), 100.0 * p.accuracy)).collect(),
        style: Style::Rings,
    };
    let cnn = |lo: f64, hi: f64| {
        cnn_accuracy.map(|a| Series {
            name: format!("CNN ({:.2}%)", 100.0 * a),
            points: vec![(lo, 100.0 * a), (hi, 100.0 * a)],
            style: Style::Dashed,
        })
    };
    let mut series: Vec<Series> = bits
        .iter()
        .map(|&b| Series {
            name: format!("{b}-bit weights"),
            points: points
                .iter()
                .filter(|p| p.bits == b)
                .map(|p| (p.timesteps as f64, 100.0 * p.accuracy))
                .collect(),
            style: Style::Line,
        })
        .collect();
    series.push(Series {
        name: "float SNN".into(),
        points: float_runs.to_vec(),
        style: Style::Dashed,
    });
    let ts: Vec<f64> = float_runs.iter().map(|r| r.0).collect();
    series.extend(cnn(ts[0], ts[ts.len() - 1]));
    series.push(pareto(&|p| p.timesteps as f64));
    plot::write_svg(
        &dir.join("accuracy_vs_timesteps.svg"),
        &Chart {
            title: "Accuracy vs simulation length",
            x_label: "timesteps T (log scale)",
            y_label: "accuracy (%)",
            log_x: true,
            x_ticks: ts.clone(),
            series,
        },
    )
    .map_err(|reason| SweepError::Chart {
        path: dir.join("accuracy_vs_timesteps.svg"),
        reason,
    })?;
    let mut memories: Vec<f64> = points.iter().map(kib).collect();
    memories.sort_by(f64::total_cmp);
    memories.dedup();
    let mut series: Vec<Series> = ts
        .iter()
        .map(|&t| Series {
            name: format!("T={t}"),
            points: points
                .iter()
                .filter(|p| p.timesteps as f64 == t)
                .map(|p| (kib(p), 100.0 * p.accuracy))
                .collect(),
            style: Style::Line,
        })
        .collect();
    series.extend(cnn(memories[0], memories[memories.len() - 1]));
    series.push(pareto(&kib));
    plot::write_svg(
        &dir.join("accuracy_vs_memory.svg"),
        &Chart {
            title: "Accuracy vs weight memory",
            x_label: "weight memory (KiB, log scale; ticks at the swept widths)",
            y_label: "accuracy (%)",
            log_x: true,
            x_ticks: memories,
            series,
        },
    )
    .map_err(|reason| SweepError::Chart {
        path: dir.join("accuracy_vs_memory.svg"),
        reason,
    })
}
