//! Burst spikes (docs/ecc.md "Burst spikes", docs/fixed-point.md §4.2): an
//! IF neuron fires and subtracts its threshold up to `burst` times a step.
//! The layer step (float or integer) fires the first spike of every neuron;
//! this adds the rest, the same for both arithmetics (subtracting the
//! threshold is exact in either: `V >= theta > 0`).

/// Whether step `t` (from 1) may burst when bursts begin after `after`
/// steps (`SnnModel::burst_after`): the one rule the simulators, the
/// calibration and the design all follow.
pub fn bursting(t: usize, after: u32) -> bool {
    t > after as usize
}

/// The most spikes a neuron with burst `burst` emits in `steps` steps when
/// bursts begin after `after`: one a step before, `burst` after.
pub fn most_spikes(burst: u32, after: u32, steps: usize) -> usize {
    let single = steps.min(after as usize);
    single + (steps - single) * burst as usize
}

/// Up to `more` further passes over a layer that has fired once this step,
/// each firing (and subtracting `theta` from) every neuron still at or above
/// it. A neuron that fired `k` times appears `k` times in `spikes`: each
/// pass appends its indices in increasing order after the previous ones, so
/// a scatter adds the weight `k` times and a gate's counts grow by `k`.
/// A pass that fires nobody ends the burst (bursts are rare, so the first
/// extra pass usually does).
pub fn fire_again<T>(v: &mut [T], theta: T, more: u32, spikes: &mut Vec<u32>)
where
    T: Copy + PartialOrd + std::ops::SubAssign,
{
    for _ in 0..more {
        let before = spikes.len();
        for (i, x) in v.iter_mut().enumerate() {
            if *x >= theta {
                *x -= theta;
                spikes.push(i as u32);
            }
        }
        if spikes.len() == before {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pass_fires_the_neurons_still_at_the_threshold() {
        // After the first spike: 0.5 stays, 1.0 fires once more, 2.5 twice
        // more with two passes left (0.5 left over), 7 three times with
        // three passes left (4 left over: the burst clips it).
        let mut v = vec![0.5f32, 1.0, 2.5, 7.0];
        let mut spikes = vec![1, 2, 3];
        fire_again(&mut v, 1.0, 3, &mut spikes);
        assert_eq!(spikes, vec![1, 2, 3, 1, 2, 3, 2, 3, 3]);
        assert_eq!(v, vec![0.5, 0.0, 0.5, 4.0]);
        // Integers, and no further pass once one fires nobody.
        let mut v = vec![9i64, 3];
        let mut spikes = vec![];
        fire_again(&mut v, 4, 5, &mut spikes);
        assert_eq!(spikes, vec![0, 0]);
        assert_eq!(v, vec![1, 3]);
    }

    #[test]
    fn bursts_begin_after_the_delay_and_count_toward_the_most_spikes() {
        assert!(!bursting(2, 2) && bursting(3, 2) && bursting(1, 0));
        assert_eq!(most_spikes(3, 2, 6), 2 + 4 * 3);
        assert_eq!(most_spikes(3, 64, 16), 16);
        assert_eq!(most_spikes(1, 0, 16), 16);
    }
}
