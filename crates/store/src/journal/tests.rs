//! The journal: durability across reopen, torn tails, checkpoints and segment cleanup, group
//! commit under many appenders.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Arc;

use super::*;

fn options(dir: &Path) -> JournalOptions {
    JournalOptions::new(dir)
}

fn payloads(journal: &Journal) -> Vec<Vec<u8>> {
    let mut reader = journal.reader();
    reader
        .read(journal.durable_end(), usize::MAX, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|r| r.payload)
        .collect()
}

#[tokio::test]
async fn appended_records_are_read_back_in_order_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(options(dir.path())).unwrap();
    let first = journal.append(b"one".to_vec()).await.unwrap();
    let second = journal.append(b"two".to_vec()).await.unwrap();
    // Offsets count the segment's header frame, as they count every frame.
    let header = segments::SEGMENT_HEADER;
    assert_eq!(first, header + 8 + 3);
    assert_eq!(second, header + 2 * (8 + 3));
    assert_eq!(journal.durable_end(), second);
    drop(journal);

    let journal = Journal::open(options(dir.path())).unwrap();
    assert_eq!(journal.durable_end(), second);
    assert_eq!(payloads(&journal), vec![b"one".to_vec(), b"two".to_vec()]);
    let third = journal.append(b"three".to_vec()).await.unwrap();
    assert_eq!(third, second + 8 + 5);
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_appends_continue_after_the_last_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(options(dir.path())).unwrap();
    let end = journal.append(b"whole".to_vec()).await.unwrap();
    drop(journal);
    // A crash mid-write: a header promising 100 bytes and only some of them.
    let mut segment = std::fs::OpenOptions::new()
        .append(true)
        .open(segments::path(dir.path(), 0))
        .unwrap();
    segment.write_all(&100u32.to_le_bytes()).unwrap();
    segment.write_all(&[0, 0, 0, 0, 1, 2, 3]).unwrap();
    drop(segment);

    let journal = Journal::open(options(dir.path())).unwrap();
    assert_eq!(journal.durable_end(), end);
    journal.append(b"after".to_vec()).await.unwrap();
    assert_eq!(
        payloads(&journal),
        vec![b"whole".to_vec(), b"after".to_vec()]
    );
}

#[tokio::test]
async fn a_record_failing_its_checksum_ends_the_valid_log() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(options(dir.path())).unwrap();
    let end = journal.append(b"good".to_vec()).await.unwrap();
    let flipped_end = journal.append(b"flipped".to_vec()).await.unwrap();
    drop(journal);
    let path = segments::path(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = usize::try_from(flipped_end).unwrap() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let journal = Journal::open(options(dir.path())).unwrap();
    assert_eq!(journal.durable_end(), end);
    assert_eq!(payloads(&journal), vec![b"good".to_vec()]);
}

#[tokio::test]
async fn the_checkpoint_survives_a_reopen_and_deletes_processed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.segment_bytes = 64;
    let journal = Journal::open(opts.clone()).unwrap();
    let mut ends = Vec::new();
    for i in 0..20u8 {
        ends.push(journal.append(vec![i; 30]).await.unwrap());
    }
    let segments_before = segments::list(dir.path()).unwrap().len();
    assert!(segments_before > 5, "{segments_before} segments");

    let mut reader = journal.reader();
    let records = reader.read(journal.durable_end(), 12, usize::MAX).unwrap();
    assert_eq!(records.len(), 12);
    assert_eq!(records[11].payload, vec![11u8; 30]);
    journal.set_checkpoint(records[11].end).unwrap();
    let segments_after = segments::list(dir.path()).unwrap();
    assert!(segments_after.len() < segments_before);
    assert!(segments_after[0] <= records[11].end);
    drop(journal);

    let journal = Journal::open(opts).unwrap();
    assert_eq!(journal.checkpoint(), ends[11]);
    let rest: Vec<_> = payloads(&journal);
    assert_eq!(rest, (12..20u8).map(|i| vec![i; 30]).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_reader_follows_appends_across_segments_and_stops_at_the_durable_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.segment_bytes = 100;
    let journal = Journal::open(opts).unwrap();
    let mut reader = journal.reader();
    let mut seen = Vec::new();
    for i in 0..30u8 {
        journal.append(vec![i; 40]).await.unwrap();
        if i % 7 == 0 {
            let records = reader.read(journal.durable_end(), 1000, 1 << 20).unwrap();
            seen.extend(records.into_iter().map(|r| r.payload[0]));
        }
    }
    let records = reader.read(journal.durable_end(), 1000, 1 << 20).unwrap();
    seen.extend(records.into_iter().map(|r| r.payload[0]));
    assert_eq!(seen, (0..30u8).collect::<Vec<_>>());
    assert_eq!(reader.position(), journal.durable_end());
    assert!(reader
        .read(journal.durable_end(), 10, 10)
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn many_concurrent_appenders_share_commit_rounds_and_all_survive() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal::open(options(dir.path())).unwrap());
    let mut tasks = Vec::new();
    for i in 0..400u32 {
        let journal = Arc::clone(&journal);
        tasks.push(tokio::spawn(async move {
            journal.append(i.to_le_bytes().to_vec()).await.unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rounds = journal.commit_rounds();
    assert!(rounds < 400, "{rounds} commit rounds for 400 appends");
    drop(Arc::try_unwrap(journal).unwrap());
    let journal = Journal::open(options(dir.path())).unwrap();
    let mut got: Vec<u32> = payloads(&journal)
        .into_iter()
        .map(|p| u32::from_le_bytes(p.try_into().unwrap()))
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..400).collect::<Vec<_>>());
}

#[tokio::test]
async fn appends_are_refused_past_the_backlog_limit_until_the_consumer_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.max_backlog_bytes = 100;
    let journal = Journal::open(opts).unwrap();
    let mut last = 0;
    while journal.durable_end() <= 100 {
        last = journal.append(vec![0; 30]).await.unwrap();
    }
    assert!(matches!(
        journal.append(vec![0; 30]).await,
        Err(JournalError::Full { .. })
    ));
    journal.set_checkpoint(last).unwrap();
    journal.append(vec![0; 30]).await.unwrap();
    assert!(matches!(
        journal.append(vec![0; MAX_RECORD + 1]).await,
        Err(JournalError::TooLarge(_))
    ));
}

#[tokio::test]
async fn rounds_overwrite_zeros_written_ahead_instead_of_growing_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(options(dir.path())).unwrap();
    let path = segments::path(dir.path(), 0);
    journal.append(b"first".to_vec()).await.unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= ZEROED_AHEAD, "zeros are written ahead: {size}");
    for n in 0..100 {
        journal
            .append(format!("record {n}").into_bytes())
            .await
            .unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    let end = journal.durable_end();
    drop(journal);

    let journal = Journal::open(options(dir.path())).unwrap();
    assert_eq!(journal.durable_end(), end, "the zeros read as the end");
    assert_eq!(payloads(&journal).len(), 101);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size, "nothing cut");
    assert!(matches!(
        journal.append(Vec::new()).await,
        Err(JournalError::Empty)
    ));
    // A large round past the zeros appends them no further: zeros would double its bytes.
    let large = vec![b'y'; usize::try_from(size).unwrap()];
    let large_end = journal.append(large).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), large_end);
}

#[tokio::test]
async fn a_stray_byte_anywhere_past_the_last_whole_record_is_cut_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(options(dir.path())).unwrap();
    let end = journal.append(b"whole".to_vec()).await.unwrap();
    drop(journal);
    // A crash during a round whose later page reached the disk before its first: the bytes
    // after the last whole record start with zeros, and a frame sits further on.
    let segment = std::fs::OpenOptions::new()
        .write(true)
        .open(segments::path(dir.path(), 0))
        .unwrap();
    let mut stray = Vec::new();
    stray.extend_from_slice(&5u32.to_le_bytes());
    stray.extend_from_slice(&crc32fast::hash(b"stray").to_le_bytes());
    stray.extend_from_slice(b"stray");
    segment.write_all_at(&stray, end + 4096).unwrap();
    drop(segment);

    let journal = Journal::open(options(dir.path())).unwrap();
    assert_eq!(journal.durable_end(), end);
    // A round shorter than the gap lands before where the stray frame was.
    let after = journal.append(b"after".to_vec()).await.unwrap();
    journal.append(vec![b'x'; 4096 - 8 - 5 - 8]).await.unwrap();
    drop(journal);
    let journal = Journal::open(options(dir.path())).unwrap();
    assert!(journal.durable_end() > after);
    let read = payloads(&journal);
    assert_eq!(read.len(), 3, "the stray frame never reads as a record");
    assert_eq!(read[1], b"after".to_vec());
}
