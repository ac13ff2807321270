//! Figures of a run: the loss curve and input/target/prediction/error panels. The embedded
//! font, the palette and PNG output are [`oplab_common::figure`]'s.

use std::path::Path;

use oplab_common::figure::{self, register_font, FAMILY, PALETTE};
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
    log_curves(path, "training curve", "error (log10)", train_loss.len(), &series)
}

/// Draws curves against the epoch (1..=`epochs`) with a log10 y axis, skipping points that are not
/// finite and positive; shared by the operator and the AL-RNN training figures.
pub(crate) fn log_curves(path: &Path, caption: &str, y_desc: &str, epochs: usize, series: &[Curve]) -> crate::Result<()> {
    log_chart(path, caption, XAxis::Epochs(epochs), y_desc, series)
}

/// The x axis of a [`log_chart`].
pub(crate) enum XAxis<'a> {
    /// Epochs 1..=n, linear.
    Epochs(usize),
    /// Positive values on a log10 axis with this description; points are marked.
    Log(&'a str),
}

/// Curves with a log10 y axis (points that are not finite and positive are skipped).
pub(crate) fn log_chart(path: &Path, caption: &str, x_axis: XAxis, y_desc: &str, series: &[Curve]) -> crate::Result<()> {
    register_font();
    let (w, h) = (900u32, 560u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let vals: Vec<f64> = series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).filter(|v| v.is_finite() && *v > 0.0).collect();
        let (lo, hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo.is_finite() { (lo.log10().floor(), hi.log10().ceil().max(lo.log10().floor() + 1.0)) } else { (-3.0, 0.0) };
        let log_x = matches!(x_axis, XAxis::Log(_));
        let (x_lo, x_hi, x_desc) = match x_axis {
            XAxis::Epochs(epochs) => (1f64, epochs.max(2) as f64, "epoch"),
            XAxis::Log(desc) => {
                let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).filter(|v| v.is_finite() && *v > 0.0);
                let (a, b) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v.log10()), b.max(v.log10())));
                let (a, b) = if a.is_finite() { (a, b.max(a + 0.3)) } else { (0.0, 1.0) };
                (a - 0.1, b + 0.1, desc)
            }
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FAMILY, 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, lo..hi)
            .map_err(|e| plot_err(path, e))?;
        // On a log x axis (a sweep, often within one decade of y) the labels are the values.
        let x_fmt = |v: &f64| format!("{:.0}", 10f64.powf(*v));
        let y_fmt = |v: &f64| format!("{:.2e}", 10f64.powf(*v));
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x_desc).y_desc(y_desc).y_label_formatter(&|v| format!("1e{v:.0}")).label_style((FAMILY, 14));
        if log_x {
            mesh.x_label_formatter(&x_fmt).y_label_formatter(&y_fmt);
        }
        mesh.draw().map_err(|e| plot_err(path, e))?;
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
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font((FAMILY, 14)).draw().map_err(|e| plot_err(path, e))?;
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

/// A perceptual blue–white–red-ish map (viridis-like ramp, piecewise linear).
fn colormap(t: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 5] =
        [(0.0, [68., 1., 84.]), (0.25, [59., 82., 139.]), (0.5, [33., 145., 140.]), (0.75, [94., 201., 98.]), (1.0, [253., 231., 37.])];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    for win in STOPS.windows(2) {
        let (a, ca) = win[0];
        let (b, cb) = win[1];
        if t <= b {
            let s = (t - a) / (b - a);
            let c = |k: usize| (ca[k] + s * (cb[k] - ca[k])) as u8;
            return RGBColor(c(0), c(1), c(2));
        }
    }
    RGBColor(253, 231, 37)
}

/// Draws input / target / prediction / |error| for each sample, one row per sample.
pub fn sample_panels(path: &Path, panels: &[SamplePanel], h: usize, w: usize) -> crate::Result<()> {
    register_font();
    let cell = 220u32;
    let (cols, rows) = (4u32, panels.len().max(1) as u32);
    let (width, height) = (cols * cell, rows * (cell + 30));
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let side = (cell - 20) as usize;
        for (r, p) in panels.iter().enumerate() {
            let err: Vec<f32> = p.target.iter().zip(&p.prediction).map(|(a, b)| (a - b).abs()).collect();
            // Target and prediction share one colour range so they can be compared by eye.
            let range = |v: &[f32]| v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
            let (tl, th) = range(&p.target);
            let (pl, ph) = range(&p.prediction);
            let shared = (tl.min(pl), th.max(ph));
            let fields: [(&str, &[f32], (f32, f32)); 4] =
                [("input", &p.input, range(&p.input)), ("target", &p.target, shared), ("prediction", &p.prediction, shared), ("|error|", &err, range(&err))];
            for (c, (title, v, (lo, hi))) in fields.iter().enumerate() {
                let x0 = c as i32 * cell as i32 + 10;
                let y0 = r as i32 * (cell as i32 + 30) + 28;
                let label = if c == 3 { format!("{title} (sample {}, rel. L2 {:.2e})", p.index, p.rel_l2) } else { title.to_string() };
                let size = if c == 3 { 11 } else { 15 };
                root.draw(&Text::new(label, (x0, y0 - 20), (FAMILY, size))).map_err(|e| plot_err(path, e))?;
                let span = if hi > lo { (hi - lo) as f64 } else { 1.0 };
                for py in 0..side {
                    let i = (py * h / side).min(h.saturating_sub(1));
                    for px in 0..side {
                        let j = (px * w / side).min(w.saturating_sub(1));
                        let val = v.get(i * w + j).copied().unwrap_or(0.0);
                        let color = colormap((val - lo) as f64 / span);
                        root.draw_pixel((x0 + px as i32, y0 + py as i32), &color).map_err(|e| plot_err(path, e))?;
                    }
                }
            }
        }
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, width, height)
}
