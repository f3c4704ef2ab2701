//! One batch of complete lines of one file, lent to the caller's handler: records decoded one at
//! a time, and the checkpoint that covers the records taken so far.

use std::path::Path;

use super::checkpoint::Checkpoint;
use super::fingerprint::Fingerprint;
use super::tracked::Tracked;
use super::{FollowError, PollReport};
use crate::decoder::Scanned;
use crate::error::ZeekError;
use crate::problem::Problems;
use crate::record::Record;

/// Complete lines of one file, read since the last batch, decoded one record at a time.
///
/// A batch lends records like [`crate::FileReader`] does: each borrows the batch until the next
/// call. [`Batch::checkpoint`] says where to resume after the records taken so far.
pub struct Batch<'a> {
    pub(crate) file: &'a mut Tracked,
    pub(crate) end: usize,
    pub(crate) others: [&'a [Tracked]; 2],
    pub(crate) problems: &'a mut Problems,
    pub(crate) report: &'a mut PollReport,
    pub(crate) strict: bool,
}

impl Batch<'_> {
    /// Where the file is now (it may have been renamed since it was first seen).
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// The file's identity.
    pub fn fingerprint(&self) -> Fingerprint {
        self.file.fingerprint
    }

    /// The next record of the batch, or `None` at its end. Header and blank lines are consumed
    /// on the way; bad lines are counted in [`Follower::problems`] and skipped, or in strict
    /// mode returned as [`ZeekError::Strict`] (the file is then no longer read). A file that is
    /// not a Zeek log ends the batch and is reported in [`PollReport::errors`] (in strict mode,
    /// returned).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ZeekError> {
        let (start, line_end, line_number) = loop {
            let file = &mut *self.file;
            if file.failed || file.consumed >= self.end {
                return Ok(None);
            }
            let start = file.consumed;
            let line_end = memchr::memchr(b'\n', &file.buffer[start..self.end])
                .map_or(self.end, |newline| start + newline);
            let next = (line_end + 1).min(self.end);
            let line_number = file.position.lines + 1;
            let line_offset = file.position.offset;
            let scanned = match file
                .decoder
                .scan(&file.buffer[start..line_end], line_number)
            {
                Ok(Scanned::Problem(problem)) if self.strict => {
                    file.failed = true;
                    return Err(ZeekError::Strict(problem));
                }
                Ok(scanned) => scanned,
                Err(error) => {
                    file.failed = true;
                    if self.strict {
                        return Err(error);
                    }
                    self.report.errors.push(FollowError::Unreadable {
                        path: file.path.clone(),
                        error,
                    });
                    return Ok(None);
                }
            };
            let length = (next - start) as u64;
            file.consumed = next;
            file.position.offset += length;
            file.position.lines += 1;
            if !file.decoder.is_mid_header() {
                file.resume = file.position;
            }
            self.report.lines += 1;
            self.report.bytes += length;
            match scanned {
                Scanned::Record if line_offset >= file.skip_before => {
                    self.report.records += 1;
                    break (start, line_end, line_number);
                }
                Scanned::Record | Scanned::Meta => {}
                Scanned::Problem(problem) => {
                    self.report.problems += 1;
                    self.problems.push(problem);
                }
            }
        };
        // Built after the loop: the line was just scanned, and its bytes have not moved.
        let file = &*self.file;
        let line = &file.buffer[start..line_end];
        Ok(Some(file.decoder.record(line, line_number)))
    }

    /// Where a restarted follower should resume to hand out exactly the records not taken yet:
    /// every file's position, with this file's after the last record taken. Save it once those
    /// records are processed.
    pub fn checkpoint(&self) -> Checkpoint {
        let [before, after] = self.others;
        let mut files = Vec::with_capacity(before.len() + after.len() + 1);
        files.extend(before.iter().map(Tracked::entry));
        files.push(self.file.entry());
        files.extend(after.iter().map(Tracked::entry));
        Checkpoint { files }
    }
}
