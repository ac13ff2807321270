//! What every oplab figure shares: the embedded font, the colour palette, PNG output, the
//! tick marks of linear, integer and log axes ([`axis`]) and the colour map with its colour bar
//! ([`colorbar`]).
//!
//! Text uses DejaVu Sans compiled into the binary (Bitstream Vera licence, see
//! `assets/DejaVuSans-LICENSE.txt`) and registered with plotters' ab_glyph support, so rendering
//! never depends on fonts installed on the machine.

pub mod axis;
pub mod colorbar;

use std::io;
use std::path::Path;
use std::sync::Once;

use plotters::style::{FontStyle, RGBColor};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Family name under which the embedded font is registered; every text style names it.
pub const FAMILY: &str = "sans-serif";

/// Colour-blind-friendly palette (Okabe–Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];

/// Registers the embedded font under [`FAMILY`] (once per process); call before drawing text.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; a failure would mean a corrupt asset, caught by the tests.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Encodes an 8-bit RGB image of `w × h` pixels (row-major, 3 bytes a pixel) as PNG.
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(bytes)
}

/// Writes an RGB image (see [`encode_png`]) to `path` as PNG, atomically.
pub fn write_png(path: &Path, rgb: &[u8], w: u32, h: u32) -> io::Result<()> {
    let bytes = encode_png(rgb, w, h).map_err(io::Error::other)?;
    crate::atomic::write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    #[test]
    fn text_in_the_embedded_font_reaches_the_png() {
        register_font();
        let (w, h) = (120u32, 40u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.draw(&Text::new("oplab", (5, 5), (FAMILY, 24))).unwrap();
            root.present().unwrap();
        }
        assert!(rgb.iter().any(|&b| b < 128), "the text left no dark pixels");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        write_png(&path, &rgb, w, h).unwrap();
        let decoder = png::Decoder::new(io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut back = vec![0u8; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut back).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (w, h, png::ColorType::Rgb));
        assert_eq!(&back[..info.buffer_size()], &rgb[..]);
    }

    #[test]
    fn a_short_buffer_is_an_error_not_a_panic() {
        assert!(encode_png(&[0u8; 10], 4, 4).is_err());
        assert!(write_png(Path::new("never-written.png"), &[0u8; 10], 4, 4).is_err());
        assert!(!Path::new("never-written.png").exists());
    }
}
