//! What the HTML pages share: escaping and the style sheet. The measured report
//! ([`crate::html`]) and the modelled one ([`crate::model::html`]) look alike.

/// Escapes text for HTML.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.35em .6em;text-align:left;\
vertical-align:top}th{background:#f3f3f3}figure{margin:1.5em 0}figcaption{font-weight:600}\
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em}";
