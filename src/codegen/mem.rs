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
    assert!((1..=64).contains(&bits), "a memory word has 1 to 64 bits");
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let digits = bits.div_ceil(4) as usize;
    let file = MemFile {
        title,
        layout,
        bits,
        words: values
            .iter()
            .map(|&v| format!("{:0digits$x}", v as u64 & mask))
            .collect(),
    };
    file.render().expect("the template only formats strings")
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
    fn primitives_are_embedded() {
        for (name, source) in super::super::PRIMITIVES {
            let module = name.trim_end_matches(".v");
            assert!(source.contains(&format!("module {module}")), "{name}");
        }
    }
}
