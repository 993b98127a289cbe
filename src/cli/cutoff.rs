//! `--cutoff auto|MARGIN` of `simulate`, `sweep` and `build`: parse it,
//! hand it to the library (`pipeline::cutoff`) with progress bars, and
//! print what it did.

use std::path::Path;

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use ndarray::ArrayView4;
use serde_json::{json, Value};
use snncc::pipeline::cutoff::{self, Request};
pub use snncc::pipeline::cutoff::{Resolved, Sim};
use snncc::report::Table;
use snncc::snn::cutoff::Margin;
use snncc::snn::{self, RunSummary, SimReport, SnnModel};

use super::progress;

/// `--cutoff` values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CutoffArg {
    /// Choose the margin on the calibration images.
    Auto,
    /// This margin, in the read-out's unit.
    Margin(f64),
}

/// Parse `auto` or a positive finite margin.
pub fn parse_cutoff(s: &str) -> Result<CutoffArg, String> {
    if s == "auto" {
        return Ok(CutoffArg::Auto);
    }
    let m: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not auto or a number (a margin like 2.5)"))?;
    if !m.usable() {
        return Err(format!(
            "'{s}': the margin must be a positive finite number (the lead of the top output over the runner-up at which an image stops)"
        ));
    }
    Ok(CutoffArg::Margin(m))
}

/// Parse the agreement fraction of `--cutoff auto`: in (0, 1].
pub fn parse_agreement(s: &str) -> Result<f64, String> {
    let a: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number (a fraction like 0.995)"))?;
    if !(a > 0.0 && a <= 1.0) {
        return Err(format!(
            "'{s}': the agreement is a fraction of images, greater than 0 and at most 1"
        ));
    }
    Ok(a)
}

impl CutoffArg {
    /// The library's request, with `auto`'s agreement.
    pub fn request(self, agreement: f64) -> Request {
        match self {
            CutoffArg::Auto => Request::Auto { agreement },
            CutoffArg::Margin(m) => Request::Margin(m),
        }
    }
}

/// Resolve `--cutoff` for `sim`, simulating the calibration images to
/// `timesteps` for `auto` (with a progress bar); warnings to stderr.
pub fn resolve(
    arg: CutoffArg,
    agreement: f64,
    sim: &Sim,
    float_model: &SnnModel,
    calib: Option<&Path>,
    timesteps: usize,
) -> anyhow::Result<Resolved> {
    let images = match (arg, calib) {
        (CutoffArg::Margin(_), _) => None,
        (CutoffArg::Auto, None) => bail!(
            "--cutoff auto chooses the margin on the calibration images, and none were given: \
             pass --calib XC (a converted directory carries none), or give a margin (--cutoff 2.5)"
        ),
        (CutoffArg::Auto, Some(path)) => Some(cutoff::calibration_images(path, float_model)?),
    };
    // A bar only where `auto` simulates the calibration images.
    let bar = images
        .as_ref()
        .map_or_else(ProgressBar::hidden, |x| progress::bar(x.dim().0, "cutoff"));
    let resolved = cutoff::resolve(
        arg.request(agreement),
        sim,
        float_model,
        images.as_ref().map(|x| x.view()),
        timesteps,
        &|| bar.inc(1),
    )
    .context("--cutoff")?;
    bar.finish_and_clear();
    for w in &resolved.warnings {
        eprintln!("warning: {w}");
    }
    Ok(resolved)
}

/// `--cutoff` applied to a test set: the margin resolved for `sim` (`auto`
/// simulates the calibration images), then the test set run with it;
/// `None` without `--cutoff`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    flags: &super::CutoffFlags,
    sim: &Sim,
    float_model: &SnnModel,
    calib: Option<&Path>,
    images: ArrayView4<f32>,
    labels: &[usize],
    timesteps: &snn::Timesteps,
) -> anyhow::Result<Option<(Resolved, SimReport)>> {
    let Some(arg) = flags.cutoff else {
        return Ok(None);
    };
    let resolved = resolve(
        arg,
        flags.cutoff_agreement,
        sim,
        float_model,
        calib,
        timesteps.longest(),
    )?;
    let bar = progress::bar(images.dim().0, "cutoff");
    let report = cutoff::simulate(sim, &resolved, images, labels, timesteps, &|| bar.inc(1));
    bar.finish_and_clear();
    Ok(Some((resolved, report)))
}

/// The top-level `"cutoff"` object of `--json`, at the largest `T`, with
/// every requested `T` under `"runs"`.
pub fn json(cutoff: &Resolved, report: &SimReport, cnn_accuracy: Option<f64>) -> Value {
    let runs: Vec<Value> = report
        .runs
        .iter()
        .map(|r| {
            json!({
                "max_timesteps": r.timesteps,
                "accuracy": r.accuracy,
                "loss_pp": cnn_accuracy.map(|a| 100.0 * (a - r.accuracy)),
                "mean_timesteps": r.mean_timesteps,
                "spikes_per_image": r.spikes_per_image,
                "synops_per_image": r.synops_per_image,
                "energy_ratio": r.energy_ratio,
            })
        })
        .collect();
    let last = report.runs.last();
    json!({
        "margin": cutoff.margin,
        "margin_raw": cutoff.margin_raw,
        "chosen": if cutoff.chosen.is_some() { "auto" } else { "given" },
        "max_timesteps": last.map(|r| r.timesteps),
        "accuracy": last.map(|r| r.accuracy),
        "loss_pp": last.and_then(|r| cnn_accuracy.map(|a| 100.0 * (a - r.accuracy))),
        "mean_timesteps": last.map(|r| r.mean_timesteps),
        "synops_per_image": last.map(|r| r.synops_per_image),
        "energy_ratio": last.map(|r| r.energy_ratio),
        "agreement": cutoff.chosen.map(|(c, _)| c.agreement),
        "agreement_wanted": cutoff.wanted,
        "calibration_images": cutoff.chosen.map(|(_, n)| n),
        "calibration_mean_timesteps": cutoff.chosen.map(|(c, _)| c.mean_timesteps),
        "runs": runs,
    })
}

/// One line saying which margin and why, then a table per requested `T`.
pub fn print(cutoff: &Resolved, unit: &str, report: &SimReport, cnn_accuracy: Option<f64>) {
    let raw = cutoff
        .margin_raw
        .map_or(String::new(), |r| format!(" (raw {r})"));
    match (cutoff.chosen, cutoff.wanted) {
        (Some((c, n)), Some(wanted)) => println!(
            "early cutoff: margin {:.4} {unit}{raw}, the smallest giving >= {:.1}% agreement with the full-length answers on {n} calibration images: {:.2}%, {:.1} steps on average",
            cutoff.margin,
            100.0 * wanted,
            100.0 * c.agreement,
            c.mean_timesteps
        ),
        _ => println!("early cutoff: margin {:.4} {unit}{raw} (given)", cutoff.margin),
    }
    let table = runs_table(report, cnn_accuracy, "max T", "mean steps", &|r| {
        format!("{:.2}", r.mean_timesteps)
    });
    println!("{}", table.render());
}

/// One row per run of `report`: its length (column `t`), accuracy, loss
/// against the CNN, the column `extra` of `cell`, SynOps and energy.
pub fn runs_table(
    report: &SimReport,
    cnn_accuracy: Option<f64>,
    t: &str,
    extra: &str,
    cell: &dyn Fn(&RunSummary) -> String,
) -> Table {
    let mut table = Table::new([
        t,
        "accuracy",
        "loss vs CNN",
        extra,
        "SynOps/img",
        "energy SNN/CNN",
    ]);
    for r in &report.runs {
        table.row([
            r.timesteps.to_string(),
            format!("{:.2}%", 100.0 * r.accuracy),
            cnn_accuracy.map_or("-".into(), |a| {
                format!("{:+.2} pp", 100.0 * (a - r.accuracy))
            }),
            cell(r),
            format!("{:.0}", r.synops_per_image),
            format!("{:.3}", r.energy_ratio),
        ]);
    }
    table
}
