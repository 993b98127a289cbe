//! Early cutoff (SNNCutoff, Wu et al. 2023): an image stops at the first
//! step whose read-out margin (top-1 minus top-2) reaches a threshold. The
//! rule is docs/fixed-point.md §4.6; the float and the integer simulators
//! apply it through `lead` and `reached`, and the hardware implements the
//! same integer comparison, so it stops on the integer simulator's step.
//!
//! The threshold can also be chosen (`choose_margin`): from every step's
//! lead on calibration images, the smallest margin whose early answers agree
//! with the full-length answers on a stated fraction of them.

use std::fmt::Debug;

/// The read-out after a step: the class it names and by how much.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lead<M> {
    /// The first index holding the largest value (ties to the lowest index,
    /// as `reference::argmax`).
    pub class: usize,
    /// Largest value minus the largest value of every other index (0 when
    /// tied), in the read-out's unit.
    pub margin: M,
}

/// A margin of the read-out's unit: `f64` for the float simulator (potential
/// units or spikes), raw `i64` for the integer one.
pub trait Margin: Copy + PartialOrd + Send + Sync + Debug + 'static {
    /// Whether the value can be a cutoff threshold: positive (and finite).
    /// A margin of 0 would stop every image after its first step.
    fn usable(self) -> bool;
    /// As a float, for reports only (never for the rule itself).
    fn to_f64(self) -> f64;
}

impl Margin for f64 {
    fn usable(self) -> bool {
        self.is_finite() && self > 0.0
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl Margin for i64 {
    fn usable(self) -> bool {
        self > 0
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// The lead of read-out values `v` (docs/fixed-point.md §4.6), with
/// `gap(top1, top2)` computing the margin exactly in the margin's type.
/// `None` for fewer than 2 values: a single output has no runner-up, so it
/// never stops early.
pub fn lead<T: Copy + PartialOrd, M>(v: &[T], gap: impl Fn(T, T) -> M) -> Option<Lead<M>> {
    if v.len() < 2 {
        return None;
    }
    // The same scan as `reference::argmax`: strictly greater replaces, so a
    // tie keeps the lowest index.
    let mut class = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[class] {
            class = i;
        }
    }
    let mut runner_up: Option<T> = None;
    for (i, &x) in v.iter().enumerate() {
        if i != class && runner_up.is_none_or(|r| x > r) {
            runner_up = Some(x);
        }
    }
    let top2 = runner_up.expect("at least two values");
    Some(Lead {
        class,
        margin: gap(v[class], top2),
    })
}

/// The lead of float read-out values (potentials, or spike counts as
/// floats): the difference of two `f32` is exact in `f64`.
pub fn lead_f32(v: &[f32]) -> Option<Lead<f64>> {
    lead(v, |a, b| f64::from(a) - f64::from(b))
}

/// The lead of spike counts in the float simulator's unit (spikes).
pub fn lead_counts_f64(v: &[u32]) -> Option<Lead<f64>> {
    lead(v, |a, b| f64::from(a) - f64::from(b))
}

/// The lead of raw integer read-out values. `top1 - top2 >= 0` needs one
/// bit more than the membrane; it saturates at `i64::MAX`, which changes no
/// comparison with an `i64` margin.
pub fn lead_raw(v: &[i64]) -> Option<Lead<i64>> {
    lead(v, i64::saturating_sub)
}

/// Whether an image stops after a step with this lead: the read-out has at
/// least 2 neurons and `top1 - top2 >= margin` (docs/fixed-point.md §4.6).
pub fn reached<M: PartialOrd>(lead: Option<&Lead<M>>, margin: &M) -> bool {
    lead.is_some_and(|l| l.margin >= *margin)
}

/// What a simulator does with the read-out's lead after each step.
#[derive(Debug)]
pub struct Watch<'a, M> {
    /// Stop at the first step whose margin reaches this (§4.6).
    pub cutoff: Option<M>,
    /// Record the lead after every step run (nothing for a 1-neuron
    /// read-out, which has none).
    pub leads: Option<&'a mut Vec<Lead<M>>>,
}

impl<M: Margin> Watch<'_, M> {
    /// Run to full length, recording nothing.
    pub fn none() -> Self {
        Watch {
            cutoff: None,
            leads: None,
        }
    }

    /// Stop at `cutoff` if given.
    pub fn stop(cutoff: Option<M>) -> Self {
        Watch {
            cutoff,
            leads: None,
        }
    }

    /// Whether the simulator needs the lead at all (it costs a scan of the
    /// read-out per step).
    pub fn active(&self) -> bool {
        self.cutoff.is_some() || self.leads.is_some()
    }

    /// Take the lead after a step: record it; whether the image stops here.
    pub fn step(&mut self, lead: Option<Lead<M>>) -> bool {
        if let (Some(leads), Some(l)) = (self.leads.as_deref_mut(), lead) {
            leads.push(l);
        }
        self.cutoff
            .is_some_and(|margin| reached(lead.as_ref(), &margin))
    }
}

/// Why a cutoff margin could not be used or chosen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CutoffError {
    #[error("the cutoff margin must be a positive finite number, got {0}")]
    BadMargin(f64),
    #[error("the cutoff agreement must be in (0, 1], got {0}")]
    BadAgreement(f64),
    #[error("no images to choose a cutoff margin on")]
    NoImages,
    #[error(
        "the read-out has a single neuron: with no runner-up there is no margin, so a cutoff \
         never stops early"
    )]
    SingleOutput,
    #[error(
        "no read-out margin on the calibration images reached a positive value: the answers are \
         tied at every step, so no cutoff can stop early"
    )]
    NoCandidates,
    #[error(
        "no margin seen on the calibration images gives {wanted} agreement with the full-length \
         answers (the best, margin {margin}, gives {best}); ask for less agreement or give a margin"
    )]
    Unreachable { wanted: f64, best: f64, margin: f64 },
}

/// One calibration image's run to full length, as `choose_margin` needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTrack<M> {
    /// The lead after each step `1..=T` (empty for a 1-neuron read-out).
    pub leads: Vec<Lead<M>>,
    /// The class after all `T` steps: the answer without a cutoff.
    pub full: usize,
}

impl<M: Margin> LeadTrack<M> {
    /// Where this image stops with `margin` (steps run, class), `T` and the
    /// full-length class if it never reaches it.
    pub fn stop(&self, margin: M, timesteps: usize) -> (usize, usize) {
        self.leads
            .iter()
            .position(|l| reached(Some(l), &margin))
            .map_or((timesteps, self.full), |i| (i + 1, self.leads[i].class))
    }
}

/// A chosen margin and what it does on the images it was chosen on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginChoice<M> {
    pub margin: M,
    /// Fraction of the images whose cutoff class equals the full-length one.
    pub agreement: f64,
    /// Mean steps run per image with the cutoff.
    pub mean_timesteps: f64,
}

/// The smallest margin whose cutoff answers agree with the full-length
/// answers on at least `agreement` of the images (SNNCutoff's calibration).
///
/// Only margins that occur can change an answer, so the candidates are the
/// sorted distinct positive margins seen at any step of any image. An
/// image's outcome changes only at its running maximum's records: with
/// `margin` in `(r_(k-1), r_k]` it stops at record `k`'s step; above every
/// record it runs to `T`, so each image adds its outcome to a range of
/// candidates (difference arrays): O(records log candidates), not
/// O(images x candidates).
///
/// No candidate may agree well enough: the largest still stops each image
/// that reaches it, at its largest lead, which can name another class than
/// the full-length answer. Then the error names the best candidate.
pub fn choose_margin<M: Margin>(
    tracks: &[LeadTrack<M>],
    timesteps: usize,
    agreement: f64,
) -> Result<MarginChoice<M>, CutoffError> {
    if !(agreement > 0.0 && agreement <= 1.0) {
        return Err(CutoffError::BadAgreement(agreement));
    }
    if tracks.is_empty() {
        return Err(CutoffError::NoImages);
    }
    // A lead exists after every step of a read-out with 2 or more neurons.
    if tracks.iter().all(|t| t.leads.is_empty()) && timesteps > 0 {
        return Err(CutoffError::SingleOutput);
    }
    let mut candidates: Vec<M> = tracks
        .iter()
        .flat_map(|t| t.leads.iter().map(|l| l.margin))
        .filter(|m| m.usable())
        .collect();
    // Usable margins are ordered (no NaN), so partial_cmp always answers.
    candidates.sort_by(|a, b| a.partial_cmp(b).expect("usable margins are ordered"));
    candidates.dedup();
    if candidates.is_empty() {
        return Err(CutoffError::NoCandidates);
    }
    let k = candidates.len();
    // agree[i] and steps[i] accumulate over images for candidate i, as
    // differences: range [lo, hi) adds at lo and subtracts at hi.
    let mut agree = vec![0i64; k + 1];
    let mut steps = vec![0i64; k + 1];
    // First candidate index strictly above `x`.
    let above = |x: M| candidates.partition_point(|c| *c <= x);
    for track in tracks {
        let mut lo = 0;
        let mut best: Option<M> = None;
        for (i, l) in track.leads.iter().enumerate() {
            if best.is_some_and(|b| l.margin <= b) {
                continue;
            }
            best = Some(l.margin);
            // Candidates in (previous record, this record] stop here.
            let hi = above(l.margin);
            if hi > lo {
                let ok = i64::from(l.class == track.full);
                agree[lo] += ok;
                agree[hi] -= ok;
                steps[lo] += (i + 1) as i64;
                steps[hi] -= (i + 1) as i64;
                lo = hi;
            }
        }
        // Above every record: runs to T and agrees by definition.
        agree[lo] += 1;
        agree[k] -= 1;
        steps[lo] += timesteps as i64;
        steps[k] -= timesteps as i64;
    }
    let n = tracks.len() as f64;
    let (mut a, mut s) = (0i64, 0i64);
    let mut best: Option<MarginChoice<M>> = None;
    for i in 0..k {
        a += agree[i];
        s += steps[i];
        let choice = MarginChoice {
            margin: candidates[i],
            agreement: a as f64 / n,
            mean_timesteps: s as f64 / n,
        };
        if choice.agreement >= agreement {
            return Ok(choice);
        }
        if best.is_none_or(|b| choice.agreement > b.agreement) {
            best = Some(choice);
        }
    }
    let best = best.expect("at least one candidate");
    Err(CutoffError::Unreachable {
        wanted: agreement,
        best: best.agreement,
        margin: best.margin.to_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lowest_index_and_have_zero_margin() {
        let l = lead_f32(&[1.0, 3.0, 3.0, 2.0]).unwrap();
        assert_eq!(
            l,
            Lead {
                class: 1,
                margin: 0.0
            }
        );
        let l = lead_raw(&[5i64, -2, 5]).unwrap();
        assert_eq!(
            l,
            Lead {
                class: 0,
                margin: 0
            }
        );
        // Not tied: top2 is the largest of the others, wherever it is.
        let l = lead_raw(&[4i64, 9, -1, 7]).unwrap();
        assert_eq!(
            l,
            Lead {
                class: 1,
                margin: 2
            }
        );
        let l = lead_raw(&[9i64, 1, 7]).unwrap();
        assert_eq!(
            l,
            Lead {
                class: 0,
                margin: 2
            }
        );
    }

    #[test]
    fn a_single_output_never_stops() {
        assert_eq!(lead_f32(&[7.5]), None);
        assert_eq!(lead_raw(&[100i64]), None);
        assert!(!reached(lead_raw(&[100i64]).as_ref(), &1));
        assert!(!reached::<i64>(None, &i64::MIN));
    }

    #[test]
    fn the_margin_reached_exactly_stops() {
        let l = lead_raw(&[10i64, 3]);
        assert!(reached(l.as_ref(), &7));
        assert!(!reached(l.as_ref(), &8));
        let l = lead_f32(&[0.75, 0.25]);
        assert!(reached(l.as_ref(), &0.5));
        assert!(!reached(l.as_ref(), &0.500_000_1));
    }

    #[test]
    fn counts_and_potentials_use_their_own_unit() {
        // Spike counts: the margin is in spikes.
        let l = lead_counts_f64(&[3, 7, 5]).unwrap();
        assert_eq!(
            l,
            Lead {
                class: 1,
                margin: 2.0
            }
        );
        // Potentials: the f32 difference is exact in f64 (no rounding of a
        // small gap between large values).
        let (a, b) = (16_777_216.0f32, 16_777_214.0f32);
        assert_eq!(lead_f32(&[b, a]).unwrap().margin, 2.0);
        let tiny = lead_f32(&[1.0 + f32::EPSILON, 1.0]).unwrap().margin;
        assert_eq!(tiny, f64::from(f32::EPSILON));
    }

    #[test]
    fn the_raw_margin_saturates_instead_of_overflowing() {
        let l = lead_raw(&[i64::MAX, i64::MIN]).unwrap();
        assert_eq!(l.margin, i64::MAX);
        assert!(reached(Some(&l), &i64::MAX));
    }

    fn track(leads: &[(usize, i64)], full: usize) -> LeadTrack<i64> {
        LeadTrack {
            leads: leads
                .iter()
                .map(|&(class, margin)| Lead { class, margin })
                .collect(),
            full,
        }
    }

    /// Every candidate by brute force: the smallest whose agreement holds.
    fn brute(tracks: &[LeadTrack<i64>], t: usize, target: f64) -> Option<MarginChoice<i64>> {
        let mut c: Vec<i64> = tracks
            .iter()
            .flat_map(|t| t.leads.iter().map(|l| l.margin))
            .filter(|&m| m > 0)
            .collect();
        c.sort_unstable();
        c.dedup();
        for m in c {
            let stops: Vec<(usize, usize)> = tracks.iter().map(|tr| tr.stop(m, t)).collect();
            let n = tracks.len() as f64;
            let choice = MarginChoice {
                margin: m,
                agreement: tracks
                    .iter()
                    .zip(&stops)
                    .filter(|(tr, s)| s.1 == tr.full)
                    .count() as f64
                    / n,
                mean_timesteps: stops.iter().map(|s| s.0 as f64).sum::<f64>() / n,
            };
            if choice.agreement >= target {
                return Some(choice);
            }
        }
        None
    }

    #[test]
    fn choose_margin_takes_the_smallest_margin_that_agrees() {
        // Image 0 leads with the wrong class by 2 at step 1, then the right
        // one by 5; image 1 is right from the start.
        let tracks = [
            track(&[(3, 2), (1, 1), (1, 5), (1, 6)], 1),
            track(&[(0, 4), (0, 8), (0, 9), (0, 9)], 0),
        ];
        // Margin 2 stops image 0 at step 1 with class 3: half agree.
        let half = choose_margin(&tracks, 4, 0.5).unwrap();
        assert_eq!(half.margin, 1);
        assert_eq!(half.agreement, 0.5);
        assert_eq!(half.mean_timesteps, 1.0);
        // All must agree: margin 3 (above the wrong lead of 2), image 0
        // stops at step 3 (lead 5), image 1 at step 1 (lead 4).
        let all = choose_margin(&tracks, 4, 1.0).unwrap();
        assert_eq!(
            all,
            MarginChoice {
                margin: 4,
                agreement: 1.0,
                mean_timesteps: 2.0
            }
        );
        assert_eq!(Some(all), brute(&tracks, 4, 1.0));
    }

    #[test]
    fn choose_margin_equals_brute_force_on_random_tracks() {
        let mut seed = 7u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % m
        };
        for _ in 0..200 {
            let t = 1 + next(12) as usize;
            let tracks: Vec<LeadTrack<i64>> = (0..1 + next(20))
                .map(|_| {
                    let leads: Vec<(usize, i64)> =
                        (0..t).map(|_| (next(3) as usize, next(9) as i64)).collect();
                    let full = leads[t - 1].0;
                    track(&leads, full)
                })
                .collect();
            for target in [0.5, 0.8, 0.95, 1.0] {
                match choose_margin(&tracks, t, target) {
                    Ok(c) => assert_eq!(Some(c), brute(&tracks, t, target)),
                    Err(CutoffError::Unreachable { best, .. }) => {
                        assert!(best < target);
                        assert_eq!(brute(&tracks, t, target), None);
                    }
                    Err(e) => assert_eq!(e, CutoffError::NoCandidates),
                }
            }
        }
    }

    #[test]
    fn choose_margin_refuses_what_it_cannot_use() {
        let tied = [track(&[(0, 0), (0, 0)], 0)];
        assert_eq!(choose_margin(&tied, 2, 0.9), Err(CutoffError::NoCandidates));
        assert_eq!(
            choose_margin::<i64>(&[], 2, 0.9),
            Err(CutoffError::NoImages)
        );
        assert_eq!(
            choose_margin(&tied, 2, 0.0),
            Err(CutoffError::BadAgreement(0.0))
        );
        assert!(choose_margin(&tied, 2, f64::NAN).is_err());
        assert_eq!(
            choose_margin(&[track(&[], 0)], 2, 0.9),
            Err(CutoffError::SingleOutput)
        );
        // The only lead names another class than the full-length answer.
        let wrong = [track(&[(2, 3), (0, 0)], 0)];
        assert_eq!(
            choose_margin(&wrong, 2, 1.0),
            Err(CutoffError::Unreachable {
                wanted: 1.0,
                best: 0.0,
                margin: 3.0
            })
        );
    }
}
