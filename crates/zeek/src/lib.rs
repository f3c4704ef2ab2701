//! Streaming reader for Zeek logs: TSV driven by its `#` header, and JSON lines, plain or gzip,
//! one file, many files or a directory of rotated logs; typed views for conn.log and the CISA
//! ICSNPP Modbus, DNP3 and EtherNet/IP logs.
//!
//! This crate knows nothing about otsentry or machine learning: it turns bytes into records and
//! reports every line it could not read with its file and line number.
//!
//! # A short tour
//!
//! - [`FileReader`] reads one file (or any byte stream) and lends one [`Record`] at a time;
//!   [`LogReader`] does the same over many files found by [`discover`] (directories, rotated
//!   `conn.2026-11-01-10-00-00.log.gz` files in time order).
//! - A [`Record`] borrows its line and the block's [`Header`] (parsed once per header block).
//!   Fields are read by column index as [`Field`] values (unset, empty, or text unescaped only
//!   when it contains `\xNN`), or parsed (`parse_u64`, `parse_addr`, `parse_time`, ...).
//! - Typed views ([`ConnColumns`], [`ModbusColumns`], [`CipColumns`], ...) find their columns by
//!   name once per header and read records into small structs; [`ViewCache`] re-resolves them
//!   when a stream changes header.
//! - The line-level [`Decoder`] is the state machine under the readers: feed it lines from
//!   anywhere (a live tail resuming at a checkpoint) and get the same records.
//! - [`follow::Follower`] follows live logs as Zeek writes them (appends, rotation by zeekctl or
//!   a plain `zeek`, truncation, deletion, files that appear later) and hands out batches of
//!   records with the [`follow::Checkpoint`] that covers them, for a restart that neither skips
//!   nor repeats a line.
//! - Bad lines are [`Problem`]s: skipped, counted, located. Fatal conditions (not a Zeek log,
//!   no `#fields`, truncated gzip, ...) are [`ZeekError`]s. [`ReadOptions::strict`] turns the
//!   first problem into an error.
//!
//! # Example
//!
//! ```
//! use zeek::{Columns, ConnColumns, FileReader, ReadOptions, ViewCache};
//!
//! let log = "#separator \\x09\n\
//! #set_separator\t,\n\
//! #empty_field\t(empty)\n\
//! #unset_field\t-\n\
//! #path\tconn\n\
//! #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\torig_bytes\n\
//! #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tcount\n\
//! 1593264449.419685\tCDmBQ44DZTqzTlgDs6\t10.0.0.5\t23680\t10.0.0.9\t502\ttcp\tmodbus\t12\n\
//! this line is broken\n\
//! 1593264450.000001\tC2Wsck4Vnrv7r3St61\t10.0.0.5\t23681\t10.0.0.9\t102\ttcp\tcotp,s7comm\t-\n";
//!
//! let mut reader = FileReader::from_reader(log.as_bytes(), None, &ReadOptions::default())?;
//! let mut conns = ViewCache::<ConnColumns>::new();
//! let mut total_bytes = 0;
//! let mut s7 = 0;
//! while let Some(record) = reader.next_record()? {
//!     let conn = conns.read(&record)?;
//!     total_bytes += conn.orig_bytes.unwrap_or(0);
//!     if conn.service.contains("s7comm") {
//!         s7 += 1;
//!     }
//! }
//! assert_eq!((total_bytes, s7), (12, 1));
//! assert_eq!(reader.problems().total(), 1);
//! assert_eq!(
//!     reader.problems().kept()[0].to_string(),
//!     "line 9: expected 9 fields as in #fields, found 1"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decoder;
mod discover;
mod error;
pub mod escape;
mod field;
pub mod follow;
mod header;
mod input;
mod json;
mod parallel;
mod problem;
mod reader;
mod record;
mod time;
pub mod views;
pub mod write;

pub use decoder::{Decoder, Line, ReadOptions};
pub use discover::{LogFile, LogReader, discover, is_log_name, log_path_of};
pub use error::ZeekError;
pub use field::{Field, SetItems};
pub use header::{Format, Header};
pub use input::{Compression, MAX_LINE_BYTES, SourceTap};
pub use parallel::{BLOCK_BYTES, Parallelism, ReadSummary, read_files};
pub use problem::{Problem, ProblemKind, Problems};
pub use reader::FileReader;
pub use record::Record;
pub use time::Timestamp;
pub use views::conn::{Conn, ConnColumns, ServiceSet};
pub use views::dnp3::{
    Dnp3, Dnp3Columns, Dnp3Control, Dnp3ControlColumns, Dnp3Objects, Dnp3ObjectsColumns,
};
pub use views::enip::{
    Cip, CipColumns, CipIdentity, CipIdentityColumns, CipIo, CipIoColumns, Enip, EnipColumns,
};
pub use views::modbus::{
    Modbus, ModbusColumns, ModbusDetailed, ModbusDetailedColumns, ModbusReadWriteMultipleRegisters,
    ModbusReadWriteMultipleRegistersColumns,
};
pub use views::{
    Columns, Common, ConnId, Direction, FieldError, IdColumns, MissingColumn, ViewCache, ViewError,
};
