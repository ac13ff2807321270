//! Subcommands. Each file parses its arguments and calls one library entry point.

mod eval;
mod export;
mod generate;
mod inspect;
mod merge;
mod reproduce;
mod slurm;
mod train;
mod validate;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::Subcommand;
use oplab_common::lock::{self, Lock, LockError};

/// The `oplab` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a dataset (parallel, deterministic, resumable after a crash, shardable).
    Generate(generate::GenerateArgs),
    /// Summarise a dataset file: schema, problem, config, shapes, dtype, completeness, value ranges.
    #[command(after_help = "Example:\n  oplab inspect grf.h5")]
    Inspect(inspect::InspectArgs),
    /// Merge the shard files of one dataset into the file an unsharded run would have written.
    #[command(
        after_help = "Example:\n  oplab generate grf --n 90 --shard 1/3 --out p1.h5   (likewise 2/3, 3/3)\n  oplab merge p1.h5 p2.h5 p3.h5 --out grf.h5"
    )]
    Merge(merge::MergeArgs),
    /// Train a neural operator (mgno, fno; unet or cnn, converted), an AL-RNN (alrnn) or PROSE (prose) on a dataset; checkpoints atomically, resumable.
    #[command(
        after_help = "Examples:\n  oplab train mgno --data darcy.h5 --out runs/mgno --epochs 100\n  oplab train fno --data darcy.h5 --config fno.toml --device cuda --out runs/fno\n  oplab train mgno --data darcy.h5 --out runs/mgno --resume\n  oplab train mgno --data darcy.h5 --devices cuda:0,cuda:1 --out runs/mgno2   # data-parallel\n  mpirun -n 4 oplab train mgno --data darcy.h5 --devices cuda:0,cuda:1 --out runs/mgno8   # 4 nodes\n  oplab train alrnn --data lorenz.h5 --config alrnn.toml --out runs/alrnn   # see below\n\nThe TOML config may set any of: model, epochs, batch_size, eval_batch_size, seed, loss (h1|l2), h1_k_max,\nquadrature (uniform|trapezoid), input_normalizer/target_normalizer (none|scalar|pixel),\ninit (mgno, fno: a safetensors file of initial weights, as --init), [data] inputs, targets, n_train, n_val, n_test, subsample; [optimizer] kind (adam|adamw), lr, weight_decay,\nbetas, eps, grad_clip_norm; [schedule] kind (constant|onecycle|step|cosine), pct_start, div_factor,\nfinal_div_factor, step_size, gamma, min_lr; [mgno] channels, layers, levels, padding (zeros|circular|reflect),\nprolongation_kernels; [fno] width, modes, layers, projection, grid, domain_padding;\n[unet] hidden, levels, kernel, blocks, grid, padding, resample (bilinear|fourier), convert;\n[cnn] width, blocks, kernel, grid, padding, convert; [parallel] devices, nodes (--devices and\n--nodes set them), batch (global|per-device).\nThe run directory stores the fully resolved config.toml.\n\nalrnn (reconstructs the dynamics of one trajectory of an `oplab generate ode` file) reads its\nown TOML: seed, epochs, batches_per_epoch, batch_size, seq_len, noise, threads;\n[alrnn] latent_dim, relu_units, precision (f64|f32; f32 trains and free-runs in single\nprecision, as the reference's PyTorch code does); [forcing] kind (sparse|generalized), tau, alpha;\n[optimizer] kind (radam|adam), lr_start, lr_end, betas, eps; [data] field, train_sample,\ntest_sample, skip, length, zscore, obs_noise; [eval] every, select (train|clean|last: keep the\nmodel of lowest D_stsp against the training series as trained on, or as before its obs_noise,\nor the last epoch's), select_len, bins, binning (python|margin), max_binned_dim, gmm_scaling,\ngmm_len, gmm_samples, psd_sigma, pe_steps, pe_stride, transient, test_len, coding_len.\nExample config: bench/alrnn/lorenz.toml.\n\nprose (trajectory + equation skeleton to future trajectory + equation; an `oplab generate prose-ode`\nfile) reads its own TOML: seed, epochs, steps_per_epoch (0: one pass), batch_size, eval_batch_size,\ntext_input (skeleton|none), data_weight, max_decode_len; [network] preset (tiny|small|medium|paper),\nd_model, n_heads, ffn_mult, norm_first, layer_norm_eps, max_positions, [network.layers] data_encoder,\nsymbol_encoder, fusion, data_decoder, symbol_decoder; [data] input_len, n_train, n_val; [noise] data,\nadd_term_prob, miss_term_prob; [optimizer] lr, weight_decay, betas, eps, grad_clip_norm, warmup_steps;\n[backend]. Example: oplab train prose --data prose_train.h5 --out runs/prose, then\noplab eval --run runs/prose --data prose_test.h5 --reintegrate."
    )]
    Train(train::TrainArgs),
    /// Evaluate a trained run on the test split: relative L2 and H1, per-sample errors, a figure
    /// (AL-RNN runs: D_stsp, D_H, prediction error, subregion coding, figures; PROSE runs: per-system
    /// data and equation metrics, decoded equations, trajectory panels).
    #[command(after_help = "Example:\n  oplab eval --run runs/mgno --data darcy.h5")]
    Eval(eval::EvalArgs),
    /// Write a trained MgNO or FNO run's best weights as safetensors, under the parameter names of
    /// the reference PyTorch code (MgNO_DC; neuraloperator's FNO), normalisers and config in the metadata.
    #[command(
        after_help = "Example:\n  oplab export --run runs/mgno --out mgno.safetensors\n  oplab train mgno --data darcy.h5 --init mgno.safetensors --out runs/mgno-ft   # start a run from it\n\nIn Python: model.load_state_dict(safetensors.torch.load_file(\"mgno.safetensors\"), strict=True)\nfor a model with those module names (bench/operators/export_check.py holds twins of both)."
    )]
    Export(export::ExportArgs),
    /// Reproduce a paper result end to end: generate the data, train (resumable, in pieces with
    /// --deadline), evaluate, and write a report of paper against oplab.
    #[command(
        after_help = "Examples:\n  oplab reproduce --list\n  oplab reproduce mgno-darcy-rough --smoke --out /tmp/repro   # seconds on a CPU\n  oplab reproduce mgno-darcy-rough --device cuda --deadline 540 --out work   # repeat until the report says complete\n  oplab reproduce alrnn-lorenz --out work\n\nOUT/<name>/ gets report.md, report.json, generate.toml, train.toml and the run directories; OUT/data/\n(or --data-dir) the data. A run directory with a checkpoint is resumed; a complete data file is kept.\nThe reproductions are the files in reproduce/ of the repository (compiled in); --config runs another."
    )]
    Reproduce(reproduce::ReproduceArgs),
    /// Write (and submit) Slurm batch jobs: a job array over shards plus a dependent merge job.
    Slurm(slurm::SlurmArgs),
    /// Check learning-dynamics theory against numerics and write a plotted HTML report.
    Validate(validate::ValidateArgs),
}

/// Run a subcommand; the exit code on success, or an error for `main` to print on one line.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Generate(args) => generate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Slurm(args) => slurm::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Export(args) => export::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Reproduce(args) => reproduce::run(args),
    }
}

/// Records that this process initialised MPI (each rank then reports its own errors).
#[cfg(feature = "mpi")]
pub fn note_mpi_started() {
    generate::note_mpi_started();
}

/// Whether this process prints an error found before MPI starts (a bad flag or config): under
/// `mpirun` every rank finds the same one, so only rank 0 reports it.
pub fn reports_errors_before_mpi() -> bool {
    #[cfg(feature = "mpi")]
    if !generate::mpi_started() {
        return oplab_datasets::distributed::launcher_rank().is_none_or(|rank| rank == 0);
    }
    true
}

/// Whether this process prints `err`: not when another rank failed and reports it itself, and
/// under `mpirun` an error found before MPI starts only on rank 0.
pub fn reports_error(err: &anyhow::Error) -> bool {
    let other_rank = err.chain().any(|cause| matches!(cause.downcast_ref(), Some(oplab_datasets::DatasetError::OtherRankFailed)));
    !other_rank && reports_errors_before_mpi()
}

/// Take the lock file `path` that guards output `out` (given by `flag`; for `--run`, the run
/// directory that `eval` and `export` read) for this command: a second command on the same
/// output is refused, naming the one that writes it. A stale lock of
/// an ended process is taken over with a one-line notice. Where nothing can be written (no such
/// directory, no permission) there is nothing to guard and `None` comes back: the command's own
/// checks name the problem. A file system without file locks gets a one-line warning and no lock.
pub fn lock_output(path: &Path, flag: &str, out: &Path) -> Result<Option<Lock>> {
    match lock::acquire(path) {
        Ok(held) => {
            if let Some(notice) = held.notice() {
                eprintln!("{notice}");
            }
            Ok(Some(held))
        }
        Err(err @ LockError::Held { .. }) => {
            // An output can go elsewhere; a run that is read (eval, export) cannot.
            let elsewhere = if flag == "--out" { format!(", or choose another {flag}") } else { String::new() };
            Err(anyhow!("{flag} {}: {err}; wait for it to end{elsewhere}", out.display()))
        }
        Err(LockError::Io { source, .. })
            if matches!(source.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotADirectory) =>
        {
            Ok(None)
        }
        Err(err @ LockError::Unsupported { .. }) => {
            eprintln!("warning: {err}; nothing stops a second oplab from writing {} at the same time", out.display());
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}
