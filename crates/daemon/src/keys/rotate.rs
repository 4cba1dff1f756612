//! Re-sealing every integration's credentials under a new master key, with the daemon stopped.
//! Each record is rewritten durably on its own and carries the id of the key that sealed it, so
//! an interrupted rotation is finished by running it again: records already under the new key
//! are skipped.

use gatehouse_engine::secrets::{MasterKey, Sealer};
use gatehouse_store::Store;

use super::KeyError;

/// What a rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Records re-sealed by this run.
    pub resealed: usize,
    /// Records already under the new key (an earlier, interrupted run).
    pub already_new: usize,
}

/// Re-seals every integration sealed under `old` with `new`. Refuses before changing anything
/// when a record is sealed under a third key, or when the two keys are the same.
pub async fn rotate(
    store: &dyn Store,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<Rotation, KeyError> {
    let (old_id, new_id) = (old.key_id(), new.key_id());
    if old_id == new_id {
        return Err(KeyError::Store(
            "the new master key is the current one; nothing to rotate".into(),
        ));
    }
    let integrations = store
        .all_integrations()
        .await
        .map_err(|e| KeyError::Store(format!("cannot list the stored integrations: {e}")))?;
    if let Some(foreign) = integrations
        .iter()
        .find(|i| i.credentials.key_id != old_id && i.credentials.key_id != new_id)
    {
        return Err(KeyError::Record {
            integration: foreign.id.to_string(),
            message: format!(
                "sealed under master key {}, which is neither the current key ({old_id}) nor the new one ({new_id}); nothing was changed",
                foreign.credentials.key_id
            ),
        });
    }
    let (opener, sealer) = (Sealer::new(old), Sealer::new(new));
    let mut rotation = Rotation::default();
    for mut integration in integrations {
        if integration.credentials.key_id == new_id {
            rotation.already_new += 1;
            continue;
        }
        let owner = integration.id.to_string();
        let record = |e: &dyn std::fmt::Display| KeyError::Record {
            integration: owner.clone(),
            message: e.to_string(),
        };
        let credentials = opener
            .open(&integration.credentials, &owner)
            .map_err(|e| record(&e))?;
        integration.credentials = sealer.seal(&credentials, &owner).map_err(|e| record(&e))?;
        gatehouse_engine::reseal_push_token(&opener, &sealer, &mut integration)
            .map_err(|e| record(&e))?;
        // Durable per record: a crash after this line leaves this one done and the rest to redo.
        store
            .update_integration(&integration)
            .await
            .map_err(|e| record(&e))?;
        rotation.resealed += 1;
    }
    Ok(rotation)
}
