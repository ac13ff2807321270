//! In-context learning as gradient descent (von Oswald et al. 2022; Mahankali et al. 2023;
//! Ahn et al. 2023; Akyürek et al. 2022; theory.md §2): task distributions, the GD / GD++
//! predictors and baselines, and a linear self-attention model in burn with its training.

pub mod data;
pub mod gd;
pub mod lsa;
pub mod train;
