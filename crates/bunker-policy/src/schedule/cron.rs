//! `cron(...)`: parsing the six AWS fields, the compiled form (a bitset per field plus
//! one day rule) and the field-by-field search for the next fire time.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{self, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

use super::{MIN_BACKUP_INTERVAL_MINUTES, ScheduleError};

/// The first year the AWS year field accepts.
pub const MIN_YEAR: i16 = 1970;
/// The last year the AWS year field accepts; nothing fires after it.
pub const MAX_YEAR: i16 = 2199;

const MONTH_NAMES: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
/// AWS numbers weekdays from Sunday = 1, as Quartz does.
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One of the six fields of a cron expression, in their order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CronField {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl CronField {
    /// The fields in the order they are written.
    pub const ALL: [CronField; 6] = [
        CronField::Minutes,
        CronField::Hours,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
        CronField::Year,
    ];

    /// The name AWS's documentation uses, as error messages print it.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minutes => "minutes",
            CronField::Hours => "hours",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
            CronField::Year => "year",
        }
    }

    /// Smallest and largest value.
    fn bounds(self) -> (u32, u32) {
        match self {
            CronField::Minutes => (0, 59),
            CronField::Hours => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (1, 7),
            CronField::Year => (MIN_YEAR as u32, MAX_YEAR as u32),
        }
    }

    /// Three-letter names standing for 1, 2, ...
    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &MONTH_NAMES,
            CronField::DayOfWeek => &WEEKDAY_NAMES,
            _ => &[],
        }
    }

    /// Years are the only field that does not cycle, so the only one without wrap-around.
    fn cyclic(self) -> bool {
        self != CronField::Year
    }

    /// Largest step after `/`, as Quartz allows it: the field's largest value (59 minutes,
    /// 23 hours, 31 days, 12 months, 7 weekdays), and the span of the years.
    fn max_step(self) -> u32 {
        let (lo, hi) = self.bounds();
        if self.cyclic() { hi } else { hi - lo }
    }

    /// Bit index of a value; years are stored from 1970 so they fit in 256 bits.
    fn base(self) -> u32 {
        if self == CronField::Year { MIN_YEAR as u32 } else { 0 }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of field values (bit i = value base + i), big enough for the 230 years; the
/// compiled form keeps only the low word for the fields whose values stay below 64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Bits([u64; 4]);

impl Bits {
    fn insert(&mut self, i: u32) {
        self.0[(i / 64) as usize] |= 1 << (i % 64);
    }

    fn contains(&self, i: u32) -> bool {
        i < 256 && self.0[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// The smallest member `>= from`: one scan per 64-bit word, never value by value.
    fn next_from(&self, from: u32) -> Option<u32> {
        let mut word = (from / 64) as usize;
        if word >= 4 {
            return None;
        }
        let mut w = self.0[word] & (!0u64 << (from % 64));
        loop {
            if w != 0 {
                return Some(word as u32 * 64 + w.trailing_zeros());
            }
            word += 1;
            if word == 4 {
                return None;
            }
            w = self.0[word];
        }
    }

    /// The values below 64, as one word.
    fn low(&self) -> u64 {
        self.0[0]
    }

    fn union(mut self, other: Bits) -> Bits {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }
}

/// Which days of a month fire: the compiled day-of-month or day-of-week field (the other
/// one is `?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum DayRule {
    /// Day-of-month values (bit d = day d); days a month lacks never fire.
    Days(u64),
    /// `L` in day-of-month.
    LastDay,
    /// `LW` in day-of-month.
    LastWeekday,
    /// `nW` in day-of-month: the weekday nearest day n, within the month.
    NearestWeekday(u8),
    /// Day-of-week values (bit w = weekday w, 1 = Sunday); `L` alone is 7.
    Weekdays(u64),
    /// `nL` in day-of-week: the last weekday n of the month.
    LastOfWeekday(u8),
    /// `n#k` in day-of-week: the k-th weekday n of the month.
    NthWeekday { weekday: u8, nth: u8 },
}

impl DayRule {
    /// The firing days of one month as a bitset (bit d = day d), computed from the
    /// month's length and the weekday of its 1st (1 = Sunday).
    fn mask(self, days_in_month: u32, first_weekday: u32) -> u64 {
        let weekday_of = |day: u32| (first_weekday - 1 + day - 1) % 7 + 1;
        let in_month = ((1u64 << days_in_month) - 1) << 1;
        match self {
            DayRule::Days(days) => days & in_month,
            DayRule::LastDay => 1 << days_in_month,
            DayRule::LastWeekday => {
                let last = days_in_month;
                let day = match weekday_of(last) {
                    7 => last - 1,
                    1 => last - 2,
                    _ => last,
                };
                1 << day
            }
            DayRule::NearestWeekday(n) => {
                let n = u32::from(n);
                if n > days_in_month {
                    return 0;
                }
                // Saturday moves back to Friday and Sunday on to Monday, unless that
                // would leave the month: then Saturday the 1st goes to Monday the 3rd
                // and a last-day Sunday to Friday.
                let day = match weekday_of(n) {
                    7 if n == 1 => 3,
                    7 => n - 1,
                    1 if n == days_in_month => n - 2,
                    1 => n + 1,
                    _ => n,
                };
                1 << day
            }
            DayRule::Weekdays(weekdays) => {
                (1..=days_in_month).filter(|&d| weekdays & (1 << weekday_of(d)) != 0).fold(0, |m, d| m | 1 << d)
            }
            DayRule::LastOfWeekday(w) => {
                let back = (weekday_of(days_in_month) + 7 - u32::from(w)) % 7;
                1 << (days_in_month - back)
            }
            DayRule::NthWeekday { weekday, nth } => {
                let first = 1 + (u32::from(weekday) + 7 - first_weekday) % 7;
                let day = first + 7 * (u32::from(nth) - 1);
                if day <= days_in_month { 1 << day } else { 0 }
            }
        }
    }

    fn for_month(self, year: i16, month: i8) -> u64 {
        let first = civil::date(year, month, 1);
        self.mask(first.days_in_month() as u32, first.weekday().to_sunday_one_offset() as u32)
    }
}

/// A parsed, compiled `cron(...)` expression.
///
/// Two values are equal when their canonical texts are (`MON` and `mon` are; `1-3` and
/// `1,2,3` are not, though they fire alike).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cron {
    /// The fields as written, upper-cased and joined by single spaces: the canonical text.
    text: String,
    /// Bit m = minute m.
    minutes: u64,
    /// Bit h = hour h.
    hours: u64,
    /// Bit m = month m (1 = January).
    months: u64,
    /// Bit i = year 1970 + i.
    years: Bits,
    days: DayRule,
}

/// A civil minute being searched; fields may overflow by one (minute 60, day 32, ...),
/// which the search reads as "start of the next unit".
#[derive(Clone, Copy, Debug)]
struct Cursor {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

impl Cron {
    /// Parses `cron(Minutes Hours Day-of-month Month Day-of-week Year)`.
    pub fn parse(text: &str) -> Result<Cron, ScheduleError> {
        let Some(rest) = text.strip_prefix("cron(") else {
            return Err(ScheduleError::cron(format_args!("expected cron(...), got {text:?}")));
        };
        let Some(inner) = rest.strip_suffix(')') else {
            return Err(ScheduleError::cron(format_args!("missing closing parenthesis in {text:?}")));
        };
        Cron::from_fields(inner)
    }

    /// Parses the six space-separated fields without the `cron(...)` wrapper.
    pub fn from_fields(fields: &str) -> Result<Cron, ScheduleError> {
        let parts: Vec<&str> = fields.split_whitespace().collect();
        if parts.len() != 6 {
            return Err(ScheduleError::cron(format_args!(
                "expected 6 fields (minutes hours day-of-month month day-of-week year), got {}",
                parts.len()
            )));
        }
        let text = parts.join(" ").to_ascii_uppercase();
        let upper: Vec<&str> = text.split(' ').collect();
        let minutes = parse_list(CronField::Minutes, upper[0])?.low();
        let hours = parse_list(CronField::Hours, upper[1])?.low();
        let day_of_month = parse_day_of_month(upper[2])?;
        let months = parse_list(CronField::Month, upper[3])?.low();
        let day_of_week = parse_day_of_week(upper[4])?;
        let years = parse_list(CronField::Year, upper[5])?;
        let days = match (day_of_month, day_of_week) {
            (Some(_), Some(_)) => {
                return Err(ScheduleError::cron(
                    "day-of-month and day-of-week cannot both be specified; use ? in one of them",
                ));
            }
            (None, None) => {
                return Err(ScheduleError::cron(
                    "day-of-month and day-of-week cannot both be ?; give a value in one of them",
                ));
            }
            (Some(rule), None) | (None, Some(rule)) => rule,
        };
        Ok(Cron { text, minutes, hours, months, years, days })
    }

    /// The text of one field, upper-cased.
    pub fn field(&self, field: CronField) -> &str {
        self.text.split(' ').nth(field as usize).unwrap_or_default()
    }

    /// First fire time strictly after `after`; the fields are wall-clock times in `tz`.
    ///
    /// A wall-clock time that a spring-forward gap skips does not fire; one that a
    /// fall-back overlap repeats fires at its first occurrence only (see the module
    /// documentation). `None` once nothing fires any more.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let local = tz.to_datetime(after);
        if local.year() > MAX_YEAR {
            return None;
        }
        let mut from = if local.year() < MIN_YEAR {
            Cursor { year: MIN_YEAR as u32, month: 1, day: 1, hour: 0, minute: 0 }
        } else {
            Cursor {
                year: local.year() as u32,
                month: local.month() as u32,
                day: local.day() as u32,
                hour: local.hour() as u32,
                minute: local.minute() as u32,
            }
        };
        // Candidates come in wall-clock order. Under the first-occurrence rule that is also
        // instant order, so the first candidate later than `after` is the answer; earlier
        // ones only appear when `after` lies in the second pass of an overlap.
        loop {
            let found = self.next_civil(from)?;
            let dt = civil::datetime(
                found.year as i16,
                found.month as i8,
                found.day as i8,
                found.hour as i8,
                found.minute as i8,
                0,
                0,
            );
            if let Some(ts) = resolve(tz, dt).filter(|&ts| ts > after) {
                return Some(ts);
            }
            from = Cursor { minute: found.minute + 1, ..found };
        }
    }

    /// Whether the expression names this civil minute (second and sub-second must be 0).
    pub fn matches(&self, dt: DateTime) -> bool {
        let year = dt.year();
        dt.second() == 0
            && dt.subsec_nanosecond() == 0
            && (MIN_YEAR..=MAX_YEAR).contains(&year)
            && self.years.contains((year - MIN_YEAR) as u32)
            && self.months & (1 << dt.month()) != 0
            && self.days.for_month(year, dt.month()) & (1 << dt.day()) != 0
            && self.hours & (1 << dt.hour()) != 0
            && self.minutes & (1 << dt.minute()) != 0
    }

    /// Err if two fire times can be less than 60 minutes apart, which with at most one
    /// minute value per hour means: more than one minute value. Like AWS's check this reads
    /// the expression; a time zone whose clocks jump by less than an hour could still bring
    /// two wall-clock hours closer.
    pub fn check_backup_frequency(&self) -> Result<(), ScheduleError> {
        let count = self.minutes.count_ones();
        if count > 1 {
            return Err(ScheduleError::too_frequent(
                Some(CronField::Minutes),
                format!(
                    "schedule fires more than once an hour: minutes field {} selects {count} minutes; \
                     AWS Backup needs at least {MIN_BACKUP_INTERVAL_MINUTES} minutes between backups",
                    self.field(CronField::Minutes)
                ),
            ));
        }
        Ok(())
    }

    /// The first matching civil minute at or after `from`, stepping year → month → day →
    /// hour → minute and resetting the smaller units whenever a larger one moves.
    fn next_civil(&self, from: Cursor) -> Option<Cursor> {
        let Cursor { mut year, mut month, mut day, mut hour, mut minute } = from;
        loop {
            let y = self.years.next_from(year - MIN_YEAR as u32)? + MIN_YEAR as u32;
            if y > MAX_YEAR as u32 {
                return None;
            }
            if y != year {
                (year, month, day, hour, minute) = (y, 1, 1, 0, 0);
            }
            let Some(m) = next_bit(self.months, month) else {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0);
                continue;
            };
            if m != month {
                (month, day, hour, minute) = (m, 1, 0, 0);
            }
            let mask = self.days.for_month(year as i16, month as i8);
            let Some(d) = next_bit(mask, day) else {
                (month, day, hour, minute) = (month + 1, 1, 0, 0);
                continue;
            };
            if d != day {
                (day, hour, minute) = (d, 0, 0);
            }
            let Some(h) = next_bit(self.hours, hour) else {
                (day, hour, minute) = (day + 1, 0, 0);
                continue;
            };
            if h != hour {
                (hour, minute) = (h, 0);
            }
            let Some(mi) = next_bit(self.minutes, minute) else {
                (hour, minute) = (hour + 1, 0);
                continue;
            };
            return Some(Cursor { year, month, day, hour, minute: mi });
        }
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cron({})", self.text)
    }
}

impl std::str::FromStr for Cron {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Cron, ScheduleError> {
        Cron::parse(text)
    }
}

/// The instant of a wall-clock time in `tz`: none in a gap, the first in an overlap.
fn resolve(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let offset = match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Gap { .. } => return None,
        AmbiguousOffset::Fold { before, .. } => before,
    };
    offset.to_timestamp(dt).ok()
}

fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (!0u64 << from);
    (rest != 0).then(|| rest.trailing_zeros())
}

/// Day-of-month: `?` (None), one of `L`, `LW`, `nW` alone, or a list of values.
fn parse_day_of_month(text: &str) -> Result<Option<DayRule>, ScheduleError> {
    const FIELD: CronField = CronField::DayOfMonth;
    match text {
        "?" => return Ok(None),
        "L" => return Ok(Some(DayRule::LastDay)),
        "LW" => return Ok(Some(DayRule::LastWeekday)),
        _ => {}
    }
    if let Some(n) = text.strip_suffix('W').filter(|n| is_number(n)) {
        let n = parse_value(FIELD, n)?;
        return Ok(Some(DayRule::NearestWeekday(n as u8)));
    }
    let is_special = |item: &str| item == "L" || item == "LW" || item.strip_suffix('W').is_some_and(is_number);
    if let Some(item) = text.split(',').find(|item| item.contains(['L', 'W'])) {
        let detail = if is_special(item) {
            format!("{item} must be the only expression in the field, got {text}")
        } else {
            format!("{item} is not a valid value; expected 1-31, or L, LW or nW alone")
        };
        return Err(ScheduleError::cron_field(FIELD, detail));
    }
    Ok(Some(DayRule::Days(parse_list(FIELD, text)?.low())))
}

/// Day-of-week: `?` (None), one of `L`, `nL`, `n#k` alone, or a list of values.
fn parse_day_of_week(text: &str) -> Result<Option<DayRule>, ScheduleError> {
    const FIELD: CronField = CronField::DayOfWeek;
    match text {
        "?" => return Ok(None),
        "L" => return Ok(Some(DayRule::Weekdays(1 << 7))),
        _ => {}
    }
    if text.contains('#') {
        if text.contains(',') {
            return Err(ScheduleError::cron_field(
                FIELD,
                format_args!("when # is used it must be the only expression in the field, got {text}"),
            ));
        }
        let (weekday, nth) = text.split_once('#').unwrap_or((text, ""));
        let weekday = parse_value(FIELD, weekday)?;
        let nth = match nth.parse::<u8>() {
            Ok(k @ 1..=5) if is_number(nth) => k,
            _ => {
                return Err(ScheduleError::cron_field(
                    FIELD,
                    format_args!("the number after # must be 1-5, got {text}"),
                ));
            }
        };
        return Ok(Some(DayRule::NthWeekday { weekday: weekday as u8, nth }));
    }
    if text.contains(',') {
        if let Some(item) = text.split(',').find(|item| item.ends_with('L')) {
            return Err(ScheduleError::cron_field(
                FIELD,
                format_args!("{item} must be the only expression in the field, got {text}"),
            ));
        }
    } else if let Some(weekday) = text.strip_suffix('L') {
        let weekday = parse_value(FIELD, weekday)?;
        return Ok(Some(DayRule::LastOfWeekday(weekday as u8)));
    }
    Ok(Some(DayRule::Weekdays(parse_list(FIELD, text)?.low())))
}

/// A comma-separated list of `*`, `v`, `a-b`, each optionally followed by `/step`.
fn parse_list(field: CronField, text: &str) -> Result<Bits, ScheduleError> {
    let mut bits = Bits::default();
    for item in text.split(',') {
        bits = bits.union(parse_item(field, text, item)?);
    }
    Ok(bits)
}

fn parse_item(field: CronField, text: &str, item: &str) -> Result<Bits, ScheduleError> {
    let err = |detail: fmt::Arguments<'_>| ScheduleError::cron_field(field, detail);
    if item.is_empty() {
        return Err(err(format_args!("empty value in {text}")));
    }
    if item == "?" {
        return Err(match field {
            CronField::DayOfMonth | CronField::DayOfWeek => {
                err(format_args!("? must be the only value in the field, got {text}"))
            }
            _ => err(format_args!("? is only allowed in day-of-month or day-of-week")),
        });
    }
    let (lo, hi) = field.bounds();
    let (range, step) = match item.split_once('/') {
        None => (item, None),
        Some((_, "")) => return Err(err(format_args!("missing step after / in {item}"))),
        Some((range, step)) => {
            let max = field.max_step();
            match step.parse::<u32>() {
                Ok(s @ 1..) if is_number(step) && s <= max => (range, Some(s)),
                _ => return Err(err(format_args!("step {step} in {item} is out of range 1-{max}"))),
            }
        }
    };
    let (start, end) = if range == "*" {
        (lo, hi)
    } else if range.is_empty() {
        return Err(err(format_args!("missing value before / in {item}")));
    } else if let Some((a, b)) = range.split_once('-') {
        if a.is_empty() || b.is_empty() {
            return Err(err(format_args!("{range} is not a valid range")));
        }
        let (a, b) = (parse_value(field, a)?, parse_value(field, b)?);
        if a > b && !field.cyclic() {
            return Err(err(format_args!("range {range} goes backwards; year ranges cannot wrap around")));
        }
        (a, b)
    } else {
        let a = parse_value(field, range)?;
        // `a/step` runs from a to the end of the field.
        (a, if step.is_some() { hi } else { a })
    };
    // Walk the range cyclically so that wrap-around ranges (22-2) need no special case.
    let span = hi - lo + 1;
    let count = (end + span - start) % span + 1;
    let mut bits = Bits::default();
    for offset in (0..count).step_by(step.unwrap_or(1) as usize) {
        let value = lo + (start - lo + offset) % span;
        bits.insert(value - field.base());
    }
    Ok(bits)
}

/// One number or (month, day-of-week) three-letter name, checked against the field's range.
fn parse_value(field: CronField, token: &str) -> Result<u32, ScheduleError> {
    let (lo, hi) = field.bounds();
    let err = |detail: fmt::Arguments<'_>| Err(ScheduleError::cron_field(field, detail));
    if is_number(token) {
        return match token.parse::<u32>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            _ => err(format_args!("{token} is out of range {lo}-{hi}")),
        };
    }
    if let Some(i) = field.names().iter().position(|name| *name == token) {
        return Ok(i as u32 + 1);
    }
    let names = field.names();
    if let (Some(first), Some(last)) = (names.first(), names.last()) {
        return err(format_args!("{token} is not a valid value; expected {lo}-{hi} or {first}-{last}"));
    }
    // Day-of-month handles its own L and W; day-of-week has names, so never gets here.
    let hint = match token {
        "L" | "LW" => " (L is only allowed in day-of-month or day-of-week)",
        t if t.ends_with('W') => " (W is only allowed in day-of-month)",
        t if t.contains('#') => " (# is only allowed in day-of-week)",
        _ => "",
    };
    err(format_args!("{token} is not a valid value; expected {lo}-{hi}{hint}"))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn cron(text: &str) -> Cron {
        Cron::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match Cron::parse(text) {
            Ok(c) => panic!("{text} parsed as {c}"),
            Err(e) => e.to_string(),
        }
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The next `n` fire times in UTC after `after`, as RFC 3339 strings.
    fn fires(expr: &str, after: &str, n: usize) -> Vec<String> {
        fires_in(expr, TimeZone::UTC, after, n)
    }

    fn fires_in(expr: &str, tz: TimeZone, after: &str, n: usize) -> Vec<String> {
        let c = cron(expr);
        let mut out = Vec::new();
        let mut t = ts(after);
        while out.len() < n {
            match c.next_after(t, &tz) {
                Some(next) => {
                    out.push(next.to_string());
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    // ---- the AWS reference examples ----

    #[test]
    fn daily_at_five_utc() {
        assert_eq!(
            fires("cron(0 5 ? * * *)", "2026-01-30T06:00:00Z", 3),
            ["2026-01-31T05:00:00Z", "2026-02-01T05:00:00Z", "2026-02-02T05:00:00Z"]
        );
    }

    #[test]
    fn first_of_each_month_at_five() {
        assert_eq!(
            fires("cron(0 5 1 * ? *)", "2026-01-01T05:00:00Z", 3),
            ["2026-02-01T05:00:00Z", "2026-03-01T05:00:00Z", "2026-04-01T05:00:00Z"]
        );
    }

    #[test]
    fn hourly_on_the_hour() {
        assert_eq!(
            fires("cron(0 0/1 ? * * *)", "2026-05-31T22:10:00Z", 3),
            ["2026-05-31T23:00:00Z", "2026-06-01T00:00:00Z", "2026-06-01T01:00:00Z"]
        );
    }

    #[test]
    fn one_three_five_is_sunday_tuesday_thursday() {
        // 2026-06-07 is a Sunday. The AWS page calls this "Monday, Wednesday and Friday",
        // but 1 = SUN.
        assert_eq!(
            fires("cron(0 5 ? * 1,3,5 *)", "2026-06-06T00:00:00Z", 4),
            ["2026-06-07T05:00:00Z", "2026-06-09T05:00:00Z", "2026-06-11T05:00:00Z", "2026-06-14T05:00:00Z"]
        );
        assert_eq!(cron("cron(0 5 ? * 1,3,5 *)").days, cron("cron(0 5 ? * SUN,TUE,THU *)").days);
    }

    #[test]
    fn weekdays_at_half_past_two() {
        // 2026-06-05 is a Friday.
        assert_eq!(
            fires("cron(30 2 ? * MON-FRI *)", "2026-06-05T03:00:00Z", 2),
            ["2026-06-08T02:30:00Z", "2026-06-09T02:30:00Z"]
        );
    }

    // ---- lists, ranges, steps, names ----

    #[test]
    fn minute_lists_and_steps() {
        assert_eq!(
            fires("cron(0/15 10 ? * * *)", "2026-01-01T00:00:00Z", 5),
            [
                "2026-01-01T10:00:00Z",
                "2026-01-01T10:15:00Z",
                "2026-01-01T10:30:00Z",
                "2026-01-01T10:45:00Z",
                "2026-01-02T10:00:00Z"
            ]
        );
        assert_eq!(
            fires("cron(5,20,50 8 ? * * *)", "2026-01-01T08:06:00Z", 3),
            ["2026-01-01T08:20:00Z", "2026-01-01T08:50:00Z", "2026-01-02T08:05:00Z"]
        );
        assert_eq!(
            fires("cron(*/20 8 ? * * *)", "2026-01-01T08:00:00Z", 3),
            ["2026-01-01T08:20:00Z", "2026-01-01T08:40:00Z", "2026-01-02T08:00:00Z"]
        );
        assert_eq!(
            fires("cron(10-30/10 8 ? * * *)", "2026-01-01T00:00:00Z", 4),
            ["2026-01-01T08:10:00Z", "2026-01-01T08:20:00Z", "2026-01-01T08:30:00Z", "2026-01-02T08:10:00Z"]
        );
    }

    #[test]
    fn hour_start_and_step_runs_to_end_of_day() {
        // 5/1 in hours is 05:00 through 23:00.
        let c = cron("cron(0 5/1 ? * * *)");
        let hours: Vec<u32> = (0..24).filter(|&h| c.hours & (1 << h) != 0).collect();
        assert_eq!(hours, (5..24).collect::<Vec<_>>());
        assert_eq!(
            fires("cron(0 5/1 ? * * *)", "2026-01-01T22:30:00Z", 3),
            ["2026-01-01T23:00:00Z", "2026-01-02T05:00:00Z", "2026-01-02T06:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 1/6 ? * * *)", "2026-01-01T00:00:00Z", 5),
            [
                "2026-01-01T01:00:00Z",
                "2026-01-01T07:00:00Z",
                "2026-01-01T13:00:00Z",
                "2026-01-01T19:00:00Z",
                "2026-01-02T01:00:00Z"
            ]
        );
    }

    #[test]
    fn month_names_ranges_and_steps() {
        assert_eq!(
            fires("cron(0 0 1 JAN-MAR ? *)", "2026-01-15T00:00:00Z", 3),
            ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1 1/4 ? *)", "2026-01-15T00:00:00Z", 3),
            ["2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1 jun,Dec ? *)", "2026-01-15T00:00:00Z", 2),
            ["2026-06-01T00:00:00Z", "2026-12-01T00:00:00Z"]
        );
    }

    #[test]
    fn weekday_names_are_case_insensitive() {
        assert_eq!(cron("cron(0 9 ? * mon-fri *)"), cron("cron(0 9 ? * MON-FRI *)"));
        assert_eq!(cron("cron(0 9 ? * Mon-Fri *)").to_string(), "cron(0 9 ? * MON-FRI *)");
        assert_eq!(cron("cron(0 9 ? * 2-6 *)").days, cron("cron(0 9 ? * MON-FRI *)").days);
    }

    #[test]
    fn day_of_month_list_range_and_step() {
        assert_eq!(
            fires("cron(0 0 1,15 * ? *)", "2026-01-01T00:00:00Z", 3),
            ["2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-15T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 10-12 * ? *)", "2026-01-11T12:00:00Z", 3),
            ["2026-01-12T00:00:00Z", "2026-02-10T00:00:00Z", "2026-02-11T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1/10 * ? *)", "2026-02-11T12:00:00Z", 4),
            ["2026-02-21T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z", "2026-03-21T00:00:00Z"]
        );
    }

    #[test]
    fn day_31_skips_short_months() {
        assert_eq!(
            fires("cron(0 0 31 * ? *)", "2026-01-31T00:00:00Z", 3),
            ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"]
        );
    }

    #[test]
    fn year_field_limits_and_exhausts() {
        assert_eq!(
            fires("cron(0 0 1 1 ? 2027,2029)", "2026-06-01T00:00:00Z", 3),
            ["2027-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1 1 ? 2030-2032)", "2026-06-01T00:00:00Z", 4),
            ["2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"]
        );
        assert_eq!(
            fires("cron(0 0 1 1 ? 2026/10)", "2026-06-01T00:00:00Z", 2),
            ["2036-01-01T00:00:00Z", "2046-01-01T00:00:00Z"]
        );
        assert_eq!(fires("cron(0 0 1 1 ? 2020)", "2026-06-01T00:00:00Z", 1), Vec::<String>::new());
        assert_eq!(fires("cron(0 0 31 12 ? *)", "2199-12-31T00:00:00Z", 1), Vec::<String>::new());
        assert_eq!(fires("cron(0 0 31 12 ? *)", "2199-12-30T00:00:00Z", 1), ["2199-12-31T00:00:00Z"]);
    }

    #[test]
    fn before_1970_starts_at_1970() {
        assert_eq!(fires("cron(0 0 1 1 ? *)", "1900-06-01T00:00:00Z", 1), ["1970-01-01T00:00:00Z"]);
    }

    #[test]
    fn never_existing_day_gives_none_quickly() {
        let started = std::time::Instant::now();
        assert_eq!(fires("cron(30 2 30 FEB ? *)", "2026-01-01T00:00:00Z", 1), Vec::<String>::new());
        assert_eq!(fires("cron(0 0 31 4,6,9,11 ? *)", "2026-01-01T00:00:00Z", 1), Vec::<String>::new());
        assert!(started.elapsed() < std::time::Duration::from_millis(2000));
    }

    #[test]
    fn february_29_only_in_leap_years() {
        assert_eq!(
            fires("cron(0 12 29 2 ? *)", "2026-01-01T00:00:00Z", 3),
            ["2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z"]
        );
        assert_eq!(fires("cron(0 0 29 2 ? *)", "2026-03-01T00:00:00Z", 1), ["2028-02-29T00:00:00Z"]);
        // 2100 is not a leap year.
        assert_eq!(fires("cron(0 0 29 2 ? *)", "2097-01-01T00:00:00Z", 1), ["2104-02-29T00:00:00Z"]);
    }

    #[test]
    fn strictly_after() {
        assert_eq!(fires("cron(0 5 ? * * *)", "2026-01-01T05:00:00Z", 1), ["2026-01-02T05:00:00Z"]);
        assert_eq!(fires("cron(0 5 ? * * *)", "2026-01-01T04:59:59.999Z", 1), ["2026-01-01T05:00:00Z"]);
        assert_eq!(fires("cron(0 5 ? * * *)", "2026-01-01T05:00:00.001Z", 1), ["2026-01-02T05:00:00Z"]);
    }

    // ---- wrap-around ranges ----

    #[test]
    fn wrap_around_hours() {
        let c = cron("cron(0 22-2 ? * * *)");
        let hours: Vec<u32> = (0..24).filter(|&h| c.hours & (1 << h) != 0).collect();
        assert_eq!(hours, [0, 1, 2, 22, 23]);
        assert_eq!(
            fires("cron(0 22-2 ? * * *)", "2026-01-01T01:30:00Z", 4),
            ["2026-01-01T02:00:00Z", "2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z"]
        );
        let c = cron("cron(0 22-2/2 ? * * *)");
        let hours: Vec<u32> = (0..24).filter(|&h| c.hours & (1 << h) != 0).collect();
        assert_eq!(hours, [0, 2, 22]);
    }

    #[test]
    fn wrap_around_weekdays_months_days_minutes() {
        assert_eq!(cron("cron(0 9 ? * FRI-MON *)").days, DayRule::Weekdays(0b1100_0110));
        // 2026-06-05 is a Friday.
        assert_eq!(
            fires("cron(0 9 ? * FRI-MON *)", "2026-06-04T12:00:00Z", 5),
            [
                "2026-06-05T09:00:00Z",
                "2026-06-06T09:00:00Z",
                "2026-06-07T09:00:00Z",
                "2026-06-08T09:00:00Z",
                "2026-06-12T09:00:00Z"
            ]
        );
        assert_eq!(
            fires("cron(0 0 1 NOV-FEB ? *)", "2026-03-01T12:00:00Z", 4),
            ["2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"]
        );
        assert_eq!(cron("cron(0 0 30-2 * ? *)").days, DayRule::Days(1 << 30 | 1 << 31 | 1 << 1 | 1 << 2));
        let c = cron("cron(55-5 0 ? * * *)");
        let minutes: Vec<u32> = (0..60).filter(|&m| c.minutes & (1 << m) != 0).collect();
        assert_eq!(minutes, [0, 1, 2, 3, 4, 5, 55, 56, 57, 58, 59]);
    }

    #[test]
    fn backwards_year_range_is_an_error() {
        assert_eq!(
            err("cron(0 0 1 1 ? 2030-2026)"),
            "invalid cron expression: year field: range 2030-2026 goes backwards; year ranges cannot wrap around"
        );
    }

    // ---- L, LW, nW ----

    #[test]
    fn last_day_of_month() {
        assert_eq!(
            fires("cron(0 5 L * ? *)", "2026-01-01T00:00:00Z", 4),
            ["2026-01-31T05:00:00Z", "2026-02-28T05:00:00Z", "2026-03-31T05:00:00Z", "2026-04-30T05:00:00Z"]
        );
        assert_eq!(fires("cron(0 5 L 2 ? *)", "2028-01-01T00:00:00Z", 1), ["2028-02-29T05:00:00Z"]);
    }

    #[test]
    fn last_weekday_of_month() {
        // 2026-01-31 is a Saturday, 2026-05-31 a Sunday, 2026-03-31 a Tuesday.
        assert_eq!(
            fires("cron(0 5 LW 1,3,5 ? *)", "2026-01-01T00:00:00Z", 3),
            ["2026-01-30T05:00:00Z", "2026-03-31T05:00:00Z", "2026-05-29T05:00:00Z"]
        );
    }

    #[test]
    fn nearest_weekday() {
        // 2026-08-15 is a Saturday -> Friday 14th; 2026-03-15 is a Sunday -> Monday 16th;
        // 2026-04-15 is a Wednesday.
        assert_eq!(fires("cron(0 5 15W 8 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-08-14T05:00:00Z"]);
        assert_eq!(fires("cron(0 5 15W 3 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-03-16T05:00:00Z"]);
        assert_eq!(fires("cron(0 5 15W 4 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-04-15T05:00:00Z"]);
    }

    #[test]
    fn nearest_weekday_does_not_leave_the_month() {
        // 2026-08-01 is a Saturday: 1W is Monday the 3rd, not Friday July 31st.
        assert_eq!(fires("cron(0 5 1W 8 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-08-03T05:00:00Z"]);
        // 2026-05-31 is a Sunday: 31W is Friday the 29th, not Monday June 1st.
        assert_eq!(fires("cron(0 5 31W 5 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-05-29T05:00:00Z"]);
        // 2026-02-01 is a Sunday: 1W is Monday the 2nd.
        assert_eq!(fires("cron(0 5 1W 2 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-02-02T05:00:00Z"]);
        // 2026-10-31 is a Saturday: 31W is Friday the 30th.
        assert_eq!(fires("cron(0 5 31W 10 ? *)", "2026-01-01T00:00:00Z", 1), ["2026-10-30T05:00:00Z"]);
    }

    #[test]
    fn nearest_weekday_skips_months_without_that_day() {
        // 31W fires only in 31-day months: Jan 30 (31st is Saturday), Mar 31, May 29.
        assert_eq!(
            fires("cron(0 5 31W * ? *)", "2026-01-01T00:00:00Z", 3),
            ["2026-01-30T05:00:00Z", "2026-03-31T05:00:00Z", "2026-05-29T05:00:00Z"]
        );
    }

    // ---- nL, #, L in day-of-week ----

    #[test]
    fn last_friday_of_month() {
        assert_eq!(
            fires("cron(0 5 ? * 6L *)", "2026-01-01T00:00:00Z", 3),
            ["2026-01-30T05:00:00Z", "2026-02-27T05:00:00Z", "2026-03-27T05:00:00Z"]
        );
        assert_eq!(cron("cron(0 5 ? * FRIL *)").days, DayRule::LastOfWeekday(6));
        // The last Sunday of March: when Europe switches to summer time.
        assert_eq!(
            fires("cron(0 1 ? 3 1L *)", "2026-01-01T00:00:00Z", 2),
            ["2026-03-29T01:00:00Z", "2027-03-28T01:00:00Z"]
        );
    }

    #[test]
    fn l_alone_in_day_of_week_is_saturday() {
        // 2026-06-06 is a Saturday.
        assert_eq!(
            fires("cron(0 5 ? * L *)", "2026-06-01T00:00:00Z", 2),
            ["2026-06-06T05:00:00Z", "2026-06-13T05:00:00Z"]
        );
        assert_eq!(cron("cron(0 5 ? * L *)").days, cron("cron(0 5 ? * 7 *)").days);
    }

    #[test]
    fn nth_weekday_of_month() {
        // Second Tuesday: 2026-01-13, 2026-02-10, 2026-03-10.
        assert_eq!(
            fires("cron(0 5 ? * 3#2 *)", "2026-01-01T00:00:00Z", 3),
            ["2026-01-13T05:00:00Z", "2026-02-10T05:00:00Z", "2026-03-10T05:00:00Z"]
        );
        assert_eq!(cron("cron(0 5 ? * TUE#2 *)").days, DayRule::NthWeekday { weekday: 3, nth: 2 });
        // First Sunday when the 1st is a Sunday (2026-02-01).
        assert_eq!(fires("cron(0 5 ? 2 1#1 *)", "2026-01-01T00:00:00Z", 1), ["2026-02-01T05:00:00Z"]);
    }

    #[test]
    fn fifth_weekday_skips_months_with_four() {
        // Fifth Friday of 2026: January 30, May 29, July 31, October 30.
        assert_eq!(
            fires("cron(0 5 ? * 6#5 *)", "2026-01-01T00:00:00Z", 4),
            ["2026-01-30T05:00:00Z", "2026-05-29T05:00:00Z", "2026-07-31T05:00:00Z", "2026-10-30T05:00:00Z"]
        );
    }

    // ---- matches ----

    #[test]
    fn matches_reads_civil_minutes() {
        let c = cron("cron(30 2 ? * MON-FRI 2026)");
        assert!(c.matches(civil::datetime(2026, 6, 8, 2, 30, 0, 0)));
        assert!(!c.matches(civil::datetime(2026, 6, 7, 2, 30, 0, 0)), "a Sunday");
        assert!(!c.matches(civil::datetime(2026, 6, 8, 2, 30, 1, 0)), "second 1");
        assert!(!c.matches(civil::datetime(2026, 6, 8, 2, 31, 0, 0)));
        assert!(!c.matches(civil::datetime(2027, 6, 8, 2, 30, 0, 0)), "wrong year");
        assert!(!c.matches(civil::datetime(1969, 6, 8, 2, 30, 0, 0)));
        let c = cron("cron(0 0 L * ? *)");
        assert!(c.matches(civil::datetime(2028, 2, 29, 0, 0, 0, 0)));
        assert!(!c.matches(civil::datetime(2028, 2, 28, 0, 0, 0, 0)));
    }

    // ---- Display ----

    #[test]
    fn display_is_canonical_and_round_trips() {
        for (text, canonical) in [
            ("cron(0 5 ? * * *)", "cron(0 5 ? * * *)"),
            ("cron(0  5 ? *   * *)", "cron(0 5 ? * * *)"),
            ("cron( 0 5 l * ? * )", "cron(0 5 L * ? *)"),
            ("cron(0 5 ? jan-mar fri#2 *)", "cron(0 5 ? JAN-MAR FRI#2 *)"),
            ("cron(0/15 22-2 15w * ? 2026-2030/2)", "cron(0/15 22-2 15W * ? 2026-2030/2)"),
        ] {
            let c = cron(text);
            assert_eq!(c.to_string(), canonical);
            assert_eq!(cron(&c.to_string()), c);
        }
    }

    // ---- errors ----

    #[test]
    fn both_day_fields_specified() {
        assert_eq!(
            err("cron(0 5 * * * *)"),
            "invalid cron expression: day-of-month and day-of-week cannot both be specified; use ? in one of them"
        );
        assert_eq!(
            err("cron(0 5 1 * MON *)"),
            "invalid cron expression: day-of-month and day-of-week cannot both be specified; use ? in one of them"
        );
        assert_eq!(
            err("cron(0 5 ? * ? *)"),
            "invalid cron expression: day-of-month and day-of-week cannot both be ?; give a value in one of them"
        );
    }

    #[test]
    fn out_of_range_values_name_field_and_value() {
        for (text, message) in [
            ("cron(61 5 ? * * *)", "minutes field: 61 is out of range 0-59"),
            ("cron(0 24 ? * * *)", "hours field: 24 is out of range 0-23"),
            ("cron(0 5 0 * ? *)", "day-of-month field: 0 is out of range 1-31"),
            ("cron(0 5 32 * ? *)", "day-of-month field: 32 is out of range 1-31"),
            ("cron(0 5 1 13 ? *)", "month field: 13 is out of range 1-12"),
            ("cron(0 5 1 0 ? *)", "month field: 0 is out of range 1-12"),
            ("cron(0 5 ? * 0 *)", "day-of-week field: 0 is out of range 1-7"),
            ("cron(0 5 ? * 8 *)", "day-of-week field: 8 is out of range 1-7"),
            ("cron(0 5 ? * * 1969)", "year field: 1969 is out of range 1970-2199"),
            ("cron(0 5 ? * * 2200)", "year field: 2200 is out of range 1970-2199"),
            ("cron(0 5 ? * * 99999999999999999999)", "year field: 99999999999999999999 is out of range 1970-2199"),
            ("cron(0-60 5 ? * * *)", "minutes field: 60 is out of range 0-59"),
            ("cron(0 5 32W * ? *)", "day-of-month field: 32 is out of range 1-31"),
            ("cron(0 5 ? * 8L *)", "day-of-week field: 8 is out of range 1-7"),
            ("cron(0 5 ? * 9#1 *)", "day-of-week field: 9 is out of range 1-7"),
        ] {
            assert_eq!(err(text), format!("invalid cron expression: {message}"), "{text}");
        }
    }

    #[test]
    fn bad_tokens_name_field_and_value() {
        for (text, message) in [
            ("cron(x 5 ? * * *)", "minutes field: X is not a valid value; expected 0-59"),
            ("cron(-5 5 ? * * *)", "minutes field: -5 is not a valid range"),
            ("cron(5- 5 ? * * *)", "minutes field: 5- is not a valid range"),
            ("cron(1.5 5 ? * * *)", "minutes field: 1.5 is not a valid value; expected 0-59"),
            ("cron(0 5 1 JANUARY ? *)", "month field: JANUARY is not a valid value; expected 1-12 or JAN-DEC"),
            ("cron(0 5 ? * SUNDAY *)", "day-of-week field: SUNDAY is not a valid value; expected 1-7 or SUN-SAT"),
            ("cron(0 5 1 MON ? *)", "month field: MON is not a valid value; expected 1-12 or JAN-DEC"),
            ("cron(0 5 ? * JAN *)", "day-of-week field: JAN is not a valid value; expected 1-7 or SUN-SAT"),
            ("cron(0 5 MON * ? *)", "day-of-month field: MON is not a valid value; expected 1-31"),
            ("cron(1,,2 5 ? * * *)", "minutes field: empty value in 1,,2"),
            ("cron(1, 5 ? * * *)", "minutes field: empty value in 1,"),
        ] {
            assert_eq!(err(text), format!("invalid cron expression: {message}"), "{text}");
        }
    }

    #[test]
    fn wildcards_in_the_wrong_field() {
        for (text, message) in [
            ("cron(? 5 ? * * *)", "minutes field: ? is only allowed in day-of-month or day-of-week"),
            ("cron(0 ? ? * * *)", "hours field: ? is only allowed in day-of-month or day-of-week"),
            ("cron(0 5 1 ? ? *)", "month field: ? is only allowed in day-of-month or day-of-week"),
            ("cron(0 5 ? * * ?)", "year field: ? is only allowed in day-of-month or day-of-week"),
            (
                "cron(L 5 ? * * *)",
                "minutes field: L is not a valid value; expected 0-59 (L is only allowed in day-of-month or day-of-week)",
            ),
            (
                "cron(0 5W ? * * *)",
                "hours field: 5W is not a valid value; expected 0-23 (W is only allowed in day-of-month)",
            ),
            (
                "cron(0 1#2 ? * * *)",
                "hours field: 1#2 is not a valid value; expected 0-23 (# is only allowed in day-of-week)",
            ),
            ("cron(0 5 ? * 2W *)", "day-of-week field: 2W is not a valid value; expected 1-7 or SUN-SAT"),
            (
                "cron(0 5 3#2 * ? *)",
                "day-of-month field: 3#2 is not a valid value; expected 1-31 (# is only allowed in day-of-week)",
            ),
            ("cron(0 5 1,? * * *)", "day-of-month field: ? must be the only value in the field, got 1,?"),
        ] {
            assert_eq!(err(text), format!("invalid cron expression: {message}"), "{text}");
        }
    }

    #[test]
    fn special_day_forms_must_stand_alone() {
        for (text, message) in [
            (
                "cron(0 5 ? * 3#1,6#3 *)",
                "day-of-week field: when # is used it must be the only expression in the field, got 3#1,6#3",
            ),
            (
                "cron(0 5 ? * 2,3#1 *)",
                "day-of-week field: when # is used it must be the only expression in the field, got 2,3#1",
            ),
            ("cron(0 5 ? * 3#6 *)", "day-of-week field: the number after # must be 1-5, got 3#6"),
            ("cron(0 5 ? * 3#0 *)", "day-of-week field: the number after # must be 1-5, got 3#0"),
            ("cron(0 5 ? * 3# *)", "day-of-week field: the number after # must be 1-5, got 3#"),
            ("cron(0 5 ? * 2,6L *)", "day-of-week field: 6L must be the only expression in the field, got 2,6L"),
            ("cron(0 5 ? * 2,L *)", "day-of-week field: L must be the only expression in the field, got 2,L"),
            ("cron(0 5 1,L * ? *)", "day-of-month field: L must be the only expression in the field, got 1,L"),
            ("cron(0 5 LW,15 * ? *)", "day-of-month field: LW must be the only expression in the field, got LW,15"),
            ("cron(0 5 1W,15W * ? *)", "day-of-month field: 1W must be the only expression in the field, got 1W,15W"),
            (
                "cron(0 5 L-3 * ? *)",
                "day-of-month field: L-3 is not a valid value; expected 1-31, or L, LW or nW alone",
            ),
            (
                "cron(0 5 1-5W * ? *)",
                "day-of-month field: 1-5W is not a valid value; expected 1-31, or L, LW or nW alone",
            ),
            (
                "cron(0 5 L/2 * ? *)",
                "day-of-month field: L/2 is not a valid value; expected 1-31, or L, LW or nW alone",
            ),
            ("cron(0 5 W * ? *)", "day-of-month field: W is not a valid value; expected 1-31, or L, LW or nW alone"),
            ("cron(0 5 1,15W * ? *)", "day-of-month field: 15W must be the only expression in the field, got 1,15W"),
        ] {
            assert_eq!(err(text), format!("invalid cron expression: {message}"), "{text}");
        }
    }

    #[test]
    fn bad_steps() {
        for (text, message) in [
            ("cron(0/0 5 ? * * *)", "minutes field: step 0 in 0/0 is out of range 1-59"),
            ("cron(0/60 5 ? * * *)", "minutes field: step 60 in 0/60 is out of range 1-59"),
            ("cron(0 */24 ? * * *)", "hours field: step 24 in */24 is out of range 1-23"),
            ("cron(0 0 1/32 * ? *)", "day-of-month field: step 32 in 1/32 is out of range 1-31"),
            ("cron(0 0 1 1/13 ? *)", "month field: step 13 in 1/13 is out of range 1-12"),
            ("cron(0 0 ? * 1/8 *)", "day-of-week field: step 8 in 1/8 is out of range 1-7"),
            ("cron(0 0 1 1 ? 1970/230)", "year field: step 230 in 1970/230 is out of range 1-229"),
            ("cron(0/x 5 ? * * *)", "minutes field: step X in 0/X is out of range 1-59"),
            ("cron(0/ 5 ? * * *)", "minutes field: missing step after / in 0/"),
            ("cron(0/5/5 5 ? * * *)", "minutes field: step 5/5 in 0/5/5 is out of range 1-59"),
            ("cron(/5 5 ? * * *)", "minutes field: missing value before / in /5"),
        ] {
            assert_eq!(err(text), format!("invalid cron expression: {message}"), "{text}");
        }
    }

    #[test]
    fn wrong_shape() {
        assert_eq!(
            err("cron(0 5 ? * *)"),
            "invalid cron expression: expected 6 fields (minutes hours day-of-month month day-of-week year), got 5"
        );
        assert_eq!(
            err("cron(0 0 5 ? * * *)"),
            "invalid cron expression: expected 6 fields (minutes hours day-of-month month day-of-week year), got 7"
        );
        assert_eq!(
            err("cron(0 5 ? * * *"),
            "invalid cron expression: missing closing parenthesis in \"cron(0 5 ? * * *\""
        );
        assert_eq!(err("0 5 ? * * *"), "invalid cron expression: expected cron(...), got \"0 5 ? * * *\"");
        assert_eq!(
            err("cron()"),
            "invalid cron expression: expected 6 fields (minutes hours day-of-month month day-of-week year), got 0"
        );
    }

    #[test]
    fn errors_carry_the_field() {
        let e = Cron::parse("cron(0 5 ? 13 * *)").unwrap_err();
        assert_eq!(e.field(), Some(CronField::Month));
        assert_eq!(e.kind(), crate::schedule::ScheduleErrorKind::Syntax);
        assert_eq!(Cron::parse("cron(0 5 * * * *)").unwrap_err().field(), None);
    }

    // ---- frequency ----

    #[test]
    fn backup_frequency() {
        assert!(cron("cron(0 5 ? * * *)").check_backup_frequency().is_ok());
        assert!(cron("cron(0 * ? * * *)").check_backup_frequency().is_ok());
        assert!(cron("cron(0 0/1 ? * * *)").check_backup_frequency().is_ok());
        assert!(cron("cron(59/30 * ? * * *)").check_backup_frequency().is_ok(), "59/30 is only minute 59");
        let e = cron("cron(0/15 * ? * * *)").check_backup_frequency().unwrap_err();
        assert_eq!(
            e.to_string(),
            "schedule fires more than once an hour: minutes field 0/15 selects 4 minutes; \
             AWS Backup needs at least 60 minutes between backups"
        );
        assert_eq!(e.kind(), crate::schedule::ScheduleErrorKind::TooFrequent);
        assert_eq!(e.field(), Some(CronField::Minutes));
        assert!(cron("cron(0,30 5 ? * * *)").check_backup_frequency().is_err());
        assert!(cron("cron(0-1 5 ? * * *)").check_backup_frequency().is_err());
        assert!(cron("cron(* 5 ? * * *)").check_backup_frequency().is_err());
    }

    // ---- speed ----

    #[test]
    fn leap_day_search_is_fast() {
        let c = cron("cron(0 0 29 2 ? *)");
        let started = std::time::Instant::now();
        let mut t = ts("2026-01-01T00:00:00Z");
        for _ in 0..40 {
            t = c.next_after(t, &TimeZone::UTC).unwrap();
        }
        assert_eq!(t.to_string(), "2188-02-29T00:00:00Z");
        assert!(started.elapsed() < std::time::Duration::from_millis(2000), "{:?}", started.elapsed());
    }
}
