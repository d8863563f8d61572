//! The row file's records (see [`crate::store`] for the layout): reading one
//! back checked against its CRC, and the scan that indexes the records past
//! the index's saved runs.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use ledger::ids::ItemId;
use ledger::state::Item;

use crate::index::{Index, Slot};
use crate::model::Row;
use crate::store::{io, StoreError};

/// Bytes of a record's checksum.
const CRC: usize = 4;
/// Largest record accepted when reading the row file.
const MAX_RECORD: usize = 64 << 20;
/// Bytes of a record's header: its length (u32 LE) and its row kind.
pub(crate) const HEADER: usize = 5;

/// The length of the row file, which must hold the `committed` bytes the
/// snapshot names.
pub(crate) fn rows_len(reader: &File, committed: u64, path: &Path) -> Result<u64, StoreError> {
    let len = reader.metadata().map_err(io(path))?.len();
    if len < committed {
        return Err(StoreError::Corrupt(format!(
            "rows.log has {len} bytes, the snapshot covers {committed}"
        )));
    }
    Ok(len)
}

/// The record at `offset` of a read-only store's in-memory records, which
/// start at offset `base`.
pub(crate) fn read_memory_record(
    bytes: &[u8],
    offset: u64,
    base: u64,
) -> Result<(ItemId, Item, Option<Row>), StoreError> {
    let at = (offset - base) as usize;
    let header: [u8; HEADER] = bytes
        .get(at..at + HEADER)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("record at {offset} past the end")))?;
    let len = record_len(&header, offset, base + bytes.len() as u64)?;
    let body = &bytes[at + HEADER..at + 4 + len];
    let body = checked_body(header[4], body, offset)?;
    decode_exact(body, &format!("memory: record at {offset}"))
}

/// The length a record header at `offset` announces (kind byte and body),
/// checked against the size limit and the `end` of the readable file.
pub(crate) fn record_len(
    header: &[u8; HEADER],
    offset: u64,
    end: u64,
) -> Result<usize, StoreError> {
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_RECORD || len <= 1 + CRC || offset + 4 + len as u64 > end {
        return Err(StoreError::Corrupt(format!(
            "rows.log: record at {offset}: length {len}"
        )));
    }
    Ok(len)
}

/// The bincode of a record whose bytes after the kind are `rest` (bincode and
/// CRC), if the CRC of the kind and the bincode matches.
pub(crate) fn checked_body(kind: u8, rest: &[u8], offset: u64) -> Result<&[u8], StoreError> {
    let (body, crc) = rest.split_at(rest.len() - CRC);
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(body);
    if h.finalize().to_le_bytes() != crc {
        return Err(StoreError::Corrupt(format!(
            "rows.log: record at {offset} fails its checksum"
        )));
    }
    Ok(body)
}

/// Decodes `bytes` as one `T`, refusing trailing bytes; `what` names it in errors.
pub(crate) fn decode_exact<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, StoreError> {
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))?;
    if used != bytes.len() {
        return Err(StoreError::Corrupt(format!("{what}: trailing bytes")));
    }
    Ok(value)
}

/// Row-file records this process scanned into the index on open (the records
/// past the index's saved runs): what opening a projector costs, printed by
/// the CLI with `TALLINN_STATS=1`.
pub fn records_scanned() -> u64 {
    SCANNED.load(std::sync::atomic::Ordering::Relaxed)
}

static SCANNED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Adds the records of the row file from the index's covered offset up to
/// `len` to the index: one sequential read, decoding only each record's id.
pub(crate) fn scan(
    file: &File,
    len: u64,
    path: &Path,
    index: &mut Index,
) -> Result<(), StoreError> {
    let mut offset = index.covered();
    let mut file = file.try_clone().map_err(io(path))?;
    file.seek(SeekFrom::Start(offset)).map_err(io(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut body = Vec::new();
    while offset < len {
        let mut header = [0u8; HEADER];
        reader.read_exact(&mut header).map_err(io(path))?;
        let n = record_len(&header, offset, len)?;
        body.resize(n - 1, 0);
        reader.read_exact(&mut body).map_err(io(path))?;
        let record = checked_body(header[4], &body, offset)?;
        let (id, _): (ItemId, usize) =
            bincode::serde::decode_from_slice(record, bincode::config::standard())
                .map_err(|e| StoreError::Corrupt(format!("rows.log: record at {offset}: {e}")))?;
        index.put(
            id.as_str(),
            Slot {
                offset,
                kind: header[4],
            },
        );
        offset += 4 + n as u64;
        SCANNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}
