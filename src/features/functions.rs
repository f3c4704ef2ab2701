//! Which OT function codes change a device: the read/write split the features and reasons use.
//!
//! ICSNPP logs write function names (`WRITE_SINGLE_REGISTER`, `DIRECT_OPERATE`,
//! `Set_Attribute_Single`); a name is a write when it writes data, operates an output, restarts
//! or stops a device, or changes its configuration. Unknown names count as reads: the
//! vocabulary still marks them novel on an edge that never used them.

/// What a function does to a device, as the function-code detector grades it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Reads, diagnostics, session management: nothing on the device changes.
    Read,
    /// Writes data or configuration (Modbus 5, 6, 15, 16, 22, 23; DNP3 WRITE; CIP Set_Attribute).
    Write,
    /// Operates an output (DNP3 SELECT, OPERATE, DIRECT_OPERATE; counter freezes).
    Control,
    /// Restarts, stops, starts or initialises the device or its application.
    Restart,
    /// Moves programs, firmware or files (DNP3 file transfer, downloads, Modbus 90 / UMAS).
    Program,
}

impl Operation {
    pub const CHANGING: [Operation; 4] = [
        Operation::Write,
        Operation::Control,
        Operation::Restart,
        Operation::Program,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
            Operation::Control => "control",
            Operation::Restart => "restart",
            Operation::Program => "program",
        }
    }

    /// One bit per operation, for compact per-host sets.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The operation of `function` (as an ICSNPP log spells it). Every name [`is_write`] accepts is
/// a changing operation; program and file transfers that read (an upload, opening a file) are
/// `Program` too, because moving programs is what an attacker preparing a download does first.
pub fn operation(function: &str) -> Operation {
    let upper = function.to_ascii_uppercase();
    let name = upper.as_str();
    let program = name.contains("DOWNLOAD")
        || name.contains("UPLOAD")
        || name.contains("UMAS")
        || name == "UNKNOWN-90"
        || (name.contains("FILE") && !name.contains("RECORD"));
    if program {
        return Operation::Program;
    }
    if !is_write(function) {
        return Operation::Read;
    }
    if name.contains("DELETE") {
        Operation::Program
    } else if name.contains("RESTART")
        || name.contains("RESET")
        || name.starts_with("START")
        || name.starts_with("STOP")
        || name.starts_with("INITIALIZE")
    {
        Operation::Restart
    } else if name.contains("OPERATE") || name == "SELECT" || name.contains("FREEZE") {
        Operation::Control
    } else {
        Operation::Write
    }
}

/// True when `function` (as an ICSNPP log spells it) changes the device.
pub fn is_write(function: &str) -> bool {
    let upper = function.to_ascii_uppercase();
    let name = upper.as_str();
    // Modbus: WRITE_SINGLE_COIL, WRITE_MULTIPLE_REGISTERS, MASK_WRITE_REGISTER,
    // READ_WRITE_MULTIPLE_REGISTERS, WRITE_FILE_RECORD. CIP: Set_Attribute_*, Write_Tag.
    // DNP3: WRITE, SELECT, OPERATE, DIRECT_OPERATE(_NR), IMMED_FREEZE, restarts, START/STOP_APPL.
    name.contains("WRITE")
        || name.starts_with("SET_")
        || name.contains("OPERATE")
        || name == "SELECT"
        || name.contains("RESTART")
        || name.contains("RESET")
        || name.contains("FREEZE")
        || name.starts_with("START")
        || name.starts_with("STOP")
        || name.starts_with("INITIALIZE")
        || name.contains("SAVE_CONFIG")
        || name.contains("ASSIGN_CLASS")
        || name.contains("DOWNLOAD")
        || name.contains("DELETE")
        || name.contains("FORCE")
}

#[cfg(test)]
mod tests {
    use super::{Operation, is_write, operation};

    #[test]
    fn operations_across_protocols() {
        for (function, expected) in [
            ("READ_HOLDING_REGISTERS", Operation::Read),
            ("READ_FILE_RECORD", Operation::Read),
            ("Get_Attribute_All", Operation::Read),
            ("WRITE_SINGLE_REGISTER", Operation::Write),
            ("WRITE_MULTIPLE_COILS", Operation::Write),
            ("MASK_WRITE_REGISTER", Operation::Write),
            ("READ_WRITE_MULTIPLE_REGISTERS", Operation::Write),
            ("WRITE", Operation::Write),
            ("Set_Attribute_Single", Operation::Write),
            ("SELECT", Operation::Control),
            ("OPERATE", Operation::Control),
            ("DIRECT_OPERATE_NR", Operation::Control),
            ("COLD_RESTART", Operation::Restart),
            ("WARM_RESTART", Operation::Restart),
            ("STOP_APPL", Operation::Restart),
            ("Reset", Operation::Restart),
            ("OPEN_FILE", Operation::Program),
            ("DELETE_FILE", Operation::Program),
            ("unknown-90", Operation::Program),
        ] {
            assert_eq!(operation(function), expected, "{function}");
        }
        // Every write is a changing operation.
        for function in [
            "WRITE_FILE_RECORD",
            "IMMED_FREEZE",
            "SAVE_CONFIG",
            "ASSIGN_CLASS",
        ] {
            assert!(is_write(function));
            assert_ne!(operation(function), Operation::Read, "{function}");
        }
    }

    #[test]
    fn reads_and_writes_across_protocols() {
        for write in [
            "WRITE_SINGLE_REGISTER",
            "WRITE_MULTIPLE_COILS",
            "MASK_WRITE_REGISTER",
            "READ_WRITE_MULTIPLE_REGISTERS",
            "DIRECT_OPERATE",
            "SELECT",
            "COLD_RESTART",
            "Set_Attribute_Single",
            "STOP_APPL",
        ] {
            assert!(is_write(write), "{write} should be a write");
        }
        for read in [
            "READ_HOLDING_REGISTERS",
            "READ_COILS",
            "READ",
            "RESPONSE",
            "Get_Attribute_All",
            "ListIdentity",
        ] {
            assert!(!is_write(read), "{read} should be a read");
        }
    }
}
