//! Fuzzes the inventory reader: any input is either refused with errors that name the origin, or
//! accepted as an inventory that, written back as YAML, checks to an equal inventory whose YAML
//! is the same text (parse, print, parse round-trips).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otsentry::inventory::{InventoryError, explain, parse_inventory};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_inventory(&[("fuzz", text)]) {
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refusal names at least one mistake");
            for error in &errors.0 {
                assert!(!matches!(error, InventoryError::Read { .. }), "parsing text never reads files");
                assert!(error.to_string().starts_with("fuzz:"), "error without origin: {error}");
            }
        }
        Ok(inventory) => {
            let printed = inventory.to_yaml().expect("a checked inventory can be written");
            let again = parse_inventory(&[("printed", &printed)])
                .unwrap_or_else(|errors| panic!("printed inventory refused: {errors}\n{printed}"));
            assert_eq!(inventory, again, "{printed}");
            assert_eq!(printed, again.to_yaml().expect("writable"));
            for asset in &inventory.assets {
                assert!(inventory.asset(asset.ip).is_some());
                assert_eq!(
                    inventory.zone_of(asset.ip).map(|zone| zone.name.as_str()),
                    asset.zone.as_deref()
                );
            }
            let _ = explain(&inventory);
        }
    }
});
