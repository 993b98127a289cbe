//! Lattice ECP5 parts: the three LFE5U sizes, the packages each comes in,
//! and their capacities, so a package is checked before a long
//! place-and-route run and the I/O ports are checked against the pins the
//! package really has.

use super::{Device, SynthError};

/// An LFE5U (no SERDES) size, as nextpnr-ecp5's `--25k/--45k/--85k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecp5Size {
    K25,
    K45,
    K85,
}

/// A package and its user I/O pins.
struct Package {
    name: &'static str,
    io_pins: u64,
}

/// User I/O pins per package, as in the Project Trellis database that
/// nextpnr-ecp5 ships (`database/ECP5/<part>/iodb.json`, the pins of each
/// package) and the ECP5 family data sheet (FPGA-DS-02012, table 1.1).
/// nextpnr places unconstrained ports on any of the die's I/O sites (its
/// report counts 197 for every 25k package), so the package's own count
/// decides whether the ports fit.
const PACKAGES_25K: &[Package] = &[
    Package {
        name: "CABGA256",
        io_pins: 197,
    },
    Package {
        name: "CABGA381",
        io_pins: 197,
    },
    Package {
        name: "CSFBGA285",
        io_pins: 118,
    },
    Package {
        name: "TQFP144",
        io_pins: 98,
    },
];
const PACKAGES_45K: &[Package] = &[
    Package {
        name: "CABGA256",
        io_pins: 197,
    },
    Package {
        name: "CABGA381",
        io_pins: 203,
    },
    Package {
        name: "CABGA554",
        io_pins: 245,
    },
    Package {
        name: "CSFBGA285",
        io_pins: 118,
    },
    Package {
        name: "TQFP144",
        io_pins: 98,
    },
];
const PACKAGES_85K: &[Package] = &[
    Package {
        name: "CABGA381",
        io_pins: 205,
    },
    Package {
        name: "CABGA554",
        io_pins: 259,
    },
    Package {
        name: "CABGA756",
        io_pins: 365,
    },
    Package {
        name: "CSFBGA285",
        io_pins: 118,
    },
];

impl Ecp5Size {
    /// The part name, e.g. `LFE5U-45F`.
    pub fn part(self) -> &'static str {
        match self {
            Ecp5Size::K25 => "LFE5U-25F",
            Ecp5Size::K45 => "LFE5U-45F",
            Ecp5Size::K85 => "LFE5U-85F",
        }
    }

    /// nextpnr-ecp5's option for this size.
    pub fn nextpnr_flag(self) -> &'static str {
        match self {
            Ecp5Size::K25 => "--25k",
            Ecp5Size::K45 => "--45k",
            Ecp5Size::K85 => "--85k",
        }
    }

    fn packages(self) -> &'static [Package] {
        match self {
            Ecp5Size::K25 => PACKAGES_25K,
            Ecp5Size::K45 => PACKAGES_45K,
            Ecp5Size::K85 => PACKAGES_85K,
        }
    }

    /// Logic capacity: slices' LUT4s and FFs (TRELLIS_COMB, TRELLIS_FF),
    /// 18 kbit DP16KD block RAMs and MULT18X18D multipliers, the
    /// `available` counts of nextpnr-ecp5's report for each size.
    fn capacity(self) -> (u64, u64, u64) {
        match self {
            Ecp5Size::K25 => (24_288, 56, 28),
            Ecp5Size::K45 => (43_848, 108, 72),
            Ecp5Size::K85 => (83_640, 208, 156),
        }
    }
}

/// An ECP5 part in a package; built only through [`Ecp5Part::new`], so the
/// package is one nextpnr-ecp5 accepts for the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ecp5Part {
    pub size: Ecp5Size,
    package: &'static str,
    io_pins: u64,
}

impl Ecp5Part {
    /// The LFE5U-45F in a CABGA381, nextpnr-ecp5's default package.
    pub const DEFAULT_PACKAGE: &'static str = "CABGA381";

    /// `package` is matched without regard to case (`cabga381`).
    pub fn new(size: Ecp5Size, package: &str) -> Result<Ecp5Part, SynthError> {
        let found = size
            .packages()
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(package));
        match found {
            Some(p) => Ok(Ecp5Part {
                size,
                package: p.name,
                io_pins: p.io_pins,
            }),
            None => Err(SynthError::UnknownPackage {
                package: package.to_string(),
                part: size.part(),
                packages: size
                    .packages()
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    pub fn package(self) -> &'static str {
        self.package
    }

    /// User I/O pins of the package.
    pub fn io_pins(self) -> u64 {
        self.io_pins
    }

    /// The part as a reference device for the fit.
    pub fn device(self) -> Device {
        let (luts, dp16kd, mult18) = self.size.capacity();
        Device {
            name: self.size.part(),
            package: Some(self.package),
            luts,
            ffs: luts,
            bram_bits: dp16kd * 18_432,
            dsps: mult18,
            io_pins: Some(self.io_pins),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_checked_per_size_and_the_error_lists_the_real_ones() {
        let part = Ecp5Part::new(Ecp5Size::K45, "cabga381").unwrap();
        assert_eq!((part.package(), part.io_pins()), ("CABGA381", 203));
        assert_eq!(part.device().name, "LFE5U-45F");
        let err = Ecp5Part::new(Ecp5Size::K85, "TQFP144").unwrap_err();
        assert_eq!(
            err.to_string(),
            "package TQFP144 is not one nextpnr-ecp5 knows for the LFE5U-85F; \
             it comes in CABGA381, CABGA554, CABGA756, CSFBGA285"
        );
        let err = Ecp5Part::new(Ecp5Size::K25, "BGA999").unwrap_err();
        assert_eq!(
            err.to_string(),
            "package BGA999 is not one nextpnr-ecp5 knows for the LFE5U-25F; \
             it comes in CABGA256, CABGA381, CSFBGA285, TQFP144"
        );
    }

    #[test]
    fn capacities_are_nextpnrs() {
        let d = Ecp5Part::new(Ecp5Size::K25, "CABGA381").unwrap().device();
        assert_eq!((d.luts, d.bram_bits / 18_432, d.dsps), (24_288, 56, 28));
    }
}
