//! Compile expressions into a flat register program evaluated without allocation.
//!
//! Registers hold, in order: the state `u`, the parameters, the distinct constants, then one
//! register per instruction (single assignment). Identical subexpressions are compiled once
//! (hash-consing), so e.g. the double pendulum's repeated `sin(u_0 - u_1)` costs one `sin`.

use super::expr::{BinaryOp, Expr, UnaryOp};
use std::collections::HashMap;

/// Why an expression cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// Skeletons have no values to compute with.
    #[error("component {component} contains a placeholder; only expressions with values can be compiled")]
    Placeholder {
        /// Index of the offending component.
        component: usize,
    },
    /// A component uses a variable beyond the declared state dimension.
    #[error("component {component} uses u_{var} but the state has dimension {dim} (allowed u_0..u_{max})", max = dim.saturating_sub(1))]
    VariableOutOfRange {
        /// Component index.
        component: usize,
        /// The variable index used.
        var: usize,
        /// Declared dimension.
        dim: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Instr {
    Neg(u32, u32),
    Inv(u32, u32),
    Sin(u32, u32),
    Cos(u32, u32),
    Sq(u32, u32),
    Add(u32, u32, u32),
    Sub(u32, u32, u32),
    Mul(u32, u32, u32),
    Div(u32, u32, u32),
}

/// A compiled multi-output expression: `out[i] = components[i](u, params)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tape {
    n_vars: usize,
    n_params: usize,
    consts: Vec<f64>,
    instrs: Vec<Instr>,
    outputs: Vec<u32>,
    n_regs: usize,
}

#[derive(Hash, PartialEq, Eq)]
enum Key {
    Const(u64),
    Unary(UnaryOp, u32),
    Binary(BinaryOp, u32, u32),
}

struct Compiler {
    n_vars: usize,
    n_params: usize,
    consts: Vec<f64>,
    instrs: Vec<Instr>,
    memo: HashMap<Key, u32>,
}

impl Compiler {
    fn const_reg(&mut self, x: f64) -> u32 {
        if let Some(&r) = self.memo.get(&Key::Const(x.to_bits())) {
            return r;
        }
        // Constants are laid out after vars and params; their final register index is fixed up
        // in `finish` once the number of parameters is known. Encode provisional indices with the
        // high bit set.
        let r = (1u32 << 31) | self.consts.len() as u32;
        self.consts.push(x);
        self.memo.insert(Key::Const(x.to_bits()), r);
        r
    }

    fn compile(&mut self, e: &Expr, component: usize) -> Result<u32, CompileError> {
        Ok(match e {
            Expr::Var(i) => {
                if *i >= self.n_vars {
                    return Err(CompileError::VariableOutOfRange { component, var: *i, dim: self.n_vars });
                }
                *i as u32
            }
            Expr::Param(k) => (1u32 << 30) | *k as u32,
            Expr::Const(x) => self.const_reg(*x),
            Expr::Placeholder => return Err(CompileError::Placeholder { component }),
            Expr::Unary(op, a) => {
                let ra = self.compile(a, component)?;
                let key = Key::Unary(*op, ra);
                if let Some(&r) = self.memo.get(&key) {
                    return Ok(r);
                }
                let dst = self.instrs.len() as u32 | (3u32 << 30);
                self.instrs.push(match op {
                    UnaryOp::Neg => Instr::Neg(dst, ra),
                    UnaryOp::Inv => Instr::Inv(dst, ra),
                    UnaryOp::Sin => Instr::Sin(dst, ra),
                    UnaryOp::Cos => Instr::Cos(dst, ra),
                    UnaryOp::Pow2 => Instr::Sq(dst, ra),
                });
                self.memo.insert(key, dst);
                dst
            }
            Expr::Binary(op, a, b) => {
                let ra = self.compile(a, component)?;
                let rb = self.compile(b, component)?;
                let key = Key::Binary(*op, ra, rb);
                if let Some(&r) = self.memo.get(&key) {
                    return Ok(r);
                }
                let dst = self.instrs.len() as u32 | (3u32 << 30);
                self.instrs.push(match op {
                    BinaryOp::Add => Instr::Add(dst, ra, rb),
                    BinaryOp::Sub => Instr::Sub(dst, ra, rb),
                    BinaryOp::Mul => Instr::Mul(dst, ra, rb),
                    BinaryOp::Div => Instr::Div(dst, ra, rb),
                });
                self.memo.insert(key, dst);
                dst
            }
        })
    }
}

impl Tape {
    /// Compile `components` for a state of dimension `n_vars`. Parameters are read from the
    /// `params` slice at evaluation time (`Param(k)` → `params[k]`).
    pub fn compile(components: &[Expr], n_vars: usize) -> Result<Tape, CompileError> {
        let n_params = components.iter().map(Expr::n_params).max().unwrap_or(0);
        let mut c = Compiler { n_vars, n_params, consts: Vec::new(), instrs: Vec::new(), memo: HashMap::new() };
        let mut outputs = Vec::with_capacity(components.len());
        for (i, e) in components.iter().enumerate() {
            outputs.push(c.compile(e, i)?);
        }
        // Resolve provisional register tags: 00 var, 01 param, 10 const, 11 temp.
        let base_const = n_vars + c.n_params;
        let base_temp = base_const + c.consts.len();
        let resolve = |r: u32| -> u32 {
            let idx = (r & ((1 << 30) - 1)) as usize;
            (match r >> 30 {
                0 => idx,
                1 => n_vars + idx,
                2 => base_const + idx,
                _ => base_temp + idx,
            }) as u32
        };
        let instrs = c
            .instrs
            .iter()
            .map(|ins| match *ins {
                Instr::Neg(d, a) => Instr::Neg(resolve(d), resolve(a)),
                Instr::Inv(d, a) => Instr::Inv(resolve(d), resolve(a)),
                Instr::Sin(d, a) => Instr::Sin(resolve(d), resolve(a)),
                Instr::Cos(d, a) => Instr::Cos(resolve(d), resolve(a)),
                Instr::Sq(d, a) => Instr::Sq(resolve(d), resolve(a)),
                Instr::Add(d, a, b) => Instr::Add(resolve(d), resolve(a), resolve(b)),
                Instr::Sub(d, a, b) => Instr::Sub(resolve(d), resolve(a), resolve(b)),
                Instr::Mul(d, a, b) => Instr::Mul(resolve(d), resolve(a), resolve(b)),
                Instr::Div(d, a, b) => Instr::Div(resolve(d), resolve(a), resolve(b)),
            })
            .collect::<Vec<_>>();
        let outputs = outputs.into_iter().map(resolve).collect();
        let n_regs = base_temp + instrs.len();
        Ok(Tape { n_vars, n_params: c.n_params, consts: c.consts, instrs, outputs, n_regs })
    }

    /// State dimension the tape reads.
    pub fn n_vars(&self) -> usize {
        self.n_vars
    }

    /// Number of parameters the tape reads (largest index used plus one).
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// Number of outputs (components).
    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Number of arithmetic instructions executed per evaluation.
    pub fn n_instructions(&self) -> usize {
        self.instrs.len()
    }

    /// Evaluate: `out[i] = component_i(u, params)`. Allocation-free for up to 1024 registers
    /// (every catalogue system needs fewer than 64).
    ///
    /// # Panics
    /// If `u` is shorter than [`Tape::n_vars`], `params` shorter than [`Tape::n_params`] or
    /// `out` shorter than [`Tape::n_outputs`] (callers validate lengths once, up front).
    #[inline]
    pub fn eval(&self, u: &[f64], params: &[f64], out: &mut [f64]) {
        if self.n_regs <= 32 {
            self.eval_masked::<32>(u, params, out)
        } else if self.n_regs <= 128 {
            self.eval_masked::<128>(u, params, out)
        } else if self.n_regs <= 1024 {
            self.eval_masked::<1024>(u, params, out)
        } else {
            let mut regs = vec![0.0; self.n_regs];
            self.load(&mut regs, u, params);
            for ins in &self.instrs {
                Self::exec(&mut regs, *ins, usize::MAX);
            }
            self.store(&regs, out);
        }
    }

    /// Evaluate in a stack register file of `N` (a power of two ≥ `n_regs`). Register indices
    /// are masked with `N − 1`, which changes none of them but lets the compiler drop the bounds
    /// checks in the instruction loop.
    #[inline(always)]
    fn eval_masked<const N: usize>(&self, u: &[f64], params: &[f64], out: &mut [f64]) {
        let mut regs = [0.0f64; N];
        self.load(&mut regs, u, params);
        for ins in &self.instrs {
            Self::exec(&mut regs, *ins, N - 1);
        }
        self.store(&regs, out);
    }

    #[inline(always)]
    fn load(&self, regs: &mut [f64], u: &[f64], params: &[f64]) {
        let (nv, np) = (self.n_vars, self.n_params);
        regs[..nv].copy_from_slice(&u[..nv]);
        regs[nv..nv + np].copy_from_slice(&params[..np]);
        regs[nv + np..nv + np + self.consts.len()].copy_from_slice(&self.consts);
    }

    #[inline(always)]
    fn store(&self, regs: &[f64], out: &mut [f64]) {
        for (o, &r) in out.iter_mut().zip(&self.outputs) {
            *o = regs[r as usize];
        }
    }

    #[inline(always)]
    fn exec(regs: &mut [f64], ins: Instr, mask: usize) {
        let r = |i: u32| i as usize & mask;
        match ins {
            Instr::Neg(d, a) => regs[r(d)] = -regs[r(a)],
            Instr::Inv(d, a) => regs[r(d)] = 1.0 / regs[r(a)],
            Instr::Sin(d, a) => regs[r(d)] = regs[r(a)].sin(),
            Instr::Cos(d, a) => regs[r(d)] = regs[r(a)].cos(),
            Instr::Sq(d, a) => regs[r(d)] = regs[r(a)] * regs[r(a)],
            Instr::Add(d, a, b) => regs[r(d)] = regs[r(a)] + regs[r(b)],
            Instr::Sub(d, a, b) => regs[r(d)] = regs[r(a)] - regs[r(b)],
            Instr::Mul(d, a, b) => regs[r(d)] = regs[r(a)] * regs[r(b)],
            Instr::Div(d, a, b) => regs[r(d)] = regs[r(a)] / regs[r(b)],
        }
    }
}
