//! The clock that latency and throughput are quoted at: the routed Fmax
//! when a router placed the design, or a clock the user states.

use super::Routed;

/// Where a clock comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockSource {
    /// The Fmax `router` reached after routing on `device`.
    Routed {
        router: &'static str,
        device: &'static str,
    },
    /// Stated by the user, not checked against any routing.
    Assumed,
}

/// A clock frequency and its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    pub mhz: f64,
    pub source: ClockSource,
}

/// Latency and throughput of one input at a clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub latency_us: f64,
    pub images_per_s: f64,
}

/// A stated clock wins (the user asked for it); otherwise the routed Fmax,
/// if there is one.
pub fn choose_clock(assumed_mhz: Option<f64>, routed: Option<&Routed>) -> Option<Clock> {
    if let Some(mhz) = assumed_mhz {
        return Some(Clock {
            mhz,
            source: ClockSource::Assumed,
        });
    }
    let routed = routed?;
    routed.fmax_mhz.map(|mhz| Clock {
        mhz,
        source: ClockSource::Routed {
            router: routed.router,
            device: routed.device,
        },
    })
}

impl Clock {
    /// `cycles_per_image` cycles at this clock: cycles / MHz microseconds,
    /// MHz * 1e6 / cycles inputs per second.
    pub fn throughput(&self, cycles_per_image: f64) -> Throughput {
        Throughput {
            latency_us: cycles_per_image / self.mhz,
            images_per_s: self.mhz * 1e6 / cycles_per_image,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(fmax_mhz: Option<f64>) -> Routed {
        Routed {
            router: "nextpnr-ecp5",
            device: "LFE5U-45F",
            package: "CABGA381",
            fmax_mhz,
            clock: None,
            place_error: None,
            utilization: Vec::new(),
            log: "nextpnr-ecp5.log".into(),
        }
    }

    #[test]
    fn routed_fmax_unless_a_clock_is_stated() {
        let r = routed(Some(118.3));
        let clock = choose_clock(None, Some(&r)).unwrap();
        assert_eq!(
            clock.source,
            ClockSource::Routed {
                router: "nextpnr-ecp5",
                device: "LFE5U-45F"
            }
        );
        assert_eq!(clock.mhz, 118.3);
        let clock = choose_clock(Some(50.0), Some(&r)).unwrap();
        assert_eq!((clock.mhz, clock.source), (50.0, ClockSource::Assumed));
        assert_eq!(choose_clock(None, Some(&routed(None))), None);
        assert_eq!(choose_clock(None, None), None);
    }

    #[test]
    fn throughput_is_clock_over_cycles() {
        let clock = Clock {
            mhz: 100.0,
            source: ClockSource::Assumed,
        };
        let t = clock.throughput(376_957.0);
        assert!((t.latency_us - 3769.57).abs() < 1e-9);
        assert!((t.images_per_s - 265.2822).abs() < 1e-3);
    }
}
