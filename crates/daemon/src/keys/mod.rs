//! The master key that seals provider credentials: given in the configuration, or read from its
//! key file, or created there on first start. A key is only ever created over a store that holds
//! no sealed credentials: a fresh key cannot open them, and creating one silently would make every
//! integration unusable. [`rotate`] re-seals every integration under a new key.

mod rotate;

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use gatehouse_engine::secrets::MasterKey;
use gatehouse_store::Store;
use secrecy::ExposeSecret;

pub use rotate::{rotate, Rotation};

/// Where the master key comes from.
pub enum KeySource {
    /// Given directly (`GATEHOUSE_MASTER_KEY`, `security.master_key`, or a test).
    Configured(MasterKey),
    /// This key file, created on first start when the store holds no sealed credentials.
    File(PathBuf),
}

impl From<MasterKey> for KeySource {
    fn from(key: MasterKey) -> Self {
        Self::Configured(key)
    }
}

/// A master key problem. Messages name the file or setting and never hold key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{path}: the master key file does not exist, but the store holds {count} integration(s) \
         sealed under master key {key_ids}; a new key could not open them. Restore that key file \
         (or set GATEHOUSE_MASTER_KEY to that key) and start again"
    )]
    MissingWithSealed {
        path: String,
        count: usize,
        key_ids: String,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Store(String),
    #[error("integration {integration}: {message}")]
    Record {
        integration: String,
        message: String,
    },
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// What the store holds sealed: how many integrations, and under which key ids.
pub struct Sealed {
    pub count: usize,
    pub key_ids: Vec<String>,
}

/// Every integration's credentials are sealed; this says how many and under which keys.
pub async fn sealed_credentials(store: &dyn Store) -> Result<Sealed, KeyError> {
    let all = store
        .all_integrations()
        .await
        .map_err(|e| KeyError::Store(format!("cannot list the stored integrations: {e}")))?;
    let mut key_ids: Vec<String> = all.iter().map(|i| i.credentials.key_id.clone()).collect();
    key_ids.sort();
    key_ids.dedup();
    Ok(Sealed {
        count: all.len(),
        key_ids,
    })
}

/// The key to run with: the configured one, the key file's, or — only when `store` holds no
/// sealed credentials — a new key written to the key file. The flag says whether it was created.
pub async fn resolve(source: KeySource, store: &dyn Store) -> Result<(MasterKey, bool), KeyError> {
    let path = match source {
        KeySource::Configured(key) => return Ok((key, false)),
        KeySource::File(path) => path,
    };
    if let Some(key) = read_key_file(&path)? {
        return Ok((key, false));
    }
    refuse_if_sealed(&path, store).await?;
    Ok((create_key_file(&path)?, true))
}

/// The error `resolve` answers when the key file is missing over sealed credentials.
pub async fn refuse_if_sealed(path: &Path, store: &dyn Store) -> Result<(), KeyError> {
    let sealed = sealed_credentials(store).await?;
    if sealed.count > 0 {
        return Err(KeyError::MissingWithSealed {
            path: path.display().to_string(),
            count: sealed.count,
            key_ids: sealed.key_ids.join(", "),
        });
    }
    Ok(())
}

/// Logs a warning when some credentials were sealed under another key (a wrong key configured,
/// or a rotation left half done): those integrations fail until the right key is back.
pub async fn warn_if_foreign(key: &MasterKey, store: &dyn Store) -> Result<(), KeyError> {
    let sealed = sealed_credentials(store).await?;
    let current = key.key_id();
    let foreign: Vec<&String> = sealed.key_ids.iter().filter(|id| **id != current).collect();
    if !foreign.is_empty() {
        tracing::warn!(
            key_id = %current,
            other_key_ids = ?foreign,
            "some integrations' credentials are sealed under another master key and cannot be opened; configure that key, or finish a rotation with `gatehouse keys rotate`"
        );
    }
    Ok(())
}

/// The key in `path`; `None` when the file does not exist.
pub fn read_key_file(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_error(path, format!("cannot read the key file: {e}"))),
    };
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "the master key file is readable by group or others; chmod 600 it"
            );
        }
    }
    MasterKey::from_base64(&text)
        .map(Some)
        .map_err(|message| file_error(path, message))
}

/// Writes a new random key to `path` (mode 0600, never over an existing file), durably: the
/// file's data and its directory entry are both synced before the key is used to seal anything.
pub fn create_key_file(path: &Path) -> Result<MasterKey, KeyError> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| file_error(path, e))?;
    let key = MasterKey::generate();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| file_error(path, format!("cannot create the master key file: {e}")))?;
    file.write_all(key.to_base64().expose_secret().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| file_error(path, format!("cannot write the master key file: {e}")))?;
    // Without this a crash can lose the new name while credentials sealed under the key survive.
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| file_error(path, format!("cannot sync the key file's directory: {e}")))?;
    tracing::info!(path = %path.display(), key_id = %key.key_id(), "created a new master key; back it up, away from the data directory: credentials cannot be opened without it");
    Ok(key)
}

#[cfg(test)]
mod tests;
