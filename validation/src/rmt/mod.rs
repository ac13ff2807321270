//! Random-matrix theory of gradient-descent learning in the linear student–teacher model
//! (Advani & Saxe 2017; theory.md §1): the Marchenko–Pastur law, the mode-wise solution,
//! learning curves by quadrature, their limits and optimal stopping, and the exact finite-N
//! simulation they are checked against.

pub mod mp;
pub mod sim;
pub mod theory;
