//! `snncc convert MODEL --calib XC -o DIR`: ECC conversion to a directory.

use anyhow::bail;
use snncc::snn;

use super::ConvertArgs;

pub fn run(args: &ConvertArgs) -> anyhow::Result<()> {
    if args.output.exists() && !args.output.is_dir() {
        bail!("{} exists and is not a directory", args.output.display());
    }
    let (_, conversion, seconds) =
        super::network::convert(&args.model, &args.calib, &args.convert)?;
    let mut notes = vec![
        format!("converted from {}", args.model.display()),
        format!("calibration data {}", args.calib.display()),
        format!(
            "norm {}{}",
            args.convert.norm.label(),
            if args.convert.per_channel() {
                " per channel"
            } else {
                ""
            }
        ),
    ];
    notes.extend(conversion.log.changes.iter().cloned());
    notes.extend(
        conversion
            .log
            .warnings
            .iter()
            .map(|w| format!("warning: {w}")),
    );
    snn::save_net(&conversion.model, &args.output, &notes)?;
    println!(
        "converted '{}' in {seconds:.3} s: {} layers written to {}",
        conversion.model.name,
        conversion.model.layers.len(),
        args.output.join(snn::store::DESCRIPTION).display()
    );
    Ok(())
}
