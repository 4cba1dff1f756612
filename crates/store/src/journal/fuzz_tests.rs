//! Property tests of the journal's framing on recovery (docs/SECURITY.md): whatever bytes a
//! crash, a bad disk or an attacker with write access leaves in a segment, opening and reading
//! never panic, never allocate past one record's limit, and every record before the damage is
//! read back exactly. `make test` runs a short pass; `make fuzz` sets `PROPTEST_CASES` high.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::os::unix::fs::FileExt as _;

use proptest::prelude::*;

use super::*;

fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Debug, Clone)]
enum Damage {
    /// Cut the segment at this fraction of its length.
    Truncate(f64),
    /// Overwrite these bytes at this fraction of the length.
    Overwrite(f64, Vec<u8>),
    /// Append these bytes (a torn or garbage tail).
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0.0f64..1.0).prop_map(Damage::Truncate),
        (0.0f64..1.0, prop::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(at, bytes)| Damage::Overwrite(at, bytes)),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    /// One frame decoder over arbitrary bytes: a record, the end, or torn; never a panic and
    /// never a buffer larger than one record may be.
    #[test]
    fn read_frame_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut reader = &bytes[..];
        let mut payload = Vec::new();
        for _ in 0..64 {
            match segments::read_frame(&mut reader, &mut payload) {
                Ok(Some(size)) => prop_assert!(size as usize <= bytes.len()),
                Ok(None) | Err(_) => break,
            }
            prop_assert!(payload.len() <= MAX_RECORD);
        }
    }

    /// A journal damaged anywhere opens (or refuses to, as a value) and reads back every
    /// record that lies wholly before the damage, in order and unchanged.
    #[test]
    fn recovery_survives_any_damage(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..48), 1..8),
        damage in damage(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut ends = Vec::new();
        runtime.block_on(async {
            let journal = Journal::open(JournalOptions::new(dir.path())).unwrap();
            for record in &records {
                ends.push(journal.append(record.clone()).await.unwrap());
            }
            journal.close();
        });
        let path = segments::path(dir.path(), 0);
        let len = std::fs::metadata(&path).unwrap().len();
        let body = len - segments::SEGMENT_HEADER;
        let damaged_from = match &damage {
            Damage::Truncate(at) => {
                let cut = segments::SEGMENT_HEADER + (body as f64 * at) as u64;
                std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(cut).unwrap();
                cut
            }
            Damage::Overwrite(at, bytes) => {
                let offset = segments::SEGMENT_HEADER + (body as f64 * at) as u64;
                let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                file.write_all_at(bytes, offset).unwrap();
                offset
            }
            Damage::Append(bytes) => {
                let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                file.write_all_at(bytes, len).unwrap();
                len
            }
        };
        let outcome = runtime.block_on(async {
            let journal = Journal::open(JournalOptions::new(dir.path()))?;
            let mut reader = journal.reader();
            let mut read = Vec::new();
            for _ in 0..16 {
                match reader.read(journal.durable_end(), 1000, 1 << 20) {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => read.extend(batch),
                    Err(_) => break,
                }
            }
            journal.close();
            Ok::<_, JournalError>(read)
        });
        if let Ok(read) = outcome {
            let intact = ends
                .iter()
                .take_while(|&&end| end <= damaged_from)
                .count();
            prop_assert!(read.len() >= intact, "read {} of {} intact records", read.len(), intact);
            for (got, want) in read.iter().zip(&records).take(intact) {
                prop_assert_eq!(&got.payload, want);
            }
        }
    }
}
