//! Where an axis gets its tick marks and what their labels say, for linear, integer and
//! logarithmic axes.
//!
//! The figures draw log axes by plotting log₁₀ of the data on a linear coordinate, so a
//! log axis's positions here are exponents while its labels are the values themselves. Leaving
//! the choice to plotters' linear "nice numbers" on such a coordinate puts ticks at half
//! decades and, formatted as `1e{v:.0}`, labels them `1e-0`, `1e-2`, `1e-2`: this module
//! places ticks on decades (with the 2…9 multiples as minor ticks) and formats each label
//! from the value it marks. [`Ticks::coord`] hands them to plotters, [`draw_minor_ticks`]
//! draws the minor marks plotters has no notion of.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Tick marks of one axis in plot coordinates (the exponent on a log axis).
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Labelled ticks: position and label, ascending.
    pub major: Vec<(f64, String)>,
    /// Unlabelled ticks, ascending, none at a major position.
    pub minor: Vec<f64>,
}

/// A plotters coordinate over `f64` whose key points are given [`Ticks`] and which labels them
/// itself, so a chart needs no label formatter: the majors are plotters' bold points (tick
/// marks, labels), the minors its light points (light grid lines).
pub struct TickedAxis {
    inner: RangedCoordf64,
    ticks: Ticks,
}

impl Ranged for TickedAxis {
    type ValueType = f64;
    type FormatOption = NoDefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.ticks.minor.clone()
        } else {
            self.ticks.positions()
        }
    }
}

impl ValueFormatter<f64> for TickedAxis {
    fn format_ext(&self, value: &f64) -> String {
        self.ticks.label_at(*value)
    }
}

impl Ticks {
    /// Positions of the labelled ticks.
    pub fn positions(&self) -> Vec<f64> {
        self.major.iter().map(|t| t.0).collect()
    }

    /// The labels, in order (what a reader of the figure sees).
    pub fn labels(&self) -> Vec<&str> {
        self.major.iter().map(|t| t.1.as_str()).collect()
    }

    /// The label of the major tick at `pos` (plotters hands back the positions it was given),
    /// or an empty string.
    pub fn label_at(&self, pos: f64) -> String {
        let span = self.major.last().zip(self.major.first()).map_or(1.0, |(l, f)| (l.0 - f.0).abs().max(1e-300));
        self.major.iter().find(|t| (t.0 - pos).abs() <= 1e-9 * span).map(|t| t.1.clone()).unwrap_or_default()
    }

    /// The plot coordinate `range` with these ticks (see [`TickedAxis`]).
    pub fn coord(&self, range: Range<f64>) -> TickedAxis {
        TickedAxis { inner: range.into(), ticks: self.clone() }
    }
}

/// Ticks for a linear axis over `[lo, hi]`: about `target` labelled ticks at 1, 2 or 5 times a
/// power of ten, labelled with just the digits the step needs (`0.25`, `-0.5`, `1.5e-6`).
pub fn linear(lo: f64, hi: f64, target: usize) -> Ticks {
    let Some((step, mantissa)) = nice_step(lo, hi, target) else {
        return single(lo);
    };
    let positions = multiples(lo, hi, step);
    let labels = LinearLabels::new(step, positions.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    let major = positions.iter().map(|&v| (v, labels.format(v))).collect();
    // Minor ticks split a step of 1 or 5 into fifths and a step of 2 into halves' halves.
    let parts = if mantissa == 2 { 4.0 } else { 5.0 };
    Ticks { major, minor: minors_between(lo, hi, step / parts, &positions) }
}

/// Ticks for an axis of whole numbers (epochs, counts) over `[lo, hi]`: about `target` ticks,
/// every one an integer, labelled without decimals.
pub fn integer(lo: f64, hi: f64, target: usize) -> Ticks {
    let Some((step, _)) = nice_step(lo, hi, target) else {
        return single(lo.round());
    };
    let step = step.max(1.0).round();
    let positions = multiples(lo, hi, step);
    let major = positions.iter().map(|&v| (v, format!("{}", v as i64))).collect();
    // Every whole number gets a minor tick while they are few; otherwise fifths of the step.
    let minor_step = if step <= 10.0 {
        1.0
    } else if (step / 5.0).fract() == 0.0 {
        step / 5.0
    } else {
        step
    };
    Ticks { major, minor: minors_between(lo, hi, minor_step, &positions) }
}

/// `m·10^k` as (mantissa m in 1…9, exponent k).
type Multiple = (u32, i32);

/// Ticks for a log₁₀ axis showing the values `[lo, hi]` (both positive); positions are
/// exponents. Decades are the labelled ticks (every 2nd, 3rd, 5th… when there are many) and
/// the multiples 2…9 of each decade are minor ticks. When fewer than two decades fall inside,
/// the multiples 1…9 (or only 1, 2 and 5 of them when that still leaves two or more) are
/// labelled instead, and a range too narrow even for that gets linear ticks at their log
/// positions.
pub fn log(lo: f64, hi: f64) -> Ticks {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return if lo > 0.0 && lo.is_finite() { single_log(lo) } else { Ticks { major: Vec::new(), minor: Vec::new() } };
    }
    let (a, b) = (lo.log10(), hi.log10());
    // A tolerance so that 10^-2 computed as 0.01 still counts as inside [0.01, 1].
    let eps = 1e-9 * (1.0 + a.abs().max(b.abs()));
    let k_lo = (a - eps).ceil() as i32;
    let k_hi = (b + eps).floor() as i32;
    let decades: Vec<i32> = (k_lo..=k_hi).collect();
    let inside = |x: f64| x >= a - eps && x <= b + eps;
    // Every m·10^k inside the range, ascending.
    let multiples: Vec<Multiple> = ((a - eps).floor() as i32..=(b + eps).floor() as i32)
        .flat_map(|k| (1..=9).map(move |m| (m, k)))
        .filter(|&(m, k)| inside(f64::from(m).log10() + f64::from(k)))
        .collect();
    let pos = |(m, k): Multiple| f64::from(m).log10() + f64::from(k);

    let (labelled, unlabelled): (Vec<Multiple>, Vec<Multiple>) = if decades.len() >= 2 {
        // Thin the decade labels to at most 8, keeping exponents that are multiples of the
        // stride so that 10⁰ stays labelled whenever it is inside.
        let stride = [1, 2, 3, 5, 10, 20, 50, 100].into_iter().find(|s| decades.iter().filter(|k| *k % s == 0).count() <= 8).unwrap_or(100);
        let labelled: Vec<Multiple> = decades.iter().filter(|k| *k % stride == 0).map(|&k| (1, k)).collect();
        // Minor ticks: the 2…9 multiples while they stay legible (up to 6 decades), else the
        // unlabelled decades.
        let minor = if stride == 1 {
            if decades.len() <= 6 {
                multiples.iter().copied().filter(|&(m, _)| m != 1).collect()
            } else {
                Vec::new()
            }
        } else {
            decades.iter().filter(|k| *k % stride != 0).map(|&k| (1, k)).collect()
        };
        (labelled, minor)
    } else {
        let one_two_five: Vec<Multiple> = multiples.iter().copied().filter(|&(m, _)| matches!(m, 1 | 2 | 5)).collect();
        if multiples.len() > 6 && one_two_five.len() >= 2 {
            (one_two_five, multiples.iter().copied().filter(|&(m, _)| !matches!(m, 1 | 2 | 5)).collect())
        } else if multiples.len() >= 2 {
            (multiples.clone(), Vec::new())
        } else {
            return linear_on_log(lo, hi);
        }
    };
    let values: Vec<f64> = labelled.iter().map(|&(m, k)| f64::from(m) * 10f64.powi(k)).collect();
    // One style per axis: plain decimals while every label is between 0.001 and 10000,
    // powers of ten otherwise.
    let plain = labelled.iter().all(|&(_, k)| (-3..=4).contains(&k));
    let major = labelled
        .iter()
        .zip(&values)
        .map(|(&(m, k), &v)| {
            let label = if plain {
                plain_decimal(v, k)
            } else if m == 1 {
                format!("10{}", superscript(k))
            } else {
                format!("{m}×10{}", superscript(k))
            };
            (pos((m, k)), label)
        })
        .collect();
    Ticks { major, minor: unlabelled.into_iter().map(pos).collect() }
}

/// Draws the minor ticks of `x` and `y` as short marks outside the plotting area of `chart`,
/// which must have been built on `root` (positions are backend pixels).
pub fn draw_minor_ticks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<DB, Cartesian2d<TickedAxis, TickedAxis>>,
    x: &Ticks,
    y: &Ticks,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let len = 4;
    for &v in x.minor.iter().filter(|v| xr.contains(v)) {
        let (px, py) = chart.backend_coord(&(v, yr.start));
        root.draw(&PathElement::new(vec![(px, py), (px, py + len)], BLACK))?;
    }
    for &v in y.minor.iter().filter(|v| yr.contains(v)) {
        let (px, py) = chart.backend_coord(&(xr.start, v));
        root.draw(&PathElement::new(vec![(px - len, py), (px, py)], BLACK))?;
    }
    Ok(())
}

/// The step (1, 2 or 5 times a power of ten) giving about `target` ticks over `[lo, hi]`, and
/// its mantissa; None for an empty or non-finite range.
fn nice_step(lo: f64, hi: f64, target: usize) -> Option<(f64, u32)> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return None;
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let mantissa = if n <= 1.0 + 1e-9 {
        1
    } else if n <= 2.0 + 1e-9 {
        2
    } else if n <= 5.0 + 1e-9 {
        5
    } else {
        10
    };
    let (step, mantissa) = if mantissa == 10 { (10.0 * mag, 1) } else { (f64::from(mantissa) * mag, mantissa) };
    Some((step, mantissa))
}

/// The multiples of `step` inside `[lo, hi]`, each computed as `i·step` so that no rounding
/// accumulates (0.1 + 0.1 + 0.1 would not be 0.3).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let tol = 1e-9;
    let first = (lo / step - tol).ceil() as i64;
    let last = (hi / step + tol).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Multiples of `step` in `[lo, hi]` that are not (within rounding) one of `majors`.
fn minors_between(lo: f64, hi: f64, step: f64, majors: &[f64]) -> Vec<f64> {
    let tol = 1e-6 * step;
    multiples(lo, hi, step).into_iter().filter(|v| !majors.iter().any(|m| (m - v).abs() < tol)).collect()
}

/// A lone tick at `v` (an axis whose range is a single value).
fn single(v: f64) -> Ticks {
    if !v.is_finite() {
        return Ticks { major: Vec::new(), minor: Vec::new() };
    }
    Ticks { major: vec![(v, compact(v))], minor: Vec::new() }
}

fn single_log(v: f64) -> Ticks {
    let t = single(v);
    Ticks { major: t.major.into_iter().map(|(p, l)| (p.log10(), l)).collect(), minor: Vec::new() }
}

/// Linear ticks over values `[lo, hi]`, placed at their log₁₀ positions.
fn linear_on_log(lo: f64, hi: f64) -> Ticks {
    let t = linear(lo, hi, 4);
    Ticks { major: t.major.into_iter().filter(|(v, _)| *v > 0.0).map(|(v, l)| (v.log10(), l)).collect(), minor: Vec::new() }
}

/// How labels of a linear axis are written: fixed decimals, as many as the step needs, or
/// scientific notation when the numbers are very large or the step very small.
struct LinearLabels {
    /// Digits after the point (fixed) or after the mantissa's point (scientific).
    digits: usize,
    scientific: bool,
}

impl LinearLabels {
    fn new(step: f64, max_abs: f64) -> Self {
        // The tolerance keeps a step of 1e-4 computed as 0.99999…e-4 at exponent -4.
        let step_exp = (step.log10() + 1e-9).floor() as i32;
        // A step like 0.25 would need one digit more than its exponent says; the steps here
        // are 1, 2 or 5 times a power of ten, so the exponent is enough.
        if max_abs >= 1e5 || step_exp < -4 {
            let top_exp = if max_abs > 0.0 { max_abs.log10().floor() as i32 } else { step_exp };
            LinearLabels { digits: (top_exp - step_exp).max(0) as usize, scientific: true }
        } else {
            LinearLabels { digits: (-step_exp).max(0) as usize, scientific: false }
        }
    }

    fn format(&self, v: f64) -> String {
        let s = if self.scientific { format!("{:.*e}", self.digits, v) } else { format!("{:.*}", self.digits, v) };
        // Rounding may leave "-0", "-0.00" or "-0e0": zero has no sign.
        if s.trim_start_matches('-').chars().all(|c| matches!(c, '0' | '.' | 'e')) {
            "0".into()
        } else {
            s
        }
    }
}

/// `v` with up to four significant digits and no trailing zeros (`0.25`, `3`, `1.5e-6`), for
/// a lone tick or a value range printed under a panel.
pub fn compact(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { format!("{v}") };
    }
    let e = (v.abs().log10() + 1e-12).floor() as i32;
    let trim = |s: String| if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if (-3..5).contains(&e) {
        trim(format!("{:.*}", (3 - e).max(0) as usize, v))
    } else {
        let s = format!("{v:.3e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{exp}", trim(mantissa.to_string()))
    }
}

/// `v = m·10^k` written as a plain decimal with the digits it needs (`0.005`, `20`).
fn plain_decimal(v: f64, k: i32) -> String {
    format!("{:.*}", (-k).max(0) as usize, v)
}

/// An exponent in Unicode superscript digits (`-3` → `⁻³`).
fn superscript(k: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if k < 0 {
        s.push('⁻');
    }
    for c in k.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c as usize - '0' as usize]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn log_axis_over_several_decades_labels_each_decade_once() {
        // A loss curve from 1 down to 0.003: the axis printed 1e0, 1e-0, 1e-2 (three
        // times) here. The decades 1, 0.1, 0.01 are labelled, 0.001 is outside the range.
        let t = log(0.003, 1.0);
        assert_eq!(t.labels(), ["0.01", "0.1", "1"]);
        assert!(close(&t.positions(), &[-2.0, -1.0, 0.0]));
        // Minor ticks: 3·10⁻³ (the lower end) … 9·10⁻³, then 2…9 of the two full decades.
        let expect: Vec<f64> = (3..=9)
            .map(|m| (m as f64 * 1e-3).log10())
            .chain((2..=9).map(|m| (m as f64 * 1e-2).log10()))
            .chain((2..=9).map(|m| (m as f64 * 0.1).log10()))
            .collect();
        assert!(close(&t.minor, &expect), "{:?}", t.minor);
    }

    #[test]
    fn log_axis_on_whole_decades_includes_both_ends() {
        // The training curve snaps its range to whole decades: 10^-3 .. 10^0.
        let t = log(1e-3, 1.0);
        assert_eq!(t.labels(), ["0.001", "0.01", "0.1", "1"]);
        assert_eq!(t.minor.len(), 3 * 8);
    }

    #[test]
    fn far_decades_are_powers_of_ten_in_superscript() {
        let t = log(1e-6, 10.0);
        assert_eq!(t.labels(), ["10⁻⁶", "10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹"]);
        // Seven decades: too many for legible 2…9 marks.
        assert!(t.minor.is_empty());
        let big = log(10.0, 1e6);
        assert_eq!(big.labels(), ["10¹", "10²", "10³", "10⁴", "10⁵", "10⁶"]);
    }

    #[test]
    fn many_decades_are_thinned_and_keep_one_labelled() {
        // 10^-12 .. 10^3 is 16 decades: every 2nd would still be 8, so the labels are the even
        // exponents, the odd decades minor ticks.
        let t = log(1e-12, 1e3);
        assert_eq!(t.labels(), ["10⁻¹²", "10⁻¹⁰", "10⁻⁸", "10⁻⁶", "10⁻⁴", "10⁻²", "10⁰", "10²"]);
        assert!(close(&t.minor, &[-11.0, -9.0, -7.0, -5.0, -3.0, -1.0, 1.0, 3.0]));
    }

    #[test]
    fn log_axis_within_one_decade_labels_the_multiples() {
        // 0.15 .. 0.95: no decade inside; 0.2 … 0.9 are eight multiples, of which 0.2 and 0.5
        // are labelled and the rest are minor ticks.
        let t = log(0.15, 0.95);
        assert_eq!(t.labels(), ["0.2", "0.5"]);
        assert!(close(&t.minor, &[0.3f64.log10(), 0.4f64.log10(), 0.6f64.log10(), 0.7f64.log10(), 0.8f64.log10(), 0.9f64.log10()]));
        // Across one decade boundary: 0.05 … 0.5 → 0.05, 0.1, 0.2, 0.5 labelled.
        assert_eq!(log(0.05, 0.5).labels(), ["0.05", "0.1", "0.2", "0.5"]);
        // A resolution sweep's grid sides 16 … 128 (one decade, 100, inside).
        assert_eq!(log(16.0, 128.0).labels(), ["20", "50", "100"]);
        // Few multiples: all are labelled.
        assert_eq!(log(2.5e-5, 5.5e-5).labels(), ["3×10⁻⁵", "4×10⁻⁵", "5×10⁻⁵"]);
    }

    #[test]
    fn tiny_log_range_falls_back_to_linear_ticks_at_log_positions() {
        // 0.21 .. 0.29 holds no multiple of a power of ten but none of 0.3 either.
        let t = log(0.21, 0.29);
        assert_eq!(t.labels(), ["0.22", "0.24", "0.26", "0.28"]);
        assert!(close(&t.positions(), &[0.22f64.log10(), 0.24f64.log10(), 0.26f64.log10(), 0.28f64.log10()]));
    }

    #[test]
    fn degenerate_log_ranges_do_not_panic() {
        assert_eq!(log(0.5, 0.5).labels(), ["0.5"]);
        assert!(log(0.0, 1.0).major.is_empty());
        assert!(log(f64::NAN, 1.0).major.is_empty());
    }

    #[test]
    fn linear_axis_labels_carry_the_digits_of_the_step() {
        let t = linear(0.0, 1.0, 5);
        assert_eq!(t.labels(), ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let t = linear(-1.3, 2.2, 7);
        assert_eq!(t.labels(), ["-1.0", "-0.5", "0", "0.5", "1.0", "1.5", "2.0"]);
        // Minor ticks split the 0.5 step in fifths: 0.1 apart, none on a major.
        assert!(t.minor.iter().all(|m| !t.positions().iter().any(|p| (p - m).abs() < 1e-9)));
        assert_eq!(t.minor.len(), 4 * 6 + 3 + 2);
        assert_eq!(linear(0.0, 300.0, 4).labels(), ["0", "100", "200", "300"]);
    }

    #[test]
    fn tiny_and_huge_linear_ranges() {
        // A narrow window far from zero keeps enough digits to tell the ticks apart.
        assert_eq!(linear(1.0001, 1.0004, 3).labels(), ["1.0001", "1.0002", "1.0003", "1.0004"]);
        // A step below 10^-4 or numbers above 10^5 go scientific.
        assert_eq!(linear(0.0, 3e-6, 3).labels(), ["0", "1e-6", "2e-6", "3e-6"]);
        assert_eq!(linear(2e5, 5e5, 3).labels(), ["2e5", "3e5", "4e5", "5e5"]);
        assert_eq!(linear(1.5e-6, 2.5e-6, 2).labels(), ["1.5e-6", "2.0e-6", "2.5e-6"]);
        // A single value gives one tick instead of a division by zero.
        assert_eq!(linear(0.25, 0.25, 5).labels(), ["0.25"]);
        assert!(linear(f64::NAN, 1.0, 5).major.is_empty());
    }

    #[test]
    fn negative_zero_is_plain_zero() {
        assert_eq!(linear(-0.00004, 0.00006, 5).labels(), ["-4e-5", "-2e-5", "0", "2e-5", "4e-5", "6e-5"]);
        assert!(linear(-1.0, 1.0, 4).labels().contains(&"0"));
    }

    #[test]
    fn integer_axis_has_whole_labels() {
        // Five epochs: every one labelled, no "10.0".
        assert_eq!(integer(1.0, 5.0, 8).labels(), ["1", "2", "3", "4", "5"]);
        let t = integer(1.0, 12.0, 8);
        assert_eq!(t.labels(), ["2", "4", "6", "8", "10", "12"]);
        assert!(close(&t.minor, &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0]));
        assert_eq!(integer(1.0, 100.0, 8).labels(), ["20", "40", "60", "80", "100"]);
        assert_eq!(integer(1.0, 1000.0, 8).labels(), ["200", "400", "600", "800", "1000"]);
        // Two epochs would give a step of 0.2: it is raised to one.
        assert_eq!(integer(1.0, 2.0, 8).labels(), ["1", "2"]);
        assert_eq!(integer(3.0, 3.0, 8).labels(), ["3"]);
    }

    #[test]
    fn compact_values() {
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(3.0), "3");
        assert_eq!(compact(-0.0123456), "-0.01235");
        assert_eq!(compact(12345.0), "12345");
        assert_eq!(compact(1.5e-6), "1.5e-6");
        assert_eq!(compact(2.0e7), "2e7");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn label_at_finds_the_major_tick() {
        let t = log(1e-3, 1.0);
        assert_eq!(t.label_at(-2.0), "0.01");
        assert_eq!(t.label_at(-1.5), "");
    }
}
