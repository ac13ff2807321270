//! Figures of a PROSE run: the training curves and, after `eval`, one trajectory panel per
//! system (input, truth, prediction, and the re-integrated decoded equation when asked for).

use std::path::Path;

use oplab_common::figure::{axis, register_font, FAMILY, PALETTE};
use plotters::prelude::*;

use super::state::ProseEpoch;
use crate::plot::{log_curves, plot_err, write_png, Curve};

/// Training loss, validation loss, validation data relative L2 and cross-entropy per epoch.
pub fn loss_curves(path: &Path, history: &[ProseEpoch]) -> crate::Result<()> {
    let per = |f: &dyn Fn(&ProseEpoch) -> Option<f64>| history.iter().filter_map(|e| f(e).map(|v| (e.epoch as f64, v))).collect::<Vec<_>>();
    let series: [Curve; 5] = [
        ("train loss", per(&|e| Some(e.train_loss)), PALETTE[0]),
        ("val loss", per(&|e| Some(e.val_loss)), PALETTE[1]),
        ("val data rel. L2", per(&|e| Some(e.val_data_rel_l2)), PALETTE[2]),
        ("train CE", per(&|e| e.train_ce), PALETTE[3]),
        ("val CE", per(&|e| e.val_ce), PALETTE[4]),
    ];
    log_curves(path, "PROSE training", "value (log scale)", history.len(), &series)
}

/// One sample's trajectory for the panel; every array is `rows × max_dim`.
#[derive(Debug, Clone)]
pub struct TrajectoryPanel {
    /// Caption.
    pub title: String,
    /// All `t_num` times.
    pub times: Vec<f64>,
    /// Leading times that were input.
    pub input_len: usize,
    /// Real components.
    pub dim: usize,
    /// Padded width of a state.
    pub max_dim: usize,
    /// The clean trajectory (all times).
    pub truth: Vec<f32>,
    /// What the model read and is scored against (all times; noisy on a noisy test file).
    pub observed: Vec<f32>,
    /// The prediction at the times after the input.
    pub prediction: Vec<f32>,
    /// The decoded equation integrated from u(0), at the times after the input, if asked for
    /// and it succeeded.
    pub reintegrated: Option<Vec<f64>>,
}

/// One chart per component: the observed input and target (points), the clean truth (thin),
/// the prediction (thick) and the re-integrated equation (dashed colour), over time.
pub fn trajectory_panel(path: &Path, p: &TrajectoryPanel) -> crate::Result<()> {
    register_font();
    let (w, row_h) = (900u32, 230u32);
    let h = row_h * p.dim.max(1) as u32 + 40;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let (top, body) = root.split_vertically(40);
        top.draw(&Text::new(p.title.clone(), (10, 12), (FAMILY, 16))).map_err(|e| plot_err(path, e))?;
        let rows = body.split_evenly((p.dim.max(1), 1));
        let t_num = p.times.len();
        let t_end = p.times.last().copied().unwrap_or(1.0);
        for (j, area) in rows.iter().enumerate().take(p.dim) {
            let col = |v: &[f32], k: usize| v[k * p.max_dim + j] as f64;
            let mut vals: Vec<f64> = (0..t_num).flat_map(|k| [col(&p.truth, k), col(&p.observed, k)]).collect();
            vals.extend((0..t_num - p.input_len).map(|k| col(&p.prediction, k)));
            let finite: Vec<f64> = vals.into_iter().filter(|v| v.is_finite()).collect();
            let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let (lo, hi) = if lo.is_finite() && hi > lo { (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)) } else { (-1.0, 1.0) };
            let mut chart = ChartBuilder::on(area)
                .margin(8)
                .x_label_area_size(25)
                .y_label_area_size(50)
                .build_cartesian_2d(axis::linear(0.0, t_end, 8).coord(0f64..t_end), axis::linear(lo, hi, 5).coord(lo..hi))
                .map_err(|e| plot_err(path, e))?;
            chart.configure_mesh().x_desc("t").y_desc(format!("u_{j}")).label_style((FAMILY, 12)).draw().map_err(|e| plot_err(path, e))?;
            let truth: Vec<(f64, f64)> = (0..t_num).map(|k| (p.times[k], col(&p.truth, k))).collect();
            chart.draw_series(LineSeries::new(truth, BLACK.mix(0.5).stroke_width(1))).map_err(|e| plot_err(path, e))?;
            let observed = (0..t_num)
                .map(|k| Circle::new((p.times[k], col(&p.observed, k)), 2, if k < p.input_len { PALETTE[0].filled() } else { PALETTE[0].mix(0.35).filled() }));
            chart.draw_series(observed).map_err(|e| plot_err(path, e))?;
            let pred: Vec<(f64, f64)> = (p.input_len..t_num).map(|k| (p.times[k], col(&p.prediction, k - p.input_len))).filter(|q| q.1.is_finite()).collect();
            chart.draw_series(LineSeries::new(pred, PALETTE[1].stroke_width(3))).map_err(|e| plot_err(path, e))?;
            if let Some(re) = &p.reintegrated {
                let pts: Vec<(f64, f64)> = (p.input_len..t_num)
                    .map(|k| (p.times[k], re[(k - p.input_len) * p.dim + j]))
                    .filter(|q| q.1.is_finite() && q.1 >= lo && q.1 <= hi)
                    .collect();
                chart.draw_series(DashedLineSeries::new(pts, 6, 4, PALETTE[2].stroke_width(2))).map_err(|e| plot_err(path, e))?;
            }
        }
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png(path, &buf, w, h)
}
