//! Reading a `snncc build` output folder: its manifest and RTL file list
//! (shared by `cosim` and `synth`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// A build output: the folder, its manifest, and the RTL in compile order.
pub struct Built {
    pub manifest: serde_json::Value,
    pub manifest_path: PathBuf,
    pub rtl: Vec<PathBuf>,
}

impl Built {
    pub fn read(dir: &Path) -> anyhow::Result<Built> {
        let manifest_path = dir.join("manifest.yaml");
        let text = std::fs::read_to_string(&manifest_path).with_context(|| {
            format!(
                "{} is not a snncc build output (no manifest.yaml)",
                dir.display()
            )
        })?;
        let manifest: serde_json::Value = serde_norway::from_str(&text)
            .with_context(|| format!("reading {}", manifest_path.display()))?;
        let rtl: Vec<PathBuf> = manifest["rtl"]
            .as_array()
            .with_context(|| format!("{}: no rtl file list", manifest_path.display()))?
            .iter()
            .filter_map(|f| f.as_str())
            .map(|f| dir.join(f))
            .collect();
        if let Some(missing) = rtl.iter().find(|f| !f.exists()) {
            bail!("{} is missing; rebuild with snncc build", missing.display());
        }
        Ok(Built {
            manifest,
            manifest_path,
            rtl,
        })
    }

    /// A required field of the manifest.
    pub fn field(&self, key: &str) -> anyhow::Result<&serde_json::Value> {
        let v = &self.manifest[key];
        if v.is_null() {
            bail!("{}: no {key}", self.manifest_path.display());
        }
        Ok(v)
    }
}
