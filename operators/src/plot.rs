//! Figures of a run: the loss curve and input/target/prediction/error panels. The embedded
//! font, the palette and PNG output are [`oplab_common::figure`]'s.

use std::path::Path;

use oplab_common::figure::{self, axis, colorbar, register_font, FAMILY, PALETTE};
use plotters::prelude::*;

use crate::error::OperatorError;

pub(crate) fn plot_err(path: &Path, e: impl std::fmt::Display) -> OperatorError {
    OperatorError::io(path, std::io::Error::other(format!("cannot draw figure: {e}")))
}

/// Writes an RGB image to `path` as PNG, atomically.
pub(crate) fn write_png(path: &Path, rgb: &[u8], w: u32, h: u32) -> crate::Result<()> {
    figure::write_png(path, rgb, w, h).map_err(|e| OperatorError::io(path, e))
}

/// A labelled, coloured curve of (x, y) points.
pub(crate) type Curve<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

/// Draws training loss and validation errors per epoch (1, 2, ...) on a log scale.
pub fn loss_curve(path: &Path, train_loss: &[f64], val_l2: &[f64], val_h1: &[f64]) -> crate::Result<()> {
    let per_epoch = |v: &[f64]| v.iter().enumerate().map(|(i, &y)| ((i + 1) as f64, y)).collect();
    let series =
        [("train loss", per_epoch(train_loss), PALETTE[0]), ("val rel. L2", per_epoch(val_l2), PALETTE[1]), ("val rel. H1", per_epoch(val_h1), PALETTE[2])];
    log_curves(path, "training curve", "error (log scale)", train_loss.len(), &series)
}

/// Draws curves against the epoch (1..=`epochs`) with a log10 y axis, skipping points that are not
/// finite and positive; shared by the operator and the AL-RNN training figures.
pub(crate) fn log_curves(path: &Path, caption: &str, y_desc: &str, epochs: usize, series: &[Curve]) -> crate::Result<()> {
    log_chart(path, caption, XAxis::Epochs(epochs), y_desc, series)
}

/// The x axis of a [`log_chart`].
pub(crate) enum XAxis<'a> {
    /// Epochs 1..=n, linear, labelled with whole numbers.
    Epochs(usize),
    /// Positive values on a log10 axis with this description; points are marked.
    Log(&'a str),
}

/// The plot range `[lo, hi]` of log₁₀ of the finite positive `values`, padded by 5 % of its
/// span (at least a tenth of a decade, so a flat curve still has an axis), or `default`.
fn log_range(values: impl Iterator<Item = f64>, default: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite() && *v > 0.0).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v.log10()), b.max(v.log10())));
    if !lo.is_finite() {
        return default;
    }
    let pad = (0.05 * (hi - lo)).max(0.05);
    (lo - pad, hi + pad)
}

/// Curves with a log10 y axis (points that are not finite and positive are skipped).
pub(crate) fn log_chart(path: &Path, caption: &str, x_axis: XAxis, y_desc: &str, series: &[Curve]) -> crate::Result<()> {
    register_font();
    let (w, h) = (900u32, 560u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let (lo, hi) = log_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.1)), (-3.0, 0.0));
        let y_ticks = axis::log(10f64.powf(lo), 10f64.powf(hi));
        let log_x = matches!(x_axis, XAxis::Log(_));
        let (x_lo, x_hi, x_desc, x_ticks) = match x_axis {
            XAxis::Epochs(epochs) => {
                let last = epochs.max(2) as f64;
                (1f64, last, "epoch", axis::integer(1.0, last, 10))
            }
            XAxis::Log(desc) => {
                let (a, b) = log_range(series.iter().flat_map(|s| s.1.iter().map(|p| p.0)), (0.0, 1.0));
                (a, b, desc, axis::log(10f64.powf(a), 10f64.powf(b)))
            }
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FAMILY, 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_ticks.coord(x_lo..x_hi), y_ticks.coord(lo..hi))
            .map_err(|e| plot_err(path, e))?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).label_style((FAMILY, 14)).draw().map_err(|e| plot_err(path, e))?;
        axis::draw_minor_ticks(&root, &chart, &x_ticks, &y_ticks).map_err(|e| plot_err(path, e))?;
        for (label, pts, color) in series {
            let color = *color;
            let keep = |p: &&(f64, f64)| p.1.is_finite() && p.1 > 0.0 && (!log_x || p.0 > 0.0);
            let pts: Vec<(f64, f64)> = pts.iter().filter(keep).map(|&(x, y)| (if log_x { x.log10() } else { x }, y.log10())).collect();
            if log_x {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(|e| plot_err(path, e))?;
            }
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(|e| plot_err(path, e))?
                .label(*label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        // Upper right: training curves fall, so their end leaves that corner empty.
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 14))
            .draw()
            .map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, w, h)
}

/// Relative L2 against the grid side, one curve per `(label, [(side, rel. L2)])`, both axes
/// log10 (`oplab eval --subsample`).
pub fn resolution_sweep(path: &Path, caption: &str, curves: &[(String, Vec<(f64, f64)>)]) -> crate::Result<()> {
    let series: Vec<Curve> = curves.iter().enumerate().map(|(i, (label, pts))| (label.as_str(), pts.clone(), PALETTE[i % PALETTE.len()])).collect();
    log_chart(path, caption, XAxis::Log("grid side n (log scale)"), "test rel. L2 (log scale)", &series)
}

/// One row of the evaluation figure.
#[derive(Debug, Clone)]
pub struct SamplePanel {
    /// Sample index in the file.
    pub index: usize,
    /// First input channel, `h·w` values.
    pub input: Vec<f32>,
    /// First target channel.
    pub target: Vec<f32>,
    /// First predicted channel.
    pub prediction: Vec<f32>,
    /// Relative L2 error of the sample.
    pub rel_l2: f64,
}

/// Draws input / target / prediction / |error| for each sample, one row per sample, each field
/// with a colour bar. Target and prediction share one colour scale so they compare by eye; the
/// input and the error have their own.
pub fn sample_panels(path: &Path, panels: &[SamplePanel], h: usize, w: usize) -> crate::Result<()> {
    register_font();
    // A cell: the image, then its colour bar and the bar's labels.
    let (side, bar_w, label_w, gap) = (200u32, 14u32, 62u32, 16u32);
    let cell = side + 8 + bar_w + label_w + gap;
    // A row: the sample's heading, the panel titles, the images, the value ranges.
    let (heading, title, range_h) = (26u32, 22u32, 20u32);
    let row = heading + title + side + range_h + 8;
    let (cols, rows) = (4u32, panels.len().max(1) as u32);
    let (width, height) = (cols * cell + 10, rows * row);
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let side_px = side as usize;
        for (r, p) in panels.iter().enumerate() {
            let err: Vec<f32> = p.target.iter().zip(&p.prediction).map(|(a, b)| (a - b).abs()).collect();
            let range = |v: &[f32]| v.iter().filter(|x| x.is_finite()).fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
            let (tl, th) = range(&p.target);
            let (pl, ph) = range(&p.prediction);
            let shared = colorbar::scale(tl.min(pl), th.max(ph));
            // Each field: its title, values, (min, max) and the colour scale it is drawn with.
            let own = |v: &[f32]| (range(v), colorbar::scale(range(v).0, range(v).1));
            let fields = [
                ("input", &p.input[..], own(&p.input)),
                ("target", &p.target[..], ((tl, th), shared)),
                ("prediction", &p.prediction[..], ((pl, ph), shared)),
                ("|error|", &err[..], own(&err)),
            ];
            let top = r as i32 * row as i32;
            let heading_text = format!("sample {} (rel. L2 {:.3e}); target and prediction share one colour scale", p.index, p.rel_l2);
            root.draw(&Text::new(heading_text, (10, top + 6), (FAMILY, 15))).map_err(|e| plot_err(path, e))?;
            for (c, (name, v, ((min, max), (lo, hi)))) in fields.iter().enumerate() {
                let x0 = c as i32 * cell as i32 + 10;
                let y0 = top + (heading + title) as i32;
                root.draw(&Text::new(name.to_string(), (x0, y0 - title as i32 + 2), (FAMILY, 14))).map_err(|e| plot_err(path, e))?;
                let span = hi - lo;
                for py in 0..side_px {
                    let i = (py * h / side_px).min(h.saturating_sub(1));
                    for px in 0..side_px {
                        let j = (px * w / side_px).min(w.saturating_sub(1));
                        let val = v.get(i * w + j).copied().map_or(f64::NAN, f64::from);
                        root.draw_pixel((x0 + px as i32, y0 + py as i32), &colorbar::colormap((val - lo) / span)).map_err(|e| plot_err(path, e))?;
                    }
                }
                let bar = colorbar::BarPlace { x: x0 + side as i32 + 8, y: y0, w: bar_w as i32, h: side as i32 };
                colorbar::draw(&root, bar, *lo, *hi, 11).map_err(|e| plot_err(path, e))?;
                let range_text = if min.is_finite() {
                    format!("min {}, max {}", axis::compact(f64::from(*min)), axis::compact(f64::from(*max)))
                } else {
                    "no finite value".into()
                };
                root.draw(&Text::new(range_text, (x0, y0 + side as i32 + 4), (FAMILY, 11))).map_err(|e| plot_err(path, e))?;
            }
        }
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, width, height)
}
