//! Size, SHA-256 and line count of a byte stream, in constant memory.

use sha2::{Digest, Sha256};

/// A running summary of the bytes seen so far.
///
/// Lines are counted as a person would: every `\n` ends a line, and a last line without a
/// final newline counts too (`"a\nb"` has 2 lines, `"a\n"` has 1, `""` has 0).
///
/// ```
/// let mut digest = sluice_object_summary::ObjectDigest::default();
/// digest.update(b"a\nb");
/// let summary = digest.finish();
/// assert_eq!((summary.size, summary.lines), (3, 2));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ObjectDigest {
    sha256: Sha256,
    size: u64,
    newlines: u64,
    last_byte: Option<u8>,
}

/// The finished summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Lines.
    pub lines: u64,
}

impl ObjectDigest {
    /// Adds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
        self.newlines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        if let Some(&b) = chunk.last() {
            self.last_byte = Some(b);
        }
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The summary of everything seen.
    pub fn finish(self) -> Summary {
        let unterminated = matches!(self.last_byte, Some(b) if b != b'\n');
        Summary {
            size: self.size,
            sha256: hex::encode(self.sha256.finalize()),
            lines: self.newlines + u64::from(unterminated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarise(chunks: &[&[u8]]) -> Summary {
        let mut d = ObjectDigest::default();
        chunks.iter().for_each(|c| d.update(c));
        d.finish()
    }

    #[test]
    fn empty_input() {
        let s = summarise(&[]);
        assert_eq!(s.size, 0);
        assert_eq!(s.lines, 0);
        assert_eq!(s.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn lines_with_and_without_final_newline() {
        assert_eq!(summarise(&[b"a\nb\n"]).lines, 2);
        assert_eq!(summarise(&[b"a\nb"]).lines, 2);
        assert_eq!(summarise(&[b"\n\n"]).lines, 2);
        assert_eq!(summarise(&[b"x"]).lines, 1);
    }

    #[test]
    fn chunking_does_not_change_the_summary() {
        let whole = summarise(&[b"hello\nworld\n!"]);
        let split = summarise(&[b"hel", b"lo\n", b"", b"world\n", b"!"]);
        assert_eq!(whole, split);
        assert_eq!(whole.sha256, hex::encode(Sha256::digest(b"hello\nworld\n!")));
    }
}
