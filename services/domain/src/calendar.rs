//! Working days, the unit of every complaint deadline: Monday to Friday minus
//! the configured public holidays, judged by the local date at one fixed UTC
//! offset (WIB, UTC+7, unless told otherwise) so that a deadline never depends
//! on the server's time zone.

use std::collections::BTreeSet;

use time::{macros::offset, Date, OffsetDateTime, PrimitiveDateTime, UtcOffset, Weekday};

/// A working-day calendar: weekends and holidays off, judged at one UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeSet<Date>,
    offset: UtcOffset,
}

impl Default for Calendar {
    fn default() -> Self {
        Self::new([])
    }
}

impl Calendar {
    /// Western Indonesian Time, UTC+7 (Jakarta), the default.
    pub const WIB: UtcOffset = offset!(+7);

    /// A calendar with these holidays, in WIB.
    pub fn new(holidays: impl IntoIterator<Item = Date>) -> Self {
        Self {
            holidays: holidays.into_iter().collect(),
            offset: Self::WIB,
        }
    }

    /// The same calendar judged at another offset (WITA +8, WIT +9).
    pub fn with_offset(mut self, offset: UtcOffset) -> Self {
        self.offset = offset;
        self
    }

    /// The offset local dates are judged at.
    pub fn offset(&self) -> UtcOffset {
        self.offset
    }

    /// The configured holidays.
    pub fn holidays(&self) -> &BTreeSet<Date> {
        &self.holidays
    }

    /// True for Monday to Friday when not a holiday.
    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&date)
    }

    /// The same local time of day on the `n`-th working day after `start`'s
    /// local date. A start on a weekend or holiday counts as if it came on the
    /// next working day at the same time (a complaint sent on Saturday is
    /// received on Monday), so `n = 0` moves such a start to that day.
    ///
    /// The result is the same instant expressed in `start`'s offset.
    pub fn add_working_days(&self, start: OffsetDateTime, n: u32) -> OffsetDateTime {
        let local = start.to_offset(self.offset);
        let mut date = self.first_working_day_from(local.date());
        for _ in 0..n {
            date = self.first_working_day_from(next_day(date));
        }
        PrimitiveDateTime::new(date, local.time())
            .assume_offset(self.offset)
            .to_offset(start.offset())
    }

    /// How many working days lie after `from`'s local date up to and
    /// including `to`'s; 0 when `to` is not on a later date. For instance, how
    /// many working days a deadline has been overdue.
    pub fn working_days_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> u32 {
        let (from, to) = (
            from.to_offset(self.offset).date(),
            to.to_offset(self.offset).date(),
        );
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = next_day(date);
            if self.is_working_day(date) {
                count += 1;
            }
        }
        count
    }

    fn first_working_day_from(&self, mut date: Date) -> Date {
        // Date::MAX guards the loop: past year 9999 there is no next day.
        while !self.is_working_day(date) && date != Date::MAX {
            date = next_day(date);
        }
        date
    }
}

fn next_day(date: Date) -> Date {
    date.next_day().unwrap_or(Date::MAX)
}

/// Unix milliseconds, the time unit inside events.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    // i64 milliseconds cover ±292 million years; time's range is ±9999 years.
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The instant of Unix milliseconds `ms`, or None outside time's range.
pub fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests;
