//! Following the journal: reads whole records from a position up to the durable end.

use std::fs::File;
use std::io::{BufReader, Seek as _, SeekFrom};
use std::path::PathBuf;

use super::segments::{self, FrameError};
use super::{io, JournalError};

/// One record read back, with the offset just past it (what to checkpoint once it is processed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRecord {
    pub end: u64,
    pub payload: Vec<u8>,
}

/// A cursor over the journal's records. Blocking file reads: call it off the async workers.
#[derive(Debug)]
pub struct JournalReader {
    dir: PathBuf,
    position: u64,
}

impl JournalReader {
    pub(super) fn new(dir: PathBuf, position: u64) -> Self {
        Self { dir, position }
    }

    /// The offset of the next record.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Reads records that start before `until` (a durable end), at most `max_records` and
    /// about `max_bytes`. Nothing read ahead is kept between calls: bytes past the durable end
    /// may still be rewritten after a failed write.
    pub fn read(
        &mut self,
        until: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<JournalRecord>, JournalError> {
        let mut records = Vec::new();
        let mut bytes = 0;
        let mut open: Option<(u64, BufReader<File>)> = None;
        while self.position < until && records.len() < max_records && bytes < max_bytes {
            let (base, reader) = match &mut open {
                Some(open) => open,
                None => open.insert(self.open_at_position()?),
            };
            let mut payload = Vec::new();
            match segments::read_frame(reader, &mut payload) {
                Ok(Some(size)) => {
                    self.position += size;
                    bytes += payload.len();
                    records.push(JournalRecord {
                        end: self.position,
                        payload,
                    });
                }
                // The segment ends here; the next one starts at exactly this offset.
                Ok(None) => {
                    if self.segment_of(self.position)? == *base {
                        break;
                    }
                    open = None;
                }
                Err(FrameError::Torn) => {
                    return Err(JournalError::Corrupt {
                        segment: *base,
                        offset: self.position,
                    });
                }
                Err(FrameError::Io(e)) => return Err(io("read a segment")(e)),
            }
        }
        Ok(records)
    }

    /// Moves past a damaged segment to the start of the next one (what is lost is logged by
    /// the caller).
    pub fn skip_damaged(&mut self) -> Result<(), JournalError> {
        let current = self.segment_of(self.position)?;
        let next = segments::list(&self.dir)?
            .into_iter()
            .find(|&base| base > current);
        if let Some(next) = next {
            self.position = next;
        }
        Ok(())
    }

    /// The base of the segment holding `offset`.
    fn segment_of(&self, offset: u64) -> Result<u64, JournalError> {
        segments::list(&self.dir)?
            .into_iter()
            .rev()
            .find(|&base| base <= offset)
            .ok_or(JournalError::Corrupt { segment: 0, offset })
    }

    /// Opens the segment holding the position, refusing it unless its format is this build's,
    /// and moves past its header when the position is the segment's start.
    fn open_at_position(&mut self) -> Result<(u64, BufReader<File>), JournalError> {
        let base = self.segment_of(self.position)?;
        let mut file = File::open(segments::path(&self.dir, base)).map_err(io("open a segment"))?;
        if segments::check_header(&file, base)? == segments::Header::Missing {
            return Err(JournalError::Corrupt {
                segment: base,
                offset: self.position,
            });
        }
        self.position = self.position.max(base + segments::SEGMENT_HEADER);
        file.seek(SeekFrom::Start(self.position - base))
            .map_err(io("seek in a segment"))?;
        Ok((base, BufReader::with_capacity(1 << 20, file)))
    }
}
