//! Quoting untrusted text in errors, log fields and dead-letter reasons.
//!
//! A worker's error messages travel: into every log line, into a dead-letter reason, into an
//! HTTP response. When one quotes its input whole, a hostile producer decides how big they get:
//! one megabyte in an S3 notification's `Event` field becomes one megabyte in each of them.
//! Every place in sluice that quotes untrusted text (event bodies, object keys, message
//! attributes, S3 metadata, webhook responses, template values, headers) quotes it through this
//! crate, so the bound is stated once:
//!
//! - [`Excerpt`] quotes a value: escaped as Rust's `{:?}` does, at most [`MAX_EXCERPT_BYTES`]
//!   of it, and when it was cut, its full length.
//! - [`clip`] bounds a message that already embeds input, such as a parser's or an SDK's error
//!   text, to a number of bytes of your choosing, stating the full length when it cuts.
//!
//! ```
//! use sluice_excerpt::Excerpt;
//!
//! let hostile = format!("s3:{}", "E".repeat(200_001));
//! let message = format!("unknown `Event` {}", Excerpt::of(&hostile));
//! assert!(message.starts_with("unknown `Event` \"s3:EEEE"));
//! assert!(message.ends_with("…\" (200,004 bytes)"));
//! assert!(message.len() < 120);
//! assert_eq!(Excerpt::of("s3:Other").to_string(), "\"s3:Other\"");
//! ```

use std::borrow::Cow;
use std::fmt;

/// At most this many bytes of escaped text are shown by an [`Excerpt`]: enough to recognise a
/// value, too few to carry a payload.
pub const MAX_EXCERPT_BYTES: usize = 64;

/// A quoted, escaped excerpt of untrusted text: at most [`MAX_EXCERPT_BYTES`] of it, then `…`
/// and the full length in bytes.
///
/// It holds only the excerpt, never the input, so it can live in an error type.
///
/// ```
/// use sluice_excerpt::Excerpt;
///
/// assert_eq!(Excerpt::of("a\nb").to_string(), r#""a\nb""#);
/// let long = Excerpt::of(&"x".repeat(5000));
/// assert!(long.is_cut());
/// assert_eq!(long.len(), 5000);
/// assert!(long.to_string().ends_with("…\" (5,000 bytes)"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt {
    shown: String,
    len: usize,
    cut: bool,
}

impl Excerpt {
    /// The excerpt of `text`.
    pub fn of(text: &str) -> Excerpt {
        let mut shown = String::new();
        let mut cut = false;
        for c in text.chars() {
            let escaped = c.escape_debug();
            if shown.len() + escaped.len() > MAX_EXCERPT_BYTES {
                cut = true;
                break;
            }
            shown.extend(escaped);
        }
        Excerpt { shown, len: text.len(), cut }
    }

    /// The excerpt of bytes that may not be UTF-8 (an HTTP response body, a raw payload):
    /// invalid sequences show as U+FFFD, and the length is that of the bytes.
    ///
    /// ```
    /// let e = sluice_excerpt::Excerpt::of_bytes(b"ok\xff");
    /// assert_eq!(e.to_string(), "\"ok\u{fffd}\"");
    /// assert_eq!(e.len(), 3);
    /// ```
    pub fn of_bytes(bytes: &[u8]) -> Excerpt {
        Excerpt::of_start(bytes, bytes.len())
    }

    /// The excerpt of a text of `len` bytes of which only the start, `head`, was read (an HTTP
    /// body read no further than needed).
    ///
    /// ```
    /// let e = sluice_excerpt::Excerpt::of_start(b"<html>", 1 << 20);
    /// assert_eq!(e.to_string(), "\"<html>…\" (1,048,576 bytes)");
    /// ```
    pub fn of_start(head: &[u8], len: usize) -> Excerpt {
        // Four bytes per shown character at most: the rest cannot be shown anyway.
        let shown = &head[..head.len().min(4 * MAX_EXCERPT_BYTES)];
        let mut excerpt = Excerpt::of(&String::from_utf8_lossy(shown));
        excerpt.len = len.max(head.len());
        excerpt.cut |= shown.len() < excerpt.len;
        excerpt
    }

    /// The full length of the quoted text, in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the quoted text was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the excerpt shows only the start of the text.
    pub fn is_cut(&self) -> bool {
        self.cut
    }
}

impl fmt::Display for Excerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cut {
            write!(f, "\"{}…\" ({} bytes)", self.shown, thousands(self.len))
        } else {
            write!(f, "\"{}\"", self.shown)
        }
    }
}

/// `message` cut to at most `max_bytes` (on a character boundary), followed by `… (N bytes)`
/// when it was cut. For texts that already embed input, such as a JSON parser's error
/// (`invalid type: string "…", expected u64`) or an HTTP error body; quote a value itself with
/// [`Excerpt`].
///
/// ```
/// use sluice_excerpt::clip;
///
/// assert_eq!(clip("short", 100), "short");
/// assert_eq!(clip("보고서 2026", 4), "보… (14 bytes)");
/// ```
pub fn clip(message: &str, max_bytes: usize) -> Cow<'_, str> {
    if message.len() <= max_bytes {
        return Cow::Borrowed(message);
    }
    let end = message.floor_char_boundary(max_bytes);
    Cow::Owned(format!("{}… ({} bytes)", &message[..end], thousands(message.len())))
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_bounded_whatever_the_characters() {
        // Characters that escape to the longest forms: control characters and unassigned
        // code points escape to \u{...}.
        for c in ['a', '"', '\u{1}', '\u{10ffff}', '보', '\u{301}'] {
            let text: String = std::iter::repeat_n(c, 1 << 20).collect();
            let shown = Excerpt::of(&text).to_string();
            assert!(shown.len() <= MAX_EXCERPT_BYTES + 32, "{c:?}: {shown}");
            assert!(shown.ends_with(&format!("({} bytes)", thousands(text.len()))), "{shown}");
        }
    }

    #[test]
    fn short_text_is_shown_whole_and_escaped() {
        assert_eq!(Excerpt::of("").to_string(), "\"\"");
        assert_eq!(Excerpt::of("tab\there").to_string(), r#""tab\there""#);
        assert_eq!(Excerpt::of("say \"hi\"").to_string(), r#""say \"hi\"""#);
        let exactly = "y".repeat(MAX_EXCERPT_BYTES);
        assert!(!Excerpt::of(&exactly).is_cut());
        assert!(Excerpt::of(&format!("{exactly}y")).is_cut());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_bounded_too() {
        let e = Excerpt::of_bytes(&vec![0xff; 1 << 20]);
        assert!(e.is_cut());
        assert!(e.to_string().ends_with("(1,048,576 bytes)"), "{e}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(200_004), "200,004");
    }

    #[test]
    fn clip_keeps_utf8_boundaries() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc… (4 bytes)");
        assert_eq!(clip("보고서", 4), "보… (9 bytes)");
    }
}
