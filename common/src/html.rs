//! The small HTML pages oplab writes next to its figures (`oplab validate`'s report, the page
//! `oplab eval` leaves in a run directory): escaping, one style sheet, figure elements, and a
//! closing script that lets a headless browser confirm every image decoded.

/// `s` with the characters that are markup in HTML text and attribute values escaped.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The style every page shares: a readable column, bordered tables with right-aligned numbers,
/// sections divided by a rule, images scaled to the column.
const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;padding:3px 8px;font-size:0.9em}\
th{background:#eee}td.num{text-align:right;font-family:monospace}\
section{border-top:2px solid #ddd;margin-top:2em}img{max-width:100%;border:1px solid #ddd}";

/// The start of a page titled `title` (escaped here), up to and including `<body>`;
/// `extra_style` is appended to the shared style sheet.
pub fn head(title: &str, extra_style: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}{extra_style}</style></head><body>\n",
        esc(title)
    )
}

/// A figure showing the image `png` (a path relative to the page) with `caption`, the image
/// linking to `svg` when there is a vector version.
pub fn figure(png: &str, svg: Option<&str>, caption: &str) -> String {
    let img = format!("<img src=\"{}\" alt=\"{}\">", esc(png), esc(caption));
    match svg {
        Some(svg) => {
            let svg = esc(svg);
            format!("<figure><a href=\"{svg}\">{img}</a><figcaption>{} (<a href=\"{svg}\">SVG</a>)</figcaption></figure>\n", esc(caption))
        }
        None => format!("<figure>{img}<figcaption>{}</figcaption></figure>\n", esc(caption)),
    }
}

/// The end of a page. The script records each image's decoded width on load, so a headless
/// browser (the integration tests) can check from the DOM that every figure decoded; a reader
/// never sees it.
pub fn tail() -> &'static str {
    "<script>window.addEventListener('load',function(){document.querySelectorAll('img').forEach(function(i){\
i.setAttribute('data-natural-width',String(i.naturalWidth));});document.body.setAttribute('data-loaded','1');});</script>\n\
</body></html>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_everywhere_text_goes() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert!(head("x < y", "").contains("<title>x &lt; y</title>"));
        let f = figure("a&b.png", None, "<caption>");
        assert_eq!(f, "<figure><img src=\"a&amp;b.png\" alt=\"&lt;caption&gt;\"><figcaption>&lt;caption&gt;</figcaption></figure>\n");
    }

    #[test]
    fn a_page_is_head_body_tail() {
        let page = format!("{}{}{}", head("t", ".x{}"), figure("f.png", Some("f.svg"), "f"), tail());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("img{max-width:100%;border:1px solid #ddd}.x{}</style>"));
        assert!(page.contains("<a href=\"f.svg\"><img src=\"f.png\" alt=\"f\"></a><figcaption>f (<a href=\"f.svg\">SVG</a>)</figcaption>"));
        assert!(page.ends_with("</body></html>\n"));
    }
}
