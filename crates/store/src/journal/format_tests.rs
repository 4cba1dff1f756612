//! The journal's format header and its failure handling: a segment in a format this build does
//! not know is refused (never cut), an interrupted segment creation is repaired, and a failed
//! sync stops every later append.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::os::unix::fs::FileExt as _;

use super::*;

/// Rewrites the version field of the segment at `base`.
fn set_version(dir: &std::path::Path, base: u64, version: u32) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(segments::path(dir, base))
        .unwrap();
    file.write_all_at(&version.to_le_bytes(), 16).unwrap();
}

#[tokio::test]
async fn every_segment_starts_with_a_header_naming_its_format_version() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(JournalOptions::new(dir.path())).unwrap();
    journal.append(b"one".to_vec()).await.unwrap();
    drop(journal);
    let bytes = std::fs::read(segments::path(dir.path(), 0)).unwrap();
    assert_eq!(&bytes[8..16], b"GHJRNL\0\0");
    assert_eq!(bytes[16..20], 1u32.to_le_bytes());
}

#[tokio::test]
async fn a_segment_in_an_unknown_version_is_refused_at_open_and_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(JournalOptions::new(dir.path())).unwrap();
    journal.append(b"acknowledged".to_vec()).await.unwrap();
    drop(journal);
    set_version(dir.path(), 0, 2);
    let before = std::fs::read(segments::path(dir.path(), 0)).unwrap();

    let error = Journal::open(JournalOptions::new(dir.path())).unwrap_err();
    assert!(
        matches!(
            error,
            JournalError::UnsupportedVersion {
                segment: 0,
                version: 2
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("format version 2"), "{message}");
    assert!(message.contains("only version 1"), "{message}");
    // Not mistaken for a torn tail and cut off.
    assert_eq!(
        std::fs::read(segments::path(dir.path(), 0)).unwrap(),
        before
    );
}

#[tokio::test]
async fn a_reader_refuses_a_segment_in_an_unknown_version_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = JournalOptions::new(dir.path());
    options.segment_bytes = 64;
    let journal = Journal::open(options).unwrap();
    for i in 0..6u8 {
        journal.append(vec![i; 40]).await.unwrap();
    }
    let second = segments::list(dir.path()).unwrap()[1];
    set_version(dir.path(), second, 7);
    let mut reader = journal.reader();
    let error = reader
        .read(journal.durable_end(), usize::MAX, usize::MAX)
        .unwrap_err();
    assert!(
        matches!(error, JournalError::UnsupportedVersion { version: 7, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("format version 7"));
}

#[tokio::test]
async fn a_segment_without_a_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A segment as builds before the header wrote it: frames from byte 0.
    let payload = b"legacy";
    let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    frame.extend_from_slice(payload);
    std::fs::write(segments::path(dir.path(), 0), &frame).unwrap();

    let error = Journal::open(JournalOptions::new(dir.path())).unwrap_err();
    assert!(
        matches!(error, JournalError::NotAJournal { segment: 0 }),
        "{error:?}"
    );
    assert!(error.to_string().contains("format 0"));
    assert_eq!(std::fs::read(segments::path(dir.path(), 0)).unwrap(), frame);
}

#[tokio::test]
async fn an_interrupted_segment_creation_is_given_its_header() {
    let dir = tempfile::tempdir().unwrap();
    // A crash between creating the file and syncing its header.
    std::fs::write(segments::path(dir.path(), 0), [0u8; 5]).unwrap();
    let journal = Journal::open(JournalOptions::new(dir.path())).unwrap();
    let end = journal.append(b"after".to_vec()).await.unwrap();
    drop(journal);
    let journal = Journal::open(JournalOptions::new(dir.path())).unwrap();
    assert_eq!(journal.durable_end(), end);
    let records = journal.reader().read(end, 10, 1 << 20).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].payload, b"after");
}

#[tokio::test]
async fn after_a_failed_sync_every_later_append_is_refused_and_the_signal_raised() {
    let dir = tempfile::tempdir().unwrap();
    let options = JournalOptions::new(dir.path());
    let (fatal, faults) = (options.fatal.clone(), options.faults.clone());
    let journal = Journal::open(options).unwrap();
    let acknowledged = journal.append(b"before".to_vec()).await.unwrap();

    faults.fail_next_syncs(1);
    let error = journal.append(b"failed".to_vec()).await.unwrap_err();
    assert!(
        matches!(&error, JournalError::Failed(r) if r.contains("injected")),
        "{error}"
    );
    assert!(fatal.reason().is_some());
    // The device "works" again; the journal still refuses.
    let error = journal.append(b"later".to_vec()).await.unwrap_err();
    assert!(matches!(error, JournalError::Failed(_)), "{error}");
    assert_eq!(journal.durable_end(), acknowledged);
}
