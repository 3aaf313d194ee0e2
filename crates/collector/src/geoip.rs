//! Country and network from the source address, read from MaxMind-format databases
//! (`--geoip-country`, `--geoip-asn`). The address is looked up and dropped: this module
//! returns only an [`Origin`], which has no room for it.
//!
//! Layouts read: MaxMind's GeoLite2/GeoIP2 and DB-IP's lite files (`country.iso_code`,
//! `registered_country.iso_code`, `autonomous_system_number`), and sapics/ip-location-db's
//! (a top-level `country_code`; `asn` as a number or `AS…` text). Numbers are taken at whatever
//! width the database's writer chose (MaxMind's own files store the ASN as uint32).

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
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
    /// ip-location-db's layout.
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct AsnRecord {
    /// uint32 in MaxMind's files; other writers choose other widths.
    #[serde(default)]
    autonomous_system_number: Option<Asn>,
    /// ip-location-db / ipinfo style: a number, or text such as `AS15169`.
    #[serde(default)]
    asn: Option<Asn>,
}

/// An AS number of any integer width, or `AS…` text; 0 when it fits no u32.
struct Asn(u32);

impl<'de> Deserialize<'de> for Asn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Asn, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Asn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an AS number")
            }
            fn visit_u64<E>(self, n: u64) -> Result<Asn, E> {
                Ok(Asn(u32::try_from(n).unwrap_or(0)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Asn, E> {
                Ok(Asn(u32::try_from(n).unwrap_or(0)))
            }
            fn visit_u128<E>(self, n: u128) -> Result<Asn, E> {
                Ok(Asn(u32::try_from(n).unwrap_or(0)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Asn, E> {
                let digits = s.trim().trim_start_matches("AS").trim_start_matches("as");
                Ok(Asn(digits.parse().unwrap_or(0)))
            }
        }
        d.deserialize_any(Visit)
    }
}

fn open(path: &Path, what: &str) -> anyhow::Result<Reader<Vec<u8>>> {
    Reader::open_readfile(path).with_context(|| format!("{what} {}: not a readable MaxMind database", path.display()))
}

/// A two-letter upper-case code, or nothing.
fn iso(code: Option<&str>) -> Option<String> {
    code.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())).map(str::to_string)
}

impl GeoIp {
    /// Opens the databases given; a bad file is an error at start, not a silent `ZZ`.
    pub fn open(country: Option<&Path>, asn: Option<&Path>) -> anyhow::Result<GeoIp> {
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
            let record = reader.lookup(ip).ok().and_then(|r| r.decode::<CountryRecord<'_>>().ok().flatten());
            if let Some(r) = record {
                let code = iso(r.country.and_then(|c| c.iso_code))
                    .or_else(|| iso(r.country_code))
                    .or_else(|| iso(r.registered_country.and_then(|c| c.iso_code)));
                if let Some(code) = code {
                    origin.country = code;
                }
            }
        }
        if let Some(reader) = &self.asn {
            let record = reader.lookup(ip).ok().and_then(|r| r.decode::<AsnRecord>().ok().flatten());
            origin.asn = record.and_then(|r| r.autonomous_system_number.or(r.asn)).map_or(0, |Asn(n)| n);
        }
        origin
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use vantage_lab::geoip::write_db;

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
        let e = format!("{:#}", GeoIp::open(Some(&p), None).err().unwrap());
        assert!(e.contains("--geoip-country") && e.contains("bad.mmdb"), "{e}");
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
    }

    fn at(geo: &GeoIp, ip: &str) -> Origin {
        geo.lookup(Some(ip.parse().unwrap()))
    }

    /// MaxMind's own published test databases (`maxmind/MaxMind-DB`, `test-data/`), written by
    /// MaxMind's writer: the network number is a uint32 there.
    #[test]
    fn maxminds_published_test_databases_give_country_and_network() {
        let geo = GeoIp::open(Some(&fixture("GeoLite2-Country-Test.mmdb")), Some(&fixture("GeoLite2-ASN-Test.mmdb")))
            .unwrap();
        assert_eq!(at(&geo, "1.0.0.1").asn, 15169, "1.0.0.0/24 is AS15169 in GeoLite2-ASN-Test");
        assert_eq!(at(&geo, "12.81.92.7").asn, 7018);
        assert_eq!(at(&geo, "2001:1700::1").asn, 6730);
        assert_eq!(at(&geo, "81.2.69.142").country, "GB");
        assert_eq!(at(&geo, "2001:218::1").country, "JP");
        assert_eq!(at(&geo, "192.0.2.1"), Origin::unknown());
    }

    /// The free databases deployments use instead: DB-IP's lite files keep MaxMind's layout;
    /// sapics/ip-location-db's have a top-level `country_code` and, in some builds, `asn`
    /// (a number or `AS…` text), with the integer widths their writers choose.
    #[test]
    fn db_ip_and_ip_location_db_layouts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let net = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 0));
        let inside = "203.0.113.9";
        let layouts: [(&str, serde_json::Value, serde_json::Value); 4] = [
            (
                "DB-IP lite",
                serde_json::json!({"country": {"iso_code": "PK", "names": {"en": "Pakistan"}}, "continent": {"code": "AS"}}),
                serde_json::json!({"autonomous_system_number": 17557u32, "autonomous_system_organization": "PTCL"}),
            ),
            (
                "ip-location-db country_code / asn number",
                serde_json::json!({"country_code": "PK"}),
                serde_json::json!({"autonomous_system_number": 17557u64, "autonomous_system_organization": "PTCL"}),
            ),
            (
                "ip-location-db asn text",
                serde_json::json!({"country_code": "PK"}),
                serde_json::json!({"asn": "AS17557", "as_name": "PTCL"}),
            ),
            ("asn small number", serde_json::json!({"country_code": "PK"}), serde_json::json!({"asn": 17557u16})),
        ];
        for (i, (what, country, asn)) in layouts.into_iter().enumerate() {
            let (c, a) = (dir.path().join(format!("c{i}.mmdb")), dir.path().join(format!("a{i}.mmdb")));
            write_db(&c, "country", &[(net, 24, country)]);
            write_db(&a, "asn", &[(net, 24, asn)]);
            let geo = GeoIp::open(Some(&c), Some(&a)).unwrap();
            assert_eq!(at(&geo, inside), Origin { country: "PK".into(), asn: 17557 }, "{what}");
        }
    }
}
