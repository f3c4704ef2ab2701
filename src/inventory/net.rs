//! Addresses and address blocks as an inventory writes them: `10.10.3.10`, `10.10.0.0/16`,
//! `fd00::/64`. A block's host bits must be zero, so `10.10.3.7/24` is refused rather than read
//! as a guess.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network: a base address with zero host bits and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    base: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The network's first address.
    pub fn base(&self) -> IpAddr {
        self.base
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside the network; an address of the other family never does.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.prefix) == u32::from(base)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.prefix) == u128::from(base)
            }
            _ => false,
        }
    }

    /// Whether the two networks share any address (one then contains the other).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }

    /// The network of `ip` at `prefix` bits (`prefix` is capped at the family's width).
    pub fn of(ip: IpAddr, prefix: u8) -> Cidr {
        match canonical(ip) {
            IpAddr::V4(ip) => {
                let prefix = prefix.min(32);
                Cidr {
                    base: IpAddr::V4(mask_v4(u32::from(ip), prefix).into()),
                    prefix,
                }
            }
            IpAddr::V6(ip) => {
                let prefix = prefix.min(128);
                Cidr {
                    base: IpAddr::V6(mask_v6(u128::from(ip), prefix).into()),
                    prefix,
                }
            }
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn mask_v4(value: u32, prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        _ => value & (u32::MAX << (32 - u32::from(prefix))),
    }
}

fn mask_v6(value: u128, prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        _ => value & (u128::MAX << (128 - u32::from(prefix))),
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let Some((address, prefix)) = text.trim().split_once('/') else {
            return Err(format!(
                "`{text}` is not an address block; write it as address/prefix, such as 10.10.3.0/24"
            ));
        };
        let base = parse_ip(address)?;
        let width = if base.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|prefix| *prefix <= width)
            .ok_or_else(|| format!("`{text}` has a bad prefix length; expected 0 to {width}"))?;
        let cidr = Cidr::of(base, prefix);
        if cidr.base != base {
            return Err(format!(
                "`{text}` has host bits set; the block is written {cidr}"
            ));
        }
        Ok(cidr)
    }
}

/// Parses one address, with a message that names it.
pub fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse::<IpAddr>()
        .map(canonical)
        .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address"))
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_contain_their_addresses_only() {
        let block = cidr("10.10.3.0/24");
        assert!(block.contains("10.10.3.255".parse().unwrap()));
        assert!(!block.contains("10.10.4.0".parse().unwrap()));
        assert!(block.contains("::ffff:10.10.3.1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0").contains("192.0.2.1".parse().unwrap()));
        assert!(!cidr("0.0.0.0/0").contains("::1".parse().unwrap()));
        assert!(cidr("fd00::/8").contains("fd12::1".parse().unwrap()));
        assert!(cidr("10.0.0.0/8").overlaps(&block));
        assert!(!cidr("10.10.4.0/24").overlaps(&block));
    }

    #[test]
    fn bad_blocks_are_refused_with_the_reason() {
        for (text, fragment) in [
            ("10.10.3.7/24", "host bits"),
            ("10.10.3.0/33", "prefix length"),
            ("10.10.3.0", "address/prefix"),
            ("10.10.300.0/24", "not an IPv4 or IPv6"),
            ("fd00::/129", "0 to 128"),
        ] {
            let error = text.parse::<Cidr>().unwrap_err();
            assert!(error.contains(fragment), "{text}: {error}");
        }
        assert_eq!(cidr("fd00::/8").to_string(), "fd00::/8");
    }
}
