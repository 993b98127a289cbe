//! `$readmemh` memory images: a header naming what the memory holds, then
//! one word per line in two's complement hex of the stated width.

use askama::Template;

#[derive(Template)]
#[template(path = "readmem.mem")]
struct MemFile<'a> {
    title: &'a str,
    layout: &'a str,
    bits: u32,
    words: Vec<String>,
}

/// A memory image of `values`, each a raw value of a `bits`-wide signed
/// format (1..=64), with `title` (layer and format) and `layout` (what a
/// word's index means) in the header.
pub fn render_mem(title: &str, layout: &str, values: &[i64], bits: u32) -> String {
    let words: Vec<[i64; 1]> = values.iter().map(|&v| [v]).collect();
    render_words(title, layout, &words, bits)
}

/// A memory image whose words pack several `bits`-wide fields (1..=64),
/// field 0 in the low bits (one lane per field, docs/hardware.md).
pub fn render_words<W: AsRef<[i64]>>(title: &str, layout: &str, words: &[W], bits: u32) -> String {
    assert!((1..=64).contains(&bits), "a memory field has 1 to 64 bits");
    let fields = words.first().map_or(1, |w| w.as_ref().len()) as u32;
    let file = MemFile {
        title,
        layout,
        bits: bits * fields,
        words: words.iter().map(|w| hex_word(w.as_ref(), bits)).collect(),
    };
    file.render().expect("the template only formats strings")
}

/// Two's complement hex of `fields` packed `bits` apart, field 0 lowest.
fn hex_word(fields: &[i64], bits: u32) -> String {
    let total = fields.len() * bits as usize;
    let mut nibbles = vec![0u8; total.div_ceil(4)];
    for (f, &v) in fields.iter().enumerate() {
        for b in 0..bits as usize {
            if (v >> b.min(63)) & 1 == 1 {
                let at = f * bits as usize + b;
                nibbles[at / 4] |= 1 << (at % 4);
            }
        }
    }
    nibbles
        .iter()
        .rev()
        .map(|&n| char::from_digit(u32::from(n), 16).expect("a nibble is a hex digit"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_twos_complement_hex_of_the_width_after_a_header() {
        let text = render_mem(
            "fc1 weights, Q1.7",
            "index = input * 120 + unit",
            &[1, -1, 127, -128],
            8,
        );
        assert_eq!(
            text,
            "// fc1 weights, Q1.7\n\
             // index = input * 120 + unit; 4 words of 8 bits, two's complement hex\n\
             01\nff\n7f\n80\n"
        );
        let wide = render_mem("t", "l", &[-2, i64::MIN], 64);
        assert!(
            wide.ends_with("fffffffffffffffe\n8000000000000000\n"),
            "{wide}"
        );
        let odd = render_mem("t", "l", &[-1, 3], 5);
        assert!(odd.ends_with("1f\n03\n"), "{odd}");
    }

    #[test]
    fn packed_words_put_field_zero_in_the_low_bits() {
        let text = render_words("t", "l", &[vec![1, -1], vec![-2, 3]], 4);
        assert!(text.ends_with("f1\n3e\n"), "{text}");
        assert!(text.contains("2 words of 8 bits"), "{text}");
        // Wider than 64 bits: three 30-bit fields.
        let wide = render_words("t", "l", &[vec![-1, 0, 1]], 30);
        assert!(wide.ends_with("0000000100000003fffffff\n"), "{wide}");
    }

    #[test]
    fn primitives_are_embedded() {
        for (name, source) in super::super::PRIMITIVES {
            let module = name.trim_end_matches(".v");
            assert!(source.contains(&format!("module {module}")), "{name}");
        }
    }
}
