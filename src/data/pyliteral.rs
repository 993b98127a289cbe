//! The subset of Python literal syntax that `.npy` headers are written in:
//! a dict of string keys whose values are strings, booleans, integers and
//! tuples/lists of those.
//!
//! Parsed here rather than by npyz because npyz trusts the header: it
//! allocates whatever header length the file declares and multiplies the
//! shape without overflow checks (a panic in debug builds). This parser
//! works on bytes already bounded by the caller, limits nesting, and
//! reports every problem as an error.

/// A parsed literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Bool(bool),
    Int(i128),
    /// A tuple or list; NumPy writes shapes as tuples, other writers lists.
    Seq(Vec<Literal>),
    None,
}

/// Nesting deeper than this is no header NumPy writes (a structured dtype
/// with sub-arrays needs about 4); the limit keeps recursion bounded.
const MAX_DEPTH: usize = 16;

/// Parse `{key: value, ...}` followed only by whitespace (NumPy pads the
/// header with spaces and a newline). Returns the entries in file order.
pub(crate) fn parse_dict(text: &str) -> Result<Vec<(String, Literal)>, String> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    p.expect(b'{')?;
    let mut entries = Vec::new();
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = match p.value(0)? {
            Literal::Str(key) => key,
            other => return Err(format!("dict key {other:?} is not a string")),
        };
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        let value = p.value(0)?;
        entries.push((key, value));
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(format!("unexpected text after the dict at byte {}", p.pos));
    }
    Ok(entries)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {}, found {}",
                b as char,
                self.pos,
                self.peek()
                    .map_or("the end".to_string(), |c| format!("'{}'", c.escape_ascii()))
            ))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Literal, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(open @ (b'(' | b'[')) => self.sequence(open, depth),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'A'..=b'Z' | b'a'..=b'z') => self.word(),
            Some(c) => Err(format!(
                "unexpected '{}' at byte {}",
                c.escape_ascii(),
                self.pos
            )),
            None => Err("the header ends inside a value".to_string()),
        }
    }

    /// A quoted string. Escapes are taken literally (`\x` -> `x`): dtype
    /// strings and keys never contain any.
    fn string(&mut self, quote: u8) -> Result<Literal, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(format!("unterminated string starting at byte {start}")),
                Some(b) if b == quote => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    if let Some(b) = self.peek() {
                        out.push(b);
                        self.pos += 1;
                    }
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out)
            .map(Literal::Str)
            .map_err(|_| format!("string at byte {start} is not UTF-8"))
    }

    fn sequence(&mut self, open: u8, depth: usize) -> Result<Literal, String> {
        let close = if open == b'(' { b')' } else { b']' };
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(close) {
                break;
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(close)?;
                break;
            }
        }
        Ok(Literal::Seq(items))
    }

    /// A decimal integer; Python 2 NumPy wrote longs with an `L` suffix.
    fn integer(&mut self) -> Result<Literal, String> {
        let start = self.pos;
        let negative = self.eat(b'-');
        let mut value: i128 = 0;
        let mut digits = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(d - b'0')))
                .ok_or_else(|| format!("integer at byte {start} is too large"))?;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            return Err(format!("'-' without digits at byte {start}"));
        }
        let _ = self.eat(b'L');
        Ok(Literal::Int(if negative { -value } else { value }))
    }

    fn word(&mut self) -> Result<Literal, String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        match &self.bytes[start..self.pos] {
            b"True" => Ok(Literal::Bool(true)),
            b"False" => Ok(Literal::Bool(false)),
            b"None" => Ok(Literal::None),
            other => Err(format!(
                "unknown name '{}' at byte {start}",
                other.escape_ascii()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_header_parses() {
        let entries =
            parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n")
                .unwrap();
        assert_eq!(
            entries,
            vec![
                ("descr".to_string(), Literal::Str("<f4".to_string())),
                ("fortran_order".to_string(), Literal::Bool(false)),
                (
                    "shape".to_string(),
                    Literal::Seq(vec![Literal::Int(2), Literal::Int(3)])
                ),
            ]
        );
    }

    #[test]
    fn other_writers_spellings_parse() {
        // Double quotes, a list shape, no trailing comma, Python 2 longs,
        // a one-element tuple and a scalar's empty shape.
        let entries = parse_dict(r#"{"descr":"|u1","fortran_order":True,"shape":[3L,4]}"#).unwrap();
        assert_eq!(
            entries[2].1,
            Literal::Seq(vec![Literal::Int(3), Literal::Int(4)])
        );
        let one = parse_dict("{'shape': (5,)}").unwrap();
        assert_eq!(one[0].1, Literal::Seq(vec![Literal::Int(5)]));
        let scalar = parse_dict("{'shape': ()}").unwrap();
        assert_eq!(scalar[0].1, Literal::Seq(vec![]));
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for text in [
            "",
            "{",
            "{'descr'",
            "{'descr': }",
            "{'a': 1} trailing",
            "{'shape': (1, 2}",
            "{'shape': (99999999999999999999999999999999999999999,)}",
            "{'x': -}",
            "{'x': Nope}",
            "{1: 2}",
            "{'unterminated: 1}",
        ] {
            assert!(parse_dict(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing_deeply() {
        let text = format!("{{'shape': {}}}", "(".repeat(100_000));
        let err = parse_dict(&text).unwrap_err();
        assert!(err.contains("nesting deeper"), "{err}");
    }
}
