//! Text from input made safe to echo in a message: control characters escaped (an ESC from a
//! file must not drive the terminal), very long values cut short.

use std::borrow::Cow;

/// The most characters of one value a message echoes; longer ones end in "… (N chars)".
pub const MAX_SHOWN_CHARS: usize = 200;

/// `s` as a message may show it: control characters (C0, DEL, C1) and the bidirectional
/// overrides escaped as `\n`, `\t`, `\r` or `\u{..}`, and cut after [`MAX_SHOWN_CHARS`]
/// characters with "… (N chars)" giving the full length. Borrowed when nothing changes.
///
/// migsched-core's `display_safe` applies the same rule (the two crates depend on no other
/// crate of the workspace, so each has its copy; their tests check the same cases).
pub fn display_safe(s: &str) -> Cow<'_, str> {
    escaped(s, MAX_SHOWN_CHARS, needs_escape)
}

/// The most characters of a whole message [`message_safe`] shows.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// A whole message (an error chain) as a terminal may show it: the same escapes as
/// [`display_safe`] except for line breaks, which messages use, and cut after
/// [`MAX_MESSAGE_CHARS`] characters. The last line of defence for values that reached a
/// message without going through [`display_safe`].
pub fn message_safe(s: &str) -> Cow<'_, str> {
    escaped(s, MAX_MESSAGE_CHARS, |c| c != '\n' && needs_escape(c))
}

/// `s` with the characters `escape` picks escaped, cut after `max` characters with
/// "… (N chars)"; borrowed when nothing changes.
fn escaped(s: &str, max: usize, escape: fn(char) -> bool) -> Cow<'_, str> {
    let count = s.chars().count();
    if count <= max && !s.chars().any(escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    for c in s.chars().take(max) {
        if escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    if count > max {
        out.push_str(&format!("… ({count} chars)"));
    }
    Cow::Owned(out)
}

/// A path as [`display_safe`] shows it (lossy for names that are not UTF-8).
pub fn display_path(path: &std::path::Path) -> String {
    display_safe(&path.display().to_string()).into_owned()
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            display_safe("small.toml"),
            Cow::Borrowed("small.toml")
        ));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(display_safe("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(display_safe("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(
            display_safe("\u{7f}\u{85}\u{202e}"),
            "\\u{7f}\\u{85}\\u{202e}"
        );
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let long = "é".repeat(100_000);
        let shown = display_safe(&long);
        assert_eq!(
            shown.chars().count(),
            MAX_SHOWN_CHARS + "… (100000 chars)".chars().count()
        );
        assert!(shown.ends_with("é… (100000 chars)"), "{shown}");
        assert_eq!(display_safe(&"a".repeat(200)), "a".repeat(200));
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn messages_keep_line_breaks_and_escape_the_rest() {
        assert_eq!(message_safe("a\nb"), "a\nb");
        assert_eq!(message_safe("x\u{1b}[31my"), "x\\u{1b}[31my");
        let long = "n".repeat(10_000);
        let m = message_safe(&long);
        assert!(m.ends_with("… (10000 chars)"), "{}", &m[m.len() - 20..]);
        assert!(m.chars().count() < 4100);
    }
}
