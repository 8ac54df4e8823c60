use time::macros::{date, datetime};

use super::*;

fn jateng_2026() -> Calendar {
    Calendar::new([date!(2026 - 12 - 25), date!(2027 - 01 - 01)])
}

#[test]
fn weekdays_count_and_weekends_do_not() {
    let cal = Calendar::default();
    // Wednesday 10:00 WIB + 3 working days = Monday 10:00 WIB.
    let start = datetime!(2026-11-04 10:00 +7);
    assert_eq!(
        cal.add_working_days(start, 1),
        datetime!(2026-11-05 10:00 +7)
    );
    assert_eq!(
        cal.add_working_days(start, 3),
        datetime!(2026-11-09 10:00 +7)
    );
    assert_eq!(
        cal.add_working_days(start, 5),
        datetime!(2026-11-11 10:00 +7)
    );
    assert_eq!(cal.add_working_days(start, 0), start);
}

#[test]
fn a_weekend_start_counts_from_monday() {
    let cal = Calendar::default();
    let saturday = datetime!(2026-11-07 22:30 +7);
    assert_eq!(
        cal.add_working_days(saturday, 0),
        datetime!(2026-11-09 22:30 +7)
    );
    assert_eq!(
        cal.add_working_days(saturday, 1),
        datetime!(2026-11-10 22:30 +7)
    );
    let sunday = datetime!(2026-11-08 08:00 +7);
    assert_eq!(
        cal.add_working_days(sunday, 3),
        datetime!(2026-11-12 08:00 +7)
    );
}

#[test]
fn holidays_are_skipped_across_the_year_end() {
    let cal = jateng_2026();
    // Thursday 24 Dec; Friday 25 Dec is Christmas, then a weekend, then
    // Friday 1 Jan is New Year.
    let start = datetime!(2026-12-24 09:00 +7);
    assert_eq!(
        cal.add_working_days(start, 1),
        datetime!(2026-12-28 09:00 +7)
    );
    assert_eq!(
        cal.add_working_days(start, 4),
        datetime!(2026-12-31 09:00 +7)
    );
    assert_eq!(
        cal.add_working_days(start, 5),
        datetime!(2027-01-04 09:00 +7)
    );
    // Starting on the holiday itself counts from Monday 28 Dec.
    let christmas = datetime!(2026-12-25 15:00 +7);
    assert_eq!(
        cal.add_working_days(christmas, 0),
        datetime!(2026-12-28 15:00 +7)
    );
    assert_eq!(
        cal.add_working_days(christmas, 3),
        datetime!(2026-12-31 15:00 +7)
    );
}

#[test]
fn local_date_is_judged_in_wib_not_utc() {
    let cal = Calendar::default();
    // Friday 20:00 UTC is already Saturday 03:00 in Jakarta: a weekend start.
    let start = datetime!(2026-11-06 20:00 UTC);
    let due = cal.add_working_days(start, 1);
    assert_eq!(due, datetime!(2026-11-10 03:00 +7));
    assert_eq!(due.offset(), UtcOffset::UTC, "keeps the caller's offset");
    // Judged in UTC the same instant is still a Friday.
    let utc = Calendar::default().with_offset(UtcOffset::UTC);
    assert_eq!(
        utc.add_working_days(start, 1),
        datetime!(2026-11-09 20:00 UTC)
    );
}

#[test]
fn sixty_working_days() {
    let cal = jateng_2026();
    let start = datetime!(2026-12-01 08:00 +7);
    let due = cal.add_working_days(start, 60);
    assert_eq!(cal.working_days_between(start, due), 60);
    // 60 working days: 12 weeks minus the two Friday holidays = 2 more days.
    assert_eq!(due, datetime!(2027-02-25 08:00 +7));
}

#[test]
fn working_days_between_counts_later_dates_only() {
    let cal = jateng_2026();
    let thu = datetime!(2026-12-24 09:00 +7);
    assert_eq!(cal.working_days_between(thu, thu), 0);
    assert_eq!(
        cal.working_days_between(thu, datetime!(2026-12-27 09:00 +7)),
        0
    );
    assert_eq!(
        cal.working_days_between(thu, datetime!(2026-12-28 01:00 +7)),
        1
    );
    assert_eq!(
        cal.working_days_between(datetime!(2027-01-04 09:00 +7), thu),
        0
    );
}

#[test]
fn unix_ms_round_trips() {
    let t = datetime!(2026-12-24 09:00:00.123 +7);
    let ms = unix_ms(t);
    assert_eq!(ms % 1000, 123);
    assert_eq!(from_unix_ms(ms), Some(t));
    assert_eq!(from_unix_ms(i64::MAX), None);
}

proptest::proptest! {
    #[test]
    fn adding_n_working_days_spans_exactly_n(day in 0i64..3000, minutes in 0i64..1440, n in 0u32..80) {
        let cal = jateng_2026();
        let start = datetime!(2024-01-01 00:00 +7)
            + time::Duration::days(day)
            + time::Duration::minutes(minutes);
        let due = cal.add_working_days(start, n);
        proptest::prop_assert!(cal.is_working_day(due.to_offset(Calendar::WIB).date()));
        proptest::prop_assert_eq!(due.time(), start.time());
        let shifted = cal.add_working_days(start, 0);
        proptest::prop_assert_eq!(cal.working_days_between(shifted, due), n);
    }
}

#[test]
fn a_calendar_keeps_its_holidays_and_the_offset_it_is_given() {
    let cal = jateng_2026();
    assert_eq!(
        cal.holidays().iter().copied().collect::<Vec<_>>(),
        [date!(2026 - 12 - 25), date!(2027 - 01 - 01)]
    );
    let wit = time::macros::offset!(+9);
    let papua = jateng_2026().with_offset(wit);
    assert_eq!(papua.offset(), wit);
    assert_eq!(
        papua.holidays(),
        cal.holidays(),
        "the offset keeps the holidays"
    );
}
