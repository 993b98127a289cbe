//! `--cutoff auto|MARGIN` of `simulate` and `sweep`: parse it, resolve it
//! into a margin of the simulator's unit (choosing one on the calibration
//! images for `auto`), run the test set with it, and print what it did.

use std::path::Path;

use anyhow::{bail, Context};
use ndarray::{Array4, ArrayView4};
use serde_json::{json, Value};
use snncc::quant::QuantModel;
use snncc::report::Table;
use snncc::snn::cutoff::{choose_margin, LeadTrack, Margin, MarginChoice};
use snncc::snn::{self, SimReport, SnnModel};
use snncc::{bitsim, data};

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

/// The cutoff a run will use, in the simulator's own unit.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// In the float read-out's unit (potential units or spikes).
    pub margin: f64,
    /// The bit-accurate simulator's raw margin (fixed point only).
    pub margin_raw: Option<i64>,
    /// How `auto` chose it: agreement and mean steps on the calibration
    /// images, and how many there were.
    pub chosen: Option<(MarginChoice<f64>, usize)>,
    /// The agreement `auto` was asked for.
    pub wanted: Option<f64>,
}

/// Which simulator the cutoff runs on.
pub enum Sim<'a> {
    Float(&'a SnnModel),
    Fixed(&'a QuantModel),
}

/// Calibration images for `--cutoff auto`, checked against the network.
fn calibration(calib: Option<&Path>, model: &SnnModel) -> anyhow::Result<Array4<f32>> {
    let Some(path) = calib else {
        bail!(
            "--cutoff auto chooses the margin on the calibration images, and none were given: \
             pass --calib XC (a converted directory carries none), or give a margin (--cutoff 2.5)"
        );
    };
    let images = data::read_images(path)?;
    let (n, h, w, c) = images.dim();
    if !model.input_shape.accepts(h, w, c) {
        bail!(
            "calibration file {}: images are {h}x{w}x{c}, the network takes {}",
            path.display(),
            model.input_shape
        );
    }
    if n == 0 {
        bail!("calibration file {} has no images", path.display());
    }
    Ok(images)
}

/// The smallest margin meeting `agreement` on `images`, from every step's
/// lead up to `timesteps`.
fn choose<M: Margin>(
    track: impl FnOnce(ArrayView4<f32>, &(dyn Fn() + Sync)) -> Vec<LeadTrack<M>>,
    images: ArrayView4<f32>,
    timesteps: usize,
    agreement: f64,
) -> anyhow::Result<MarginChoice<M>> {
    let bar = progress::bar(images.dim().0, "cutoff");
    let tracks = track(images, &|| bar.inc(1));
    bar.finish_and_clear();
    choose_margin(&tracks, timesteps, agreement)
        .context("choosing the cutoff margin (--cutoff auto)")
}

/// Resolve `--cutoff` for `sim`, simulating the calibration images to
/// `timesteps` for `auto`.
pub fn resolve(
    arg: CutoffArg,
    agreement: f64,
    sim: &Sim,
    float_model: &SnnModel,
    calib: Option<&Path>,
    timesteps: usize,
) -> anyhow::Result<Resolved> {
    let wanted = (arg == CutoffArg::Auto).then_some(agreement);
    // (auto refuses this itself.)
    if wanted.is_none() && float_model.layers.last().is_some_and(|l| l.size() < 2) {
        eprintln!("warning: {}", snn::cutoff::CutoffError::SingleOutput);
    }
    match (arg, sim) {
        (CutoffArg::Margin(m), Sim::Float(_)) => Ok(Resolved {
            margin: m,
            margin_raw: None,
            chosen: None,
            wanted,
        }),
        (CutoffArg::Margin(m), Sim::Fixed(q)) => Ok(Resolved {
            margin: m,
            margin_raw: Some(bitsim::cutoff_margin_raw(q, m)?),
            chosen: None,
            wanted,
        }),
        (CutoffArg::Auto, Sim::Float(model)) => {
            let images = calibration(calib, float_model)?;
            let c = choose(
                |x, p| snn::metrics::track_leads_float(model, x, timesteps, p),
                images.view(),
                timesteps,
                agreement,
            )?;
            Ok(Resolved {
                margin: c.margin,
                margin_raw: None,
                chosen: Some((c, images.dim().0)),
                wanted,
            })
        }
        (CutoffArg::Auto, Sim::Fixed(q)) => {
            let images = calibration(calib, float_model)?;
            let c = choose(
                |x, p| bitsim::track_leads_quantized(q, x, timesteps, p),
                images.view(),
                timesteps,
                agreement,
            )?;
            let margin = bitsim::cutoff_margin_real(q, c.margin);
            Ok(Resolved {
                margin,
                margin_raw: Some(c.margin),
                chosen: Some((
                    MarginChoice {
                        margin,
                        agreement: c.agreement,
                        mean_timesteps: c.mean_timesteps,
                    },
                    images.dim().0,
                )),
                wanted,
            })
        }
    }
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
    let report = simulate(sim, &resolved, images, labels, timesteps);
    Ok(Some((resolved, report)))
}

/// Simulate the test set with the cutoff: every requested `T` as the most
/// steps an image may run.
pub fn simulate(
    sim: &Sim,
    cutoff: &Resolved,
    images: ArrayView4<f32>,
    labels: &[usize],
    timesteps: &snn::Timesteps,
) -> SimReport {
    let bar = progress::bar(images.dim().0, "cutoff");
    let report = match (sim, cutoff.margin_raw) {
        (Sim::Fixed(q), Some(raw)) => {
            bitsim::simulate_quantized_cutoff(q, images, Some(labels), timesteps, raw, &|| {
                bar.inc(1)
            })
        }
        (Sim::Fixed(_), None) => unreachable!("a fixed-point cutoff has a raw margin"),
        (Sim::Float(model), _) => snn::simulate_dataset_cutoff(
            model,
            images,
            Some(labels),
            timesteps,
            cutoff.margin,
            &|| bar.inc(1),
        ),
    };
    bar.finish_and_clear();
    report
}

/// The read-out's unit, for reports.
pub fn unit(model: &SnnModel) -> &'static str {
    match model.layers.last().map(|l| &l.neurons) {
        Some(snn::Neurons::SpikeCountReadout { .. }) => "spikes",
        _ => "potential units",
    }
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
    let mut table = Table::new([
        "max T",
        "accuracy",
        "loss vs CNN",
        "mean steps",
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
            format!("{:.2}", r.mean_timesteps),
            format!("{:.0}", r.synops_per_image),
            format!("{:.3}", r.energy_ratio),
        ]);
    }
    println!("{}", table.render());
}
