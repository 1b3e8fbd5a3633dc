//! Any of this crate's SVG charts as a PNG image: the document rasterized by resvg, its text set
//! in DejaVu Sans (compiled into the binary by the `dejavu` crate, so the image looks the same on
//! every machine and no font is read from the system).

use std::sync::{Arc, OnceLock};

use resvg::usvg::{self, fontdb};
use resvg::{tiny_skia, usvg::Options};

/// The fonts text is set in: DejaVu Sans, standing in for every generic family.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_font_data(dejavu::sans::regular().to_vec());
            db.load_font_data(dejavu::sans::bold().to_vec());
            db.set_sans_serif_family("DejaVu Sans");
            db.set_serif_family("DejaVu Sans");
            db.set_monospace_family("DejaVu Sans");
            Arc::new(db)
        })
        .clone()
}

/// Largest side of an image, in pixels (a chart is 800 wide; at scale 2, 1600).
const MAX_SIDE: f32 = 4_096.0;

/// The SVG document `svg` as PNG bytes, `scale` times its own size (1 to 4; 2 suits a report).
///
/// # Errors
/// When the document is not SVG this crate could parse, or the image would be empty or too
/// large.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, String> {
    let mut options = Options {
        font_family: "DejaVu Sans".to_owned(),
        ..Options::default()
    };
    options.fontdb = fonts();
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| format!("not SVG: {e}"))?;
    let scale = scale.clamp(1.0, 4.0);
    let size = tree.size();
    let (width, height) = (size.width() * scale, size.height() * scale);
    if !(width >= 1.0 && height >= 1.0 && width <= MAX_SIDE && height <= MAX_SIDE) {
        return Err(format!("an image of {width}x{height} pixels"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
    let mut pixmap = tiny_skia::Pixmap::new(width.ceil() as u32, height.ceil() as u32)
        .ok_or("an empty image")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PNG's width and height, from its header.
    fn dimensions(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
        let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        (be(16), be(20))
    }

    #[test]
    fn a_chart_becomes_a_png_of_its_size_times_the_scale() {
        let svg = crate::price("EURUSD", &[(0, 1.0), (3_600, 1.1), (7_200, 1.05)]);

        let one = png(&svg, 1.0).expect("rendered");
        let two = png(&svg, 2.0).expect("rendered");

        assert_eq!(dimensions(&one), (800, 400));
        assert_eq!(dimensions(&two), (1600, 800));
    }

    #[test]
    fn text_is_drawn_with_the_compiled_in_font() {
        // Two titles of the same length lay out alike; only their glyphs differ, so the images
        // differ only if the text was drawn (with no font, resvg silently leaves text out).
        let points = [(0, 1.0), (60, 2.0)];
        let a = png(&crate::price("XXXXXXXX", &points), 1.0).expect("rendered");
        let b = png(&crate::price("IIIIIIII", &points), 1.0).expect("rendered");
        let blank = png(&crate::price("        ", &points), 1.0).expect("rendered");

        assert_ne!(a, b, "the title's glyphs are in the image");
        assert_ne!(a, blank);
        assert_eq!(fonts().faces().count(), 2);
    }

    #[test]
    fn not_svg_is_an_error_not_a_panic() {
        assert!(png("<html></html>", 1.0).is_err());
        assert!(png("", 1.0).is_err());
    }
}
