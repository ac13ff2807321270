//! Learning-rate schedules as pure functions of the epoch (the reference steps its scheduler
//! once per epoch), so resuming needs no scheduler state beyond the epoch counter.

use serde::{Deserialize, Serialize};

use crate::error::OperatorError;

/// Schedule family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The peak rate throughout.
    Constant,
    /// PyTorch `OneCycleLR` (cosine annealing, two phases) with one step per epoch.
    #[default]
    Onecycle,
    /// Multiply by `gamma` every `step_size` epochs (`StepLR`).
    Step,
    /// Cosine decay from the peak to `min_lr` over all epochs (`CosineAnnealingLR`).
    Cosine,
}

/// Schedule settings; only the fields of the chosen kind matter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// constant, onecycle, step or cosine.
    pub kind: ScheduleKind,
    /// OneCycle: fraction of the epochs spent warming up.
    pub pct_start: f64,
    /// OneCycle: initial rate = peak / div_factor.
    pub div_factor: f64,
    /// OneCycle: final rate = initial / final_div_factor.
    pub final_div_factor: f64,
    /// Step: epochs between decays.
    pub step_size: usize,
    /// Step: decay factor.
    pub gamma: f64,
    /// Cosine: final rate.
    pub min_lr: f64,
}

impl Default for ScheduleConfig {
    /// The MgNO Darcy setting: OneCycle, pct_start 0.2, div_factor 2, final_div_factor 100.
    fn default() -> Self {
        ScheduleConfig { kind: ScheduleKind::Onecycle, pct_start: 0.2, div_factor: 2.0, final_div_factor: 100.0, step_size: 100, gamma: 0.5, min_lr: 0.0 }
    }
}

fn cos_anneal(start: f64, end: f64, pct: f64) -> f64 {
    end + (start - end) / 2.0 * (1.0 + (std::f64::consts::PI * pct).cos())
}

impl ScheduleConfig {
    /// Checks the fields of the chosen kind.
    pub fn validate(&self) -> crate::Result<()> {
        match self.kind {
            ScheduleKind::Onecycle => {
                if !(self.pct_start > 0.0 && self.pct_start < 1.0) {
                    return Err(OperatorError::invalid("schedule.pct_start", self.pct_start, "must be in (0, 1)"));
                }
                if !(self.div_factor.is_finite() && self.div_factor >= 1.0) {
                    return Err(OperatorError::invalid("schedule.div_factor", self.div_factor, "must be >= 1"));
                }
                if !(self.final_div_factor.is_finite() && self.final_div_factor >= 1.0) {
                    return Err(OperatorError::invalid("schedule.final_div_factor", self.final_div_factor, "must be >= 1"));
                }
            }
            ScheduleKind::Step => {
                if self.step_size == 0 {
                    return Err(OperatorError::invalid("schedule.step_size", self.step_size, "must be >= 1"));
                }
                if !(self.gamma > 0.0 && self.gamma <= 1.0) {
                    return Err(OperatorError::invalid("schedule.gamma", self.gamma, "must be in (0, 1]"));
                }
            }
            ScheduleKind::Cosine => {
                if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
                    return Err(OperatorError::invalid("schedule.min_lr", self.min_lr, "must be finite and >= 0"));
                }
            }
            ScheduleKind::Constant => {}
        }
        Ok(())
    }

    /// Learning rate of `epoch` (0-based) out of `epochs`, for peak rate `lr`.
    pub fn lr(&self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match self.kind {
            ScheduleKind::Constant => lr,
            ScheduleKind::Step => lr * self.gamma.powi((epoch / self.step_size.max(1)) as i32),
            ScheduleKind::Cosine => {
                let pct = if epochs > 1 { epoch as f64 / epochs as f64 } else { 0.0 };
                cos_anneal(lr, self.min_lr, pct)
            }
            ScheduleKind::Onecycle => {
                let initial = lr / self.div_factor;
                let min = initial / self.final_div_factor;
                let total = epochs.max(2) as f64;
                let end_up = self.pct_start * total - 1.0;
                let end_down = total - 1.0;
                let s = epoch as f64;
                if s <= end_up {
                    let pct = if end_up > 0.0 { s / end_up } else { 1.0 };
                    cos_anneal(initial, lr, pct)
                } else {
                    cos_anneal(lr, min, ((s - end_up) / (end_down - end_up)).min(1.0))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onecycle_follows_the_reference_darcy_rates() {
        let s = ScheduleConfig::default();
        // 2.5e-4 → 5e-4 (at epoch 0.2·500 − 1 = 99) → 2.5e-6 (last epoch).
        assert!((s.lr(5e-4, 0, 500) - 2.5e-4).abs() < 1e-12);
        assert!((s.lr(5e-4, 99, 500) - 5e-4).abs() < 1e-12);
        assert!((s.lr(5e-4, 499, 500) - 2.5e-6).abs() < 1e-12);
        let step = ScheduleConfig { kind: ScheduleKind::Step, ..Default::default() };
        assert_eq!(step.lr(1.0, 250, 500), 0.25);
    }
}
