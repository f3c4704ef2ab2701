//! EtherNet/IP and CIP views: the ICSNPP enip.log, cip.log, cip_io.log and cip_identity.log, with
//! or without the `is_orig`/`source_h` columns and the split status codes added later. Codes
//! written in hex (`0x0a`) are parsed to numbers.

use std::borrow::Cow;

use crate::header::Header;
use crate::record::{Bad, Record};
use crate::views::{
    Columns, Common, DIRECTION_COLUMNS, Direction, FieldError, IdColumns, MissingColumn, optional,
    read_direction, required,
};

/// One enip.log record: an encapsulation command.
#[derive(Debug, Clone, PartialEq)]
pub struct Enip<'a> {
    pub common: Common<'a>,
    pub direction: Option<Direction>,
    pub command_code: Option<u64>,
    /// `List Identity`, `Register Session`, `Send RR Data`, ...
    pub command: Option<Cow<'a, str>>,
    pub length: Option<u64>,
    pub session_handle: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
}

/// Column indexes of an enip.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnipColumns {
    pub id: IdColumns,
    pub direction: Option<usize>,
    pub command_code: Option<usize>,
    pub command: usize,
    pub length: Option<usize>,
    pub session_handle: Option<usize>,
    pub status: Option<usize>,
}

impl Columns for EnipColumns {
    type Row<'a> = Enip<'a>;
    const VIEW: &'static str = "enip";

    fn resolve(header: &Header) -> Result<EnipColumns, MissingColumn> {
        Ok(EnipColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            direction: optional(header, DIRECTION_COLUMNS),
            command_code: optional(header, &["enip_command_code"]),
            command: required(Self::VIEW, header, &["enip_command", "command"])?,
            length: optional(header, &["length"]),
            session_handle: optional(header, &["session_handle"]),
            status: optional(header, &["enip_status", "status"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Enip<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl EnipColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Enip<'a>, Bad> {
        Ok(Enip {
            common: self.id.read_fast(record)?,
            direction: read_direction(record, self.direction)?,
            command_code: record.u64_opt(self.command_code)?,
            command: record.text(self.command),
            length: record.u64_opt(self.length)?,
            session_handle: record.text_opt(self.session_handle),
            status: record.text_opt(self.status),
        })
    }
}

/// One cip.log record: a CIP service request or response.
#[derive(Debug, Clone, PartialEq)]
pub struct Cip<'a> {
    pub common: Common<'a>,
    pub direction: Option<Direction>,
    pub sequence_count: Option<u64>,
    pub service_code: Option<u64>,
    /// `Get Attribute Single`, `Set Attribute Single`, `Multiple Service Packet`, ...
    pub service: Option<Cow<'a, str>>,
    pub status_code: Option<u64>,
    pub status: Option<Cow<'a, str>>,
    pub class_id: Option<u64>,
    pub class_name: Option<Cow<'a, str>>,
    pub instance_id: Option<u64>,
    pub attribute_id: Option<u64>,
}

/// Column indexes of a cip.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipColumns {
    pub id: IdColumns,
    pub direction: Option<usize>,
    pub sequence_count: Option<usize>,
    pub service_code: Option<usize>,
    pub service: usize,
    pub status_code: Option<usize>,
    pub status: Option<usize>,
    pub class_id: Option<usize>,
    pub class_name: Option<usize>,
    pub instance_id: Option<usize>,
    pub attribute_id: Option<usize>,
}

impl Columns for CipColumns {
    type Row<'a> = Cip<'a>;
    const VIEW: &'static str = "cip";

    fn resolve(header: &Header) -> Result<CipColumns, MissingColumn> {
        Ok(CipColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            direction: optional(header, DIRECTION_COLUMNS),
            sequence_count: optional(header, &["cip_sequence_count"]),
            service_code: optional(header, &["cip_service_code"]),
            service: required(Self::VIEW, header, &["cip_service"])?,
            status_code: optional(header, &["cip_status_code"]),
            status: optional(header, &["cip_status"]),
            class_id: optional(header, &["class_id"]),
            class_name: optional(header, &["class_name"]),
            instance_id: optional(header, &["instance_id"]),
            attribute_id: optional(header, &["attribute_id"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Cip<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl CipColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Cip<'a>, Bad> {
        Ok(Cip {
            common: self.id.read_fast(record)?,
            direction: read_direction(record, self.direction)?,
            sequence_count: record.u64_opt(self.sequence_count)?,
            service_code: record.u64_opt(self.service_code)?,
            service: record.text(self.service),
            status_code: record.u64_opt(self.status_code)?,
            status: record.text_opt(self.status),
            class_id: record.u64_opt(self.class_id)?,
            class_name: record.text_opt(self.class_name),
            instance_id: record.u64_opt(self.instance_id)?,
            attribute_id: record.u64_opt(self.attribute_id)?,
        })
    }
}

/// One cip_io.log record: implicit (cyclic) I/O data.
#[derive(Debug, Clone, PartialEq)]
pub struct CipIo<'a> {
    pub common: Common<'a>,
    pub direction: Option<Direction>,
    pub connection_id: Option<Cow<'a, str>>,
    pub sequence_number: Option<u64>,
    pub data_length: Option<u64>,
    pub io_data: Option<Cow<'a, str>>,
}

/// Column indexes of a cip_io.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipIoColumns {
    pub id: IdColumns,
    pub direction: Option<usize>,
    pub connection_id: usize,
    pub sequence_number: Option<usize>,
    pub data_length: Option<usize>,
    pub io_data: Option<usize>,
}

impl Columns for CipIoColumns {
    type Row<'a> = CipIo<'a>;
    const VIEW: &'static str = "cip_io";

    fn resolve(header: &Header) -> Result<CipIoColumns, MissingColumn> {
        Ok(CipIoColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            direction: optional(header, DIRECTION_COLUMNS),
            connection_id: required(Self::VIEW, header, &["connection_id"])?,
            sequence_number: optional(header, &["sequence_number"]),
            data_length: optional(header, &["data_length"]),
            io_data: optional(header, &["io_data"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<CipIo<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl CipIoColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<CipIo<'a>, Bad> {
        Ok(CipIo {
            common: self.id.read_fast(record)?,
            direction: read_direction(record, self.direction)?,
            connection_id: record.text(self.connection_id),
            sequence_number: record.u64_opt(self.sequence_number)?,
            data_length: record.u64_opt(self.data_length)?,
            io_data: record.text_opt(self.io_data),
        })
    }
}

/// One cip_identity.log record: a device's answer to List Identity.
#[derive(Debug, Clone, PartialEq)]
pub struct CipIdentity<'a> {
    pub common: Common<'a>,
    pub direction: Option<Direction>,
    pub vendor_id: Option<u64>,
    pub vendor_name: Option<Cow<'a, str>>,
    pub device_type_id: Option<u64>,
    pub device_type_name: Option<Cow<'a, str>>,
    pub product_code: Option<u64>,
    pub revision: Option<Cow<'a, str>>,
    pub device_status: Option<Cow<'a, str>>,
    pub serial_number: Option<Cow<'a, str>>,
    pub product_name: Option<Cow<'a, str>>,
    pub device_state: Option<Cow<'a, str>>,
}

/// Column indexes of a cip_identity.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipIdentityColumns {
    pub id: IdColumns,
    pub direction: Option<usize>,
    pub vendor_id: usize,
    pub vendor_name: Option<usize>,
    pub device_type_id: Option<usize>,
    pub device_type_name: Option<usize>,
    pub product_code: Option<usize>,
    pub revision: Option<usize>,
    pub device_status: Option<usize>,
    pub serial_number: Option<usize>,
    pub product_name: Option<usize>,
    pub device_state: Option<usize>,
}

impl Columns for CipIdentityColumns {
    type Row<'a> = CipIdentity<'a>;
    const VIEW: &'static str = "cip_identity";

    fn resolve(header: &Header) -> Result<CipIdentityColumns, MissingColumn> {
        Ok(CipIdentityColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            direction: optional(header, DIRECTION_COLUMNS),
            vendor_id: required(Self::VIEW, header, &["vendor_id"])?,
            vendor_name: optional(header, &["vendor_name"]),
            device_type_id: optional(header, &["device_type_id"]),
            device_type_name: optional(header, &["device_type_name"]),
            product_code: optional(header, &["product_code"]),
            revision: optional(header, &["revision"]),
            device_status: optional(header, &["device_status"]),
            serial_number: optional(header, &["serial_number"]),
            product_name: optional(header, &["product_name"]),
            device_state: optional(header, &["device_state"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<CipIdentity<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl CipIdentityColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<CipIdentity<'a>, Bad> {
        Ok(CipIdentity {
            common: self.id.read_fast(record)?,
            direction: read_direction(record, self.direction)?,
            vendor_id: record.u64_opt(Some(self.vendor_id))?,
            vendor_name: record.text_opt(self.vendor_name),
            device_type_id: record.u64_opt(self.device_type_id)?,
            device_type_name: record.text_opt(self.device_type_name),
            product_code: record.u64_opt(self.product_code)?,
            revision: record.text_opt(self.revision),
            device_status: record.text_opt(self.device_status),
            serial_number: record.text_opt(self.serial_number),
            product_name: record.text_opt(self.product_name),
            device_state: record.text_opt(self.device_state),
        })
    }
}
