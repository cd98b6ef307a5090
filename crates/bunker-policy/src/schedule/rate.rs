//! `rate(value unit)`: a fixed interval, anchored at the plan's creation time.

use std::fmt;

use jiff::{SignedDuration, Timestamp};

use super::{MIN_BACKUP_INTERVAL_MINUTES, ScheduleError};

/// The unit of a `rate(...)` expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    fn seconds(self) -> i64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
            // AWS documents a day in rate expressions as 24 hours, whatever DST does.
            RateUnit::Day => 86_400,
        }
    }

    fn singular(self) -> &'static str {
        match self {
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            RateUnit::Minute => "minutes",
            RateUnit::Hour => "hours",
            RateUnit::Day => "days",
        }
    }
}

/// A parsed `rate(value unit)` expression: `value` is positive, and as EventBridge
/// requires, the unit is singular for 1 (`rate(1 hour)`) and plural above
/// (`rate(5 hours)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    value: u32,
    unit: RateUnit,
}

impl Rate {
    /// A rate of `value` units; `value` must be positive.
    pub fn new(value: u32, unit: RateUnit) -> Result<Rate, ScheduleError> {
        if value == 0 {
            return Err(ScheduleError::rate("value must be a positive integer, got 0"));
        }
        Ok(Rate { value, unit })
    }

    /// Parses `rate(value unit)`, unit one of minute, minutes, hour, hours, day, days.
    pub fn parse(text: &str) -> Result<Rate, ScheduleError> {
        let inner = text.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')'));
        let parts: Vec<&str> = inner.map(|inner| inner.split_whitespace().collect()).unwrap_or_default();
        let [value, unit] = parts[..] else {
            return Err(ScheduleError::rate(format_args!("expected rate(value unit), got {text:?}")));
        };
        let value = match value.parse::<u32>() {
            Ok(v) if value.bytes().all(|b| b.is_ascii_digit()) => v,
            Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(ScheduleError::rate(format_args!("value {value} is too large")));
            }
            _ => return Err(ScheduleError::rate(format_args!("value must be a positive integer, got {value}"))),
        };
        let (parsed, plural) = match unit {
            "minute" => (RateUnit::Minute, false),
            "minutes" => (RateUnit::Minute, true),
            "hour" => (RateUnit::Hour, false),
            "hours" => (RateUnit::Hour, true),
            "day" => (RateUnit::Day, false),
            "days" => (RateUnit::Day, true),
            _ => {
                return Err(ScheduleError::rate(format_args!(
                    "unknown unit {unit:?}; expected minute(s), hour(s) or day(s)"
                )));
            }
        };
        let rate = Rate::new(value, parsed)?;
        if plural != (value > 1) {
            return Err(ScheduleError::rate(format_args!(
                "{text} must be written {rate}: the unit is singular for 1 and plural above"
            )));
        }
        Ok(rate)
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    pub fn unit(&self) -> RateUnit {
        self.unit
    }

    /// The time between two fire times.
    pub fn interval(&self) -> SignedDuration {
        SignedDuration::from_secs(i64::from(self.value) * self.unit.seconds())
    }

    /// First fire time strictly after `after`, firing at anchor + k × interval for
    /// k = 0, 1, 2, ... (EventBridge starts a rate schedule at its start date; Bunker's
    /// start is the plan's creation time). `None` past the end of representable time.
    pub fn next_after(&self, after: Timestamp, anchor: Timestamp) -> Option<Timestamp> {
        if after < anchor {
            return Some(anchor);
        }
        let interval = self.interval().as_nanos();
        let elapsed = after.as_nanosecond() - anchor.as_nanosecond();
        let k = elapsed / interval + 1;
        Timestamp::from_nanosecond(anchor.as_nanosecond() + k * interval).ok()
    }

    /// Err when the interval is shorter than the 60 minutes AWS Backup needs between backups.
    pub fn check_backup_frequency(&self) -> Result<(), ScheduleError> {
        if self.interval() < SignedDuration::from_mins(i64::from(MIN_BACKUP_INTERVAL_MINUTES)) {
            return Err(ScheduleError::too_frequent(
                None,
                format!(
                    "schedule fires every {} {}; AWS Backup needs at least {MIN_BACKUP_INTERVAL_MINUTES} minutes between backups",
                    self.value,
                    if self.value == 1 { self.unit.singular() } else { self.unit.plural() }
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.value == 1 { self.unit.singular() } else { self.unit.plural() };
        write!(f, "rate({} {unit})", self.value)
    }
}

impl std::str::FromStr for Rate {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Rate, ScheduleError> {
        Rate::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleErrorKind;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        Rate::parse(text).unwrap_err().to_string()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn fires(expr: &str, anchor: &str, after: &str, n: usize) -> Vec<String> {
        let r = rate(expr);
        let anchor = ts(anchor);
        let mut t = ts(after);
        let mut out = Vec::new();
        for _ in 0..n {
            t = r.next_after(t, anchor).unwrap();
            out.push(t.to_string());
        }
        out
    }

    #[test]
    fn parses_documented_forms() {
        assert_eq!(rate("rate(1 minute)"), Rate { value: 1, unit: RateUnit::Minute });
        assert_eq!(rate("rate(5 minutes)"), Rate { value: 5, unit: RateUnit::Minute });
        assert_eq!(rate("rate(1 hour)"), Rate { value: 1, unit: RateUnit::Hour });
        assert_eq!(rate("rate(12 hours)"), Rate { value: 12, unit: RateUnit::Hour });
        assert_eq!(rate("rate(1 day)"), Rate { value: 1, unit: RateUnit::Day });
        assert_eq!(rate("rate(7 days)"), Rate { value: 7, unit: RateUnit::Day });
        assert_eq!(rate("rate(7 days)").interval(), SignedDuration::from_hours(168));
    }

    #[test]
    fn display_round_trips() {
        for text in
            ["rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 hours)", "rate(1 day)", "rate(30 days)"]
        {
            assert_eq!(rate(text).to_string(), text);
            assert_eq!(rate(&rate(text).to_string()), rate(text));
        }
        assert_eq!(rate("rate(  05   minutes )").to_string(), "rate(5 minutes)");
    }

    #[test]
    fn singular_and_plural_must_match_the_value() {
        assert_eq!(
            err("rate(1 hours)"),
            "invalid rate expression: rate(1 hours) must be written rate(1 hour): the unit is singular for 1 and plural above"
        );
        assert_eq!(
            err("rate(2 hour)"),
            "invalid rate expression: rate(2 hour) must be written rate(2 hours): the unit is singular for 1 and plural above"
        );
        assert!(Rate::parse("rate(5 minute)").is_err());
        assert!(Rate::parse("rate(1 days)").is_err());
    }

    #[test]
    fn value_must_be_a_positive_integer() {
        assert_eq!(err("rate(0 minutes)"), "invalid rate expression: value must be a positive integer, got 0");
        assert_eq!(err("rate(-1 minute)"), "invalid rate expression: value must be a positive integer, got -1");
        assert_eq!(err("rate(1.5 hours)"), "invalid rate expression: value must be a positive integer, got 1.5");
        assert_eq!(err("rate(+5 minutes)"), "invalid rate expression: value must be a positive integer, got +5");
        assert_eq!(err("rate(x hours)"), "invalid rate expression: value must be a positive integer, got x");
        assert_eq!(err("rate(99999999999 days)"), "invalid rate expression: value 99999999999 is too large");
        assert!(Rate::new(0, RateUnit::Hour).is_err());
    }

    #[test]
    fn bad_shapes_and_units() {
        assert_eq!(
            err("rate(5 weeks)"),
            "invalid rate expression: unknown unit \"weeks\"; expected minute(s), hour(s) or day(s)"
        );
        assert_eq!(
            err("rate(5 Minutes)"),
            "invalid rate expression: unknown unit \"Minutes\"; expected minute(s), hour(s) or day(s)"
        );
        assert_eq!(err("rate(5)"), "invalid rate expression: expected rate(value unit), got \"rate(5)\"");
        assert_eq!(err("rate(5 minutes"), "invalid rate expression: expected rate(value unit), got \"rate(5 minutes\"");
        assert_eq!(err("rate(1 hour 2)"), "invalid rate expression: expected rate(value unit), got \"rate(1 hour 2)\"");
        assert_eq!(err("rate()"), "invalid rate expression: expected rate(value unit), got \"rate()\"");
    }

    #[test]
    fn hourly_from_anchor() {
        assert_eq!(
            fires("rate(1 hour)", "2026-01-01T10:17:23Z", "2026-01-01T12:00:00Z", 3),
            ["2026-01-01T12:17:23Z", "2026-01-01T13:17:23Z", "2026-01-01T14:17:23Z"]
        );
    }

    #[test]
    fn before_the_anchor_the_first_fire_is_the_anchor() {
        assert_eq!(
            fires("rate(5 minutes)", "2026-01-01T10:00:00Z", "2026-01-01T09:00:00Z", 3),
            ["2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z", "2026-01-01T10:10:00Z"]
        );
    }

    #[test]
    fn on_a_fire_time_the_next_one_follows() {
        assert_eq!(
            fires("rate(5 minutes)", "2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z", 1),
            ["2026-01-01T10:10:00Z"]
        );
        assert_eq!(
            fires("rate(5 minutes)", "2026-01-01T10:00:00Z", "2026-01-01T10:04:59.999999999Z", 1),
            ["2026-01-01T10:05:00Z"]
        );
    }

    #[test]
    fn a_day_is_24_hours() {
        // Across Berlin's spring-forward night the fire time stays 24 hours apart in UTC.
        assert_eq!(
            fires("rate(1 day)", "2026-03-27T01:30:00Z", "2026-03-27T01:30:00Z", 3),
            ["2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T01:30:00Z"]
        );
    }

    #[test]
    fn end_of_time_gives_none() {
        let r = rate("rate(1000 days)");
        assert_eq!(r.next_after(Timestamp::MAX, ts("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn backup_frequency() {
        assert!(rate("rate(1 hour)").check_backup_frequency().is_ok());
        assert!(rate("rate(60 minutes)").check_backup_frequency().is_ok());
        assert!(rate("rate(1 day)").check_backup_frequency().is_ok());
        let e = rate("rate(59 minutes)").check_backup_frequency().unwrap_err();
        assert_eq!(
            e.to_string(),
            "schedule fires every 59 minutes; AWS Backup needs at least 60 minutes between backups"
        );
        assert_eq!(e.kind(), ScheduleErrorKind::TooFrequent);
        assert!(rate("rate(5 minutes)").check_backup_frequency().is_err());
        assert!(rate("rate(1 minute)").check_backup_frequency().is_err());
    }
}
