//! SVG line charts (plotters): one chart, several named series of (x, y)
//! points, axis captions. Text is left to the SVG viewer, so no font files
//! are needed.

use std::path::Path;

use plotters::prelude::*;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Draw as a dashed reference instead of a marked line.
    pub reference: bool,
}

/// A chart to draw.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Logarithmic x axis (simulation lengths, memory sizes).
    pub log_x: bool,
    pub series: Vec<Series>,
}

/// Write `chart` as an SVG file.
pub fn write_svg(path: &Path, chart: &Chart) -> Result<(), String> {
    let points = chart.series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err("nothing to plot".into());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(0.1);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let root = SVGBackend::new(path, (800, 520)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| format!("{}: {e}", path.display());
    root.fill(&WHITE).map_err(e)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(chart.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64);
    let palette = [
        &BLUE,
        &RED,
        &GREEN,
        &MAGENTA,
        &CYAN,
        &BLACK,
        &RGBColor(230, 140, 0),
    ];
    macro_rules! draw {
        ($ctx:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_desc(chart.x_label)
                .y_desc(chart.y_label)
                .draw()
                .map_err(e)?;
            for (i, s) in chart.series.iter().enumerate() {
                let color = palette[i % palette.len()];
                let style = ShapeStyle::from(color).stroke_width(2);
                if s.reference {
                    ctx.draw_series(DashedLineSeries::new(s.points.iter().copied(), 6, 4, style))
                        .map_err(e)?
                        .label(s.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
                } else {
                    ctx.draw_series(LineSeries::new(s.points.iter().copied(), style))
                        .map_err(e)?
                        .label(s.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
                    ctx.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                        .map_err(e)?;
                }
            }
            ctx.configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(e)?;
        }};
    }
    if chart.log_x {
        draw!(builder
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            .map_err(e)?);
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?);
    }
    root.present().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.svg");
        let chart = Chart {
            title: "accuracy vs T",
            x_label: "timesteps",
            y_label: "accuracy (%)",
            log_x: true,
            series: vec![
                Series {
                    name: "8 bits".into(),
                    points: vec![(16.0, 90.0), (64.0, 96.0), (256.0, 97.0)],
                    reference: false,
                },
                Series {
                    name: "float".into(),
                    points: vec![(16.0, 91.0), (256.0, 97.1)],
                    reference: true,
                },
            ],
        };
        write_svg(&path, &chart).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("8 bits") && svg.contains("timesteps"));
    }
}
