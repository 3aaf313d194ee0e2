//! A large image of exactly known size, built here so that no binary asset is needed: the
//! throughput probe's payload in the lab.

/// An incompressible PNG of `side`×`side` RGBA pixels, deflate-stored so its size is known:
/// the large asset whose load time gives throughput.
pub fn big_png(side: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((side * 4 + 1) * side) as usize);
    let mut x: u32 = 0x9e37_79b9;
    let mut noise = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    };
    for _ in 0..side {
        // Each scanline: filter type 0 (none), then its pixels.
        raw.extend(std::iter::once(0).chain((0..side * 4).map(|_| noise())));
    }
    // zlib stream of stored blocks.
    let mut z = vec![0x78, 0x01];
    let mut chunks = raw.chunks(65_535).peekable();
    while let Some(chunk) = chunks.next() {
        z.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &z);
    chunk(b"IEND", &[]);
    png
}

/// A PNG of exactly `bytes` bytes (at least 100): the largest noise image of [`big_png`] that
/// fits, padded with a private ancillary chunk (`vaNt`, which decoders skip) before `IEND`.
/// The lab serves it where a list names a throughput asset of that size.
pub fn png_of_size(bytes: usize) -> Vec<u8> {
    assert!(bytes >= 100, "a PNG of {bytes} bytes is too small to build");
    let mut side = ((bytes / 4) as f64).sqrt() as u32 + 1;
    let mut png = big_png(side);
    while png.len() + 12 > bytes {
        side -= 1;
        png = big_png(side);
    }
    let iend = png.split_off(png.len() - 12);
    let pad = vec![0u8; bytes - png.len() - 12 - iend.len()];
    let mut chunk = b"vaNt".to_vec();
    chunk.extend_from_slice(&pad);
    png.extend_from_slice(&(pad.len() as u32).to_be_bytes());
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    png.extend_from_slice(&iend);
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_of_any_size_is_exactly_that_size_and_still_a_png() {
        for bytes in [100, 1_000, 94_795, 244_680, 282_531] {
            let png = png_of_size(bytes);
            assert_eq!(png.len(), bytes);
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
            // The padding chunk's declared length and CRC are right: it spans up to IEND.
            let pad_at = png.len() - 12 - 12 - (bytes - png_without_pad(&png));
            assert_eq!(&png[pad_at + 4..pad_at + 8], b"vaNt", "{bytes}");
        }
    }

    /// The size of the image before its padding chunk's data.
    fn png_without_pad(png: &[u8]) -> usize {
        let mut at = 8;
        loop {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            if &png[at + 4..at + 8] == b"vaNt" {
                return png.len() - len;
            }
            at += 12 + len;
        }
    }
}
