//! Symbolic right-hand sides: an expression tree with named parameters, constant folding, infix
//! printing, PROSE's prefix tokenization and its parser, skeletons, symbolic noise, symbolic
//! differentiation (exact Jacobians), and a compiler to a flat, allocation-free evaluation tape.

pub mod derivative;
pub mod expr;
pub mod noise;
pub mod tape;
pub mod tokens;

pub use expr::{build, infix_system, BinaryOp, Expr, UnaryOp};
pub use noise::{symbolic_noise, NoiseKind};
pub use tape::Tape;
pub use tokens::{encode_system, encode_system_skeleton, parse_system, parse_system_str, prose_vocabulary, EncodeError, ParseError, PLACEHOLDER, SEPARATOR};
