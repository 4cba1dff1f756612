//! The master key: from the configuration, or `master.key` created with mode 0600 on first start.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use gatehouse_engine::secrets::MasterKey;
use secrecy::ExposeSecret;

use crate::config::{Config, ConfigError};

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

/// Loads the master key, creating the key file on first start.
pub(crate) fn master_key(config: &Config) -> Result<MasterKey, ConfigError> {
    if let Some(key) = &config.master_key {
        return MasterKey::from_base64(key.expose_secret())
            .map_err(|message| err("GATEHOUSE_MASTER_KEY (security.master_key)", message));
    }
    let path = config.master_key_path();
    match read_key_file(&path) {
        Ok(key) => Ok(key),
        Err(e) if e.kind() == ErrorKind::NotFound => create_key_file(&path),
        Err(e) => Err(err(path.display().to_string(), e.to_string())),
    }
}

fn read_key_file(path: &Path) -> std::io::Result<MasterKey> {
    let text = std::fs::read_to_string(path)?;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the master key file is readable by group or others; chmod 600 it"
        );
    }
    MasterKey::from_base64(&text).map_err(|m| std::io::Error::new(ErrorKind::InvalidData, m))
}

fn create_key_file(path: &Path) -> Result<MasterKey, ConfigError> {
    let shown = path.display().to_string();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| err(&shown, e.to_string()))?;
    }
    let key = MasterKey::generate();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| err(&shown, format!("cannot create the master key file: {e}")))?;
    file.write_all(key.to_base64().expose_secret().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| err(&shown, format!("cannot write the master key file: {e}")))?;
    tracing::info!(path = %shown, key_id = %key.key_id(), "created a new master key; back it up: credentials cannot be opened without it");
    Ok(key)
}
