//! Making sled's blob files durable in the commit round.
//!
//! Why: sled 0.34.7 stores a log message larger than a quarter of its segment (`segment_size /
//! MINIMUM_ITEMS_PER_SEGMENT - SEG_HEADER_LEN`, with the 512 KiB default about 128 KiB, header
//! included; `pagecache/logger.rs`) as its own file `blobs/<lsn>` and logs only a pointer to it
//! (`pagecache/blob_io.rs::write_blob`: `create_new` + `write_all`, never synced). The message is
//! a whole tree *page*, not one value: a leaf splits only past 16 entries (`node.rs`), so 16
//! records of 8 KiB, a consolidated page, or one large SCIM group make a blob. Keeping every
//! record small therefore would not keep pages small; instead the committer, after sled's
//! `flush()` and before the `fdatasync` of `db` that makes the pointers durable, `fdatasync`s
//! every blob file that is new or has grown since the last round, and the `blobs` directory
//! when a name is new. A blob is written whole before the insert that made it returns (it is
//! serialized at reservation), so the waiters of a round never point to a partial blob; a blob
//! that sled is still writing for a later writer is synced again once its length changes.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::ErrorKind;
use std::path::PathBuf;

/// The blob files already synced, with the length they had then.
pub(super) struct BlobSync {
    dir: PathBuf,
    synced: HashMap<OsString, u64>,
}

impl BlobSync {
    pub(super) fn new(store_dir: &std::path::Path) -> Self {
        Self {
            dir: store_dir.join("blobs"),
            synced: HashMap::new(),
        }
    }

    /// Syncs every blob file new or grown since the last call (and the directory when a name is
    /// new). Returns how many files it synced.
    pub(super) fn sync(&mut self) -> std::io::Result<u64> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut seen = HashMap::with_capacity(self.synced.len());
        let mut new_name = false;
        let mut synced = 0;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let path = entry.path();
            // sled removes blobs it no longer needs at any time: one gone meanwhile is no error.
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let length = file.metadata()?.len();
            if self.synced.get(&name) != Some(&length) {
                file.sync_data()?;
                new_name |= !self.synced.contains_key(&name);
                synced += 1;
            }
            seen.insert(name, length);
        }
        if new_name {
            File::open(&self.dir)?.sync_all()?;
        }
        self.synced = seen;
        Ok(synced)
    }
}
