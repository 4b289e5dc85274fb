//! An error and its causes on one line, for messages a person reads.

/// `error: cause: root cause`, skipping a cause whose text an earlier part already holds (SDK
/// errors often repeat their source in their own message) and folding line breaks.
///
/// ```
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let outer = std::io::Error::other(io);
/// assert_eq!(sluice_retry::error_chain(&outer), "connection refused");
/// ```
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ").replace('\n', " ")
}
