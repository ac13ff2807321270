//! Figures of an AL-RNN run: training curves, true vs generated attractor (2-D projections),
//! power spectra, and the subregion coding over time. Text uses the embedded font of
//! [`oplab_common::figure`].

use std::path::Path;

use oplab_common::figure::{axis, register_font, FAMILY, PALETTE};
use plotters::prelude::*;
use rustfft::FftPlanner;

use super::metrics::{power_spectrum, AlrnnEpoch};
use crate::plot::{log_curves, plot_err, write_png, Curve};

const TRUE_COLOR: RGBColor = PALETTE[0];
const GEN_COLOR: RGBColor = PALETTE[1];

fn finite_range<'a>(vals: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = vals.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (-1.0, 1.0)
    } else if hi > lo {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

/// Training loss per epoch and `D_stsp` / `D_H` at evaluation epochs (log scale).
pub fn training_curves(path: &Path, history: &[AlrnnEpoch]) -> crate::Result<()> {
    let series: [Curve; 4] = [
        ("forced loss (MSE)", history.iter().map(|e| (e.epoch as f64, e.loss)).collect(), TRUE_COLOR),
        ("D_stsp (train series)", history.iter().filter_map(|e| e.dstsp.map(|v| (e.epoch as f64, v))).collect(), GEN_COLOR),
        ("D_H", history.iter().filter_map(|e| e.dh.map(|v| (e.epoch as f64, v))).collect(), PALETTE[2]),
        ("prediction error", history.iter().filter_map(|e| e.pe.map(|v| (e.epoch as f64, v))).collect(), PALETTE[3]),
    ];
    log_curves(path, "AL-RNN training", "value (log scale)", history.len(), &series)
}

/// Pairs of dimensions shown: (0,1), (0,2), (1,2) as far as they exist.
fn pairs(n: usize) -> Vec<(usize, usize)> {
    let mut p: Vec<(usize, usize)> = [(0, 1), (0, 2), (1, 2)].into_iter().filter(|&(a, b)| a < n && b < n).collect();
    if p.is_empty() {
        p.push((0, 0));
    }
    p
}

/// True (top row) and generated (bottom row) trajectories projected on pairs of dimensions.
pub fn attractor(path: &Path, truth: &[f64], gen: &[f64], n: usize) -> crate::Result<()> {
    register_font();
    let pr = pairs(n);
    let cell = 340u32;
    let (w, h) = (cell * pr.len() as u32, 2 * cell);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let rows = root.split_evenly((2, pr.len()));
        for (r, (label, data, color)) in [("true", truth, TRUE_COLOR), ("generated", gen, GEN_COLOR)].into_iter().enumerate() {
            for (c, &(a, b)) in pr.iter().enumerate() {
                let area = &rows[r * pr.len() + c];
                // Both rows share the true data's range so shapes compare directly.
                let xr = finite_range(truth.iter().skip(a).step_by(n));
                let yr = finite_range(truth.iter().skip(b).step_by(n));
                let mut chart = ChartBuilder::on(area)
                    .caption(format!("{label}: x{} vs x{}", a + 1, b + 1), (FAMILY, 16))
                    .margin(8)
                    .x_label_area_size(25)
                    .y_label_area_size(35)
                    .build_cartesian_2d(axis::linear(xr.0, xr.1, 5).coord(xr.0..xr.1), axis::linear(yr.0, yr.1, 5).coord(yr.0..yr.1))
                    .map_err(|e| plot_err(path, e))?;
                chart.configure_mesh().disable_mesh().label_style((FAMILY, 11)).draw().map_err(|e| plot_err(path, e))?;
                let pts: Vec<(f64, f64)> = data
                    .chunks_exact(n)
                    .map(|p| (p[a], p[b]))
                    .filter(|p| p.0.is_finite() && p.1.is_finite() && p.0 >= xr.0 && p.0 <= xr.1 && p.1 >= yr.0 && p.1 <= yr.1)
                    .collect();
                chart.draw_series(LineSeries::new(pts, color.mix(0.6).stroke_width(1))).map_err(|e| plot_err(path, e))?;
            }
        }
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, w, h)
}

/// Smoothed normalised power spectra, true vs generated, one panel per dimension (log scale,
/// low-frequency quarter shown).
pub fn spectra(path: &Path, truth: &[f64], gen: &[f64], n: usize, sigma: f64) -> crate::Result<()> {
    register_font();
    let len = (truth.len() / n).min(gen.len() / n);
    let dims = n.min(4);
    let cell = 340u32;
    let (w, h) = (cell * dims as u32, cell);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        if len >= 4 && gen[..len * n].iter().all(|v| v.is_finite()) {
            let fft = FftPlanner::new().plan_fft_forward(len);
            let panels = root.split_evenly((1, dims));
            for (d, area) in panels.iter().enumerate() {
                let col = |x: &[f64]| -> Vec<f64> { (0..len).map(|t| x[t * n + d]).collect() };
                let pt = power_spectrum(&col(truth), sigma, &fft);
                let pg = power_spectrum(&col(gen), sigma, &fft);
                let shown = (pt.len() / 4).max(2);
                let log =
                    |p: &[f64]| -> Vec<(f64, f64)> { p[..shown].iter().enumerate().map(|(k, v)| (k as f64 / len as f64, v.max(1e-14).log10())).collect() };
                let (lt, lg) = (log(&pt), log(&pg));
                let yr = finite_range(lt.iter().chain(&lg).map(|p| &p.1));
                // The spectra are drawn as log10 p on a linear coordinate; the ticks label p.
                let f_max = shown as f64 / len as f64;
                let x_ticks = axis::linear(0.0, f_max, 4);
                let y_ticks = axis::log(10f64.powf(yr.0), 10f64.powf(yr.1));
                let mut chart = ChartBuilder::on(area)
                    .caption(format!("power spectrum x{}", d + 1), (FAMILY, 16))
                    .margin(8)
                    .x_label_area_size(30)
                    .y_label_area_size(48)
                    .build_cartesian_2d(x_ticks.coord(0.0..f_max), y_ticks.coord(yr.0..yr.1))
                    .map_err(|e| plot_err(path, e))?;
                chart
                    .configure_mesh()
                    .x_desc("frequency (1/step)")
                    .y_desc("power (log scale)")
                    .label_style((FAMILY, 11))
                    .draw()
                    .map_err(|e| plot_err(path, e))?;
                axis::draw_minor_ticks(&root, &chart, &x_ticks, &y_ticks).map_err(|e| plot_err(path, e))?;
                chart
                    .draw_series(LineSeries::new(lt, TRUE_COLOR.stroke_width(2)))
                    .map_err(|e| plot_err(path, e))?
                    .label("true")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TRUE_COLOR.stroke_width(2)));
                chart
                    .draw_series(LineSeries::new(lg, GEN_COLOR.stroke_width(2)))
                    .map_err(|e| plot_err(path, e))?
                    .label("generated")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GEN_COLOR.stroke_width(2)));
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font((FAMILY, 12))
                    .draw()
                    .map_err(|e| plot_err(path, e))?;
            }
        } else {
            root.draw(&Text::new("generated series diverged: no spectrum", (20, 20), (FAMILY, 18))).map_err(|e| plot_err(path, e))?;
        }
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, w, h)
}

fn region_color(id: u32) -> RGBColor {
    // Eight distinct hues: Okabe–Ito's own yellow where the shared palette has grey.
    let mut colors = PALETTE;
    colors[6] = RGBColor(240, 228, 66);
    colors[(id as usize) % colors.len()]
}

/// The generated `x1` over time coloured by subregion (top) and the subregion id itself
/// (bottom).
pub fn subregions(path: &Path, observed: &[f64], sequence: &[u32], n: usize, p: usize) -> crate::Result<()> {
    register_font();
    let (w, h) = (1100u32, 620u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let (top, bottom) = root.split_vertically(380);
        let len = sequence.len().min(observed.len() / n.max(1));
        let t_max = len.max(2) as f64;
        let x1: Vec<f64> = observed.iter().step_by(n.max(1)).take(len).copied().collect();
        let yr = finite_range(x1.iter());
        let mut chart = ChartBuilder::on(&top)
            .caption(format!("free run x1, coloured by linear subregion (P = {p}, at most {} regions)", 1u64 << p.min(20)), (FAMILY, 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(axis::integer(0.0, t_max, 10).coord(0.0..t_max), axis::linear(yr.0, yr.1, 6).coord(yr.0..yr.1))
            .map_err(|e| plot_err(path, e))?;
        chart.configure_mesh().disable_mesh().label_style((FAMILY, 12)).draw().map_err(|e| plot_err(path, e))?;
        chart
            .draw_series(
                (1..len)
                    .filter(|&t| x1[t].is_finite() && x1[t - 1].is_finite())
                    .map(|t| PathElement::new(vec![((t - 1) as f64, x1[t - 1]), (t as f64, x1[t])], region_color(sequence[t]).stroke_width(2))),
            )
            .map_err(|e| plot_err(path, e))?;
        let max_id = sequence.iter().copied().max().unwrap_or(0) as f64;
        let mut codes = ChartBuilder::on(&bottom)
            .caption("subregion id over time", (FAMILY, 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(axis::integer(0.0, t_max, 10).coord(0.0..t_max), axis::integer(-0.5, max_id + 0.5, 6).coord(-0.5..(max_id + 0.5)))
            .map_err(|e| plot_err(path, e))?;
        codes.configure_mesh().disable_mesh().x_desc("time step").label_style((FAMILY, 12)).draw().map_err(|e| plot_err(path, e))?;
        codes
            .draw_series(
                sequence[..len]
                    .iter()
                    .enumerate()
                    .map(|(t, &id)| Rectangle::new([(t as f64, id as f64 - 0.4), (t as f64 + 1.0, id as f64 + 0.4)], region_color(id).filled())),
            )
            .map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, w, h)
}
