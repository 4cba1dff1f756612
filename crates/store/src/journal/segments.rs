//! Segment files and the checkpoint file: naming, creation, the format header, recovery at
//! open, deletion.
//!
//! Every segment starts with a header frame, `length (12) · crc32 · "GHJRNL\0\0" · version (u32
//! LE)`, that names the format of the frames after it. Why: the format carries assumptions a
//! reader must share (today: zeros are written ahead of the data and an all-zero frame header
//! is the end), and a build that does not share them would misread the segment, or cut off as
//! "torn" what it cannot parse, losing acknowledged deliveries. So a reader refuses a segment
//! whose version it does not know, naming the version. The header is a well-formed frame so
//! that builds from before it read it as one record that does not decode (skipped with an
//! error) rather than as damage. Invariant for every later version: the magic stays at bytes
//! 8..16 and the version at 16..20, whatever the header grows into after them.

use std::fs::{File, OpenOptions};
use std::io::BufReader;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use super::{io, JournalError, FRAME_HEADER, MAX_RECORD};

/// The header payload's first bytes.
const MAGIC: &[u8; 8] = b"GHJRNL\0\0";
/// The format this build writes and reads: frames of `length · crc32 · payload`, zeros written
/// ahead of the data, an all-zero frame header as the end.
pub(super) const FORMAT_VERSION: u32 = 1;
/// Bytes of the header frame (counted in the journal's offsets, like any frame).
pub(super) const SEGMENT_HEADER: u64 = (FRAME_HEADER + MAGIC.len() + 4) as u64;

/// The header frame of a segment in `version`.
pub(super) fn header_frame(version: u32) -> Vec<u8> {
    let mut payload = MAGIC.to_vec();
    payload.extend_from_slice(&version.to_le_bytes());
    let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// What a segment's first bytes hold.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Header {
    /// This build's format.
    Current,
    /// Nothing, zeros or a prefix of the header: a crash while the segment was being created,
    /// before anything was written to it.
    Missing,
}

/// Checks the header of the segment `base`: an unknown version or a file without the magic is
/// an error naming what it found.
pub(super) fn check_header(file: &File, base: u64) -> Result<Header, JournalError> {
    let mut head = [0u8; SEGMENT_HEADER as usize];
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io("read a segment's header")(e)),
        }
    }
    let expected = header_frame(FORMAT_VERSION);
    if filled == head.len() && &head[FRAME_HEADER..FRAME_HEADER + MAGIC.len()] == MAGIC {
        let at = FRAME_HEADER + MAGIC.len();
        let version = u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        if version != FORMAT_VERSION {
            return Err(JournalError::UnsupportedVersion {
                segment: base,
                version,
            });
        }
        return if head[..] == expected[..] {
            Ok(Header::Current)
        } else {
            Ok(Header::Missing)
        };
    }
    if head[..filled].iter().all(|&b| b == 0) || head[..filled] == expected[..filled] {
        return Ok(Header::Missing);
    }
    Err(JournalError::NotAJournal { segment: base })
}

const SUFFIX: &str = ".log";
const CHECKPOINT: &str = "checkpoint";

pub(super) fn path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{SUFFIX}"))
}

/// Creates a segment starting at `base`, holding its header alone, and makes it and its name
/// durable (its header is on disk before any frame is written after it).
pub(super) fn create(dir: &Path, base: u64) -> Result<File, JournalError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path(dir, base))
        .map_err(io("create a segment"))?;
    write_header(&file)?;
    sync_dir(dir)?;
    Ok(file)
}

/// (Re)writes a segment as its header alone.
fn write_header(file: &File) -> Result<(), JournalError> {
    file.set_len(0)
        .and_then(|()| file.write_all_at(&header_frame(FORMAT_VERSION), 0))
        .and_then(|()| file.sync_data())
        .map_err(io("write a segment's header"))
}

pub(super) fn remove(dir: &Path, base: u64) -> Result<(), JournalError> {
    match std::fs::remove_file(path(dir, base)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("remove a processed segment")(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync its directory"))
}

/// Segment bases on disk, ascending.
pub(super) fn list(dir: &Path) -> Result<Vec<u64>, JournalError> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("list its directory"))? {
        let name = entry.map_err(io("list its directory"))?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = name
            .strip_suffix(SUFFIX)
            .and_then(|n| n.parse::<u64>().ok())
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// What [`recover`] found: the segments, the last one open for appending, the end offset, and
/// the last segment's size (its data, then zeros).
pub(super) struct Recovered {
    pub bases: Vec<u64>,
    pub last_base: u64,
    pub file: File,
    pub end: u64,
    pub allocated: u64,
}

/// Finds the segments, checks their format, validates the last one frame by frame and cuts off
/// a torn tail.
pub(super) fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    let bases = list(dir)?;
    // Before anything is cut: a segment in a format this build does not know must stop the
    // start, not be "repaired" into losing what it holds.
    for (i, &base) in bases.iter().enumerate() {
        let file = File::open(path(dir, base)).map_err(io("open a segment"))?;
        if check_header(&file, base)? == Header::Missing && i + 1 < bases.len() {
            return Err(JournalError::Corrupt {
                segment: base,
                offset: base,
            });
        }
    }
    let Some(&last_base) = bases.last() else {
        let start = read_checkpoint(dir)?.unwrap_or(0);
        let file = create(dir, start)?;
        return Ok(Recovered {
            bases: vec![start],
            last_base: start,
            file,
            end: start + SEGMENT_HEADER,
            allocated: SEGMENT_HEADER,
        });
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path(dir, last_base))
        .map_err(io("open its last segment"))?;
    if check_header(&file, last_base)? == Header::Missing {
        // Created but never written after its header: nothing in it was acknowledged.
        tracing::warn!(
            segment = last_base,
            "journal: rewriting the header of a segment whose creation was interrupted"
        );
        write_header(&file)?;
    }
    let valid = valid_length(&path(dir, last_base))?;
    let mut allocated = file.metadata().map_err(io("read a segment's size"))?.len();
    // Past the valid frames there may be zeros written ahead, or what a crash left of a write
    // that was never acknowledged. Any byte of the latter goes, wherever it sits: new frames
    // will be written here, and a stale frame after them must never read as valid.
    if allocated > valid && !all_zero(&file, valid, allocated).map_err(io("read a segment"))? {
        tracing::warn!(
            segment = last_base,
            cut = allocated - valid,
            "journal: cutting off a torn tail (a write that was never acknowledged)"
        );
        file.set_len(valid)
            .and_then(|()| file.sync_data())
            .map_err(io("cut a torn tail"))?;
        allocated = valid;
    }
    Ok(Recovered {
        bases,
        last_base,
        file,
        end: last_base + valid,
        allocated,
    })
}

/// Whether `file` holds only zeros from `from` to `to`.
fn all_zero(file: &File, from: u64, to: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt as _;
    let mut buffer = vec![0u8; 1 << 20];
    let mut at = from;
    while at < to {
        let want = usize::try_from(to - at).map_or(buffer.len(), |n| n.min(buffer.len()));
        let read = file.read_at(&mut buffer[..want], at)?;
        if read == 0 {
            break;
        }
        if buffer[..read].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += read as u64;
    }
    Ok(true)
}

/// Bytes of whole, checksummed frames at the start of a segment.
fn valid_length(path: &Path) -> Result<u64, JournalError> {
    let file = File::open(path).map_err(io("open a segment"))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut valid = 0u64;
    let mut payload = Vec::new();
    loop {
        match read_frame(&mut reader, &mut payload) {
            Ok(Some(size)) => valid += size,
            Ok(None) | Err(FrameError::Torn) => return Ok(valid),
            Err(FrameError::Io(e)) => return Err(io("read a segment")(e)),
        }
    }
}

/// Why a frame could not be read.
pub(super) enum FrameError {
    /// Short, oversized or failing its checksum: the end of what was written whole.
    Torn,
    Io(std::io::Error),
}

/// Reads one frame into `payload`; `None` at a clean end of file or at the zeros written ahead
/// of the data (no frame is empty). Returns the frame's size.
pub(super) fn read_frame(
    reader: &mut impl std::io::Read,
    payload: &mut Vec<u8>,
) -> Result<Option<u64>, FrameError> {
    let mut header = [0u8; FRAME_HEADER];
    let mut filled = 0;
    while filled < FRAME_HEADER {
        match reader.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Torn),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    if header == [0u8; FRAME_HEADER] {
        return Ok(None);
    }
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let checksum = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if length > MAX_RECORD {
        return Err(FrameError::Torn);
    }
    payload.clear();
    payload.resize(length, 0);
    match reader.read_exact(payload) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Torn),
        Err(e) => return Err(FrameError::Io(e)),
    }
    if crc32fast::hash(payload) != checksum {
        return Err(FrameError::Torn);
    }
    Ok(Some((FRAME_HEADER + length) as u64))
}

pub(super) fn read_checkpoint(dir: &Path) -> Result<Option<u64>, JournalError> {
    match std::fs::read_to_string(dir.join(CHECKPOINT)) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read its checkpoint")(e)),
    }
}

pub(super) fn write_checkpoint(dir: &Path, offset: u64) -> Result<(), JournalError> {
    let temporary = dir.join(format!("{CHECKPOINT}.tmp"));
    std::fs::write(&temporary, offset.to_string()).map_err(io("write its checkpoint"))?;
    std::fs::rename(&temporary, dir.join(CHECKPOINT)).map_err(io("write its checkpoint"))
}
