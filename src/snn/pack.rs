//! Left-packing the indices of the neurons that fired, four lanes at a
//! time, without a branch per neuron (shared by the float and the integer
//! IF steps: whether a neuron fires is close to random, and a mispredicted
//! branch per spike cost more than the arithmetic around it).

/// For each 4-bit fire mask: the fired lanes, left-packed.
const PACK: [[u32; 4]; 16] = {
    let mut t = [[0u32; 4]; 16];
    let mut m = 0;
    while m < 16 {
        let (mut n, mut lane) = (0, 0);
        while lane < 4 {
            if m & (1 << lane) != 0 {
                t[m][n] = lane as u32;
                n += 1;
            }
            lane += 1;
        }
        m += 1;
    }
    t
};

const POPCOUNT: [u8; 16] = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/// Write `base + lane` for each set bit of the 4-bit `mask` to
/// `out[0..]`, in increasing order; returns how many were written.
///
/// # Safety
/// `out` must be valid for writing four `u32` (all four are written).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn pack_quad(mask: usize, base: u32, out: *mut u32) -> usize {
    use std::arch::x86_64::*;
    let lanes = _mm_loadu_si128(PACK[mask & 15].as_ptr().cast());
    let idx = _mm_add_epi32(lanes, _mm_set1_epi32(base as i32));
    _mm_storeu_si128(out.cast(), idx);
    usize::from(POPCOUNT[mask & 15])
}
