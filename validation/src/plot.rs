//! Figures: a small declarative description ([`Figure`]) rendered to PNG and SVG with
//! plotters.
//!
//! Log axes are drawn by plotting log₁₀ of the data on a linear axis and labelling ticks
//! with the original values ([`oplab_common::figure::axis`] places them: decades, with minor
//! ticks at their multiples); this keeps one code path for all four lin/log combinations.
//! The embedded font, the palette (series pick colours by index) and PNG output are
//! [`oplab_common::figure`]'s.

use crate::error::{Result, ValidationError};
use oplab_common::figure::axis::{self, Ticks};
use oplab_common::figure::{self, register_font, FAMILY, PALETTE};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Size of the rendered figures in pixels.
const SIZE: (u32, u32) = (900, 600);

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line (theory).
    Line,
    /// Filled circles, with vertical error bars when the series has `y_err` (simulation).
    Markers,
    /// A step outline, for histograms (x holds bin edges, y one value fewer).
    Steps,
}

/// One data series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// Optional symmetric error bars (one standard error, or as stated in the label).
    pub y_err: Option<Vec<f64>>,
    /// Drawing style.
    pub style: Style,
    /// Index into the palette; series sharing a colour belong together (theory + simulation).
    pub color: usize,
}

impl Series {
    /// A theory line.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, color: usize) -> Self {
        Self { label: label.into(), x, y, y_err: None, style: Style::Line, color }
    }

    /// Simulation markers with optional error bars.
    pub fn markers(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, y_err: Option<Vec<f64>>, color: usize) -> Self {
        Self { label: label.into(), x, y, y_err, style: Style::Markers, color }
    }
}

/// A complete figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem; the figure is written as `<stem>.png` and `<stem>.svg`.
    pub stem: String,
    /// Caption drawn above the plot.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// The series, drawn in order.
    pub series: Vec<Series>,
    /// Corner of the legend box.
    pub legend: LegendCorner,
}

/// Where the legend box goes (pick the emptiest corner of the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegendCorner {
    /// Upper right (default).
    #[default]
    UpperRight,
    /// Upper left.
    UpperLeft,
    /// Lower right.
    LowerRight,
    /// Lower left.
    LowerLeft,
}

impl Figure {
    /// An empty figure with linear axes.
    pub fn new(stem: impl Into<String>, title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            stem: stem.into(),
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_log: false,
            y_log: false,
            series: Vec::new(),
            legend: LegendCorner::UpperRight,
        }
    }

    /// Sets logarithmic axes.
    pub fn log(mut self, x_log: bool, y_log: bool) -> Self {
        self.x_log = x_log;
        self.y_log = y_log;
        self
    }

    /// Moves the legend.
    pub fn legend_at(mut self, corner: LegendCorner) -> Self {
        self.legend = corner;
        self
    }

    /// Adds a series (an empty label keeps it out of the legend).
    pub fn with(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
}

/// Maps a data value to plot coordinates (log₁₀ on log axes); None if not drawable.
fn tr(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// The ticks of an axis spanning plot coordinates `[lo, hi]` (exponents on a log axis).
fn ticks(lo: f64, hi: f64, log: bool) -> Ticks {
    if log {
        axis::log(10f64.powf(lo), 10f64.powf(hi))
    } else {
        axis::linear(lo, hi, 8)
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + lo.abs()) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let xs = fig.series.iter().flat_map(|s| s.x.iter().filter_map(|&v| tr(v, fig.x_log)));
    let (x0, x1) = range(xs.collect::<Vec<_>>().into_iter());
    let mut ys = Vec::new();
    for s in &fig.series {
        for (i, &y) in s.y.iter().enumerate() {
            let e = s.y_err.as_ref().map(|e| e[i]).unwrap_or(0.0);
            ys.extend(tr(y + e, fig.y_log));
            ys.extend(tr(y - e, fig.y_log).or(tr(y, fig.y_log)));
        }
    }
    let (y0, y1) = range(ys.into_iter());
    let (xl, yl) = (fig.x_log, fig.y_log);
    let (x_ticks, y_ticks) = (ticks(x0, x1, xl), ticks(y0, y1, yl));
    let mut chart = ChartBuilder::on(root)
        .caption(&fig.title, (FAMILY, 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(x_ticks.coord(x0..x1), y_ticks.coord(y0..y1))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(&fig.x_label)
        .y_desc(&fig.y_label)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    axis::draw_minor_ticks(root, &chart, &x_ticks, &y_ticks).map_err(|e| e.to_string())?;

    for s in &fig.series {
        let color = PALETTE[s.color % PALETTE.len()];
        let pts: Vec<(f64, f64)> = s.x.iter().zip(&s.y).filter_map(|(&x, &y)| Some((tr(x, xl)?, tr(y, yl)?))).collect();
        let anno = match s.style {
            Style::Line => chart.draw_series(LineSeries::new(pts, color.stroke_width(2))).map_err(|e| e.to_string())?,
            Style::Steps => {
                // x holds edges: build the outline edge₀ → edge₁ at height y₀, etc.
                let mut path = Vec::new();
                for (i, &y) in s.y.iter().enumerate() {
                    if let (Some(a), Some(b), Some(h)) = (tr(s.x[i], xl), tr(s.x[i + 1], xl), tr(y, yl)) {
                        path.push((a, h));
                        path.push((b, h));
                    }
                }
                chart.draw_series(LineSeries::new(path, color.stroke_width(1))).map_err(|e| e.to_string())?
            }
            Style::Markers => {
                if let Some(err) = &s.y_err {
                    let bars: Vec<Vec<(f64, f64)>> =
                        s.x.iter()
                            .zip(&s.y)
                            .zip(err)
                            .filter_map(|((&x, &y), &e)| {
                                let xp = tr(x, xl)?;
                                let hi = tr(y + e, yl)?;
                                let lo = tr(y - e, yl).unwrap_or(y0);
                                Some(vec![(xp, lo), (xp, hi)])
                            })
                            .collect();
                    chart.draw_series(bars.into_iter().map(|b| PathElement::new(b, color.stroke_width(1)))).map_err(|e| e.to_string())?;
                }
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled()))).map_err(|e| e.to_string())?
            }
        };
        let style = s.style;
        if s.label.is_empty() {
            continue;
        }
        anno.label(&s.label).legend(move |(x, y)| -> DynElement<'static, DB, (i32, i32)> {
            match style {
                Style::Markers => Circle::new((x + 10, y), 4, color.filled()).into_dyn(),
                _ => PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)).into_dyn(),
            }
        });
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(match fig.legend {
            LegendCorner::UpperRight => SeriesLabelPosition::UpperRight,
            LegendCorner::UpperLeft => SeriesLabelPosition::UpperLeft,
            LegendCorner::LowerRight => SeriesLabelPosition::LowerRight,
            LegendCorner::LowerLeft => SeriesLabelPosition::LowerLeft,
        })
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Renders `fig` into `dir/<stem>.png` and `dir/<stem>.svg`.
pub fn render(fig: &Figure, dir: &Path) -> Result<()> {
    register_font();
    let plot_err = |m: String| ValidationError::Plot { figure: fig.stem.clone(), message: m };
    let (w, h) = SIZE;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root, fig).map_err(plot_err)?;
    }
    let svg_path = dir.join(format!("{}.svg", fig.stem));
    std::fs::write(&svg_path, svg).map_err(|e| ValidationError::Io { path: svg_path, source: e })?;

    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, fig).map_err(plot_err)?;
    }
    let png_path = dir.join(format!("{}.png", fig.stem));
    figure::write_png(&png_path, &rgb, w, h).map_err(|e| ValidationError::Io { path: png_path, source: e })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_png_and_svg_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f64> = (1..20).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 1.0 / v).collect();
        let fig = Figure::new("t", "test title", "t", "E").log(true, true).with(Series::line("theory", x.clone(), y.clone(), 0)).with(Series::markers(
            "sim",
            x,
            y.clone(),
            Some(vec![0.01; y.len()]),
            0,
        ));
        render(&fig, dir.path()).unwrap();
        let png = std::fs::read(dir.path().join("t.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(dir.path().join("t.svg")).unwrap();
        assert!(svg.contains("test title"));
    }

    #[test]
    fn log_axes_are_labelled_with_values() {
        // Plot coordinates are exponents: 10^-3 .. 10^0 is labelled 0.001 … 1.
        assert_eq!(ticks(-3.0, 0.0, true).labels(), ["0.001", "0.01", "0.1", "1"]);
        assert_eq!(ticks(0.0, 1.0, false).labels().first(), Some(&"0"));
    }
}
