//! The dataset problems, the registry that lists them, and the export of a native file with
//! the exporter its registered problem declares ([`export`]).
//!
//! Each problem is one module: its configuration (embedding the solver's), its command-line
//! options, its sampler and its exports, declared through [`ProblemModule`]. The command line
//! builds `oplab generate <problem>` for every problem [`visit_all`] visits, so adding a problem
//! is its module, its `pub mod` line and one line in [`visit_all`].

pub mod advection;
pub mod burgers;
pub mod darcy;
pub mod elliptic;
pub mod grf;
pub mod helmholtz;
pub mod navier_stokes;
pub mod ode;
mod pde_common;
pub mod poisson;
pub mod prose_ode;
pub mod reaction_diffusion;

#[cfg(feature = "cli")]
pub use pde_common::EvolutionArgs;

use std::path::Path;

use crate::error::{DatasetError, Result};
use crate::export::{export_with, ExportLayout, Exporter};
use crate::problem::ProblemModule;
use crate::reader::DatasetFile;

/// Something done once per registered problem with the problem's type in hand: building the
/// command line's subcommands, running the one chosen, checking every problem in a test.
pub trait Visitor {
    /// Called once for each registered problem, in registry order.
    fn visit<P: ProblemModule>(&mut self);
}

/// The registry: every problem `oplab generate` offers, in the order its help lists them.
pub fn visit_all(visitor: &mut impl Visitor) {
    visitor.visit::<grf::GrfProblem>();
    visitor.visit::<ode::OdeProblem>();
    visitor.visit::<prose_ode::ProseOdeProblem>();
    visitor.visit::<darcy::DarcyProblem>();
    visitor.visit::<poisson::PoissonProblem>();
    visitor.visit::<helmholtz::HelmholtzProblem>();
    visitor.visit::<burgers::BurgersProblem>();
    visitor.visit::<navier_stokes::NavierStokesProblem>();
    visitor.visit::<advection::AdvectionProblem>();
    visitor.visit::<reaction_diffusion::ReactionDiffusionProblem>();
}

/// What the registry knows of a problem without its type.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// [`ProblemModule::NAME`].
    pub name: &'static str,
    /// [`ProblemModule::ABOUT`].
    pub about: &'static str,
    /// [`ProblemModule::exporter`].
    pub exporter: fn(ExportLayout) -> Option<Exporter>,
}

impl Entry {
    /// The entry of problem `P`.
    pub fn of<P: ProblemModule>() -> Entry {
        Entry { name: P::NAME, about: P::ABOUT, exporter: P::exporter }
    }
}

/// Every registered problem, in registry order.
pub fn entries() -> Vec<Entry> {
    struct Collect(Vec<Entry>);
    impl Visitor for Collect {
        fn visit<P: ProblemModule>(&mut self) {
            self.0.push(Entry::of::<P>());
        }
    }
    let mut all = Collect(Vec::new());
    visit_all(&mut all);
    all.0
}

/// The registered problem called `name`.
pub fn find(name: &str) -> Option<Entry> {
    entries().into_iter().find(|e| e.name == name)
}

/// The one-line refusal of `layout` for `problem` (a registered problem or not): names the layout,
/// what `problem` can be written as, and the registered problems that have `layout`.
pub fn unsupported_layout(layout: ExportLayout, problem: &str) -> DatasetError {
    let all = entries();
    let has = |e: &Entry, l: ExportLayout| (e.exporter)(l).is_some();
    let mut alternatives = vec!["native"];
    if let Some(entry) = all.iter().find(|e| e.name == problem) {
        alternatives.extend(ExportLayout::ALL.iter().filter(|l| has(entry, **l)).map(|l| l.name()));
    }
    let supporting: Vec<&str> = all.iter().filter(|e| has(e, layout)).map(|e| e.name).collect();
    DatasetError::invalid(
        "layout",
        layout.name(),
        format!("not available for {problem} (it can be written as {}); allowed for {}", alternatives.join(" or "), supporting.join(", ")),
    )
}

/// Write `out` in `layout` from the finished native file `native`, with the exporter the
/// registered problem of `native` declares for `layout` (refused, naming the problems that have
/// `layout`, when it declares none).
pub fn export(native: &Path, out: &Path, layout: ExportLayout) -> Result<()> {
    let problem = DatasetFile::open(native)?.info().problem.clone();
    let exporter = find(&problem).and_then(|entry| (entry.exporter)(layout));
    let exporter = exporter.ok_or_else(|| unsupported_layout(layout, &problem))?;
    export_with(exporter, native, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_exports_are_where_the_layouts_say() {
        let all = entries();
        let mut names: Vec<&str> = all.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let with = |layout| all.iter().filter(|e| (e.exporter)(layout).is_some()).map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(with(ExportLayout::Fno), ["darcy", "poisson", "helmholtz", "burgers", "navier-stokes", "advection", "reaction-diffusion"]);
        assert_eq!(with(ExportLayout::Pdebench), ["darcy", "burgers", "navier-stokes", "advection", "reaction-diffusion"]);
        let refusal = unsupported_layout(ExportLayout::Pdebench, "poisson").to_string();
        assert_eq!(
            refusal,
            "layout = pdebench is invalid: not available for poisson (it can be written as native or fno); \
             allowed for darcy, burgers, navier-stokes, advection, reaction-diffusion"
        );
    }
}
