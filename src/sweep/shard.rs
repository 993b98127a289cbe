//! Splitting a sweep over machines. The grid's work is a list of items (the
//! float run and each weight width, each over a block of the images); shard
//! K of N computes every N-th item and writes its integer sums to
//! `DIR/shards/K-of-N.json` after each one. `merge` adds the sums of every
//! item into the rows a one-machine run writes, and since the sums are
//! integers (correct answers, spikes, SynOps, steps) the split cannot change
//! a digit of them. A one-machine run is shard 1 of 1, so it resumes the
//! same way an interrupted shard does.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::SweepPoint;
use crate::snn::RunTotals;

/// Shard `index` (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index == 0 || index > count {
            return Err(format!(
                "shard {index} of {count}: shards are numbered 1 to {count}"
            ));
        }
        Ok(Shard { index, count })
    }
    pub fn index(&self) -> usize {
        self.index
    }
    pub fn count(&self) -> usize {
        self.count
    }
    /// `K-of-N`: how files and folders of this shard are named.
    pub fn label(&self) -> String {
        label(self.index, self.count)
    }
    /// `K-of-N.json`, the shard's file under `shards/`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.label())
    }
}

/// `K-of-N`.
pub fn label(index: usize, count: usize) -> String {
    format!("{index}-of-{count}")
}

/// The labels of the shards `1..=count` not among `present`.
pub fn missing_shards(count: usize, present: &[usize]) -> Vec<String> {
    (1..=count)
        .filter(|k| !present.contains(k))
        .map(|k| label(k, count))
        .collect()
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not K/N (e.g. 3/8: the third of eight shards)"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{s}' is not K/N: '{v}' is not a whole number"))
        };
        Shard::new(parse(k)?, parse(n)?)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What an item simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The float SNN (and the CNN, for the loss column).
    Float,
    /// The bit-accurate simulator with weights of this width.
    Bits(u32),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Float => write!(f, "float"),
            Kind::Bits(b) => write!(f, "{b} bits"),
        }
    }
}

/// One unit of work: a kind over block `block` of `blocks` of the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Item {
    pub kind: Kind,
    pub block: usize,
    pub blocks: usize,
}

impl Item {
    /// The images of this item's block out of `n`.
    pub fn images(&self, n: usize) -> Range<usize> {
        n * self.block / self.blocks..n * (self.block + 1) / self.blocks
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.blocks == 1 {
            write!(f, "{}", self.kind)
        } else {
            write!(
                f,
                "{} block {} of {}",
                self.kind,
                self.block + 1,
                self.blocks
            )
        }
    }
}

/// The work of a sweep over `bits` split `shards` ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub bits: Vec<u32>,
    pub shards: usize,
}

impl Grid {
    fn kinds(&self) -> Vec<Kind> {
        std::iter::once(Kind::Float)
            .chain(self.bits.iter().map(|&b| Kind::Bits(b)))
            .collect()
    }

    /// Image blocks per kind: enough that every shard gets an item when
    /// there are fewer kinds than shards.
    pub fn blocks(&self) -> usize {
        self.shards.div_ceil(self.kinds().len()).max(1)
    }

    /// Every item, kind by kind.
    pub fn items(&self) -> Vec<Item> {
        let blocks = self.blocks();
        self.kinds()
            .into_iter()
            .flat_map(|kind| {
                (0..blocks).map(move |block| Item {
                    kind,
                    block,
                    blocks,
                })
            })
            .collect()
    }

    /// The items of one shard: every `count`-th, from its index.
    pub fn items_of(&self, shard: Shard) -> Vec<Item> {
        self.items()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % shard.count == shard.index - 1)
            .map(|(_, item)| item)
            .collect()
    }
}

/// One item's sums at one `T`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PartRun {
    pub timesteps: usize,
    pub totals: RunTotals,
}

/// The early cutoff's part of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartCutoff {
    pub margin: f64,
    pub margin_raw: Option<i64>,
    pub runs: Vec<PartRun>,
}

/// What one item computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub item: Item,
    pub runs: Vec<PartRun>,
    /// Membrane saturation/wrap events (bit-accurate items).
    pub overflows: u64,
    /// Weight memory of this width (bit-accurate items).
    pub weight_memory_bits: Option<u64>,
    /// The CNN's correct answers on the block (float items of a Keras model).
    pub cnn_correct: Option<u64>,
    pub cutoff: Option<PartCutoff>,
}

/// A shard's file: what it was asked and what it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardFile {
    /// The sweep's settings (`settings.json`); shards merge only if equal.
    pub settings: serde_json::Value,
    pub bits: Vec<u32>,
    pub shard: usize,
    pub of: usize,
    pub items: Vec<Partial>,
}

impl ShardFile {
    fn grid(&self) -> Grid {
        Grid {
            bits: self.bits.clone(),
            shards: self.of,
        }
    }
    fn label(&self) -> String {
        label(self.shard, self.of)
    }
    /// The items of its share not yet in it.
    pub fn missing(&self) -> Vec<Item> {
        let done: BTreeSet<Item> = self.items.iter().map(|p| p.item).collect();
        self.grid()
            .items_of(Shard {
                index: self.shard,
                count: self.of,
            })
            .into_iter()
            .filter(|i| !done.contains(i))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a sweep shard file: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: no shards (shards/K-of-N.json); run `snncc sweep ... --shard K/N -o {}` first", dir.display(), dir.display())]
    NoShards { dir: PathBuf },
    #[error("{}: shards of different sweeps: {} differ from {} in {what}; delete the stale ones", dir.display(), others.join(", "), first)]
    Mixed {
        dir: PathBuf,
        first: String,
        others: Vec<String>,
        what: &'static str,
    },
    #[error("{}: shard(s) {} of {of} missing; run them (`--shard K/{of}`), then merge", dir.display(), missing.join(", "))]
    Missing {
        dir: PathBuf,
        missing: Vec<String>,
        of: usize,
    },
    #[error("{}: shard {shard} is not finished: {} still to do; rerun it (it resumes), then merge", dir.display(), items.join(", "))]
    Unfinished {
        dir: PathBuf,
        shard: String,
        items: Vec<String>,
    },
    #[error("shard files disagree on {item}: {what}")]
    Disagree { item: String, what: String },
}

/// The folder of shard files.
pub fn shards_dir(dir: &Path) -> PathBuf {
    dir.join("shards")
}

/// A shard's file if it exists.
pub fn read_shard(path: &Path) -> Result<Option<ShardFile>, ShardError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ShardError::Io {
                path: path.into(),
                source,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| ShardError::Json {
            path: path.into(),
            source,
        })
}

/// Write `file` to `path` whole or not at all (a temporary file renamed
/// over it), so a shard killed while writing leaves its previous file and
/// readers on a shared file system never see half of one.
pub fn write_shard(path: &Path, file: &ShardFile) -> Result<(), ShardError> {
    write_atomic(
        path,
        serde_json::to_string_pretty(file)
            .expect("plain data")
            .as_bytes(),
    )
}

/// `path` replaced whole: written beside it under a name of this process,
/// then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ShardError> {
    let io = |source| ShardError::Io {
        path: path.into(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Every shard file in `dir/shards`, by shard number.
pub fn read_shards(dir: &Path) -> Result<Vec<ShardFile>, ShardError> {
    let sdir = shards_dir(dir);
    let entries = match std::fs::read_dir(&sdir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ShardError::NoShards { dir: dir.into() })
        }
        Err(source) => return Err(ShardError::Io { path: sdir, source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| ShardError::Io {
                path: sdir.clone(),
                source,
            })?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".json") && name.contains("-of-") {
            files.extend(read_shard(&path)?);
        }
    }
    if files.is_empty() {
        return Err(ShardError::NoShards { dir: dir.into() });
    }
    files.sort_by_key(|f| (f.of, f.shard));
    Ok(files)
}

/// How far each shard file is: (label, items of its share done, items in
/// its share). All the files given, whatever sweep they belong to.
pub fn status(files: &[ShardFile]) -> Vec<(String, usize, usize)> {
    files
        .iter()
        .map(|f| {
            let todo = f.missing().len();
            let share = f.items.len() + todo;
            (f.label(), share - todo, share)
        })
        .collect()
}

/// The shards of one finished sweep: all N of them, with equal settings and
/// grids, each with its whole share. Names what is missing or stale.
pub fn complete(dir: &Path, files: &[ShardFile]) -> Result<Grid, ShardError> {
    let first = files
        .first()
        .ok_or_else(|| ShardError::NoShards { dir: dir.into() })?;
    let same = |what: &'static str, differs: &dyn Fn(&ShardFile) -> bool| {
        let others: Vec<String> = files
            .iter()
            .filter(|f| differs(f))
            .map(ShardFile::label)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        Err(ShardError::Mixed {
            dir: dir.into(),
            first: first.label(),
            others,
            what,
        })
    };
    same("the number of shards", &|f| f.of != first.of)?;
    same("settings", &|f| f.settings != first.settings)?;
    same("weight widths", &|f| f.bits != first.bits)?;
    let present: Vec<usize> = files.iter().map(|f| f.shard).collect();
    let missing = missing_shards(first.of, &present);
    if !missing.is_empty() {
        return Err(ShardError::Missing {
            dir: dir.into(),
            missing,
            of: first.of,
        });
    }
    for f in files {
        let todo = f.missing();
        if !todo.is_empty() {
            return Err(ShardError::Unfinished {
                dir: dir.into(),
                shard: f.label(),
                items: todo.iter().map(Item::to_string).collect(),
            });
        }
    }
    Ok(first.grid())
}

/// The grid's rows, added up from the items' sums.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// Sorted by width, then `T`.
    pub points: Vec<SweepPoint>,
    /// The float SNN's sums per `T`.
    pub float_runs: Vec<PartRun>,
    pub cnn_accuracy: Option<f64>,
}

/// Add up the items of `grid` found in `partials` (which may hold more:
/// other widths of a resumed sweep). Every item of the grid must be there.
pub fn merge(grid: &Grid, partials: &[&Partial]) -> Result<Merged, ShardError> {
    let find = |item: Item| {
        partials
            .iter()
            .find(|p| p.item == item)
            .copied()
            .ok_or_else(|| ShardError::Disagree {
                item: item.to_string(),
                what: "no shard computed it".into(),
            })
    };
    let blocks = grid.blocks();
    let parts = |kind: Kind| -> Result<Vec<&Partial>, ShardError> {
        (0..blocks)
            .map(|block| {
                find(Item {
                    kind,
                    block,
                    blocks,
                })
            })
            .collect()
    };
    let sum_runs = |runs: &mut Vec<PartRun>, add: &[PartRun], item: &Item| {
        if runs.is_empty() {
            *runs = add.to_vec();
            return Ok(());
        }
        if runs.len() != add.len()
            || runs
                .iter()
                .zip(add)
                .any(|(a, b)| a.timesteps != b.timesteps)
        {
            return Err(ShardError::Disagree {
                item: item.to_string(),
                what: "different timesteps".into(),
            });
        }
        for (a, b) in runs.iter_mut().zip(add) {
            a.totals = a.totals + b.totals;
        }
        Ok(())
    };

    let mut float_runs = Vec::new();
    let mut cnn: Option<(u64, u64)> = Some((0, 0));
    for p in parts(Kind::Float)? {
        sum_runs(&mut float_runs, &p.runs, &p.item)?;
        let images = p.runs.first().map_or(0, |r| r.totals.images);
        cnn = match (cnn, p.cnn_correct) {
            (Some((c, n)), Some(k)) => Some((c + k, n + images)),
            _ => None,
        };
    }
    let cnn_accuracy = cnn.map(|(c, n)| c as f64 / n.max(1) as f64);

    let mut points = Vec::new();
    for &b in &grid.bits {
        let item_parts = parts(Kind::Bits(b))?;
        let mut runs = Vec::new();
        let mut cut_runs = Vec::new();
        let mut overflows = 0;
        for p in &item_parts {
            sum_runs(&mut runs, &p.runs, &p.item)?;
            overflows += p.overflows;
            if let Some(c) = &p.cutoff {
                sum_runs(&mut cut_runs, &c.runs, &p.item)?;
            }
        }
        let first = item_parts[0];
        for p in &item_parts[1..] {
            let same = p.weight_memory_bits == first.weight_memory_bits
                && p.cutoff.as_ref().map(|c| (c.margin, c.margin_raw))
                    == first.cutoff.as_ref().map(|c| (c.margin, c.margin_raw));
            if !same {
                return Err(ShardError::Disagree {
                    item: p.item.to_string(),
                    what: "its weight memory or cutoff margin differs between blocks".into(),
                });
            }
        }
        for (k, r) in runs.iter().enumerate() {
            let accuracy = r.totals.accuracy();
            let cut = first.cutoff.as_ref().map(|c| (c, cut_runs[k].totals));
            points.push(SweepPoint {
                bits: b,
                timesteps: r.timesteps,
                accuracy,
                // Rounded so the CSV shows 0.35, not 0.34999999999999476.
                loss_pp: cnn_accuracy.map(|a| (1e6 * 100.0 * (a - accuracy)).round() / 1e6),
                spikes_per_image: r.totals.spikes_per_image(),
                synops_per_image: r.totals.synops_per_image(),
                weight_memory_bits: first.weight_memory_bits.unwrap_or(0),
                overflows,
                cutoff_margin: cut.map(|(c, _)| c.margin),
                cutoff_margin_raw: cut.and_then(|(c, _)| c.margin_raw),
                cutoff_accuracy: cut.map(|(_, t)| t.accuracy()),
                mean_timesteps: cut.map(|(_, t)| t.mean_timesteps()),
            });
        }
    }
    points.sort_by_key(|p| (p.bits, p.timesteps));
    Ok(Merged {
        points,
        float_runs,
        cnn_accuracy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(images: u64, correct: u64) -> RunTotals {
        RunTotals {
            images,
            correct,
            spikes: 10 * images + correct,
            synops: 100 * images,
            steps: 16 * images,
        }
    }

    fn partial(item: Item, n: u64, correct: u64) -> Partial {
        Partial {
            item,
            runs: vec![PartRun {
                timesteps: 16,
                totals: totals(n, correct),
            }],
            overflows: 1,
            weight_memory_bits: matches!(item.kind, Kind::Bits(_)).then_some(800),
            cnn_correct: matches!(item.kind, Kind::Float).then_some(n),
            cutoff: None,
        }
    }

    #[test]
    fn shard_parses_k_of_n_and_refuses_the_rest() {
        assert_eq!("3/8".parse::<Shard>().unwrap(), Shard::new(3, 8).unwrap());
        for bad in ["0/4", "5/4", "1/0", "2", "a/4", "1/b"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard::new(2, 4).unwrap().file_name(), "2-of-4.json");
    }

    #[test]
    fn every_item_goes_to_exactly_one_shard_and_blocks_cover_the_images() {
        for shards in 1..=9 {
            let grid = Grid {
                bits: vec![4, 8],
                shards,
            };
            let mut all: Vec<Item> = (1..=shards)
                .flat_map(|k| grid.items_of(Shard::new(k, shards).unwrap()))
                .collect();
            all.sort();
            let mut items = grid.items();
            items.sort();
            assert_eq!(all, items);
            // Fewer kinds than shards: every shard still has work.
            for k in 1..=shards {
                assert!(!grid.items_of(Shard::new(k, shards).unwrap()).is_empty());
            }
            let blocks = grid.blocks();
            let covered: usize = (0..blocks)
                .map(|block| {
                    Item {
                        kind: Kind::Float,
                        block,
                        blocks,
                    }
                    .images(101)
                    .len()
                })
                .sum();
            assert_eq!(covered, 101);
        }
    }

    #[test]
    fn merged_blocks_equal_one_whole_run() {
        let whole = Grid {
            bits: vec![8],
            shards: 1,
        };
        let split = Grid {
            bits: vec![8],
            shards: 4,
        };
        let one: Vec<Partial> = whole
            .items()
            .into_iter()
            .map(|i| partial(i, 100, 90))
            .collect();
        // Two blocks of 50 images, 45 right in each.
        let parts: Vec<Partial> = split
            .items()
            .into_iter()
            .map(|i| partial(i, 50, 45))
            .collect();
        let a = merge(&whole, &one.iter().collect::<Vec<_>>()).unwrap();
        let mut b = merge(&split, &parts.iter().collect::<Vec<_>>()).unwrap();
        // Overflow events are summed, one per block.
        assert_eq!(b.points[0].overflows, 2);
        b.points[0].overflows = 1;
        assert_eq!(a, b);
        // A block missing is named.
        let err = merge(&split, &parts[1..].iter().collect::<Vec<_>>()).unwrap_err();
        assert!(err.to_string().contains("float block 1 of 2"), "{err}");
    }
}
