//! `gatehouse keys rotate` and `gatehouse keys generate`: master key operations an operator runs
//! with the daemon stopped (the store's lock refuses a second process anyway).

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

use gatehouse_daemon::keys::{self as key_rules, KeySource};
use gatehouse_engine::secrets::MasterKey;

use crate::config::Config;
use crate::ServeArgs;

/// Flags of `gatehouse keys rotate`.
#[derive(Debug, clap::Args)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    settings: ServeArgs,
    /// The new key's file (base64 of 32 bytes, as `gatehouse keys generate` writes it)
    /// [default: $GATEHOUSE_NEW_MASTER_KEY, the key itself].
    #[arg(long, value_name = "FILE")]
    new_key_file: Option<PathBuf>,
}

/// Flags of `gatehouse keys generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// Where to write the key; keep it outside the data directory (and back it up).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub(crate) fn generate(args: &GenerateArgs) -> ExitCode {
    match key_rules::create_key_file(&args.file) {
        Ok(key) => {
            println!(
                "wrote master key {} to {}",
                key.key_id(),
                args.file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse keys generate: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn rotate(args: &RotateArgs) -> ExitCode {
    let config = match crate::startup::config(&args.settings) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match crate::startup::one_shot_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(run_rotation(&config, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse keys rotate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_rotation(config: &Config, args: &RotateArgs) -> anyhow::Result<()> {
    // The current key is read, never created: a rotation over a missing key has nothing to open.
    let old = match config.key_source()? {
        KeySource::Configured(key) => key,
        KeySource::File(path) => key_rules::read_key_file(&path)?.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the current master key file does not exist",
                path.display()
            )
        })?,
    };
    let new = new_key(args)?;
    let store = gatehouse_daemon::open_store(&config.store, &config.data_dir, Default::default())
        .await
        .context("cannot open the store (with the embedded store, stop the daemon first)")?;
    let done = key_rules::rotate(store.as_ref(), &old, &new).await;
    store.close().await?;
    let done = done?;
    println!(
        "re-sealed {} integration(s) from master key {} to {}; {} already under the new key",
        done.resealed,
        old.key_id(),
        new.key_id(),
        done.already_new
    );
    println!(
        "now configure the new key in place of the old one (GATEHOUSE_MASTER_KEY, or the key \
         file at security.master_key_file) and start the daemon; keep the old key until it has \
         started"
    );
    Ok(())
}

fn new_key(args: &RotateArgs) -> anyhow::Result<MasterKey> {
    if let Some(path) = &args.new_key_file {
        return key_rules::read_key_file(path)?
            .ok_or_else(|| anyhow::anyhow!("{}: the new key file does not exist", path.display()));
    }
    let text = std::env::var("GATEHOUSE_NEW_MASTER_KEY").map_err(|_| {
        anyhow::anyhow!("give the new key with --new-key-file or GATEHOUSE_NEW_MASTER_KEY")
    })?;
    MasterKey::from_base64(&text)
        .map_err(|message| anyhow::anyhow!("GATEHOUSE_NEW_MASTER_KEY: {message}"))
}
