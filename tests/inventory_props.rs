//! Property tests of the inventory reader: generated inventories survive print and parse
//! unchanged with consistent lookups, and arbitrary or damaged text is refused with a located
//! error, never a panic.

use std::net::{IpAddr, Ipv4Addr};

use otsentry::features::Proto;
use otsentry::inventory::schedule::{DAYS, TimeOfDay, WeeklySlot, Window, time_zone};
use otsentry::inventory::{
    ASSET_TYPES, Asset, Cidr, Conduit, ConduitRule, Criticality, FlowDirection, SafeLimit, Zone,
    build_inventory, parse_inventory,
};
use proptest::prelude::*;

const TIME_ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Kolkata"];

fn window() -> impl Strategy<Value = Window> {
    (
        0..TIME_ZONES.len(),
        prop::collection::vec(
            (
                prop::collection::btree_set(0..7usize, 1..4),
                0u16..1440,
                1u16..=1440,
            ),
            1..3,
        ),
    )
        .prop_map(|(tz, slots)| {
            let name = TIME_ZONES[tz];
            let weekly = slots
                .into_iter()
                .map(|(days, start, length)| {
                    let end = (start + length).min(1440);
                    WeeklySlot {
                        days: days.into_iter().map(|day| DAYS[day]).collect(),
                        start: TimeOfDay::from_minutes(start),
                        end: TimeOfDay::from_minutes(end),
                    }
                })
                .collect();
            Window::new(
                "window".into(),
                name.into(),
                time_zone(name).unwrap(),
                weekly,
            )
        })
}

fn limit() -> impl Strategy<Value = (Option<u16>, u32, Option<f64>, Option<f64>)> {
    (
        prop::option::of(0u16..8),
        0u32..100_000,
        prop::option::of(-1e6f64..1e6),
        prop::option::of(-1e6f64..1e6),
    )
}

/// Zones 10.z.0.0/16 for z in 0..n, each with assets 10.z.a.1.
fn inventory_parts() -> impl Strategy<Value = (Vec<Zone>, Vec<Conduit>, Vec<Asset>)> {
    (1usize..5)
        .prop_flat_map(|n_zones| {
            let asset = (
                0..n_zones,
                0u8..200,
                0..ASSET_TYPES.len(),
                prop::option::of(0usize..4),
                prop::collection::vec(window(), 0..2),
                prop::collection::vec(limit(), 0..3),
            );
            (
                prop::collection::vec(1u8..=4, n_zones),
                prop::collection::vec(asset, 0..12),
                prop::collection::vec(
                    (0..n_zones, 0..n_zones, any::<bool>(), 1u16.., any::<bool>()),
                    0..4,
                ),
            )
        })
        .prop_map(|(levels, raw_assets, raw_conduits)| {
            let zones: Vec<Zone> = levels
                .iter()
                .enumerate()
                .map(|(idx, level)| Zone {
                    name: format!("zone-{idx}"),
                    cidrs: vec![Cidr::of(IpAddr::V4(Ipv4Addr::new(10, idx as u8, 0, 0)), 16)],
                    security_level_target: *level,
                    description: None,
                })
                .collect();
            let mut conduits = Vec::new();
            for (idx, (from, to, both, port, udp)) in raw_conduits.into_iter().enumerate() {
                if from == to {
                    continue;
                }
                conduits.push(Conduit {
                    name: format!("conduit-{idx}"),
                    from: zones[from].name.clone(),
                    to: zones[to].name.clone(),
                    direction: if both {
                        FlowDirection::Both
                    } else {
                        FlowDirection::OneWay
                    },
                    allow: vec![ConduitRule {
                        service: (!udp).then(|| "modbus".to_string()),
                        transport: Some(if udp { Proto::Udp } else { Proto::Tcp }),
                        ports: vec![port],
                    }],
                    description: Some("generated".into()),
                });
            }
            let mut assets: Vec<Asset> = Vec::new();
            for (zone, host, kind, criticality, maintenance, limits) in raw_assets {
                let ip = IpAddr::V4(Ipv4Addr::new(10, zone as u8, host, 1));
                if assets.iter().any(|asset| asset.ip == ip) {
                    continue;
                }
                let mut safe_limits: Vec<SafeLimit> = Vec::new();
                for (unit, register, a, b) in limits {
                    if safe_limits
                        .iter()
                        .any(|l| l.unit == unit && l.register == register)
                    {
                        continue;
                    }
                    let (min, max) = match (a, b) {
                        (None, None) => (Some(0.0), None),
                        (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                        other => other,
                    };
                    safe_limits.push(SafeLimit {
                        unit,
                        register,
                        name: None,
                        min,
                        max,
                    });
                }
                let partners = assets
                    .last()
                    .map(|asset| vec![asset.ip])
                    .unwrap_or_default();
                assets.push(Asset {
                    ip,
                    name: format!("asset-{zone}-{host}"),
                    asset_type: ASSET_TYPES[kind],
                    owner: Some("ops: \"night\" #shift".into()),
                    zone: Some(zones[zone].name.clone()),
                    criticality: criticality.map(|level| {
                        [
                            Criticality::Low,
                            Criticality::Medium,
                            Criticality::High,
                            Criticality::Critical,
                        ][level]
                    }),
                    partners,
                    maintenance,
                    safe_limits,
                    notes: None,
                });
            }
            (zones, conduits, assets)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_inventories_survive_print_and_parse((zones, conduits, assets) in inventory_parts()) {
        let inventory = build_inventory("generated", zones.clone(), conduits.clone(), assets.clone())
            .unwrap_or_else(|errors| panic!("{errors}"));
        prop_assert_eq!(&inventory.zones, &zones);
        prop_assert_eq!(&inventory.conduits, &conduits);
        prop_assert_eq!(&inventory.assets, &assets);
        let printed = inventory.to_yaml().unwrap();
        let again = parse_inventory(&[("printed", &printed)]).unwrap_or_else(|errors| panic!("{errors}"));
        prop_assert_eq!(&again, &inventory);
        for asset in &assets {
            prop_assert_eq!(again.asset(asset.ip).map(|found| &found.name), Some(&asset.name));
            prop_assert_eq!(again.zone_of(asset.ip).map(|zone| &zone.name), asset.zone.as_ref());
        }
    }

    #[test]
    fn damaged_files_are_refused_with_a_location((zones, conduits, assets) in inventory_parts(), cut in any::<prop::sample::Index>(), copy in any::<prop::sample::Index>()) {
        let inventory = build_inventory("generated", zones, conduits, assets).unwrap();
        let printed = inventory.to_yaml().unwrap();
        let lines: Vec<&str> = printed.lines().collect();
        let mut damaged: Vec<&str> = lines.clone();
        damaged.remove(cut.index(lines.len()));
        let copied = lines[copy.index(lines.len())];
        damaged.insert(copy.index(damaged.len() + 1), copied);
        let text = damaged.join("\n");
        if let Err(errors) = parse_inventory(&[("damaged.yaml", &text)]) {
            for error in &errors.0 {
                prop_assert!(error.to_string().starts_with("damaged.yaml:"), "{}", error);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(zones|assets|conduits|name|ip|cidrs|: |- |\\[|\\]|\n|  |10\\.0\\.0\\.1|/24|&a|\\*a|[a-z0-9]){0,60}") {
        if let Err(errors) = parse_inventory(&[("any.yaml", &text)]) {
            prop_assert!(!errors.0.is_empty());
            for error in &errors.0 {
                prop_assert!(error.to_string().starts_with("any.yaml:"), "{}", error);
            }
        }
    }
}
