//! The colour map of field images and the colour bar that says which value a colour stands for.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis;
use super::FAMILY;

/// A perceptually ordered ramp (viridis-like, piecewise linear through five stops) for
/// `t ∈ [0, 1]`; values outside are clamped, a non-finite one is the low end.
pub fn colormap(t: f64) -> RGBColor {
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

/// The value range `[lo, hi]` a colour scale spans, widened around a constant field so that
/// every value still maps to a colour (and the bar still has two ends).
pub fn scale(lo: f32, hi: f32) -> (f64, f64) {
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    if !(lo.is_finite() && hi.is_finite()) {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { 0.5 * lo.abs() };
        (lo - pad, hi + pad)
    }
}

/// Where a colour bar goes, in pixels of the drawing area: the gradient's top-left corner,
/// its width and height; labels are written to its right.
#[derive(Debug, Clone, Copy)]
pub struct BarPlace {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width of the gradient.
    pub w: i32,
    /// Height of the gradient.
    pub h: i32,
}

/// Draws a vertical colour bar for values `[lo, hi]` (low at the bottom) with about four
/// labelled ticks at round values; the caller prints the exact range elsewhere if it wants it.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: BarPlace,
    lo: f64,
    hi: f64,
    font_size: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let BarPlace { x, y, w, h } = at;
    for py in 0..h {
        let t = 1.0 - f64::from(py) / f64::from((h - 1).max(1));
        area.draw(&Rectangle::new([(x, y + py), (x + w, y + py + 1)], colormap(t).filled()))?;
    }
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], BLACK.stroke_width(1)))?;
    let ticks = axis::linear(lo, hi, 4);
    let style = TextStyle::from((FAMILY, font_size).into_font())
        .pos(plotters::style::text_anchor::Pos::new(plotters::style::text_anchor::HPos::Left, plotters::style::text_anchor::VPos::Center));
    let span = hi - lo;
    for (v, label) in &ticks.major {
        let py = y + ((hi - v) / span * f64::from(h - 1)).round() as i32;
        area.draw(&PathElement::new(vec![(x + w, py), (x + w + 4, py)], BLACK))?;
        area.draw(&Text::new(label.clone(), (x + w + 6, py), style.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_ends_and_clamping() {
        assert_eq!(colormap(0.0), RGBColor(68, 1, 84));
        assert_eq!(colormap(1.0), RGBColor(253, 231, 37));
        assert_eq!(colormap(-3.0), colormap(0.0));
        assert_eq!(colormap(f64::NAN), colormap(0.0));
        assert_eq!(colormap(7.0), colormap(1.0));
    }

    #[test]
    fn constant_fields_get_a_two_ended_scale() {
        assert_eq!(scale(0.0, 2.0), (0.0, 2.0));
        assert_eq!(scale(0.0, 0.0), (-1.0, 1.0));
        assert_eq!(scale(4.0, 4.0), (2.0, 6.0));
        assert_eq!(scale(f32::NAN, 1.0), (0.0, 1.0));
    }

    #[test]
    fn the_bar_runs_from_the_low_colour_at_the_bottom_to_the_high_one_at_the_top() {
        super::super::register_font();
        let (w, h) = (80u32, 120u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            draw(&root, BarPlace { x: 5, y: 10, w: 12, h: 100 }, 0.0, 1.0, 10).unwrap();
            root.present().unwrap();
        }
        let px = |x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            RGBColor(rgb[i], rgb[i + 1], rgb[i + 2])
        };
        assert_eq!(px(10, 12), colormap(1.0 - 2.0 / 99.0));
        assert_eq!(px(10, 107), colormap(1.0 - 97.0 / 99.0));
        // Tick labels left dark pixels right of the bar.
        assert!((0..h).any(|y| (20..w).any(|x| px(x, y).0 < 100)));
    }
}
