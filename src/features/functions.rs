//! Which OT function codes change a device: the read/write split the features and reasons use.
//!
//! ICSNPP logs write function names (`WRITE_SINGLE_REGISTER`, `DIRECT_OPERATE`,
//! `Set_Attribute_Single`); a name is a write when it writes data, operates an output, restarts
//! or stops a device, or changes its configuration. Unknown names count as reads: the
//! vocabulary still marks them novel on an edge that never used them.

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
    use super::is_write;

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
