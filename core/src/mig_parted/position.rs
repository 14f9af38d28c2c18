//! Line and column in the file the user has, for YAML that serde_yaml_ng parsed in pieces
//! (one document of a stream, or a config embedded in a ConfigMap as a string), and a small
//! scan for the keys that checks made after deserializing must point at.

/// Where a piece of YAML text sits in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The piece's lines are the file's: line `n` of the piece is line `n + line_offset` of
    /// the file, and its columns are shifted by `indent` (a literal block scalar `|` strips
    /// its indentation; a document of a stream has none).
    Lines {
        /// Lines of the file before the piece's first line.
        line_offset: usize,
        /// Columns stripped from every line of the piece.
        indent: usize,
    },
    /// A string in another style (quoted, folded): its lines are not the file's, so a
    /// position is the string's key's, with the position inside the string beside it.
    Opaque {
        /// Line of the key in the file.
        line: usize,
        /// Column of the key in the file.
        column: usize,
        /// The key, as `data."config.yaml"`.
        key: String,
    },
}

/// A problem with its position in the file. The message ends with the position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl Frame {
    /// The whole file, or a document of it starting after `line_offset` lines.
    pub fn lines(line_offset: usize) -> Frame {
        Frame::Lines {
            line_offset,
            indent: 0,
        }
    }

    /// The file's (line, column) of a piece's 1-based (line, column).
    pub fn outer(&self, line: usize, column: usize) -> (usize, usize) {
        match self {
            Frame::Lines {
                line_offset,
                indent,
            } => (line + line_offset, column + indent),
            Frame::Opaque { line, column, .. } => (*line, *column),
        }
    }

    /// `line L column C` in the file's terms for a piece's (line, column).
    pub fn describe(&self, line: usize, column: usize) -> String {
        let (l, c) = self.outer(line, column);
        match self {
            Frame::Lines { .. } => format!("line {l} column {c}"),
            Frame::Opaque { key, .. } => {
                format!("line {l} column {c} (line {line} column {column} of the string {key})")
            }
        }
    }

    /// A problem found at a piece's (line, column).
    pub fn problem(&self, what: impl std::fmt::Display, line: usize, column: usize) -> Located {
        let (l, c) = self.outer(line, column);
        Located {
            message: format!("{what} at {}", self.describe(line, column)),
            line: l,
            column: c,
        }
    }

    /// A serde_yaml_ng error from parsing `piece`, with every position in the file's terms.
    /// An error without a position (end of input) is placed after the piece's last line.
    pub fn yaml_error(&self, e: &serde_yaml_ng::Error, piece: &str) -> Located {
        let (line, column) = match e.location() {
            Some(at) => (at.line(), at.column()),
            None => (piece.lines().count().max(1), 1),
        };
        let text = e.to_string();
        let (mut message, found) = self.remap(&text);
        if !found {
            // serde_yaml_ng leaves out a position at line 1 column 1.
            if let Some(i) = message.find(" at position ") {
                message.truncate(i);
            }
            message = format!("{message} at {}", self.describe(line, column));
        }
        let (line, column) = self.outer(line, column);
        Located {
            message,
            line,
            column,
        }
    }

    /// Rewrites every `line L column C` in `text` into the file's terms; says whether any.
    fn remap(&self, text: &str) -> (String, bool) {
        let mut out = String::new();
        let mut rest = text;
        let mut found = false;
        while let Some(i) = rest.find("line ") {
            let after = &rest[i + "line ".len()..];
            match line_column(after) {
                Some((line, column, len)) => {
                    out.push_str(&rest[..i]);
                    out.push_str(&self.describe(line, column));
                    rest = &after[len..];
                    found = true;
                }
                None => {
                    out.push_str(&rest[..i + "line ".len()]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        (out, found)
    }
}

/// `12 column 5...` -> (12, 5, length of `12 column 5`).
fn line_column(s: &str) -> Option<(usize, usize, usize)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(s);
    let line = s[..n].parse().ok()?;
    let rest = s[n..].strip_prefix(" column ")?;
    let m = digits(rest);
    let column = rest[..m].parse().ok()?;
    Some((line, column, n + " column ".len() + m))
}

/// A `key:` found in block-style YAML text; lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyAt<'t> {
    pub line: usize,
    pub column: usize,
    /// Where the value starts on the key's line (the key's column when the line has none).
    pub value_column: usize,
    /// The rest of the line after `key:`, trimmed (`|`, `v1`, `[0, 1]`, or empty).
    pub value: &'t str,
}

/// Whether a line holds nothing but blanks or a comment.
pub(crate) fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The column (1-based) of the first line at or after `from` that holds content.
pub(crate) fn content_column(text: &str, from: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| !is_blank(l))
        .map(|(i, l)| (i + 1, indentation(l) + 1))
}

/// Every key of the block mapping whose keys sit at `column`, from line `from` until a line
/// with content further left ends the mapping (a sequence item's `- ` counts as indentation
/// on the mapping's first line).
pub(crate) fn keys_at(text: &str, column: usize, from: usize) -> Vec<(String, KeyAt<'_>)> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate().skip(from.saturating_sub(1)) {
        if is_blank(l) {
            continue;
        }
        let line = i + 1;
        if line > from && indentation(l) + 1 < column {
            break;
        }
        let (Some(prefix), Some(rest)) = (l.get(..column - 1), l.get(column - 1..)) else {
            continue;
        };
        let at_column = prefix.chars().all(|c| c == ' ' || c == '-')
            && !rest.starts_with([' ', '\t', '#', '-']);
        if let Some((key, after)) = at_column.then(|| split_key(rest)).flatten() {
            let value = after.trim();
            let value_column = if value.is_empty() {
                column
            } else {
                column + (rest.len() - after.len()) + (after.len() - after.trim_start().len())
            };
            let value = value.split(" #").next().unwrap_or("").trim_end();
            out.push((
                key,
                KeyAt {
                    line,
                    column,
                    value_column,
                    value,
                },
            ));
        }
    }
    out
}

/// The first `key:` of the top-level block mapping of a document.
pub(crate) fn top_key<'t>(text: &'t str, key: &str) -> Option<KeyAt<'t>> {
    let (line, column) = content_column(text, 1)?;
    keys_at(text, column, line)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, at)| at)
}

/// `key: rest` (plain, double- or single-quoted key) -> (key, rest after the colon).
fn split_key(s: &str) -> Option<(String, &str)> {
    let (key, after) = match s.chars().next()? {
        q @ ('"' | '\'') => {
            let end = s[1..].find(q)? + 1;
            (s[1..end].to_string(), s[end + 1..].trim_start_matches(' '))
        }
        _ => {
            let end = s.find(": ").or_else(|| s.strip_suffix(':').map(str::len))?;
            (s[..end].trim_end().to_string(), &s[end..])
        }
    };
    let after = after.strip_prefix(':')?;
    (after.is_empty() || after.starts_with([' ', '\t'])).then_some((key, after))
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_map_positions_and_rewrite_messages() {
        let f = Frame::Lines {
            line_offset: 6,
            indent: 4,
        };
        assert_eq!(f.outer(1, 1), (7, 5));
        assert_eq!(
            f.remap("bad at line 3 column 2, while parsing at line 1 column 1"),
            (
                "bad at line 9 column 6, while parsing at line 7 column 5".to_string(),
                true
            )
        );
        assert_eq!(f.remap("no line here"), ("no line here".to_string(), false));
        let o = Frame::Opaque {
            line: 5,
            column: 3,
            key: "data.x".into(),
        };
        assert_eq!(
            o.describe(2, 4),
            "line 5 column 3 (line 2 column 4 of the string data.x)"
        );
    }

    #[test]
    fn keys_are_found_at_their_column() {
        let text = "# c\nversion: v1 # why\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n  \"b\": []\n  a: x\nother: 1\n";
        let v = top_key(text, "version").unwrap();
        assert_eq!(
            (v.line, v.column, v.value_column, v.value),
            (2, 1, 10, "v1")
        );
        let m = top_key(text, "mig-configs").unwrap();
        assert_eq!((m.line, m.value_column, m.value), (3, 1, ""));
        let keys: Vec<(String, usize)> = keys_at(text, 3, 4)
            .into_iter()
            .map(|(k, at)| (k, at.line))
            .collect();
        assert_eq!(keys, [("a".into(), 4), ("b".into(), 7), ("a".into(), 8)]);
        let item: Vec<String> = keys_at(text, 7, 5).into_iter().map(|(k, _)| k).collect();
        assert_eq!(item, ["devices", "mig-enabled"]);
        assert_eq!(top_key(text, "nope"), None);
        assert_eq!(content_column("\n\n  x: 1\n", 1), Some((3, 3)));
    }
}
