//! Generation over MPI ranks (cargo feature `mpi`): `mpirun -n K oplab generate ...`.
//!
//! Every rank derives the same [`Plan`]; rank 0 creates (or resumes) the partial run, each rank
//! computes the unfinished blocks of its contiguous slice of block indices into the shared
//! partial-run directory, and then either rank 0 assembles one file ([`Finish::Merged`]) or each
//! rank assembles its slice into a part file and rank 0 writes an HDF5 virtual dataset over the
//! parts ([`Finish::Virtual`]). Blocks are deterministic and written atomically, so a failed or
//! restarted rank, or a rerun with a different K, never changes a stored byte. The directory must
//! be on a file system all ranks see (as for any MPI job writing output).

use std::path::{Path, PathBuf};
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::traits::*;
use oplab_common::Progress;

use crate::blocks::{remove_stale_temporaries, PartialRun};
use crate::error::{DatasetError, Result};
use crate::generate::{check_output_path, existing_output, thread_pool, ExistingOutput, Plan, RunOptions, RunSummary};
use crate::header::ShardInfo;
use crate::problem::Problem;
use crate::settings::GenerationSettings;
use crate::writer::{write_virtual_file, VirtualPart};

/// How rank 0 finishes a distributed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finish {
    /// One ordinary file, byte-identical in its data to a single-process run.
    #[default]
    Merged,
    /// Each rank writes `OUT.parts/part-R-of-K.h5`; `OUT` maps them as HDF5 virtual datasets.
    Virtual,
}

/// Turn a per-rank result into a collective one: every rank learns whether any rank failed.
fn agree<C: CommunicatorCollectives, T>(world: &C, local: Result<T>) -> Result<T> {
    let failed: i32 = i32::from(local.is_err());
    let mut any: i32 = 0;
    world.all_reduce_into(&failed, &mut any, SystemOperation::max());
    match local {
        Err(e) => Err(e),
        Ok(v) if any == 0 => Ok(v),
        Ok(_) => Err(DatasetError::OtherRankFailed),
    }
}

/// Like [`agree`] for a result every rank computes identically from the same inputs (validation):
/// rank 0 keeps the error, the others learn only that the run stops, so a bad input is reported
/// once, not once per rank.
fn agree_on_input<C: Communicator + CommunicatorCollectives, T>(world: &C, local: Result<T>) -> Result<T> {
    let rank = world.rank();
    match agree(world, local) {
        Err(_) if rank != 0 => Err(DatasetError::OtherRankFailed),
        other => other,
    }
}

/// The contiguous slice of block indices rank `rank` of `size` computes.
pub fn rank_blocks(n_blocks: u64, rank: u64, size: u64) -> std::ops::Range<u64> {
    (rank * n_blocks / size)..((rank + 1) * n_blocks / size)
}

/// Run a generation across the ranks of `world`. Every rank must call this with the same
/// arguments. `progress` should be silent on all ranks but 0. Returns the summary on rank 0.
pub fn generate_mpi<C: Communicator + CommunicatorCollectives>(
    world: &C,
    problem: &dyn Problem,
    settings: &GenerationSettings,
    opts: &RunOptions,
    finish: Finish,
    progress: &dyn Progress,
) -> Result<Option<RunSummary>> {
    let started = Instant::now();
    let (rank, size) = (world.rank() as u64, world.size() as u64);
    // Every rank validates the same inputs and gets the same answer: rank 0 alone reports it.
    let plan = agree_on_input(world, Plan::new(problem, settings, opts))?;
    // A rerun of a finished job (a requeued array task, a job script run again) is a success.
    let existing = if rank == 0 { Some(existing_output(&plan, settings, opts, &opts.out)) } else { None };
    let finished = matches!(existing, Some(ExistingOutput::SameRun)) && !opts.force;
    let mut any_finished: i32 = 0;
    world.all_reduce_into(&i32::from(finished), &mut any_finished, SystemOperation::max());
    if any_finished == 1 {
        return Ok((rank == 0).then(|| RunSummary::already_complete(&opts.out, plan.total(), started)));
    }
    let finish_ok = if finish == Finish::Virtual && !plan.schema.texts.is_empty() {
        Err(DatasetError::invalid("mpi-finish", "virtual", "this problem stores text datasets; use merged"))
    } else {
        Ok(())
    };
    agree_on_input(world, finish_ok)?;
    // Rank 0 owns the output path and creates or resumes the partial run; the others join it.
    let root = if rank == 0 {
        let differs = match existing {
            Some(ExistingOutput::Different(why)) if !opts.force => Err(DatasetError::OutputExists { path: opts.out.clone(), why }),
            _ => Ok(()),
        };
        differs
            .and_then(|_| remove_stale_temporaries(&opts.out))
            .and_then(|_| check_output_path(&opts.out, opts.force))
            .and_then(|_| plan.check_resources(settings, &opts.out))
            .and_then(|_| PartialRun::open_or_create(&opts.out, &plan.manifest, opts.force))
            .map(Some)
    } else {
        Ok(None)
    };
    let root = agree(world, root)?;
    // Every rank takes part in each agreement, in the same order.
    let partial = match root {
        Some(p) => Ok(p),
        None => PartialRun::open_existing(&opts.out, &plan.manifest),
    };
    let partial = agree(world, partial)?;

    let mine = rank_blocks(plan.n_blocks, rank, size);
    let total_mine: u64 = mine.clone().map(|b| plan.block_range(b).end - plan.block_range(b).start).sum();
    let already_mine = plan.finished_samples(&partial, mine.clone());
    let already_all = if rank == 0 { plan.finished_samples(&partial, 0..plan.n_blocks) } else { 0 };
    if rank == 0 && already_all > 0 {
        progress.message(&format!("resuming: {already_all} of {} samples already finished", plan.total()));
    }
    let computed = thread_pool(opts.threads).and_then(|pool| {
        progress.start(&format!("rank 0 of {size}"), total_mine, already_mine);
        let r = plan.compute_blocks(problem, settings, &partial, mine.clone(), &pool, progress);
        progress.finish();
        r
    });
    agree(world, computed)?;

    let shard = (!opts.shard.is_whole()).then_some(ShardInfo { index: opts.shard.index, count: opts.shard.count, offset: plan.range.start, total: settings.n });
    match finish {
        Finish::Merged => {
            let assembled =
                if rank == 0 { plan.assemble(&partial, 0..plan.n_blocks, &plan.header(problem, settings, plan.total(), shard), &opts.out) } else { Ok(()) };
            agree(world, assembled)?;
        }
        Finish::Virtual => {
            let parts_dir = parts_dir(&opts.out);
            if rank == 0 {
                agree(world, std::fs::create_dir_all(&parts_dir).map_err(|e| DatasetError::io(&parts_dir, e)))?;
            } else {
                agree(world, Ok(()))?;
            }
            let part_name = |r: u64| format!("part-{r:05}-of-{size:05}.h5");
            let part_range = |r: u64| {
                let blocks = rank_blocks(plan.n_blocks, r, size);
                if blocks.is_empty() {
                    return plan.range.start..plan.range.start;
                }
                plan.block_range(blocks.start).start..plan.block_range(blocks.end - 1).end
            };
            let written = if mine.is_empty() {
                Ok(())
            } else {
                let r = part_range(rank);
                let part_shard = ShardInfo { index: rank + 1, count: size, offset: r.start, total: settings.n };
                let header = plan.header(problem, settings, r.end - r.start, Some(part_shard));
                plan.assemble(&partial, mine.clone(), &header, &parts_dir.join(part_name(rank)))
            };
            agree(world, written)?;
            let main = if rank == 0 {
                let relative_dir = parts_dir.file_name().map(PathBuf::from).unwrap_or_default();
                let parts: Vec<VirtualPart> = (0..size)
                    .filter(|&r| !part_range(r).is_empty())
                    .map(|r| {
                        let range = part_range(r);
                        VirtualPart { file: relative_dir.join(part_name(r)), offset: range.start - plan.range.start, count: range.end - range.start }
                    })
                    .collect();
                write_virtual_file(&opts.out, &plan.header(problem, settings, plan.total(), shard), &parts)
            } else {
                Ok(())
            };
            agree(world, main)?;
        }
    }
    if rank == 0 {
        partial.remove()?;
        let generated = plan.total() - already_all;
        return Ok(Some(RunSummary { path: opts.out.clone(), samples: plan.total(), generated, elapsed: started.elapsed(), already_complete: false }));
    }
    Ok(None)
}

/// Directory of the part files of a virtual-dataset output: `OUT.parts/`.
pub fn parts_dir(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".parts");
    PathBuf::from(name)
}

/// The MPI bindings, re-exported so the CLI initialises the same library.
pub use mpi;

/// This process's rank as the MPI launcher (OpenMPI, MPICH/Hydra, PMIx, Slurm's srun with PMI)
/// announced it in the environment, before MPI is initialised; `None` outside a launcher.
pub fn launcher_rank() -> Option<u64> {
    ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"].iter().find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// Whether this process was started by an MPI launcher (`mpirun`, `srun --mpi`), from the
/// variables the common launchers set.
pub fn launched_under_mpi() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"].iter().any(|v| std::env::var_os(v).is_some())
}
