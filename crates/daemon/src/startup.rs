//! What every subcommand does first: load the configuration and start a runtime, each failure
//! printed once and turned into the exit code a supervisor or script reads (2 for a
//! configuration error, 1 otherwise).

use std::process::ExitCode;

use crate::config::{Config, Environment};
use crate::ServeArgs;

/// The configuration `serve` would run with, or the exit code of its error.
pub(crate) fn config(args: &ServeArgs) -> Result<Config, ExitCode> {
    Config::load(args, &Environment).map_err(|e| {
        eprintln!("gatehouse: configuration error: {e}");
        ExitCode::from(2)
    })
}

/// A single-threaded runtime for a one-shot subcommand.
pub(crate) fn one_shot_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("gatehouse: cannot start the runtime: {e}");
            ExitCode::FAILURE
        })
}
