//! The simulation lengths a data-set run reports: at least one, each a
//! positive number of steps, ascending without repeats. One image is run to
//! the longest and read out at each (a shorter `T` is a prefix of a longer
//! run), so the list is valid once, here, rather than checked by every
//! simulator.

use std::fmt;
use std::ops::Deref;

/// A non-empty, strictly ascending list of positive timestep counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timesteps(Vec<usize>);

/// Why a list of timesteps is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestepsError {
    #[error("no timesteps given: a run needs at least one length")]
    Empty,
    #[error("a run of 0 timesteps reads nothing out: timesteps must be positive")]
    Zero,
}

impl Timesteps {
    /// The lengths in `list`, in ascending order without repeats (the order
    /// given does not matter: reports are per length).
    pub fn new(mut list: Vec<usize>) -> Result<Timesteps, TimestepsError> {
        list.sort_unstable();
        list.dedup();
        match list.first() {
            None => Err(TimestepsError::Empty),
            Some(0) => Err(TimestepsError::Zero),
            Some(_) => Ok(Timesteps(list)),
        }
    }

    /// A single length.
    pub fn one(t: usize) -> Result<Timesteps, TimestepsError> {
        Timesteps::new(vec![t])
    }

    /// The longest length (what each image is run to).
    pub fn longest(&self) -> usize {
        // Never empty by construction.
        self.0[self.0.len() - 1]
    }
}

impl Deref for Timesteps {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.0
    }
}

impl fmt::Display for Timesteps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&list.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_deduplicated_and_positive() {
        let t = Timesteps::new(vec![64, 16, 64, 32]).unwrap();
        assert_eq!(&*t, &[16, 32, 64]);
        assert_eq!(t.longest(), 64);
        assert_eq!(t.to_string(), "16,32,64");
        assert_eq!(Timesteps::new(vec![]), Err(TimestepsError::Empty));
        assert_eq!(Timesteps::new(vec![4, 0]), Err(TimestepsError::Zero));
        assert_eq!(Timesteps::one(0), Err(TimestepsError::Zero));
    }
}
