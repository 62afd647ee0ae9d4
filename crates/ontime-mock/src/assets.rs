//! Real bytes for signatures (PNG), proof-of-delivery photos (PNG) and order reports (PDF),
//! generated deterministically without any image or PDF library.

fn crc32(data: &[&[u8]]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for part in data {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xedb8_8320 & mask);
            }
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65_535).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i == last));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// A PNG of `width` × `height` pixels, `channels` 1 (gray) or 3 (RGB), from raw rows.
fn png(width: u32, height: u32, channels: u8, pixels: &[u8]) -> Vec<u8> {
    let row = width as usize * usize::from(channels);
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for y in 0..height as usize {
        raw.push(0);
        raw.extend_from_slice(&pixels[y * row..(y + 1) * row]);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, if channels == 3 { 2 } else { 0 }, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A signature-like squiggle, black on white, shaped by `seed`.
pub(crate) fn signature_png(seed: u64) -> Vec<u8> {
    const W: u32 = 120;
    const H: u32 = 40;
    let mut pixels = vec![255u8; (W * H) as usize];
    let a = 4.0 + (seed % 7) as f64;
    let b = 0.05 + ((seed >> 8) % 10) as f64 / 100.0;
    let c = ((seed >> 16) % 628) as f64 / 100.0;
    for x in 8..W - 8 {
        let fx = f64::from(x);
        let y = f64::from(H) / 2.0 + a * (fx * b + c).sin() + 3.0 * (fx * 0.31).cos();
        let yi = y.round().clamp(1.0, f64::from(H - 2)) as u32;
        for dy in 0..2 {
            pixels[((yi + dy) * W + x) as usize] = 0;
        }
    }
    png(W, H, 1, &pixels)
}

/// A small colour "photo" (a gradient with a parcel-like box), shaped by `seed`.
pub(crate) fn photo_png(seed: u64) -> Vec<u8> {
    const W: u32 = 48;
    const H: u32 = 32;
    let mut pixels = Vec::with_capacity((W * H * 3) as usize);
    let tint = (seed % 64) as u8;
    for y in 0..H {
        for x in 0..W {
            let in_box = (14..34).contains(&x) && (10..26).contains(&y);
            if in_box {
                pixels.extend_from_slice(&[176, 132, 82]);
            } else {
                pixels.extend_from_slice(&[
                    (x * 4) as u8 ^ tint,
                    (y * 6) as u8,
                    160u8.wrapping_add(tint),
                ]);
            }
        }
    }
    png(W, H, 3, &pixels)
}

fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
            _ => "?".to_owned(),
        })
        .collect()
}

/// A one-page PDF with a title and lines of text.
pub(crate) fn report_pdf(title: &str, lines: &[String]) -> Vec<u8> {
    let mut content = format!("BT /F1 18 Tf 72 720 Td ({}) Tj ET\n", pdf_text(title));
    for (i, line) in lines.iter().enumerate() {
        content.push_str(&format!(
            "BT /F1 11 Tf 72 {} Td ({}) Tj ET\n",
            690 - 16 * i as i64,
            pdf_text(line)
        ));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{}endstream",
            content.len(),
            content
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{}\nendobj\n", i + 1, body).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n",
            objects.len() + 1,
            xref
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_well_formed() {
        let png = signature_png(7);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND crc");
        assert_eq!(crc32(&[b"IEND"]), 0xae42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_ne!(signature_png(1), signature_png(2));
        assert!(photo_png(3).len() > 4000);
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    #[test]
    fn pdf_names_its_text_and_has_a_valid_xref() {
        let pdf = report_pdf("Order 1000123 (SL)", &["Line".to_owned()]);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(find(&pdf, b"Order 1000123 \\(SL\\)").is_some());
        let at = find(&pdf, b"startxref\n").expect("startxref") + 10;
        let tail = String::from_utf8_lossy(&pdf[at..]);
        let startxref: usize = tail
            .lines()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("offset");
        assert!(pdf[startxref..].starts_with(b"xref"));
        let obj4 = find(&pdf, b"4 0 obj").expect("obj 4");
        let entry = format!("{obj4:010} 00000 n");
        assert!(find(&pdf[startxref..], entry.as_bytes()).is_some());
    }
}
