//! MaxMind-format databases written by the test itself, so a test can give any address of its
//! own (loopback included) a country and a network.

use std::net::IpAddr;
use std::path::Path;

use maxminddb_writer::metadata::IpVersion;
use maxminddb_writer::paths::IpAddrWithMask;
use maxminddb_writer::Database;

/// Writes a database of type `kind` mapping each network to its record.
pub fn write_db(path: &Path, kind: &str, entries: &[(IpAddr, u8, serde_json::Value)]) {
    let mut db = Database::default();
    db.metadata.ip_version = IpVersion::V6;
    db.metadata.database_type = kind.into();
    db.metadata.binary_format_major_version = 2;
    for (ip, mask, record) in entries {
        let data = db.insert_value(record.clone()).expect("a serialisable record");
        // IPv6 databases keep IPv4 networks under ::/96, where readers look them up.
        let (ip, mask) = match ip {
            IpAddr::V4(v4) => (IpAddr::V6(v4.to_ipv6_compatible()), mask + 96),
            v6 => (*v6, *mask),
        };
        db.insert_node(IpAddrWithMask::new(ip, mask), data);
    }
    let file = std::fs::File::create(path).expect("a writable database path");
    db.write_to(file).expect("the database is written");
}
