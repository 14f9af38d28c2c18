//! Markdown tables for summaries.

/// A Markdown table: a header row, an alignment row (numbers right-aligned) and the rows.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let numeric = |c: usize| {
        !rows.is_empty()
            && rows.iter().all(|r| {
                let v = r[c]
                    .trim_end_matches(['%', 'x', 's'])
                    .replace([',', '+'], "");
                v.is_empty() || v == "-" || v.parse::<f64>().is_ok()
            })
    };
    let mut s = format!("| {} |\n|", headers.join(" | "));
    for c in 0..headers.len() {
        s.push_str(if numeric(c) { "---:|" } else { "---|" });
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_numbers_right() {
        let t = super::table(
            &["name", "value"],
            &[vec!["a".into(), "1.5".into()], vec!["b".into(), "-".into()]],
        );
        assert_eq!(t, "| name | value |\n|---|---:|\n| a | 1.5 |\n| b | - |\n");
    }
}
