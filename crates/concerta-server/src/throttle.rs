//! Login throttling: how many password attempts an account and a client address get.
//!
//! Each login attempt (and each password change, on its account) takes one attempt from the
//! client address's allowance and one from the account's, *before* the password is checked,
//! so a refused attempt costs no argon2 work. An allowance is a burst that refills at a
//! steady rate (GCRA, by `governor`): with the default `5/30` an account gets 5 attempts at
//! once, then one more every 30 seconds. When either is spent the answer is 429 with
//! `Retry-After`, the same whether or not the account exists (unknown emails have
//! allowances too). The address is the socket's peer, or the proxy's `X-Forwarded-For` when
//! the server is told to trust it ([`crate::auth::ClientAddress`]); IPv6 addresses count per
//! /64, the block one subscriber usually gets.
//!
//! A *run* of refusals for one account or address starts with its first refused attempt and
//! ends with its next allowed one; [`Throttled::run_started`] marks the first refusal of a run,
//! so the caller audits each run once (a flood of 429s is not a flood of audit writes, and
//! every address of a flood was audited for its failures before it was throttled anyway).
//!
//! Memory: one small state per account and per address seen recently; states that have
//! refilled completely are dropped every minute ([`LoginThrottle::forget_idle`]), and account
//! keys are cut to 320 characters (the longest email).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The longest account key kept (the longest valid email address).
const MAX_ACCOUNT_KEY: usize = 320;

/// An allowance: `burst` attempts at once, then one more every `period`. Written `N/SECONDS`
/// (`5/30`) in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimit {
    /// Attempts available at once.
    pub burst: NonZeroU32,
    /// The time after which one more attempt is available.
    pub period: Duration,
}

impl LoginLimit {
    /// The default for an account: 5 at once, then one every 30 s.
    pub const ACCOUNT: LoginLimit = LoginLimit { burst: NonZeroU32::new(5).unwrap(), period: Duration::from_secs(30) };
    /// The default for a client address: 30 at once, then one every 2 s (an office behind one
    /// address logs in without noticing; a script gets 1,800 guesses an hour, spread over
    /// accounts that each allow 120).
    pub const ADDRESS: LoginLimit = LoginLimit { burst: NonZeroU32::new(30).unwrap(), period: Duration::from_secs(2) };

    fn quota(self) -> Quota {
        Quota::with_period(self.period).expect("a period of at least one millisecond").allow_burst(self.burst)
    }
}

impl FromStr for LoginLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not N/SECONDS (for example 5/30: 5 attempts at once, then one every 30 s)");
        let (burst, period) = s.split_once('/').ok_or_else(bad)?;
        let burst = burst.trim().parse::<NonZeroU32>().map_err(|_| bad())?;
        let period = period.trim().parse::<f64>().map_err(|_| bad())?;
        if !(0.001..=86_400.0).contains(&period) {
            return Err(bad());
        }
        Ok(LoginLimit { burst, period: Duration::from_secs_f64(period) })
    }
}

impl fmt::Display for LoginLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.burst, self.period.as_secs_f64())
    }
}

/// Whose allowance refused an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottledBy {
    /// The account's (the email's).
    Account,
    /// The client address's.
    Address,
}

impl ThrottledBy {
    /// `account` or `address`.
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottledBy::Account => "account",
            ThrottledBy::Address => "address",
        }
    }
}

/// A refused attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// How long until one more attempt is allowed.
    pub retry_after: Duration,
    /// Whose allowance is spent.
    pub by: ThrottledBy,
    /// The first refusal since that account or address was last allowed an attempt.
    pub run_started: bool,
}

/// A key of the runs of refusals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum RunKey {
    Account(String),
    Address(IpAddr),
}

/// The allowances of accounts and client addresses (see the module docs).
pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    /// Accounts and addresses being refused, with the time of their last refusal.
    refusing: Mutex<HashMap<RunKey, Instant>>,
    /// After this long without a refusal a run is forgotten (the longer full refill).
    forget_runs_after: Duration,
}

impl LoginThrottle {
    /// Allowances per account and per client address.
    pub fn new(account: LoginLimit, address: LoginLimit) -> Self {
        let refill = |l: LoginLimit| l.period * l.burst.get();
        Self {
            accounts: RateLimiter::keyed(account.quota()),
            addresses: RateLimiter::keyed(address.quota()),
            clock: DefaultClock::default(),
            refusing: Mutex::new(HashMap::new()),
            forget_runs_after: refill(account).max(refill(address)),
        }
    }

    /// Takes one attempt from `address`'s allowance (when known), then from `account`'s
    /// (an email, compared lowercased). `Err` with how long to wait when either is spent.
    pub fn attempt(&self, address: Option<IpAddr>, account: &str) -> Result<(), Throttled> {
        if let Some(address) = address {
            let key = address_key(address);
            let checked = self.addresses.check_key(&key);
            self.note(RunKey::Address(key), checked.map_err(|not| not.wait_time_from(self.clock.now())), ThrottledBy::Address)?;
        }
        self.attempt_account(account)
    }

    /// Takes one attempt from `account`'s allowance only.
    pub fn attempt_account(&self, account: &str) -> Result<(), Throttled> {
        let key = account_key(account);
        let checked = self.accounts.check_key(&key).map_err(|not| not.wait_time_from(self.clock.now()));
        self.note(RunKey::Account(key), checked, ThrottledBy::Account)
    }

    /// Starts, continues or ends `key`'s run of refusals.
    fn note(&self, key: RunKey, checked: Result<(), Duration>, by: ThrottledBy) -> Result<(), Throttled> {
        let mut refusing = self.refusing.lock().expect("the throttle's lock is never poisoned");
        match checked {
            Ok(()) => {
                if !refusing.is_empty() {
                    refusing.remove(&key);
                }
                Ok(())
            }
            Err(retry_after) => {
                let run_started = refusing.insert(key, Instant::now()).is_none();
                Err(Throttled { retry_after, by, run_started })
            }
        }
    }

    /// Drops the state of accounts and addresses whose allowance is whole again.
    pub fn forget_idle(&self) {
        self.accounts.retain_recent();
        self.accounts.shrink_to_fit();
        self.addresses.retain_recent();
        self.addresses.shrink_to_fit();
        let mut refusing = self.refusing.lock().expect("the throttle's lock is never poisoned");
        refusing.retain(|_, last| last.elapsed() < self.forget_runs_after);
        refusing.shrink_to_fit();
    }

    /// How many accounts and addresses have a state (for tests and metrics).
    pub fn tracked(&self) -> (usize, usize) {
        (self.accounts.len(), self.addresses.len())
    }
}

fn account_key(email: &str) -> String {
    email.trim().to_lowercase().chars().take(MAX_ACCOUNT_KEY).collect()
}

/// IPv4 as is; IPv6 cut to its /64 (IPv4-mapped addresses as IPv4).
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_print() {
        let limit: LoginLimit = "5/30".parse().unwrap();
        assert_eq!(limit, LoginLimit::ACCOUNT);
        assert_eq!(limit.to_string(), "5/30");
        assert_eq!("3/0.5".parse::<LoginLimit>().unwrap().period, Duration::from_millis(500));
        for bad in ["5", "0/30", "5/0", "x/1", "5/-1", "5/1e9"] {
            assert!(bad.parse::<LoginLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_account_gets_its_burst_whatever_the_spelling_and_address() {
        let throttle = LoginThrottle::new(LoginLimit::ACCOUNT, "1000/1".parse().unwrap());
        for i in 0..5 {
            let address: IpAddr = format!("192.0.2.{i}").parse().unwrap();
            let email = if i % 2 == 0 { "Ana@Example.org " } else { "ana@example.org" };
            assert!(throttle.attempt(Some(address), email).is_ok(), "attempt {i}");
        }
        let refused = throttle.attempt(Some("198.51.100.1".parse().unwrap()), "ANA@example.org").unwrap_err();
        let wait = refused.retry_after;
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!((refused.by, refused.run_started), (ThrottledBy::Account, true));
        assert!(throttle.attempt(None, "bob@example.org").is_ok(), "other accounts are not affected");
    }

    #[test]
    fn an_address_gets_its_burst_across_accounts_and_ipv6_counts_per_64() {
        let throttle = LoginThrottle::new("1000/1".parse().unwrap(), "3/60".parse().unwrap());
        let v6 = |last: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, last));
        for i in 0..3 {
            assert!(throttle.attempt(Some(v6(i)), &format!("user{i}@example.org")).is_ok());
        }
        assert!(throttle.attempt(Some(v6(99)), "someone@example.org").is_err(), "same /64");
        let other = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(throttle.attempt(Some(other), "someone@example.org").is_ok());
        assert_eq!(address_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_run_of_refusals_is_reported_once_and_ends_with_the_next_allowed_attempt() {
        let throttle = LoginThrottle::new("1/0.2".parse().unwrap(), "1000/1".parse().unwrap());
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(throttle.attempt(Some(address), "ana@example.org").is_ok());
        let started: Vec<bool> = (0..4).map(|_| throttle.attempt(Some(address), "ana@example.org").unwrap_err().run_started).collect();
        assert_eq!(started, [true, false, false, false]);
        assert!(throttle.attempt(Some(address), "bob@example.org").is_ok(), "another account has its own run");
        std::thread::sleep(Duration::from_millis(250));
        assert!(throttle.attempt(Some(address), "ana@example.org").is_ok(), "refilled");
        assert!(throttle.attempt(Some(address), "ana@example.org").unwrap_err().run_started, "a new run");

        let by_address = LoginThrottle::new("1000/1".parse().unwrap(), "1/60".parse().unwrap());
        assert!(by_address.attempt(Some(address), "a@example.org").is_ok());
        let refused = by_address.attempt(Some(address), "b@example.org").unwrap_err();
        assert_eq!((refused.by, refused.run_started), (ThrottledBy::Address, true));
        assert!(!by_address.attempt(Some(address), "c@example.org").unwrap_err().run_started);
    }

    #[test]
    fn long_account_keys_are_cut() {
        assert_eq!(account_key(&"a".repeat(10_000)).len(), MAX_ACCOUNT_KEY);
    }
}
