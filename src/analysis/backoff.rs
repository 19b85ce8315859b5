//! When a hibernating SSM agent will next try to reach Systems Manager (see the domain reference:
//! pings start 5 minutes apart and double up to a 60-minute cap; after a credential denial it
//! sleeps 25–30 minutes).

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// The first interval of a hibernating agent, and the cap the doubling stops at, in minutes.
const FIRST: u64 = 5;
const CAP: u64 = 60;

/// The agent's likely next attempt, if it has backed off since its last ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// Minutes from the last ping to the moment SSM was asked.
    pub since_ping: u64,
    /// Minutes from the moment SSM was asked to the likely next attempt.
    pub next_in: u64,
    /// The interval the agent is waiting out, in minutes.
    pub interval: u64,
}

/// The estimate from two RFC 3339 times; `None` when either does not parse or the ping is later.
pub fn estimate(last_ping: &str, asked_at: &str) -> Option<Estimate> {
    let ping = DateTime::from_str(last_ping, Format::DateTime).ok()?.secs();
    let asked = DateTime::from_str(asked_at, Format::DateTime).ok()?.secs();
    let since_ping = u64::try_from(asked.checked_sub(ping)?).ok()? / 60;
    let (mut attempt, mut interval) = (FIRST, FIRST);
    while attempt <= since_ping {
        interval = (interval * 2).min(CAP);
        attempt += interval;
    }
    Some(Estimate {
        since_ping,
        next_in: attempt - since_ping,
        interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> Estimate {
        estimate(
            "2026-11-29T03:00:00Z",
            &format!("2026-11-29T{:02}:{:02}:00Z", 3 + minutes / 60, minutes % 60),
        )
        .unwrap()
    }

    #[test]
    fn attempts_double_from_five_minutes_to_a_sixty_minute_cap() {
        // Attempts at 5, 15, 35, 75, 135, 195 minutes after the last ping.
        assert_eq!(
            at(0),
            Estimate {
                since_ping: 0,
                next_in: 5,
                interval: 5
            }
        );
        assert_eq!(
            at(5),
            Estimate {
                since_ping: 5,
                next_in: 10,
                interval: 10
            }
        );
        assert_eq!(
            at(20),
            Estimate {
                since_ping: 20,
                next_in: 15,
                interval: 20
            }
        );
        assert_eq!(
            at(74),
            Estimate {
                since_ping: 74,
                next_in: 1,
                interval: 40
            }
        );
        assert_eq!(
            at(140),
            Estimate {
                since_ping: 140,
                next_in: 55,
                interval: 60
            }
        );
        assert_eq!(at(196).interval, 60);
    }

    #[test]
    fn nonsense_times_give_no_estimate() {
        assert_eq!(estimate("yesterday", "2026-11-29T03:00:00Z"), None);
        assert_eq!(
            estimate("2026-11-29T04:00:00Z", "2026-11-29T03:00:00Z"),
            None
        );
    }
}
