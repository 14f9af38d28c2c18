//! A bound on what a YAML text expands to: aliases (`*name`) repeat their anchor's node, so a
//! few kilobytes of nested aliases (a "billion laughs") expand to gigabytes. Before any other
//! parse, the text is walked once by a visitor that counts nodes, allocates nothing, and stops
//! at the budget.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::position::{Frame, Located};

/// The most YAML nodes a text may expand to: 100,000 plus 16 per byte of text. Without
/// aliases a text has fewer nodes than bytes; a config that uses a few anchors stays far
/// below.
pub const fn max_nodes(text_bytes: usize) -> usize {
    100_000usize.saturating_add(text_bytes.saturating_mul(16))
}

/// Refuses a text whose documents expand to more than [`max_nodes`] nodes. Syntax errors are
/// left to the parse that follows, which locates them.
pub(crate) fn check(text: &str, frame: &Frame) -> Result<(), Located> {
    let limit = max_nodes(text.len());
    let counter = Counter {
        left: Cell::new(limit),
        exhausted: Cell::new(false),
    };
    let mut repeated = false;
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        if let Err(e) = Node(&counter).deserialize(doc) {
            // serde_yaml_ng's own bound on alias jumps (100 per event) is a bomb too.
            repeated = e.to_string().contains("repetition limit exceeded");
            break;
        }
    }
    if counter.exhausted.get() || repeated {
        let (line, column) = first_alias(text);
        return Err(frame.problem(
            format!(
                "the YAML expands through its aliases (*name) to more than {limit} nodes (100000 plus 16 per byte of its {} bytes) or repeats aliases more than 100 times per node: refusing it as an alias bomb",
                text.len()
            ),
            line,
            column,
        ));
    }
    Ok(())
}

/// (line, column) of the first `*` that may start an alias, else (1, 1).
fn first_alias(text: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line
            .char_indices()
            .find(|&(j, ch)| {
                ch == '*' && (j == 0 || line[..j].ends_with([' ', '[', ',', '-', ':']))
            })
            .map(|(j, _)| j)
        {
            return (i + 1, c + 1);
        }
    }
    (1, 1)
}

struct Counter {
    left: Cell<usize>,
    exhausted: Cell<bool>,
}

impl Counter {
    fn take<E: de::Error>(&self) -> Result<(), E> {
        match self.left.get() {
            0 => {
                self.exhausted.set(true);
                Err(E::custom("the YAML expands beyond its node budget"))
            }
            n => {
                self.left.set(n - 1);
                Ok(())
            }
        }
    }
}

/// One node and everything under it, counted.
#[derive(Clone, Copy)]
struct Node<'c>(&'c Counter);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.take()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.take()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.take()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.0.take()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.0.take()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.take()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.0.take()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.0.take()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.take()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.take()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.take()?;
        self.deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.take()?;
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.take()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.take()?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged node (`!tag value`): the tag, then its value.
        self.0.take()?;
        let ((), value) = data.variant_seed(self)?;
        value.newtype_variant_seed(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bomb(levels: usize, width: usize) -> String {
        let mut s = String::from(
            "a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
        );
        for l in 1..=levels {
            let refs = vec![format!("*a{}", l - 1); width].join(", ");
            s.push_str(&format!("a{l}: &a{l} [{refs}]\n"));
        }
        s
    }

    #[test]
    fn an_alias_bomb_is_refused_at_its_first_alias() {
        let text = bomb(9, 9);
        let e = check(&text, &Frame::lines(0)).unwrap_err();
        assert!(
            e.message.contains("more than") && e.message.contains("alias bomb"),
            "{}",
            e.message
        );
        assert_eq!((e.line, e.column), (2, 10));
    }

    #[test]
    fn a_wide_alias_bomb_within_the_jump_limit_is_refused() {
        // One large anchor used many times: few jumps per event (serde_yaml_ng's own bound),
        // but millions of nodes.
        let base = vec!["1"; 5000].join(", ");
        let uses = vec!["*big"; 2000].join(", ");
        let text = format!("big: &big [{base}]\nmany: [{uses}]\n");
        let e = check(&text, &Frame::lines(0)).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
        assert_eq!((e.line, e.column), (2, 8));
    }

    #[test]
    fn a_few_aliases_and_plain_configs_pass() {
        check(&bomb(2, 3), &Frame::lines(0)).unwrap();
        check("version: v1\nmig-configs: {}\n", &Frame::lines(0)).unwrap();
        check("!!binary aGk=\n", &Frame::lines(0)).unwrap();
        check("a: !custom [1, 2]\n", &Frame::lines(0)).unwrap();
        // Syntax errors are the parser's to report.
        check("a: [1, 2\n", &Frame::lines(0)).unwrap();
    }
}
