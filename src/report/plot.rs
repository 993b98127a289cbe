//! SVG line charts (plotters): one chart, several named series of (x, y)
//! points, axis captions, and tick labels at the values the data was taken
//! at (a log axis over one or two decades otherwise gets no labels at all).
//! Text is left to the SVG viewer, so no font files are needed.

use std::path::Path;

use plotters::prelude::*;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A line with a dot at each point (measurements).
    Line,
    /// A dashed line (references: the float SNN, the CNN).
    Dashed,
    /// A ring around each point, no line (marking chosen points, such as
    /// the Pareto front, on top of the lines).
    Rings,
}

/// A chart to draw.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Logarithmic x axis (simulation lengths, memory sizes).
    pub log_x: bool,
    /// Where a log x axis has labelled ticks (the swept values); empty for
    /// plotters' own choice.
    pub x_ticks: Vec<f64>,
    pub series: Vec<Series>,
}

/// A tick label: whole numbers as such, others with one decimal.
pub fn tick_label(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.1}")
    }
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
    // A little room so the end points and their labels are not on the frame.
    let (x0, x1) = if chart.log_x {
        (x0 / 1.15, x1 * 1.15)
    } else {
        let m = (x1 - x0) * 0.04;
        (x0 - m, x1 + m)
    };
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
                .x_label_formatter(&|x| tick_label(*x))
                .draw()
                .map_err(e)?;
            for (i, s) in chart.series.iter().enumerate() {
                let color = if s.style == Style::Rings {
                    &BLACK
                } else {
                    palette[i % palette.len()]
                };
                let style = ShapeStyle::from(color).stroke_width(2);
                let legend =
                    move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], color);
                match s.style {
                    Style::Dashed => {
                        ctx.draw_series(DashedLineSeries::new(
                            s.points.iter().copied(),
                            6,
                            4,
                            style,
                        ))
                        .map_err(e)?
                        .label(s.name.clone())
                        .legend(legend);
                    }
                    Style::Line => {
                        ctx.draw_series(LineSeries::new(s.points.iter().copied(), style))
                            .map_err(e)?
                            .label(s.name.clone())
                            .legend(legend);
                        ctx.draw_series(
                            s.points.iter().map(|&p| Circle::new(p, 3, color.filled())),
                        )
                        .map_err(e)?;
                    }
                    Style::Rings => {
                        ctx.draw_series(s.points.iter().map(|&p| Circle::new(p, 7, style)))
                            .map_err(e)?
                            .label(s.name.clone())
                            .legend(move |(x, y)| Circle::new((x + 10, y), 6, style));
                    }
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
    let ticks = chart.x_ticks.clone();
    match (chart.log_x, ticks.is_empty()) {
        (true, true) => draw!(builder
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            .map_err(e)?),
        (true, false) => draw!(builder
            .build_cartesian_2d((x0..x1).log_scale().with_key_points(ticks), y0..y1)
            .map_err(e)?),
        // A linear axis gets readable ticks from plotters itself.
        (false, _) => draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?),
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
            x_ticks: vec![16.0, 64.0, 256.0],
            series: vec![
                Series {
                    name: "8 bits".into(),
                    points: vec![(16.0, 90.0), (64.0, 96.0), (256.0, 97.0)],
                    style: Style::Line,
                },
                Series {
                    name: "float".into(),
                    points: vec![(16.0, 91.0), (256.0, 97.1)],
                    style: Style::Dashed,
                },
                Series {
                    name: "Pareto front".into(),
                    points: vec![(64.0, 96.0)],
                    style: Style::Rings,
                },
            ],
        };
        write_svg(&path, &chart).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("8 bits") && svg.contains("timesteps"));
        // Every swept value is a labelled tick: a text element of its own.
        let texts = svg_texts(&svg);
        for t in ["16", "64", "256", "Pareto front", "float", "accuracy (%)"] {
            assert!(texts.iter().any(|x| x == t), "no text {t} in {texts:?}");
        }
    }

    /// The contents of the SVG's text elements (plotters writes each on a
    /// line of its own between the tags).
    pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..t.find("</text>")?];
                Some(body.trim().to_string())
            })
            .collect()
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(32.0), "32");
        assert_eq!(tick_label(21.6015625), "21.6");
    }
}
