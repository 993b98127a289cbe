//! Fixed-point formats and the two arithmetic policies (docs/fixed-point.md
//! §1–§2). Widths are chosen at run time (per layer, per sweep point), so a
//! format is a checked value, not a type parameter: `QFormat::new` is the
//! only way to make one, and it refuses widths no datapath can have.

use std::fmt;

/// A signed two's-complement fixed-point format: `bits` in total, of which
/// `frac` are fractional. A raw integer `r` stands for `r / 2^frac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QFormat {
    bits: u32,
    frac: u32,
}

/// Why a format cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("a format needs at least 1 bit, got 0")]
    ZeroBits,
    #[error("{bits} bits is more than the 64 the datapath supports")]
    TooWide { bits: u32 },
    #[error("{frac} fractional bits do not fit in {bits} bits")]
    FracExceedsBits { bits: u32, frac: u32 },
}

/// Widest format: values are held in `i64` (docs/fixed-point.md §1).
pub const MAX_BITS: u32 = 64;

impl QFormat {
    pub fn new(bits: u32, frac: u32) -> Result<QFormat, FormatError> {
        if bits == 0 {
            return Err(FormatError::ZeroBits);
        }
        if bits > MAX_BITS {
            return Err(FormatError::TooWide { bits });
        }
        if frac > bits {
            return Err(FormatError::FracExceedsBits { bits, frac });
        }
        Ok(QFormat { bits, frac })
    }

    pub fn bits(self) -> u32 {
        self.bits
    }

    pub fn frac(self) -> u32 {
        self.frac
    }

    /// Smallest raw value, `-2^(bits-1)`.
    pub fn min_raw(self) -> i64 {
        min_raw(self.bits)
    }

    /// Largest raw value, `2^(bits-1) - 1`.
    pub fn max_raw(self) -> i64 {
        max_raw(self.bits)
    }
}

/// `-2^(bits-1)` for `1 <= bits <= 64`.
pub fn min_raw(bits: u32) -> i64 {
    debug_assert!((1..=MAX_BITS).contains(&bits));
    i64::MIN >> (MAX_BITS - bits)
}

/// `2^(bits-1) - 1` for `1 <= bits <= 64`.
pub fn max_raw(bits: u32) -> i64 {
    debug_assert!((1..=MAX_BITS).contains(&bits));
    i64::MAX >> (MAX_BITS - bits)
}

/// Fewest bits of a signed format holding every integer in `lo..=hi`
/// (at least 1; `None` beyond 64).
pub fn bits_for_range(lo: i128, hi: i128) -> Option<u32> {
    (1..=MAX_BITS).find(|&b| i128::from(min_raw(b)) <= lo && hi <= i128::from(max_raw(b)))
}

impl fmt::Display for QFormat {
    /// `Q<integer bits incl. sign>.<frac>`, e.g. `Q1.7` for 8 bits, 7 of them
    /// fractional (the ARM notation; the sign bit counts as an integer bit).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q{}.{}", self.bits - self.frac, self.frac)
    }
}

/// How a real value becomes an integer (docs/fixed-point.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the nearest integer, ties to the even one (IEEE 754's default: no
    /// bias over many values).
    #[default]
    NearestEven,
    /// To the nearest integer, ties away from zero.
    Nearest,
    /// Toward zero (what a plain integer cast does).
    TowardZero,
    /// Toward minus infinity (what dropping low bits of a two's-complement
    /// number does).
    Floor,
}

/// What happens to a result outside its format (docs/fixed-point.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Clamp to the nearest representable value.
    #[default]
    Saturate,
    /// Keep the low `bits` bits (two's-complement wrap-around).
    Wrap,
}

impl Rounding {
    pub const ALL: [Rounding; 4] = [
        Rounding::NearestEven,
        Rounding::Nearest,
        Rounding::TowardZero,
        Rounding::Floor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rounding::NearestEven => "nearest_even",
            Rounding::Nearest => "nearest",
            Rounding::TowardZero => "toward_zero",
            Rounding::Floor => "floor",
        }
    }
}

impl Overflow {
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Saturate => "saturate",
            Overflow::Wrap => "wrap",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_formats_are_refused() {
        assert_eq!(QFormat::new(0, 0), Err(FormatError::ZeroBits));
        assert_eq!(QFormat::new(65, 3), Err(FormatError::TooWide { bits: 65 }));
        assert_eq!(
            QFormat::new(8, 9),
            Err(FormatError::FracExceedsBits { bits: 8, frac: 9 })
        );
        assert!(QFormat::new(64, 64).is_ok());
        assert!(QFormat::new(1, 0).is_ok());
    }

    #[test]
    fn ranges_and_names() {
        let q = QFormat::new(8, 7).unwrap();
        assert_eq!((q.min_raw(), q.max_raw()), (-128, 127));
        assert_eq!(q.to_string(), "Q1.7");
        assert_eq!((min_raw(64), max_raw(64)), (i64::MIN, i64::MAX));
        assert_eq!((min_raw(1), max_raw(1)), (-1, 0));
        assert_eq!(bits_for_range(-128, 127), Some(8));
        assert_eq!(bits_for_range(-129, 0), Some(9));
        assert_eq!(bits_for_range(0, 0), Some(1));
        assert_eq!(bits_for_range(0, 1), Some(2));
        assert_eq!(bits_for_range(0, i128::from(i64::MAX) + 1), None);
    }
}
