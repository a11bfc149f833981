//! Tracking arithmetic (keepalived's `track_interface`, `track_script`, `track_file`): what a
//! tracked object in a given condition does to an instance, the effective priority that results,
//! and the rise/fall hysteresis of track scripts. Pure: the daemon observes the objects and feeds
//! their conditions in; the instance receives the verdict.
//!
//! keepalived's rules, mirrored exactly:
//! - An up/down object (interface, script) with weight 0 puts the instance in FAULT while it is
//!   down (`reverse`: while it is up).
//! - A positive weight is added while the object is up, a negative weight while it is down;
//!   `reverse` negates what is added.
//! - A track file holds an integer. Weight 0: a non-zero value means FAULT (`reverse`: zero
//!   means FAULT). Otherwise value × weight (negated with `reverse`) is added, capped at 253;
//!   -254 or less means FAULT.
//! - Effective priority = base + the sum, clamped to 1..=254; an address owner (base 255) keeps
//!   255 whatever the weights (only FAULT applies to it).

use std::fmt;

use super::instance::PRIORITY_OWNER;

/// How much a tracked object weighs on an instance, and in which direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Weight {
    /// 0 = the object's failure is a FAULT; else a priority adjustment.
    pub weight: i32,
    /// keepalived's `reverse`: the adjustment (or the FAULT) applies the other way round.
    pub reverse: bool,
}

impl Weight {
    pub const FAULT_ONLY: Weight = Weight {
        weight: 0,
        reverse: false,
    };

    pub fn new(weight: i32, reverse: bool) -> Weight {
        Weight { weight, reverse }
    }

    fn multiplier(self) -> i64 {
        if self.reverse {
            -1
        } else {
            1
        }
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "weight {}", self.weight)?;
        if self.reverse {
            f.write_str(" reverse")?;
        }
        Ok(())
    }
}

/// The state of an up/down tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    Up,
    Down,
    /// A track script that has not reported yet (and has no `init_fail`).
    Pending,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Up => "up",
            Condition::Down => "down",
            Condition::Pending => "pending",
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one tracked object does to an instance right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The instance must be in FAULT.
    Fault,
    /// A weight-0 object whose state is not known yet: the instance must not take over as the
    /// address owner at once (keepalived waits for such scripts' first result).
    Pending,
    /// Add this to the base priority (0 = no effect).
    Adjust(i32),
}

/// The largest adjustment one track file can make (keepalived's cap).
pub const FILE_MAX_ADJUST: i64 = 253;
/// A track file result at or below this is a FAULT.
pub const FILE_FAULT_AT: i64 = -254;

/// The effect of an interface or script in `condition`.
pub fn condition_effect(weight: Weight, condition: Condition) -> Effect {
    if weight.weight == 0 {
        return match condition {
            Condition::Pending => Effect::Pending,
            // Not reversed: down is a fault. Reversed: up is a fault.
            Condition::Up if weight.reverse => Effect::Fault,
            Condition::Down if !weight.reverse => Effect::Fault,
            Condition::Up | Condition::Down => Effect::Adjust(0),
        };
    }
    let applies = match condition {
        Condition::Pending => false,
        Condition::Up => weight.weight > 0,
        Condition::Down => weight.weight < 0,
    };
    if applies {
        Effect::Adjust(clamp_i32(i64::from(weight.weight) * weight.multiplier()))
    } else {
        Effect::Adjust(0)
    }
}

/// The effect of a track file holding `value`.
pub fn file_effect(weight: Weight, value: i64) -> Effect {
    if weight.weight == 0 {
        let faulty = (value != 0) != weight.reverse;
        return if faulty {
            Effect::Fault
        } else {
            Effect::Adjust(0)
        };
    }
    let product = value
        .saturating_mul(i64::from(weight.weight))
        .saturating_mul(weight.multiplier());
    if product <= FILE_FAULT_AT {
        Effect::Fault
    } else {
        Effect::Adjust(clamp_i32(product.min(FILE_MAX_ADJUST)))
    }
}

fn clamp_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// All tracked objects of an instance taken together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Verdict {
    pub fault: bool,
    pub pending: bool,
    /// Sum of the adjustments.
    pub adjust: i64,
}

impl Verdict {
    pub fn of(effects: impl IntoIterator<Item = Effect>) -> Verdict {
        effects
            .into_iter()
            .fold(Verdict::default(), |mut verdict, effect| {
                match effect {
                    Effect::Fault => verdict.fault = true,
                    Effect::Pending => verdict.pending = true,
                    Effect::Adjust(n) => verdict.adjust = verdict.adjust.saturating_add(n.into()),
                }
                verdict
            })
    }

    /// The effective priority for an instance of base priority `base`.
    pub fn priority(&self, base: u8) -> u8 {
        effective_priority(base, self.adjust)
    }
}

/// keepalived's effective priority: the owner keeps 255; everyone else gets base + adjust
/// clamped to 1..=254 (tracking can neither make an owner nor stop an instance).
pub fn effective_priority(base: u8, adjust: i64) -> u8 {
    if base == PRIORITY_OWNER {
        return PRIORITY_OWNER;
    }
    let total = i64::from(base).saturating_add(adjust);
    u8::try_from(total.clamp(1, i64::from(PRIORITY_OWNER) - 1)).unwrap_or(1)
}

/// The rise/fall hysteresis of one track script (keepalived's `result` counter).
///
/// The counter runs from 0 to rise + fall - 1; the script is up while it is at least `rise`.
/// From down, `rise` successes in a row bring it up (the counter then jumps to the top); from
/// the top, `fall` failures in a row bring it down (the counter then drops to 0). A script that
/// has not reported yet is [`Condition::Pending`] and its first result decides at once, unless
/// `init_fail` starts it down (then `rise` successes are needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptHealth {
    rise: u32,
    fall: u32,
    result: u32,
    reported: bool,
}

impl ScriptHealth {
    /// `rise` and `fall` below 1 count as 1.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> ScriptHealth {
        let rise = rise.max(1);
        let fall = fall.max(1);
        ScriptHealth {
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            reported: init_fail,
        }
    }

    pub fn condition(&self) -> Condition {
        if !self.reported {
            Condition::Pending
        } else if self.result >= self.rise {
            Condition::Up
        } else {
            Condition::Down
        }
    }

    fn top(&self) -> u32 {
        self.rise.saturating_add(self.fall).saturating_sub(1)
    }

    /// Records one run; returns true if the condition changed.
    pub fn record(&mut self, success: bool) -> bool {
        let before = self.condition();
        if success {
            // A script that has not reported sits at rise - 1: one success brings it up.
            if self.result + 1 < self.rise {
                self.result += 1;
            } else {
                self.result = self.top();
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            self.result = 0;
        }
        self.reported = true;
        self.condition() != before
    }
}

/// Reads a track file's text as keepalived does (`strtol(text, NULL, 0)`): leading white space,
/// an optional sign, then hexadecimal after `0x`, octal after `0`, else decimal, up to the first
/// character that does not fit; no digits at all reads as 0. `None`: the number does not fit in
/// 32 bits (keepalived then ignores the file's new contents).
pub fn parse_track_file(text: &str) -> Option<i64> {
    let bytes = text.trim_start().as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, bytes.get(1..).unwrap_or_default()),
        Some(b'+') => (false, bytes.get(1..).unwrap_or_default()),
        _ => (false, bytes),
    };
    let is_hex_prefix = matches!(rest, [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit());
    let (radix, digits) = if is_hex_prefix {
        (16, rest.get(2..).unwrap_or_default())
    } else if rest.first() == Some(&b'0') {
        (8, rest)
    } else {
        (10, rest)
    };
    let mut value: i64 = 0;
    for &byte in digits {
        let Some(digit) = char::from(byte).to_digit(radix) else {
            break;
        };
        value = value
            .checked_mul(i64::from(radix))?
            .checked_add(i64::from(digit))?;
        if value > i64::from(u32::MAX) {
            return None;
        }
    }
    let value = if negative { -value } else { value };
    // keepalived accepts INT32_MIN ..= INT32_MAX + 1.
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&value)
        .then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Condition = Condition::Up;
    const DOWN: Condition = Condition::Down;

    #[test]
    fn weight_zero_means_fault_when_down_or_when_up_reversed() {
        let plain = Weight::new(0, false);
        let reversed = Weight::new(0, true);
        assert_eq!(condition_effect(plain, DOWN), Effect::Fault);
        assert_eq!(condition_effect(plain, UP), Effect::Adjust(0));
        assert_eq!(condition_effect(reversed, UP), Effect::Fault);
        assert_eq!(condition_effect(reversed, DOWN), Effect::Adjust(0));
        assert_eq!(condition_effect(plain, Condition::Pending), Effect::Pending);
    }

    #[test]
    fn positive_weights_add_when_up_negative_subtract_when_down() {
        assert_eq!(
            condition_effect(Weight::new(10, false), UP),
            Effect::Adjust(10)
        );
        assert_eq!(
            condition_effect(Weight::new(10, false), DOWN),
            Effect::Adjust(0)
        );
        assert_eq!(
            condition_effect(Weight::new(-10, false), DOWN),
            Effect::Adjust(-10)
        );
        assert_eq!(
            condition_effect(Weight::new(-10, false), UP),
            Effect::Adjust(0)
        );
        // reverse: positive weights subtract when up, negative ones add when down.
        assert_eq!(
            condition_effect(Weight::new(10, true), UP),
            Effect::Adjust(-10)
        );
        assert_eq!(
            condition_effect(Weight::new(-10, true), DOWN),
            Effect::Adjust(10)
        );
        assert_eq!(
            condition_effect(Weight::new(-10, true), UP),
            Effect::Adjust(0)
        );
        // A weighted script without a result yet does nothing.
        for w in [10, -10] {
            assert_eq!(
                condition_effect(Weight::new(w, false), Condition::Pending),
                Effect::Adjust(0)
            );
        }
    }

    #[test]
    fn track_file_values_multiply_the_weight() {
        let w = Weight::new(10, false);
        assert_eq!(file_effect(w, 0), Effect::Adjust(0));
        assert_eq!(file_effect(w, 3), Effect::Adjust(30));
        assert_eq!(file_effect(w, -5), Effect::Adjust(-50));
        assert_eq!(file_effect(w, 100), Effect::Adjust(253), "capped");
        assert_eq!(file_effect(w, -25), Effect::Adjust(-250));
        assert_eq!(
            file_effect(Weight::new(1, false), -253),
            Effect::Adjust(-253)
        );
        assert_eq!(file_effect(Weight::new(1, false), -254), Effect::Fault);
        assert_eq!(file_effect(w, -26), Effect::Fault);
        assert_eq!(file_effect(Weight::new(10, true), 3), Effect::Adjust(-30));
        assert_eq!(file_effect(Weight::new(-2, false), 4), Effect::Adjust(-8));
        assert_eq!(
            file_effect(Weight::new(254, false), i64::from(i32::MAX) + 1),
            Effect::Adjust(253),
            "no overflow"
        );
    }

    #[test]
    fn track_file_weight_zero_is_fault_on_non_zero() {
        assert_eq!(file_effect(Weight::FAULT_ONLY, 0), Effect::Adjust(0));
        assert_eq!(file_effect(Weight::FAULT_ONLY, 1), Effect::Fault);
        assert_eq!(file_effect(Weight::FAULT_ONLY, -7), Effect::Fault);
        assert_eq!(file_effect(Weight::new(0, true), 0), Effect::Fault);
        assert_eq!(file_effect(Weight::new(0, true), 2), Effect::Adjust(0));
    }

    #[test]
    fn effective_priority_is_clamped_unless_owner() {
        assert_eq!(effective_priority(100, -30), 70);
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(100, -200), 1);
        assert_eq!(effective_priority(254, 1), 254);
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(255, 0), 255);
        assert_eq!(effective_priority(1, i64::MIN), 1);
        assert_eq!(effective_priority(1, i64::MAX), 254);
    }

    #[test]
    fn verdict_sums_adjustments_and_flags_faults() {
        let v = Verdict::of([Effect::Adjust(-20), Effect::Adjust(5), Effect::Adjust(0)]);
        assert_eq!(
            v,
            Verdict {
                fault: false,
                pending: false,
                adjust: -15
            }
        );
        assert_eq!(v.priority(100), 85);
        let v = Verdict::of([Effect::Adjust(10), Effect::Fault, Effect::Pending]);
        assert!(v.fault && v.pending);
        assert_eq!(Verdict::of([]).priority(100), 100);
    }

    #[test]
    fn first_script_result_decides_at_once() {
        for (rise, fall) in [(1, 1), (3, 2)] {
            let mut h = ScriptHealth::new(rise, fall, false);
            assert_eq!(h.condition(), Condition::Pending);
            assert!(h.record(true));
            assert_eq!(h.condition(), UP, "rise {rise}");
            let mut h = ScriptHealth::new(rise, fall, false);
            assert!(h.record(false));
            assert_eq!(h.condition(), DOWN, "rise {rise}");
        }
    }

    #[test]
    fn fall_failures_in_a_row_bring_it_down_and_a_success_resets() {
        let mut h = ScriptHealth::new(2, 3, false);
        h.record(true);
        assert!(!h.record(false));
        assert!(!h.record(false));
        assert_eq!(h.condition(), UP, "two failures of three");
        assert!(!h.record(true), "a success in between starts over");
        assert!(!h.record(false));
        assert!(!h.record(false));
        assert!(h.record(false));
        assert_eq!(h.condition(), DOWN);
    }

    #[test]
    fn rise_successes_in_a_row_bring_it_up_and_a_failure_resets() {
        let mut h = ScriptHealth::new(3, 1, false);
        h.record(false);
        assert!(!h.record(true));
        assert!(!h.record(true));
        assert!(!h.record(false), "a failure in between starts over");
        assert!(!h.record(true));
        assert!(!h.record(true));
        assert!(h.record(true));
        assert_eq!(h.condition(), UP);
        assert!(h.record(false), "fall 1");
    }

    #[test]
    fn init_fail_starts_down_and_needs_rise_successes() {
        let mut h = ScriptHealth::new(2, 1, true);
        assert_eq!(h.condition(), DOWN);
        assert!(!h.record(true));
        assert!(h.record(true));
        assert_eq!(h.condition(), UP);
        let mut h = ScriptHealth::new(1, 1, true);
        assert!(h.record(true));
    }

    #[test]
    fn rise_and_fall_of_zero_count_as_one() {
        let mut h = ScriptHealth::new(0, 0, true);
        assert!(h.record(true));
        assert!(h.record(false));
    }

    #[test]
    fn track_files_read_like_strtol() {
        for (text, value) in [
            ("5\n", Some(5)),
            ("  -12 trailing", Some(-12)),
            ("+7", Some(7)),
            ("0x1f", Some(31)),
            ("0X10", Some(16)),
            ("010", Some(8)),
            ("09", Some(0)),
            ("0x", Some(0)),
            ("", Some(0)),
            ("garbage", Some(0)),
            ("-", Some(0)),
            ("2147483648", Some(2_147_483_648)),
            ("2147483649", None),
            ("-2147483648", Some(-2_147_483_648)),
            ("-2147483649", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(parse_track_file(text), value, "{text:?}");
        }
    }
}
