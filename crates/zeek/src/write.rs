//! Writing Zeek logs in Zeek's own TSV and JSON formats (used by the plant simulator and tests).
