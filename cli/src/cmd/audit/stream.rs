//! The streamed audit's shells: a bundle file read one batch of lines at a
//! time, the live log read one batch of entries at a time, and the bundle
//! written as the log is read. Memory holds one batch; the rules state and
//! read model live in the audit's workspace (a projector on a temporary
//! directory, `--work-dir` or the system's temporary directory).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ledger::bundle::{
    decode_event_text, AuditEvent, BundleError, BundleWriter, RawBundle, MAX_BUNDLE_BYTES,
    MAX_EVENTS,
};
use ledger::ids::Digest;
use ledger::log::{Entry, Log, LogError};
use projector::audit::export::Exporter;
use projector::audit::{Auditor, Report, Stated, Trust, Workspace, AUDIT_BATCH};
use rayon::prelude::*;

use crate::backend::AnyLog;
use crate::cmd::checkpoint::Stored;

/// The longest first line (the bundle's header) read before the events.
const MAX_HEADER_LINE: u64 = 1 << 20;

/// The longest event line read (an event's envelope and signature in base64
/// and its body view, at most `MAX_BODY_JSON_BYTES`, with room to spare).
const MAX_EVENT_LINE: u64 = 4 << 20;

/// Audits the bundle `path`: streamed when it is laid out one event per
/// line (as `audit export` writes it), else read whole (any other layout of
/// the same JSON, or lines that do not parse on their own).
pub fn verify_file(path: &Path, trust: &Trust, work: Option<&Path>) -> Result<Report> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    // A bundle laid out one event per line is read a line at a time, each
    // line bounded: it may be of any size (a 10M-event export is 8.9 GB).
    // Any other layout is read whole, at most MAX_BUNDLE_BYTES (`read_bundle`).
    if let Some(lines) = Lines::open(path, meta.len())? {
        if let Some(report) = audit_lines(lines, trust, work)? {
            return Ok(report);
        }
    }
    tracing::info!("{}: not one event per line, read whole", path.display());
    let input = super::read_bundle(path)?;
    Ok(projector::audit::audit_in(work, input, trust)?)
}

/// A bundle laid out one event per line: its header and the extent of the
/// event lines.
struct Lines {
    file: File,
    header: RawBundle<'static>,
    /// Byte offsets of the first event line and of the last line.
    events: (u64, u64),
    path: PathBuf,
}

impl Lines {
    /// `None` when `path` is not laid out one event per line.
    fn open(path: &Path, len: u64) -> Result<Option<Lines>> {
        let err = |e: std::io::Error| anyhow!("{}: {e}", path.display());
        let mut file = File::open(path).map_err(err)?;
        let mut first = Vec::new();
        BufReader::new((&file).take(MAX_HEADER_LINE))
            .read_until(b'\n', &mut first)
            .map_err(err)?;
        if first.last() != Some(&b'\n') {
            return Ok(None);
        }
        let start = first.len() as u64;
        let last_start = last_line_start(&mut file, len, start).map_err(err)?;
        let Some(last_start) = last_start else {
            return Ok(None);
        };
        if len - last_start > MAX_BUNDLE_BYTES {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(last_start)).map_err(err)?;
        let mut last = String::new();
        if (&file).read_to_string(&mut last).is_err() {
            return Ok(None);
        }
        let Ok(first) = std::str::from_utf8(&first[..first.len() - 1]) else {
            return Ok(None);
        };
        let last = last.strip_suffix('\n').unwrap_or(&last);
        let Some(header) = RawBundle::around_lines(first, last) else {
            return Ok(None);
        };
        let header = header.map_err(|e| anyhow!("{}: {e}", path.display()))?;
        file.seek(SeekFrom::Start(start)).map_err(err)?;
        Ok(Some(Lines {
            file,
            header,
            events: (start, last_start),
            path: path.to_path_buf(),
        }))
    }
}

/// Where the last line of a file of `len` bytes starts (a final line break
/// ends it), if after `from`.
fn last_line_start(file: &mut File, len: u64, from: u64) -> std::io::Result<Option<u64>> {
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    let mut skip_final = true;
    while end > from {
        let start = end.saturating_sub(buf.len() as u64).max(from);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        let mut slice: &[u8] = chunk;
        if skip_final && end == len {
            if let Some(rest) = slice.strip_suffix(b"\n") {
                slice = rest;
            }
        }
        skip_final = false;
        if let Some(i) = slice.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64 + 1));
        }
        end = start;
    }
    // No line break between the header and the end: no event lines, the
    // last line starts right after the header.
    Ok((len > from).then_some(from))
}

/// Streams the event lines of `lines` into an auditor. `None` when a line
/// does not parse on its own (the caller reads the file whole: valid JSON
/// may break an event across lines). The lines are read and parsed on a
/// thread of their own, one batch ahead of the fold.
fn audit_lines(lines: Lines, trust: &Trust, work: Option<&Path>) -> Result<Option<Report>> {
    let Lines {
        file,
        header,
        events: (start, end),
        path,
    } = lines;
    let mut ws = Workspace::new(work)?;
    let stated = Stated {
        size: Some(header.size),
        root: Some(header.root),
        origin: Some(header.origin.clone()),
    };
    let mut auditor = Auditor::new(&header.checkpoints, stated, trust);
    let reader = BufReader::with_capacity(1 << 20, file.take(end - start));
    let bar = crate::progress::bar(header.size, "events audited", false);
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("bundle-reader".into())
        .spawn(move || read_batches(reader, &path, &tx))?;
    let mut index = 0u64;
    for read in rx {
        match read {
            Batch::Events(batch) => {
                index += batch.len() as u64;
                auditor.push(ws.projector(), batch)?;
                crate::progress::set(&bar, index);
            }
            Batch::NotLines => return Ok(None),
            Batch::Failed(e) => return Err(e),
        }
    }
    crate::progress::finish(bar);
    Ok(Some(auditor.finish(ws.projector())?))
}

/// What the bundle reader sends: a batch of events, or why it stopped.
enum Batch {
    Events(Vec<AuditEvent>),
    /// A line is not one event followed by its comma: not this layout.
    NotLines,
    Failed(anyhow::Error),
}

/// Reads the event lines of `reader` a batch at a time, parses them in
/// parallel and sends them, until the end, a failure, or the receiver is gone.
fn read_batches(mut reader: impl BufRead, path: &Path, tx: &std::sync::mpsc::SyncSender<Batch>) {
    let mut index = 0usize;
    let mut texts: Vec<String> = Vec::with_capacity(AUDIT_BATCH);
    let mut done = false;
    while !done {
        texts.clear();
        while texts.len() < AUDIT_BATCH {
            let mut line = String::new();
            match (&mut reader).take(MAX_EVENT_LINE + 1).read_line(&mut line) {
                Ok(0) => {
                    done = true;
                    break;
                }
                // Longer than any event's line: not this layout (read whole,
                // size-checked, it gets the field's reason).
                Ok(n) if n as u64 > MAX_EVENT_LINE => {
                    let _ = tx.send(Batch::NotLines);
                    return;
                }
                Ok(_) => texts.push(line),
                Err(e) => {
                    let _ = tx.send(Batch::Failed(anyhow!("{}: {e}", path.display())));
                    return;
                }
            }
        }
        // Every event line but the last ends with the separating comma.
        let last = texts.len().saturating_sub(1);
        let mut batch = Vec::with_capacity(texts.len());
        for (i, t) in texts.iter().enumerate() {
            let t = t.strip_suffix('\n').unwrap_or(t);
            let t = match t.strip_suffix(',') {
                Some(t) if !(done && i == last) => t,
                None if done && i == last => t,
                _ => {
                    let _ = tx.send(Batch::NotLines);
                    return;
                }
            };
            batch.push(t);
        }
        if index + batch.len() > MAX_EVENTS {
            let e = anyhow!("{}: field events: more than {MAX_EVENTS}", path.display());
            let _ = tx.send(Batch::Failed(e));
            return;
        }
        let decoded: Result<Vec<AuditEvent>, BundleError> = batch
            .par_iter()
            .enumerate()
            .map(|(i, t)| decode_event_text(index + i, t))
            .collect();
        let Ok(decoded) = decoded else {
            let _ = tx.send(Batch::NotLines);
            return;
        };
        index += decoded.len();
        if tx.send(Batch::Events(decoded)).is_err() {
            return;
        }
    }
}

/// Audits the live log: the checkpoints read first (so an honest operator's
/// are all covered by the events read next), then every entry, a batch at a time.
pub async fn verify_live(log: &AnyLog, trust: &Trust, work: Option<&Path>) -> Result<Report> {
    let checkpoints = Stored::read(log).await?.texts()?;
    let mut ws = Workspace::new(work)?;
    let mut auditor = Auditor::new(&checkpoints, Stated::default(), trust);
    let bar = crate::progress::bar(log.len().await?, "events audited", false);
    let mut done = 0u64;
    let mut batches = read_ahead(log, None);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        done += batch.len() as u64;
        let events = batch.into_iter().map(AuditEvent::of_entry).collect();
        // The fold holds this thread; the reader reads the next batch meanwhile.
        tokio::task::block_in_place(|| auditor.push(ws.projector(), events))?;
        crate::progress::set(&bar, done);
    }
    crate::progress::finish(bar);
    Ok(auditor.finish(ws.projector())?)
}

/// The log's entries from position 1, read one batch ahead by a task of
/// their own, up to `until` entries (else until the log has no more).
fn read_ahead(
    log: &AnyLog,
    until: Option<u64>,
) -> tokio::sync::mpsc::Receiver<Result<Vec<Entry>, LogError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let log = log.clone();
    tokio::spawn(async move {
        let mut read = 0u64;
        loop {
            let want = until.map_or(AUDIT_BATCH as u64, |u| (u - read).min(AUDIT_BATCH as u64));
            if want == 0 {
                return;
            }
            let batch = log.read(read + 1, want as usize).await;
            if let Ok(b) = &batch {
                if b.is_empty() {
                    return;
                }
                read += b.len() as u64;
            }
            let stop = batch.is_err();
            if tx.send(batch).await.is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// What `audit export` wrote.
pub struct Exported {
    /// Events.
    pub size: u64,
    /// Checkpoints.
    pub checkpoints: usize,
    /// The Merkle root of the events.
    pub root: Digest,
}

/// Writes the bundle of the live log to `out` as the log is read: the
/// checkpoints read first, then the log's length at that moment of entries.
/// Written to a temporary file beside `out`, renamed into place once complete.
pub async fn export_live(log: &AnyLog, out: &Path, work: Option<&Path>) -> Result<Exported> {
    let checkpoints = Stored::read(log).await?.texts()?;
    let size = log.len().await?;
    let partial = crate::outfile::Partial::create(out)?;
    let file = BufWriter::with_capacity(1 << 20, partial.file.try_clone()?);
    let mut ws = Workspace::new(work)?;
    let mut exporter = Exporter::default();
    let bar = crate::progress::bar(size, "events exported", false);
    // The header names the origin: events wait until the genesis was folded.
    let mut waiting = Vec::new();
    let mut writer: Option<BundleWriter<BufWriter<File>>> = None;
    let mut file = Some(file);
    let mut batches = read_ahead(log, Some(size));
    while exporter.count < size {
        let Some(batch) = batches.recv().await.transpose()? else {
            bail!(
                "the log ended at {} entries, it held {size} when the export started",
                exporter.count
            );
        };
        // The fold holds this thread; the reader reads the next batch meanwhile.
        let events = tokio::task::block_in_place(|| exporter.push(ws.projector(), &batch))?;
        waiting.extend(events);
        let origin = ws.projector().rules_state().origin.clone();
        if writer.is_none() && (origin.is_some() || exporter.count >= size) {
            let out = file.take().expect("one writer");
            writer = Some(BundleWriter::new(out, &origin.unwrap_or_default(), size)?);
        }
        if let Some(w) = writer.as_mut() {
            for e in waiting.drain(..) {
                w.event(&e)?;
            }
        }
        crate::progress::set(&bar, exporter.count);
    }
    let writer = match writer {
        Some(w) => w,
        None => BundleWriter::new(file.take().expect("one writer"), "", 0)?,
    };
    let root = ws.projector().root();
    let out_file = writer.finish(&root, &checkpoints)?;
    out_file.into_inner().map_err(|e| e.into_error())?;
    partial.commit()?;
    crate::progress::finish(bar);
    Ok(Exported {
        size,
        checkpoints: checkpoints.len(),
        root,
    })
}
