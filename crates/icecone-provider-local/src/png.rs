//! A minimal PNG and APNG (animated PNG) encoder: 8-bit RGB, no filtering, the image data
//! in zlib "stored" (uncompressed) blocks. Written by hand because the local provider's
//! images are tiny and a codec crate would be the only dependency of this crate besides
//! core; every browser, `ffprobe` and image library reads the result.
//!
//! Formats: PNG — ISO/IEC 15948 (W3C PNG, 2nd/3rd edition); APNG — the `acTL`, `fcTL` and
//! `fdAT` chunks of the W3C PNG 3rd edition; zlib — RFC 1950; DEFLATE stored blocks —
//! RFC 1951 §3.2.4.

/// An RGB picture, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// `width * height * 3` bytes.
    pub(crate) rgb: Vec<u8>,
}

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// A still PNG of `frame`.
pub(crate) fn encode_png(frame: &Frame) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &header(frame.width, frame.height));
    chunk(&mut out, b"IDAT", &zlib_stored(&scanlines(frame)));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An APNG that plays `frames` (all of the first frame's size) in a loop, each shown for
/// `1 / fps` seconds. Viewers without APNG support show the first frame.
pub(crate) fn encode_apng(frames: &[Frame], fps: u16) -> Vec<u8> {
    let Some(first) = frames.first() else {
        return Vec::new();
    };
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &header(first.width, first.height));
    let count = u32::try_from(frames.len()).unwrap_or(u32::MAX);
    let mut actl = Vec::with_capacity(8);
    actl.extend_from_slice(&count.to_be_bytes());
    actl.extend_from_slice(&0u32.to_be_bytes()); // loop forever
    chunk(&mut out, b"acTL", &actl);
    let mut sequence = 0u32;
    for (index, frame) in frames.iter().enumerate() {
        let mut fctl = Vec::with_capacity(26);
        fctl.extend_from_slice(&sequence.to_be_bytes());
        sequence += 1;
        fctl.extend_from_slice(&frame.width.to_be_bytes());
        fctl.extend_from_slice(&frame.height.to_be_bytes());
        fctl.extend_from_slice(&0u32.to_be_bytes()); // x offset
        fctl.extend_from_slice(&0u32.to_be_bytes()); // y offset
        fctl.extend_from_slice(&1u16.to_be_bytes()); // delay numerator
        fctl.extend_from_slice(&fps.to_be_bytes()); // delay denominator
        fctl.push(0); // dispose: none
        fctl.push(0); // blend: source
        chunk(&mut out, b"fcTL", &fctl);
        let data = zlib_stored(&scanlines(frame));
        if index == 0 {
            chunk(&mut out, b"IDAT", &data);
        } else {
            let mut fdat = Vec::with_capacity(4 + data.len());
            fdat.extend_from_slice(&sequence.to_be_bytes());
            sequence += 1;
            fdat.extend_from_slice(&data);
            chunk(&mut out, b"fdAT", &fdat);
        }
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

fn header(width: u32, height: u32) -> [u8; 13] {
    let mut ihdr = [0u8; 13];
    ihdr[..4].copy_from_slice(&width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&height.to_be_bytes());
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // colour type: truecolour (RGB)
    // compression 0 (deflate), filter method 0, no interlace
    ihdr
}

/// Each row prefixed with filter type 0 (none).
fn scanlines(frame: &Frame) -> Vec<u8> {
    let row = usize::try_from(frame.width).unwrap_or(0) * 3;
    let mut raw = Vec::with_capacity(frame.rgb.len() + frame.rgb.len() / row.max(1));
    for line in frame.rgb.chunks(row.max(1)) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    raw
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream (RFC 1950) of DEFLATE stored blocks (RFC 1951 §3.2.4).
pub(crate) fn zlib_stored(data: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = 65_535;
    let mut out = vec![0x78, 0x01]; // deflate, 32 KiB window, no dictionary; (0x7801 % 31 == 0)
    let mut blocks = data.chunks(MAX_BLOCK).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none())); // BFINAL, BTYPE 00
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 as PNG uses it (ISO 3309, reflected polynomial 0xEDB88320).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Adler-32 (RFC 1950 §8).
pub(crate) fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksums_match_their_published_check_values() {
        // CRC-32/ISO-HDLC check value (the "123456789" convention) and the Adler-32
        // example of its Wikipedia article.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b""), 1);
    }

    #[test]
    fn stored_zlib_streams_split_into_blocks_of_at_most_65535_bytes() {
        let data = vec![7u8; 70_000];
        let stream = zlib_stored(&data);
        assert_eq!(&stream[..2], &[0x78, 0x01]);
        assert_eq!(u16::from_be_bytes([stream[0], stream[1]]) % 31, 0);
        // First block: not final, 65535 bytes.
        assert_eq!(stream[2], 0);
        assert_eq!(&stream[3..7], &[0xff, 0xff, 0x00, 0x00]);
        let second = 7 + 65_535;
        assert_eq!(stream[second], 1);
        assert_eq!(
            usize::from(u16::from_le_bytes([stream[second + 1], stream[second + 2]])),
            70_000 - 65_535
        );
        assert_eq!(stream.len(), 2 + 2 * 5 + 70_000 + 4);
        assert_eq!(
            zlib_stored(&[]),
            vec![0x78, 0x01, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 1]
        );
    }
}
