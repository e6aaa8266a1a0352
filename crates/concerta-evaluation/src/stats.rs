//! Statistics for the baseline questionnaire: the network's median and quartiles per
//! question.
//!
//! Quartiles are interpolated linearly between order statistics (Hyndman and Fan's type 7,
//! what spreadsheets call `QUARTILE.INC` and numpy's default), so three answers 1, 2, 4 give
//! Q1 = 1.5, median = 2, Q3 = 3.

use serde::Serialize;

/// How a question was answered across the network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// How many answers.
    pub count: usize,
    /// Smallest answer.
    pub min: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Largest answer.
    pub max: f64,
}

/// The fewest answers a question needs before the network's spread is shown: with fewer,
/// the median of two cities would reveal each city's answer to the other.
pub const MIN_ANSWERS_FOR_SPREAD: usize = 3;

/// The `p`-quantile (0 ≤ p ≤ 1) of sorted values, type 7.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The spread of `values` (non-finite ones ignored), or `None` with fewer than
/// [`MIN_ANSWERS_FOR_SPREAD`].
pub fn spread(values: &[f64]) -> Option<Spread> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.len() < MIN_ANSWERS_FOR_SPREAD {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(Spread {
        count: sorted.len(),
        min: sorted[0],
        q1: quantile(&sorted, 0.25),
        median: quantile(&sorted, 0.5),
        q3: quantile(&sorted, 0.75),
        max: sorted[sorted.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples() {
        let s = spread(&[4.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.count, s.min, s.q1, s.median, s.q3, s.max), (3, 1.0, 1.5, 2.0, 3.0, 4.0));
        let s = spread(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((s.q1, s.median, s.q3), (1.75, 2.5, 3.25));
        assert_eq!(spread(&[1.0, 2.0]), None, "two answers stay private");
        assert_eq!(spread(&[1.0, f64::NAN, 2.0]), None);
    }

    proptest::proptest! {
        #[test]
        fn quartiles_are_ordered(values in proptest::collection::vec(-1e6f64..1e6, 3..50)) {
            let s = spread(&values).unwrap();
            proptest::prop_assert!(s.min <= s.q1 && s.q1 <= s.median && s.median <= s.q3 && s.q3 <= s.max);
        }
    }
}
