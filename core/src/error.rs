//! Input that cannot be used at all (unreadable, malformed, the wrong format): one located
//! error type naming the file, line, field and value, shared by every reader of the exchange
//! formats, and distinct from the violations a readable input may contain.

use thiserror::Error;

/// A file that cannot be read as what it should be.
#[derive(Debug, Clone, PartialEq, Error)]
#[error(
    "{origin}{}{}: {message}",
    line.map(|l| format!(":{l}")).unwrap_or_default(),
    field.as_ref().map(|f| format!(": {f}")).unwrap_or_default()
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
}
