//! Input that cannot be used at all (unreadable, malformed, the wrong format): one located
//! error type naming the file, line, field and value, shared by every reader of the exchange
//! formats, and distinct from the violations a readable input may contain.

use std::borrow::Cow;

use thiserror::Error;

/// The most characters of one value a message echoes; longer ones end in "… (N chars)".
pub const MAX_SHOWN_CHARS: usize = 200;

/// The most characters of a whole message; messages are short, so only echoed input can
/// make one longer.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// `s` as a message may show it: control characters (C0, DEL, C1) and the bidirectional
/// overrides escaped as `\n`, `\t`, `\r` or `\u{..}` (an ESC from a file must not drive the
/// terminal), and cut after [`MAX_SHOWN_CHARS`] characters with "… (N chars)" giving the full
/// length. Borrowed when nothing changes. For values from input that a message quotes.
///
/// migsched-out's `display_safe` applies the same rule (the two crates depend on no other
/// crate of the workspace, so each has its copy; their tests check the same cases).
pub fn display_safe(s: &str) -> Cow<'_, str> {
    shown(s, MAX_SHOWN_CHARS)
}

fn shown(s: &str, max: usize) -> Cow<'_, str> {
    let count = s.chars().count();
    if count <= max && !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    for c in s.chars().take(max) {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    if count > max {
        out.push_str(&format!("… ({count} chars)"));
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A file that cannot be read as what it should be. Its message shows the origin and field
/// through [`display_safe`] and the message with control characters escaped (and cut at
/// [`MAX_MESSAGE_CHARS`]), so input echoed in any of them cannot reach the terminal raw.
#[derive(Debug, Clone, PartialEq, Error)]
#[error(
    "{}{}{}: {}",
    display_safe(origin),
    line.map(|l| format!(":{l}")).unwrap_or_default(),
    field.as_ref().map(|f| format!(": {}", display_safe(f))).unwrap_or_default(),
    shown(message, MAX_MESSAGE_CHARS)
)]
pub struct InputError {
    /// File name or other description of the source.
    pub origin: String,
    /// 1-based line, where one applies.
    pub line: Option<usize>,
    /// The field or column, where one applies.
    pub field: Option<String>,
    /// What is wrong, with the offending value.
    pub message: String,
}

impl InputError {
    /// An error about the whole input.
    pub fn new(origin: &str, message: impl Into<String>) -> InputError {
        InputError {
            origin: origin.to_string(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// An error at a line.
    pub fn at_line(origin: &str, line: usize, message: impl Into<String>) -> InputError {
        InputError {
            line: Some(line),
            ..InputError::new(origin, message)
        }
    }

    /// This error with a field or column.
    pub fn with_field(self, field: impl Into<String>) -> InputError {
        InputError {
            field: Some(field.into()),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_file_line_and_field() {
        let e =
            InputError::at_line("d.csv", 3, "'x' is not a whole number").with_field("Batch size");
        assert_eq!(
            e.to_string(),
            "d.csv:3: Batch size: 'x' is not a whole number"
        );
        assert_eq!(
            InputError::new("p.json", "empty").to_string(),
            "p.json: empty"
        );
    }

    #[test]
    fn echoed_input_is_escaped_and_cut() {
        let name = "x".repeat(100_000);
        let e = InputError::at_line(
            "i\u{1b}[2J.toml",
            2,
            format!("unknown model '\u{1b}]0;{name}'"),
        )
        .with_field("models\n[0]");
        let shown = e.to_string();
        assert!(
            shown.starts_with("i\\u{1b}[2J.toml:2: models\\n[0]: unknown model '\\u{1b}]0;xxx"),
            "{shown}"
        );
        assert!(
            shown.ends_with("… (100020 chars)"),
            "{}",
            &shown[shown.len() - 40..]
        );
        assert!(shown.chars().count() < MAX_MESSAGE_CHARS + 100);
        assert!(!shown.contains('\u{1b}'));
    }

    #[test]
    fn display_safe_matches_the_output_crates_rule() {
        assert!(matches!(
            display_safe("small.toml"),
            Cow::Borrowed("small.toml")
        ));
        assert_eq!(display_safe("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(display_safe("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(
            display_safe("\u{7f}\u{85}\u{202e}"),
            "\\u{7f}\\u{85}\\u{202e}"
        );
        let long = "é".repeat(100_000);
        assert!(display_safe(&long).ends_with("é… (100000 chars)"));
        assert_eq!(display_safe(&"a".repeat(200)), "a".repeat(200));
    }
}
