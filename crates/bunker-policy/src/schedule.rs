//! `cron(...)` and `rate(...)` schedule expressions, in the AWS (EventBridge / AWS Backup)
//! dialect, and the instants at which they fire in an IANA time zone.
//!
//! * [`Cron`]: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, six fields, all
//!   required, exactly one of the two day fields `?`. The parser compiles each field to a
//!   bitset (plus one special day rule for `L`, `LW`, `nW`, `nL` and `n#k`); the search
//!   steps year → month → day → hour → minute over those bitsets, so even a schedule that
//!   fires once every four years is found in a handful of steps.
//! * [`Rate`]: `rate(value unit)`, a fixed interval anchored at the plan's creation time.
//!
//! # Daylight-saving time
//!
//! Cron fields are wall-clock times in the schedule's time zone. AWS Backup's pages say
//! nothing about clock changes, but AWS documents its scheduler's behaviour (AWS re:Post
//! Knowledge Center, *How can I adjust my Amazon EventBridge schedule for daylight
//! saving?*, <https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst>): when
//! the clocks spring forward, an invocation whose cron time does not exist that day is
//! skipped; when they fall back, the schedule runs once and is not repeated. Bunker
//! computes the instants AWS would, so:
//!
//! * **Spring-forward gap: skipped.** `cron(30 2 ? * * *)` in `Europe/Berlin` does not fire
//!   on 2026-03-29 (02:00 → 03:00); an hourly schedule fires 23 times that day.
//! * **Fall-back overlap: once, at the first occurrence** (the earlier, summer-time
//!   offset). AWS says it runs once without naming which occurrence; the first is the one
//!   a scheduler walking forward in time meets first, so the job does not wait an extra
//!   hour, and wall-clock order stays instant order. `cron(30 2 ? * * *)` in Berlin
//!   fires on 2026-10-25 at 02:30 CEST (00:30 UTC) only; an hourly schedule fires 24 times
//!   in that 25-hour local day, with two hours between 02:00 CEST and 03:00 CET.
//!
//! `rate(...)` ignores the time zone: the same AWS article counts a rate day as 24 hours
//! after the last invocation, so `rate(1 day)` fires every 86,400 seconds from its anchor
//! whatever the clocks do.
//!
//! # Wrap-around ranges
//!
//! AWS documents `-` ranges but not ranges whose start is larger than their end. Its
//! dialect follows Quartz (1 = SUN, `?`, `L`, `W`, `#`), and Quartz documents "overflowing
//! ranges" (`22-2`, `NOV-FEB`). Bunker accepts them in every cyclic field: minutes, hours,
//! day-of-month (wrapping after 31), month and day-of-week, so `FRI-MON` is Fri, Sat, Sun,
//! Mon and `22-2` is 22, 23, 0, 1, 2; a step counts on across the wrap (`22-2/2` is
//! 22, 0, 2). Years do not cycle, so a backwards year range (`2030-2026`) is an error.
//!
//! # Other choices where AWS is silent
//!
//! Following Quartz: `L`, `LW` and `nW` must be the whole day-of-month field, and `L`,
//! `nL` and `n#k` the whole day-of-week field (AWS documents this for `#`); `nW` never
//! crosses into another month and does not fire in months without a day `n`; `n#5` does
//! not fire in months with only four such weekdays; a step may be at most the field's
//! largest value (59, 23, 31, 12, 7; 229 for years); `/` is accepted in day-of-week too,
//! although AWS's wildcard table leaves it out there; names are case-insensitive. `L-n`
//! offsets and seconds are not part of the AWS dialect and are rejected. Fire times are
//! whole minutes (second 0).

mod cron;
mod rate;

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use self::cron::{Cron, CronField, MAX_YEAR, MIN_YEAR};
pub use self::rate::{Rate, RateUnit};

/// The shortest interval AWS Backup accepts between two backups of one rule.
pub const MIN_BACKUP_INTERVAL_MINUTES: u32 = 60;

/// A parsed `cron(...)` or `rate(...)` expression.
///
/// `Display` gives the canonical text (single spaces, names upper-cased), which parses
/// back to an equal value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// `cron(...)`: wall-clock times in the schedule's time zone.
    Cron(Cron),
    /// `rate(...)`: a fixed interval from an anchor instant.
    Rate(Rate),
}

impl Schedule {
    /// Parses `cron(...)` or `rate(...)`.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        if text.starts_with("cron(") {
            Cron::parse(text).map(Schedule::Cron)
        } else if text.starts_with("rate(") {
            Rate::parse(text).map(Schedule::Rate)
        } else {
            Err(ScheduleError::syntax(format!(
                "invalid schedule expression: expected cron(...) or rate(...), got {text:?}"
            )))
        }
    }

    /// First fire time strictly after `after`, evaluated in time zone `tz` (cron fields are
    /// wall-clock times in tz).
    /// For rate(...) the schedule is anchored at `anchor` (the plan's creation time): fires at
    /// anchor + k*interval, k = 0, 1, 2, ...
    ///
    /// `None` when nothing fires any more (the year field is exhausted, or the expression
    /// names a day that never exists, such as `30 2 30 FEB ? *`).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone, anchor: Timestamp) -> Option<Timestamp> {
        match self {
            Schedule::Cron(cron) => cron.next_after(after, tz),
            Schedule::Rate(rate) => rate.next_after(after, anchor),
        }
    }

    /// The next `n` fire times after `after` (fewer if the schedule runs out).
    pub fn upcoming(&self, after: Timestamp, tz: &TimeZone, anchor: Timestamp, n: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(n.min(1024));
        let mut t = after;
        while out.len() < n {
            let Some(next) = self.next_after(t, tz, anchor) else { break };
            out.push(next);
            t = next;
        }
        out
    }

    /// AWS Backup refuses backups less than 60 minutes apart: Err if this schedule can fire
    /// twice within 60 minutes (for cron: more than one minute value, which every minutes
    /// step with more than one value is; for rate: less than 60 minutes).
    pub fn check_backup_frequency(&self) -> Result<(), ScheduleError> {
        match self {
            Schedule::Cron(cron) => cron.check_backup_frequency(),
            Schedule::Rate(rate) => rate.check_backup_frequency(),
        }
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Schedule, ScheduleError> {
        Schedule::parse(text)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(cron) => cron.fmt(f),
            Schedule::Rate(rate) => rate.fmt(f),
        }
    }
}

impl From<Cron> for Schedule {
    fn from(cron: Cron) -> Schedule {
        Schedule::Cron(cron)
    }
}

impl From<Rate> for Schedule {
    fn from(rate: Rate) -> Schedule {
        Schedule::Rate(rate)
    }
}

/// Serialized as its canonical text, so plans and API shapes carry the AWS string.
impl serde::Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Schedule, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What kind of problem a [`ScheduleError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScheduleErrorKind {
    /// The text is not a valid expression.
    Syntax,
    /// The expression is valid but fires more often than AWS Backup allows.
    TooFrequent,
}

/// A schedule expression that does not parse, or fires too often for AWS Backup.
///
/// `Display` gives the whole message, e.g. "invalid cron expression: minutes field: 61 is
/// out of range 0-59".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScheduleError {
    kind: ScheduleErrorKind,
    field: Option<CronField>,
    message: String,
}

impl ScheduleError {
    /// Which kind of problem.
    pub fn kind(&self) -> ScheduleErrorKind {
        self.kind
    }

    /// The cron field at fault, when the problem lies in one field.
    pub fn field(&self) -> Option<CronField> {
        self.field
    }

    /// The message, as `Display` prints it.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn syntax(message: String) -> ScheduleError {
        ScheduleError { kind: ScheduleErrorKind::Syntax, field: None, message }
    }

    fn cron(detail: impl fmt::Display) -> ScheduleError {
        ScheduleError::syntax(format!("invalid cron expression: {detail}"))
    }

    fn cron_field(field: CronField, detail: impl fmt::Display) -> ScheduleError {
        ScheduleError {
            kind: ScheduleErrorKind::Syntax,
            field: Some(field),
            message: format!("invalid cron expression: {field} field: {detail}"),
        }
    }

    fn rate(detail: impl fmt::Display) -> ScheduleError {
        ScheduleError::syntax(format!("invalid rate expression: {detail}"))
    }

    fn too_frequent(field: Option<CronField>, message: String) -> ScheduleError {
        ScheduleError { kind: ScheduleErrorKind::TooFrequent, field, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::DateTime;
    use proptest::prelude::*;

    fn schedule(text: &str) -> Schedule {
        Schedule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    /// The fire times of `expr` in `zone` from `from` (exclusive) to `to` (exclusive).
    fn fires_between(expr: &str, zone: &str, from: &str, to: &str) -> Vec<String> {
        let s = schedule(expr);
        let (tz, to) = (tz(zone), ts(to));
        let anchor = ts("2026-01-01T00:00:00Z");
        let mut out = Vec::new();
        let mut t = ts(from);
        while let Some(next) = s.next_after(t, &tz, anchor).filter(|&n| n < to) {
            out.push(next.to_string());
            t = next;
        }
        out
    }

    fn next(expr: &str, zone: &str, after: &str) -> String {
        schedule(expr).next_after(ts(after), &tz(zone), ts("2026-01-01T00:00:00Z")).unwrap().to_string()
    }

    // ---- parsing and display ----

    #[test]
    fn parse_dispatches_on_the_prefix() {
        assert!(matches!(schedule("cron(0 5 ? * * *)"), Schedule::Cron(_)));
        assert!(matches!(schedule("rate(1 hour)"), Schedule::Rate(_)));
        assert_eq!("rate(5 minutes)".parse::<Schedule>().unwrap(), schedule("rate(5 minutes)"));
        assert_eq!(
            Schedule::parse("at(2026-01-01T00:00:00)").unwrap_err().to_string(),
            "invalid schedule expression: expected cron(...) or rate(...), got \"at(2026-01-01T00:00:00)\""
        );
        assert!(Schedule::parse("").is_err());
        assert!(Schedule::parse(" cron(0 5 ? * * *)").is_err(), "no text outside the expression");
        assert!(Schedule::parse("CRON(0 5 ? * * *)").is_err(), "the keyword is lower-case");
    }

    #[test]
    fn policy_vector_16_message() {
        // testdata/policy-vectors/16-error-cron-day-fields.json
        let e = Schedule::parse("cron(0 5 * * * *)").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid cron expression: day-of-month and day-of-week cannot both be specified; use ? in one of them"
        );
        assert_eq!(e.kind(), ScheduleErrorKind::Syntax);
    }

    #[test]
    fn display_round_trips() {
        for text in
            ["cron(0 5 ? * * *)", "cron(0 0/1 ? * * *)", "cron(30 2 ? * MON-FRI *)", "rate(1 day)", "rate(12 hours)"]
        {
            let s = schedule(text);
            assert_eq!(s.to_string(), text);
            assert_eq!(schedule(&s.to_string()), s);
        }
        assert_eq!(schedule("cron(0 5 ? * mon,wed *)").to_string(), "cron(0 5 ? * MON,WED *)");
    }

    #[test]
    fn serde_uses_the_text() {
        let s = schedule("cron(0 5 ? * sun *)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"cron(0 5 ? * SUN *)\"");
        assert_eq!(serde_json::from_str::<Schedule>("\"rate(1 hour)\"").unwrap(), schedule("rate(1 hour)"));
        let e = serde_json::from_str::<Schedule>("\"cron(61 5 ? * * *)\"").unwrap_err();
        assert!(e.to_string().contains("minutes field: 61 is out of range 0-59"), "{e}");
    }

    // ---- next_after / upcoming ----

    #[test]
    fn reference_examples_in_utc() {
        assert_eq!(next("cron(0 5 ? * * *)", "UTC", "2026-07-01T05:00:00Z"), "2026-07-02T05:00:00Z");
        assert_eq!(next("cron(0 5 1 * ? *)", "UTC", "2026-07-01T05:00:00Z"), "2026-08-01T05:00:00Z");
        assert_eq!(next("cron(0 0/1 ? * * *)", "UTC", "2026-07-01T05:00:00Z"), "2026-07-01T06:00:00Z");
        // 2026-07-02 is a Thursday: 1,3,5 = SUN,TUE,THU.
        assert_eq!(next("cron(0 5 ? * 1,3,5 *)", "UTC", "2026-07-01T05:00:00Z"), "2026-07-02T05:00:00Z");
        assert_eq!(next("cron(0 5 ? * 1,3,5 *)", "UTC", "2026-07-02T05:00:00Z"), "2026-07-05T05:00:00Z");
    }

    #[test]
    fn cron_fields_are_wall_clock_in_the_zone() {
        // 05:00 in Berlin is 03:00 UTC in summer and 04:00 UTC in winter.
        assert_eq!(next("cron(0 5 ? * * *)", "Europe/Berlin", "2026-07-01T12:00:00Z"), "2026-07-02T03:00:00Z");
        assert_eq!(next("cron(0 5 ? * * *)", "Europe/Berlin", "2026-01-01T12:00:00Z"), "2026-01-02T04:00:00Z");
        // The 1st of the month starts in New York five hours after UTC.
        assert_eq!(next("cron(0 0 1 * ? *)", "America/New_York", "2026-01-15T00:00:00Z"), "2026-02-01T05:00:00Z");
        // Half-hour offsets.
        assert_eq!(next("cron(0 9 ? * * *)", "Asia/Kolkata", "2026-01-01T00:00:00Z"), "2026-01-01T03:30:00Z");
    }

    #[test]
    fn february_29_from_2026_is_2028() {
        assert_eq!(next("cron(0 12 29 2 ? *)", "UTC", "2026-01-01T00:00:00Z"), "2028-02-29T12:00:00Z");
        assert_eq!(next("cron(0 12 29 2 ? *)", "Europe/Berlin", "2026-01-01T00:00:00Z"), "2028-02-29T11:00:00Z");
    }

    #[test]
    fn exhausted_schedules_give_none() {
        let s = schedule("cron(0 0 1 1 ? 2027)");
        let utc = TimeZone::UTC;
        let anchor = ts("2026-01-01T00:00:00Z");
        assert_eq!(s.upcoming(ts("2026-01-01T00:00:00Z"), &utc, anchor, 5), [ts("2027-01-01T00:00:00Z")]);
        assert_eq!(s.next_after(ts("2027-01-01T00:00:00Z"), &utc, anchor), None);
        assert_eq!(schedule("cron(30 2 30 FEB ? *)").next_after(anchor, &utc, anchor), None);
    }

    #[test]
    fn upcoming_rate_uses_the_anchor_not_the_zone() {
        let s = schedule("rate(12 hours)");
        let got = s.upcoming(ts("2026-03-28T00:00:00Z"), &tz("Europe/Berlin"), ts("2026-03-01T06:00:00Z"), 4);
        let got: Vec<String> = got.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            got,
            ["2026-03-28T06:00:00Z", "2026-03-28T18:00:00Z", "2026-03-29T06:00:00Z", "2026-03-29T18:00:00Z"]
        );
    }

    #[test]
    fn upcoming_thousand_hourly_is_fast() {
        let s = schedule("cron(0 * ? * * *)");
        let berlin = tz("Europe/Berlin");
        let start = ts("2026-01-01T00:00:00Z");
        let started = std::time::Instant::now();
        let fires = s.upcoming(start, &berlin, start, 1000);
        let elapsed = started.elapsed();
        assert_eq!(fires.len(), 1000);
        assert_eq!(fires[999].to_string(), "2026-02-11T16:00:00Z");
        // Guards against a minute-by-minute search (seconds); measured ~2 ms in a debug build.
        assert!(elapsed < std::time::Duration::from_millis(1000), "{elapsed:?}");
    }

    // ---- daylight-saving time ----

    #[test]
    fn berlin_spring_forward_daily_0230_is_skipped() {
        // 2026-03-29: 02:00 CET -> 03:00 CEST, so 02:30 does not exist that night.
        assert_eq!(
            fires_between("cron(30 2 ? * * *)", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-31T00:00:00Z"),
            ["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]
        );
    }

    #[test]
    fn berlin_spring_forward_hourly_fires_23_times() {
        // The local day 2026-03-29 runs from 2026-03-28T23:00Z to 2026-03-29T22:00Z.
        let got = fires_between("cron(0 * ? * * *)", "Europe/Berlin", "2026-03-28T22:59:00Z", "2026-03-29T22:00:00Z");
        assert_eq!(got.len(), 23);
        // 01:00 CET, then 03:00 CEST: one hour apart in UTC, 02:00 skipped.
        assert_eq!(got[..3], ["2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"]);
        assert_eq!(got[22], "2026-03-29T21:00:00Z");
    }

    #[test]
    fn berlin_fall_back_daily_0230_fires_once_at_the_first_occurrence() {
        // 2026-10-25: 03:00 CEST -> 02:00 CET, so 02:30 happens at 00:30Z and again at 01:30Z.
        assert_eq!(
            fires_between("cron(30 2 ? * * *)", "Europe/Berlin", "2026-10-23T12:00:00Z", "2026-10-27T00:00:00Z"),
            ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
        // Asked during the second 02:30, the next fire is the next day's.
        assert_eq!(next("cron(30 2 ? * * *)", "Europe/Berlin", "2026-10-25T01:15:00Z"), "2026-10-26T01:30:00Z");
        assert_eq!(next("cron(30 2 ? * * *)", "Europe/Berlin", "2026-10-25T00:29:00Z"), "2026-10-25T00:30:00Z");
    }

    #[test]
    fn berlin_fall_back_hourly_fires_24_times_in_25_hours() {
        // The local day 2026-10-25 runs from 2026-10-24T22:00Z to 2026-10-25T23:00Z.
        let got = fires_between("cron(0 * ? * * *)", "Europe/Berlin", "2026-10-24T21:59:00Z", "2026-10-25T23:00:00Z");
        assert_eq!(got.len(), 24);
        // 02:00 CEST at 00:00Z; the repeated 02:00 CET (01:00Z) does not fire; 03:00 CET at 02:00Z.
        assert_eq!(got[1..4], ["2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"]);
        assert_eq!(got[23], "2026-10-25T22:00:00Z");
        // Every half hour between them too: 02:30 CET (01:30Z) is a repeat.
        assert_eq!(next("cron(30 * ? * * *)", "Europe/Berlin", "2026-10-25T01:15:00Z"), "2026-10-25T02:30:00Z");
    }

    #[test]
    fn new_york_spring_forward() {
        // 2026-03-08: 02:00 EST -> 03:00 EDT.
        assert_eq!(
            fires_between("cron(30 2 ? * * *)", "America/New_York", "2026-03-06T12:00:00Z", "2026-03-10T00:00:00Z"),
            ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"]
        );
        // The local day runs from 05:00Z to 04:00Z the next day: 23 hours, 23 fires.
        let got =
            fires_between("cron(0 * ? * * *)", "America/New_York", "2026-03-08T04:59:00Z", "2026-03-09T04:00:00Z");
        assert_eq!(got.len(), 23);
        assert_eq!(got[1..3], ["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z"]);
    }

    #[test]
    fn new_york_fall_back() {
        // 2026-11-01: 02:00 EDT -> 01:00 EST. 02:30 is not repeated (it exists once, in EST).
        assert_eq!(
            fires_between("cron(30 2 ? * * *)", "America/New_York", "2026-10-30T12:00:00Z", "2026-11-03T00:00:00Z"),
            ["2026-10-31T06:30:00Z", "2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"]
        );
        // 01:30 is repeated: it fires at the EDT one only.
        assert_eq!(
            fires_between("cron(30 1 ? * * *)", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"),
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
        );
        // The local day runs from 04:00Z to 05:00Z the next day: 25 hours, 24 fires.
        let got =
            fires_between("cron(0 * ? * * *)", "America/New_York", "2026-11-01T03:59:00Z", "2026-11-02T05:00:00Z");
        assert_eq!(got.len(), 24);
        assert_eq!(got[1..3], ["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z"]);
    }

    #[test]
    fn lord_howe_half_hour_changes() {
        // 2026-04-05: 02:00 +11 -> 01:30 +10:30, so 01:45 happens twice; it fires the first time.
        assert_eq!(
            fires_between("cron(45 1 ? * * *)", "Australia/Lord_Howe", "2026-04-03T12:00:00Z", "2026-04-06T00:00:00Z"),
            ["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
        );
        // 2026-10-04: 02:00 +10:30 -> 02:30 +11, so 02:15 does not exist that night.
        assert_eq!(
            fires_between("cron(15 2 ? * * *)", "Australia/Lord_Howe", "2026-10-02T12:00:00Z", "2026-10-05T12:00:00Z"),
            ["2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z"]
        );
    }

    #[test]
    fn a_time_that_is_always_in_a_gap_never_fires() {
        // The last Sunday of March is Europe's switch day, so 02:30 on it never exists in
        // Berlin; the search walks every remaining year and gives up.
        let s = schedule("cron(30 2 ? 3 1L *)");
        let anchor = ts("2026-01-01T00:00:00Z");
        assert_eq!(s.next_after(anchor, &tz("Europe/Berlin"), anchor), None);
        // In UTC it fires.
        assert_eq!(next("cron(30 2 ? 3 1L *)", "UTC", "2026-01-01T00:00:00Z"), "2026-03-29T02:30:00Z");
    }

    // ---- backup frequency ----

    #[test]
    fn backup_frequency() {
        for ok in [
            "cron(0 5 ? * * *)",
            "cron(0 0/1 ? * * *)",
            "cron(15 * ? * * *)",
            "rate(1 hour)",
            "rate(1 day)",
            "rate(90 minutes)",
        ] {
            assert!(schedule(ok).check_backup_frequency().is_ok(), "{ok}");
        }
        for too_often in
            ["cron(0/30 * ? * * *)", "cron(0,1 5 ? * * *)", "cron(* 5 ? * * *)", "rate(59 minutes)", "rate(5 minutes)"]
        {
            let e = schedule(too_often).check_backup_frequency().unwrap_err();
            assert_eq!(e.kind(), ScheduleErrorKind::TooFrequent, "{too_often}");
            assert!(e.to_string().contains("at least 60 minutes"), "{e}");
        }
    }

    // ---- properties ----

    /// One list item of a plain field with values in lo..=hi, names allowed when given.
    fn item(lo: u32, hi: u32, names: &'static [&'static str]) -> impl Strategy<Value = String> {
        let value = move || {
            (lo..=hi, any::<bool>()).prop_map(move |(v, named)| {
                if named && !names.is_empty() { names[(v - 1) as usize].to_ascii_lowercase() } else { v.to_string() }
            })
        };
        prop_oneof![
            Just("*".to_string()),
            value(),
            (value(), value()).prop_map(|(a, b)| format!("{a}-{b}")),
            (value(), 1..=hi.min(12)).prop_map(|(a, s)| format!("{a}/{s}")),
            (1..=hi.min(12)).prop_map(|s| format!("*/{s}")),
            (value(), value(), 1..=hi.min(12)).prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
        ]
    }

    fn list(lo: u32, hi: u32, names: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::collection::vec(item(lo, hi, names), 1..=3).prop_map(|items| items.join(","))
    }

    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    fn day_fields() -> impl Strategy<Value = (String, String)> {
        let day_of_month = prop_oneof![
            4 => list(1, 31, &[]),
            1 => Just("L".to_string()),
            1 => Just("LW".to_string()),
            1 => (1..=31u32).prop_map(|n| format!("{n}W")),
        ];
        let day_of_week = prop_oneof![
            4 => list(1, 7, &DAYS),
            1 => Just("L".to_string()),
            1 => (1..=7u32).prop_map(|n| format!("{n}L")),
            1 => (1..=7u32, 1..=5u32).prop_map(|(n, k)| format!("{n}#{k}")),
        ];
        prop_oneof![day_of_month.prop_map(|d| (d, "?".to_string())), day_of_week.prop_map(|d| ("?".to_string(), d)),]
    }

    fn year_field() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => Just("*".to_string()),
            1 => (2026..=2040u32).prop_map(|y| y.to_string()),
            1 => (2026..=2030u32, 2030..=2045u32).prop_map(|(a, b)| format!("{a}-{b}")),
            1 => (2020..=2030u32, 1..=4u32).prop_map(|(a, s)| format!("{a}/{s}")),
        ]
    }

    fn cron_text() -> impl Strategy<Value = String> {
        (list(0, 59, &[]), list(0, 23, &[]), day_fields(), list(1, 12, &MONTHS), year_field())
            .prop_map(|(mi, h, (dom, dow), mo, y)| format!("cron({mi} {h} {dom} {mo} {dow} {y})"))
    }

    fn zone() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
    }

    /// Fire times found by looking at every minute: a minute fires when its wall-clock
    /// time matches and it is that wall-clock time's first occurrence.
    fn brute_force(cron: &Cron, tz: &TimeZone, after: Timestamp, until: Timestamp) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut t = Timestamp::from_second(after.as_second().div_euclid(60) * 60 + 60).unwrap();
        while t <= until {
            let local: DateTime = tz.to_datetime(t);
            if cron.matches(local) && tz.to_ambiguous_timestamp(local).earlier().unwrap() == t {
                out.push(t);
            }
            t = t.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
        }
        out
    }

    fn hours(n: i64) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(n)
    }

    /// Fire times of `s` in (from, until], by repeated `next_after`.
    fn fires_until(s: &Schedule, tz: &TimeZone, from: Timestamp, until: Timestamp) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut t = from;
        while let Some(next) = s.next_after(t, tz, from).filter(|&n| n <= until) {
            out.push(next);
            t = next;
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn random_crons_round_trip_and_fire_where_they_match(
            text in cron_text(),
            zone in zone(),
            after_secs in 1_767_225_600i64..1_893_456_000, // 2026-01-01 .. 2030-01-01
        ) {
            let s = Schedule::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            let Schedule::Cron(cron) = &s else { unreachable!() };
            prop_assert_eq!(&Schedule::parse(&s.to_string()).unwrap(), &s);

            let tz = tz(zone);
            let after = Timestamp::from_second(after_secs).unwrap();
            let fires = s.upcoming(after, &tz, after, 30);
            let mut previous = after;
            for &t in &fires {
                prop_assert!(t > previous, "{} not after {} for {}", t, previous, text);
                let local = tz.to_datetime(t);
                prop_assert!(cron.matches(local), "{} ({}) does not match {}", t, local, text);
                previous = t;
            }

            // Minute by minute around the first fire time: nothing missed, nothing extra.
            let first = fires.first().copied().unwrap_or(after);
            let from = after.max(first - hours(24));
            let until = first + hours(24);
            let expected = brute_force(cron, &tz, from, until);
            let got = fires_until(&s, &tz, from, until);
            prop_assert_eq!(got, expected, "{} in {}", text, zone);
        }

        #[test]
        fn dense_crons_across_clock_changes(
            minutes in list(0, 59, &[]),
            hours_field in list(0, 23, &[]),
            zone in prop::sample::select(vec!["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
            after_secs in 1_767_225_600i64..1_893_456_000,
            lead in 0i64..86_400,
        ) {
            let text = format!("cron({minutes} {hours_field} ? * * *)");
            let s = Schedule::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            let Schedule::Cron(cron) = &s else { unreachable!() };
            let tz = tz(zone);
            // Start up to a day before the zone's next clock change and look two days on.
            let change = tz.following(Timestamp::from_second(after_secs).unwrap()).next().unwrap().timestamp();
            let from = change - jiff::SignedDuration::from_secs(lead);
            let until = from + hours(48);
            let got = fires_until(&s, &tz, from, until);
            let expected = brute_force(cron, &tz, from, until);
            prop_assert_eq!(got, expected, "{} in {} around {}", text, zone, change);
        }
    }
}
