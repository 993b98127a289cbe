//! Quantisation sweeps: accuracy, spikes, SynOps, weight memory and overflow
//! events over a grid of weight widths x simulation lengths, the Pareto
//! front of accuracy against memory and latency; shards of one sweep run
//! anywhere (`shard`) and merged into the rows one machine would write.

pub mod charts;
pub mod shard;

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One grid point's results (one row of `sweep.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub bits: u32,
    pub timesteps: usize,
    pub accuracy: f64,
    /// Percentage points below the CNN (empty without a CNN).
    pub loss_pp: Option<f64>,
    pub spikes_per_image: f64,
    pub synops_per_image: f64,
    pub weight_memory_bits: u64,
    /// Membrane saturation/wrap events over all images.
    pub overflows: u64,
    /// With an early cutoff (docs/fixed-point.md §4.6; empty without, and
    /// in sweeps written before it existed): the margin in the read-out's
    /// unit and in raw units, the accuracy with it and the mean steps run
    /// per image with `timesteps` as the most.
    #[serde(default)]
    pub cutoff_margin: Option<f64>,
    #[serde(default)]
    pub cutoff_margin_raw: Option<i64>,
    #[serde(default)]
    pub cutoff_accuracy: Option<f64>,
    #[serde(default)]
    pub mean_timesteps: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{}: {reason}", path.display())]
    Chart { path: PathBuf, reason: String },
}

/// Rows already in `path` (none if it does not exist).
pub fn read_points(path: &Path) -> Result<Vec<SweepPoint>, SweepError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let csv_err = |source| SweepError::Csv {
        path: path.into(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(csv_err)?;
    reader
        .deserialize()
        .collect::<Result<Vec<SweepPoint>, _>>()
        .map_err(csv_err)
}

/// Write rows to `path`, replacing it.
pub fn write_points(path: &Path, points: &[SweepPoint]) -> Result<(), SweepError> {
    let io_err = |source| SweepError::Io {
        path: path.into(),
        source,
    };
    let mut writer = csv::Writer::from_writer(File::create(path).map_err(io_err)?);
    for p in points {
        writer.serialize(p).map_err(|source| SweepError::Csv {
            path: path.into(),
            source,
        })?;
    }
    writer.flush().map_err(io_err)
}

/// The points no other point beats: another dominates when it is at least
/// as accurate, needs no more weight memory and no more timesteps
/// (latency), and is strictly better in one. Sorted by memory, then T.
pub fn pareto_front(points: &[SweepPoint]) -> Vec<SweepPoint> {
    let dominates = |a: &SweepPoint, b: &SweepPoint| {
        a.accuracy >= b.accuracy
            && a.weight_memory_bits <= b.weight_memory_bits
            && a.timesteps <= b.timesteps
            && (a.accuracy > b.accuracy
                || a.weight_memory_bits < b.weight_memory_bits
                || a.timesteps < b.timesteps)
    };
    let mut front: Vec<SweepPoint> = points
        .iter()
        .filter(|p| !points.iter().any(|q| dominates(q, p)))
        .cloned()
        .collect();
    front.sort_by_key(|p| (p.weight_memory_bits, p.timesteps));
    front.dedup_by(|a, b| a.bits == b.bits && a.timesteps == b.timesteps);
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(bits: u32, timesteps: usize, accuracy: f64) -> SweepPoint {
        SweepPoint {
            bits,
            timesteps,
            accuracy,
            loss_pp: None,
            spikes_per_image: 1.0,
            synops_per_image: 2.0,
            weight_memory_bits: u64::from(bits) * 100,
            overflows: 0,
            cutoff_margin: None,
            cutoff_margin_raw: None,
            cutoff_accuracy: None,
            mean_timesteps: None,
        }
    }

    #[test]
    fn pareto_keeps_only_undominated_points() {
        let pts = vec![
            point(4, 64, 0.90),
            point(8, 64, 0.97),
            point(8, 32, 0.96),
            point(16, 64, 0.97), // same accuracy as 8 bits, more memory
            point(4, 256, 0.89), // worse and slower than 4 bits at 64
        ];
        let front: Vec<(u32, usize)> = pareto_front(&pts)
            .iter()
            .map(|p| (p.bits, p.timesteps))
            .collect();
        assert_eq!(front, vec![(4, 64), (8, 32), (8, 64)]);
    }

    #[test]
    fn rows_survive_write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.csv");
        let mut second = point(8, 32, 0.75);
        second.loss_pp = Some(1.25);
        write_points(&path, &[point(4, 16, 0.5), second.clone()]).unwrap();
        assert_eq!(read_points(&path).unwrap(), vec![point(4, 16, 0.5), second]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("bits")).count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn sweeps_written_before_the_cutoff_columns_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.csv");
        std::fs::write(
            &path,
            "bits,timesteps,accuracy,loss_pp,spikes_per_image,synops_per_image,weight_memory_bits,overflows\n\
             4,16,0.5,,1.0,2.0,400,0\n",
        )
        .unwrap();
        assert_eq!(read_points(&path).unwrap(), vec![point(4, 16, 0.5)]);
        let mut cut = point(8, 32, 0.75);
        cut.cutoff_margin_raw = Some(12);
        cut.mean_timesteps = Some(6.5);
        write_points(&path, &[cut.clone()]).unwrap();
        assert_eq!(read_points(&path).unwrap(), vec![cut]);
    }
}
