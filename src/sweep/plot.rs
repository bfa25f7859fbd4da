//! Plots of sweep results, as SVG and PNG, with `plotters`.

use super::results::Record;
use super::spec::PlotSpec;
use crate::units::ByteSize;
use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One line of a plot: its label and its (x, y) points sorted by x.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series axis value (or the y path when there is no series axis).
    pub label: String,
    /// Points, sorted by x.
    pub points: Vec<(f64, f64)>,
}

/// Reads an axis value or result field as a number: plain numbers, and sizes (`2 GiB`) as
/// bytes.
fn x_value(r: &Record, x: &str) -> Option<f64> {
    if let Some(v) = r.axes.iter().find(|(a, _)| a == x).map(|(_, v)| v) {
        return v
            .parse::<f64>()
            .ok()
            .or_else(|| ByteSize::parse(v).ok().map(|b| b.bytes() as f64));
    }
    r.number(x)
}

/// Groups successful records into series for `spec`. Records lacking x or y are skipped.
pub fn series(records: &[Record], spec: &PlotSpec) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in records.iter().filter(|r| r.ok) {
        let (Some(x), Some(y)) = (x_value(r, &spec.x), r.number(&spec.y)) else {
            continue;
        };
        let label = match &spec.series {
            Some(s) => r
                .axes
                .iter()
                .find(|(a, _)| a == s)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            None => spec.y.clone(),
        };
        match out.iter_mut().find(|s| s.label == label) {
            Some(s) => s.points.push((x, y)),
            None => out.push(Series {
                label,
                points: vec![(x, y)],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// The font PNG text is drawn with (SVG needs none).
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

fn register_font() -> Result<()> {
    use std::sync::OnceLock;
    static FONT: OnceLock<Option<&'static [u8]>> = OnceLock::new();
    let font = FONT.get_or_init(|| {
        FONT_CANDIDATES
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .map(|b| &*Box::leak(b.into_boxed_slice()))
    });
    match font {
        Some(bytes) => {
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| anyhow::anyhow!("the PNG font could not be loaded"))?;
            Ok(())
        }
        None => bail!(
            "no font for PNG text (looked for {}); install fonts-dejavu-core",
            FONT_CANDIDATES.join(", ")
        ),
    }
}

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, plotters::coord::Shift>,
    spec: &PlotSpec,
    data: &[Series],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pts = data.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        bail!(
            "plot `{}`: no point has both `{}` and `{}`",
            spec.file,
            spec.x,
            spec.y
        );
    }
    if x0 == x1 {
        x1 = x0 + 1.0;
    }
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.1 };
    let title = spec
        .title
        .clone()
        .unwrap_or_else(|| format!("{} vs {}", spec.y, spec.x));
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc(spec.x.clone())
        .y_desc(spec.y.clone())
        .x_label_formatter(&|v| short_number(*v))
        .y_label_formatter(&|v| short_number(*v))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (i, s) in data.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    area.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Formats an axis tick: 2147483648 -> 2G, 0.25 -> 0.25.
fn short_number(v: f64) -> String {
    let a = v.abs();
    let (d, s) = if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if x == x.trunc() {
        format!("{x}{s}")
    } else {
        format!("{x:.2}{s}")
    }
}

/// Draws `spec` from `records` into `dir/<file>.svg` and `.png`; returns the files written.
pub fn write_plot(dir: &Path, spec: &PlotSpec, records: &[Record]) -> Result<Vec<PathBuf>> {
    let data = series(records, spec);
    // Both backends lay text out with the registered font.
    register_font()?;
    let svg = dir.join(format!("{}.svg", spec.file));
    draw(
        SVGBackend::new(&svg, (900, 560)).into_drawing_area(),
        spec,
        &data,
    )
    .with_context(|| format!("drawing {}", svg.display()))?;
    let mut written = vec![svg];
    let png = dir.join(format!("{}.png", spec.file));
    draw(
        BitMapBackend::new(&png, (900, 560)).into_drawing_area(),
        spec,
        &data,
    )
    .with_context(|| format!("drawing {}", png.display()))?;
    written.push(png);
    Ok(written)
}
