//! Country and network from the source address, read from MaxMind-format databases
//! (`--geoip-country`, `--geoip-asn`). The address is looked up and dropped: this module
//! returns only an [`Origin`], which has no room for it.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

use crate::store::Origin;

/// The databases, either of which may be absent (then `ZZ` / AS0).
#[derive(Default)]
pub struct GeoIp {
    country: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    country: Option<IsoCode<'a>>,
    /// Used when the database has no `country` for the network (e.g. anycast, satellites).
    #[serde(borrow, default)]
    registered_country: Option<IsoCode<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct AsnRecord {
    /// uint32 in MaxMind's files; read wider so other writers' uint64 works too.
    #[serde(default)]
    autonomous_system_number: Option<u64>,
}

fn open(path: &Path, what: &str) -> Result<Reader<Vec<u8>>, String> {
    Reader::open_readfile(path).map_err(|e| format!("{what} {}: not a readable MaxMind database ({e})", path.display()))
}

/// A two-letter upper-case code, or nothing.
fn iso(code: Option<&str>) -> Option<String> {
    code.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())).map(str::to_string)
}

impl GeoIp {
    /// Opens the databases given; a bad file is an error at start, not a silent `ZZ`.
    pub fn open(country: Option<&Path>, asn: Option<&Path>) -> Result<GeoIp, String> {
        Ok(GeoIp {
            country: country.map(|p| open(p, "--geoip-country")).transpose()?,
            asn: asn.map(|p| open(p, "--geoip-asn")).transpose()?,
        })
    }

    /// Country and network of `ip`; unknown parts are `ZZ` and 0, as OONI writes them.
    pub fn lookup(&self, ip: Option<IpAddr>) -> Origin {
        let mut origin = Origin::unknown();
        let Some(ip) = ip else { return origin };
        // IPv4 peers on a dual-stack socket arrive as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if let Some(reader) = &self.country {
            let record = reader.lookup(ip).ok().and_then(|r| r.decode::<CountryRecord>().ok().flatten());
            if let Some(r) = record {
                let code = iso(r.country.and_then(|c| c.iso_code))
                    .or_else(|| iso(r.registered_country.and_then(|c| c.iso_code)));
                if let Some(code) = code {
                    origin.country = code;
                }
            }
        }
        if let Some(reader) = &self.asn {
            let record = reader.lookup(ip).ok().and_then(|r| r.decode::<AsnRecord>().ok().flatten());
            origin.asn =
                record.and_then(|r| r.autonomous_system_number).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        }
        origin
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use vantage_lab::geoip::write_db;
    use super::*;

    #[test]
    fn country_and_asn_come_from_the_databases() {
        let dir = tempfile::tempdir().unwrap();
        let (c, a) = (dir.path().join("c.mmdb"), dir.path().join("a.mmdb"));
        let net = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 0));
        write_db(&c, "GeoLite2-Country", &[(net, 24, serde_json::json!({"country": {"iso_code": "PK"}}))]);
        write_db(&a, "GeoLite2-ASN", &[(net, 24, serde_json::json!({"autonomous_system_number": 17557}))]);
        let geo = GeoIp::open(Some(&c), Some(&a)).unwrap();
        let inside = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));
        assert_eq!(geo.lookup(inside), Origin { country: "PK".into(), asn: 17557 });
        // The same address as an IPv4-mapped IPv6 peer.
        let mapped = Some(IpAddr::V6(Ipv4Addr::new(203, 0, 113, 9).to_ipv6_mapped()));
        assert_eq!(geo.lookup(mapped), Origin { country: "PK".into(), asn: 17557 });
        assert_eq!(geo.lookup(Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)))), Origin::unknown());
        assert_eq!(GeoIp::default().lookup(inside), Origin::unknown());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.mmdb");
        std::fs::write(&p, b"not a database").unwrap();
        let e = GeoIp::open(Some(&p), None).err().unwrap();
        assert!(e.contains("--geoip-country") && e.contains("bad.mmdb"), "{e}");
    }
}
