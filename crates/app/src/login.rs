//! The one login check, for the API's tokens and the web console's
//! sessions: rate limits, password, account status and TOTP code, every
//! attempt audited. On success the door's `issue` runs in the transaction
//! that writes the `login` event (the console stores its session there),
//! so a login without its record does not happen.
//!
//! The password itself is checked between [`admit_login`] and
//! [`finish_login`] by the server's bounded pool of checking threads (which
//! stays in the server: it is about memory and threads, not the rule), and
//! [`finish_login`] takes its verdict. The steps, and why in this order:
//! 1. [`admit_login`]: one write transaction counts the failures of the
//!    account and the address and, below the limits, records this attempt
//!    as a failure before anything is checked (under a per-bucket lock on
//!    PostgreSQL; SQLite has one writer). Concurrent attempts, also on other
//!    broker nodes, therefore each see the ones before them: no more than
//!    the limit ever reach the password check. Above a limit: refused
//!    (too many attempts), audited.
//! 2. A free password-check slot, or [`refuse_busy_login`]: the recorded
//!    failure is taken back, the refusal audited, and the door answers
//!    "overloaded" at once, so the hashing memory stays bounded.
//! 3. The password check, on the pool's own threads.
//! 4. [`finish_login`]: one write transaction marks the TOTP step as used
//!    (a replayed code fails like a wrong one), issues, takes the recorded
//!    failure back and writes the `login` event; or, on any failure, writes
//!    the failure's event (the failure itself is already counted).

use chrono::{DateTime, Duration, Utc};
use doorstroom_domain::{
    Actor, ActorKind, AuditEvent, Outcome, Purpose, ResourceKind, ResourceRef, SideEvent, StaffStatus, Username,
};
use doorstroom_store::staff::StaffAccount;
use doorstroom_store::{DbConn, Store, audit, login_failures, staff};

use crate::AppError;
use crate::credentials::verify_totp;
use crate::secrets::{Secrets, TotpKey};

const ACCOUNT_BUCKET: &str = "account";
const ADDRESS_BUCKET: &str = "address";

/// The failed-login limits (`[auth]`).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures older than this count for nothing.
    pub window: Duration,
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
}

/// One login attempt: what was typed, and the keyed rate-limit buckets of
/// the account and the client address.
pub struct LoginAttempt {
    username: String,
    password: String,
    totp: String,
    account_bucket: String,
    address_bucket: String,
    request_id: String,
}

impl LoginAttempt {
    /// An attempt from the client `address`, in request `request_id`.
    pub fn new(
        secrets: &Secrets,
        username: String,
        password: String,
        totp: String,
        address: &str,
        request_id: String,
    ) -> Self {
        Self {
            account_bucket: secrets.bucket_key("login-account", &username.trim().to_ascii_lowercase()),
            address_bucket: secrets.bucket_key("login-address", address),
            request_id,
            username,
            password,
            totp,
        }
    }
}

/// The rate-limit buckets of one attempt and the instant its failure was
/// recorded under.
struct Buckets {
    account: String,
    address: String,
    at: DateTime<Utc>,
}

impl Buckets {
    /// Takes back the failure recorded for this attempt.
    fn forget(&self, conn: &mut DbConn) -> Result<(), AppError> {
        login_failures::forget_one(conn, ACCOUNT_BUCKET, &self.account, self.at)?;
        login_failures::forget_one(conn, ADDRESS_BUCKET, &self.address, self.at)?;
        Ok(())
    }
}

/// An attempt below the limits, its failure recorded: waiting for its
/// password check.
pub struct Admitted {
    account: Option<StaffAccount>,
    password: String,
    totp: String,
    buckets: Buckets,
    window_start: DateTime<Utc>,
    event: AuditEvent,
}

impl Admitted {
    /// What the password check compares: the stored hash (`None` for an
    /// unknown user, who is checked against a dummy so that both take as
    /// long) and the typed password, which leaves the attempt.
    pub fn password_check(&mut self) -> (Option<String>, String) {
        let stored = self.account.as_ref().map(|a| a.password_hash.clone());
        (stored, std::mem::take(&mut self.password))
    }
}

/// Step 1: counts the recent failures and, below `limits`, records this
/// attempt as one and looks the account up. Above a limit the refusal is
/// audited and the answer is [`AppError::TooManyAttempts`].
pub fn admit_login(
    store: &Store,
    now: DateTime<Utc>,
    limits: &LoginLimits,
    attempt: LoginAttempt,
) -> Result<Admitted, AppError> {
    let username = Username::parse(&attempt.username).ok();
    let window_start = now - limits.window;
    let buckets = Buckets {
        account: attempt.account_bucket,
        address: attempt.address_bucket,
        at: now,
    };
    let mut event = login_event(now, attempt.request_id);
    let admitted = store.write(|conn| {
        let b = &buckets;
        login_failures::lock_bucket(conn, ACCOUNT_BUCKET, &b.account)?;
        login_failures::lock_bucket(conn, ADDRESS_BUCKET, &b.address)?;
        let account_failures = login_failures::count_since(conn, ACCOUNT_BUCKET, &b.account, window_start)?;
        let address_failures = login_failures::count_since(conn, ADDRESS_BUCKET, &b.address, window_start)?;
        if account_failures >= limits.max_failures_per_account || address_failures >= limits.max_failures_per_address {
            append(
                conn,
                &event.clone().with_outcome(Outcome::Unauthenticated, "rate_limited"),
            )?;
            return Ok::<_, AppError>(None);
        }
        login_failures::record(conn, ACCOUNT_BUCKET, &b.account, b.at)?;
        login_failures::record(conn, ADDRESS_BUCKET, &b.address, b.at)?;
        let account = match &username {
            Some(u) => staff::by_username(conn, u)?,
            None => None,
        };
        Ok(Some(account))
    })?;
    let Some(account) = admitted else {
        return Err(AppError::TooManyAttempts {
            retry_after_secs: limits.window.num_seconds(),
        });
    };
    if let Some(a) = &account {
        event.actor = Actor {
            kind: ActorKind::Staff,
            institution: a.institution.clone(),
            id: Some(a.id.to_string()),
        };
        event.resource = ResourceRef::new(ResourceKind::StaffAccount, Some(a.id.to_string()));
    }
    Ok(Admitted {
        account,
        password: attempt.password,
        totp: attempt.totp,
        buckets,
        window_start,
        event,
    })
}

/// The `login` event of an attempt, anonymous until the account is known.
fn login_event(now: DateTime<Utc>, request_id: String) -> AuditEvent {
    AuditEvent {
        time: now,
        actor: Actor::anonymous(),
        on_behalf_of: None,
        action: SideEvent::Login.into(),
        resource: ResourceRef::new(ResourceKind::StaffAccount, None),
        data_subject: None,
        purpose: Purpose::Authentication,
        outcome: Outcome::Success,
        reason: None,
        request_id: Some(request_id),
    }
}

fn append(conn: &mut DbConn, event: &AuditEvent) -> Result<(), AppError> {
    audit::append(conn, event).map(|_| ()).map_err(AppError::audit_failed)
}

/// Step 2, when no password-check slot is free: the recorded failure is
/// taken back (the attempt was not checked) and the refusal audited.
pub fn refuse_busy_login(store: &Store, admitted: Admitted) -> Result<(), AppError> {
    store.write(|conn| {
        admitted.buckets.forget(conn)?;
        append(
            conn,
            &admitted
                .event
                .with_outcome(Outcome::Unauthenticated, "password_checks_busy"),
        )
    })
}

/// Step 4: given the password check's verdict, checks the account's
/// status and TOTP code (sealed under `totp_key`) and either issues (with
/// `issue`, in the transaction of the `login` event) or audits the
/// failure and answers [`AppError::Unauthenticated`], saying not which.
pub fn finish_login<T, F>(
    store: &Store,
    totp_key: &TotpKey,
    admitted: Admitted,
    password_ok: bool,
    issue: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn, &StaffAccount, DateTime<Utc>) -> Result<T, AppError>,
{
    let now = admitted.buckets.at;
    let issued = match verdict(totp_key, &admitted, password_ok) {
        Ok((account, step)) => store.write(|conn| {
            // A code's step is taken once; a replay fails like a wrong
            // code (its event says which).
            if !staff::use_totp_step(conn, account.id, step)? {
                append(
                    conn,
                    &admitted
                        .event
                        .clone()
                        .with_outcome(Outcome::Unauthenticated, "second_factor_replayed"),
                )?;
                return Ok::<_, AppError>(None);
            }
            let issued = issue(conn, account, now)?;
            let b = &admitted.buckets;
            login_failures::clear(conn, ACCOUNT_BUCKET, &b.account)?;
            login_failures::forget_one(conn, ADDRESS_BUCKET, &b.address, b.at)?;
            // Failures older than the window count for nothing; drop them.
            login_failures::prune_before(conn, admitted.window_start)?;
            append(conn, &admitted.event)?;
            Ok(Some(issued))
        })?,
        Err(reason) => store.write(|conn| {
            append(
                conn,
                &admitted.event.clone().with_outcome(Outcome::Unauthenticated, reason),
            )?;
            Ok::<_, AppError>(None)
        })?,
    };
    issued.ok_or(AppError::Unauthenticated("invalid username, password or second factor"))
}

/// The account and the TOTP step of its code, or the audited reason why
/// the attempt fails.
fn verdict<'a>(
    totp_key: &TotpKey,
    admitted: &'a Admitted,
    password_ok: bool,
) -> Result<(&'a StaffAccount, i64), &'static str> {
    let account = match &admitted.account {
        Some(a) if password_ok => a,
        _ => return Err("bad_credentials"),
    };
    if account.status != StaffStatus::Active {
        return Err("account_deactivated");
    }
    let Some(sealed) = &account.totp_secret else {
        return Err("second_factor_not_enrolled");
    };
    let Ok(secret) = totp_key.open(account.id, sealed) else {
        tracing::error!("a stored TOTP secret cannot be opened (wrong key or damaged row)");
        return Err("second_factor_unreadable");
    };
    verify_totp(&secret, account.username.as_str(), &admitted.totp, admitted.buckets.at)
        .map(|step| (account, step))
        .ok_or("bad_second_factor")
}
