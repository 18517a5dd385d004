//! The connection: reconnecting with exponential backoff, one transaction per unit of
//! work, and finding out whether a transaction whose `COMMIT` got no answer committed.
//!
//! Every unit of work (a batch `COPY`, publishing a staging table) runs as
//!
//! ```sql
//! BEGIN; SELECT txid_current();   -- remember the transaction id
//! ...                             -- the work
//! COMMIT;
//! ```
//!
//! A connection lost before `COMMIT` was sent means the server rolled the transaction
//! back: the work is simply done again on a new connection. A connection lost while
//! waiting for the answer to `COMMIT` leaves it unknown whether the transaction
//! committed; the next attempt first asks the server, `SELECT txid_status(xid)`
//! (`committed`, `aborted`, or `in progress` while the old backend is still winding
//! down), and re-does the work only if it did not commit. So a batch is never written
//! twice and never lost silently.

use crate::options::{Target, FIRST_RETRY_DELAY, MAX_RETRY_DELAY};
use postgres::{Client, NoTls, SimpleQueryMessage, Statement};
use std::{collections::HashMap, time::Duration};

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The connection broke, or the server is (for now) unavailable: try again.
    Connection(String),
    /// The server refused the data (a bad value, a constraint of the table).
    Data(String),
    /// Anything else: the output cannot go on.
    Fatal(String),
    /// The connection broke while waiting for the answer to `COMMIT` of transaction
    /// `.0`: whether it committed is not known yet.
    Ambiguous(i64, String),
    /// `txid_status` says the transaction is still in progress (its backend is ending).
    InProgress,
    /// The server cannot tell what became of the transaction.
    Unknown(String),
}

/// Why [`Conn::run`] gave up.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// The server refused the data (see [`Failure::Data`]).
    Refused(String),
    /// See [`Failure::Fatal`].
    Fatal(String),
    /// No attempt within the retry budget got through. `maybe_committed`: the last
    /// `COMMIT` went unanswered and its fate could not be found out; `unresolved`: the
    /// id of that transaction, to ask about later ([`Conn::txid_status`]).
    Unreachable {
        message: String,
        maybe_committed: bool,
        unresolved: Option<i64>,
    },
}

/// A PostgreSQL error as one line: `message (SQLSTATE code)`, with the detail if any.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s.replace('\n', " ")
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                let text = inner.to_string();
                if !s.contains(&text) {
                    s.push_str(": ");
                    s.push_str(&text);
                }
                source = inner.source();
            }
            s.replace('\n', " ")
        }
    }
}

/// Sorts an error into the [`Failure`] kinds.
pub fn classify(e: &postgres::Error) -> Failure {
    let message = describe(e);
    let Some(db) = e.as_db_error() else {
        // I/O error, closed connection, timeout, protocol error: the connection is gone.
        return Failure::Connection(message);
    };
    let code = db.code().code();
    let class = &code[..code.len().min(2)];
    match (class, code) {
        // connection exception; operator intervention (admin/crash shutdown, cannot
        // connect now, query canceled); insufficient resources (too many connections,
        // disk full, out of memory); serialization failure, deadlock.
        ("08" | "57" | "53", _) | (_, "40001" | "40P01") => Failure::Connection(message),
        // data exception; integrity constraint violation; row too big.
        ("22" | "23", _) | (_, "54000") => Failure::Data(message),
        _ => Failure::Fatal(message),
    }
}

/// The [`Failure`] behind an error of the COPY writer's `std::io::Write` side.
pub fn classify_io(e: &std::io::Error) -> Failure {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<postgres::Error>())
    {
        Some(pg) => classify(pg),
        None => Failure::Connection(e.to_string()),
    }
}

/// The pause before retry number `retry` (0-based): 0.25 s, doubling, at most 4 s.
pub fn retry_delay(retry: u32) -> Duration {
    FIRST_RETRY_DELAY
        .saturating_mul(1u32 << retry.min(16))
        .min(MAX_RETRY_DELAY)
}

/// The first value of the first row of a simple query's answer.
fn first_value(messages: &[SimpleQueryMessage]) -> Option<Option<String>> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
        _ => None,
    })
}

/// An open connection and the statements prepared on it.
pub struct Link {
    pub client: Client,
    statements: HashMap<String, Statement>,
}

impl Link {
    /// `sql` prepared once per connection (a `COPY` sent by text would be parsed and
    /// described in an extra round trip every time).
    pub fn prepared(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// Runs `body` in a transaction and commits it; returns the transaction's id.
pub fn in_transaction(
    link: &mut Link,
    body: &mut dyn FnMut(&mut Link) -> Result<(), Failure>,
) -> Result<i64, Failure> {
    let answer = link
        .client
        .simple_query("BEGIN; SELECT txid_current()")
        .map_err(|e| classify(&e))?;
    let xid = first_value(&answer)
        .flatten()
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| Failure::Fatal("txid_current() gave no transaction id".into()))?;
    if let Err(f) = body(link) {
        if !matches!(f, Failure::Connection(_)) {
            // A broken connection shows up in the next attempt.
            let _ = link.client.batch_execute("ROLLBACK");
        }
        return Err(f);
    }
    match link.client.batch_execute("COMMIT") {
        Ok(()) => Ok(xid),
        Err(e) => match classify(&e) {
            Failure::Connection(m) => Err(Failure::Ambiguous(xid, m)),
            other => Err(other),
        },
    }
}

/// `txid_status(xid)`: `committed`, `aborted`, `in progress`, or `None` (too old).
fn txid_status(client: &mut Client, xid: i64) -> Result<Option<String>, Failure> {
    let answer = client
        .simple_query(&format!("SELECT txid_status({xid})"))
        .map_err(|e| classify(&e))?;
    Ok(first_value(&answer).flatten())
}

/// A connection that is opened again when lost.
pub struct Conn {
    target: Target,
    link: Option<Link>,
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Prefix of the progress lines printed to standard error.
    label: String,
    /// The connection was opened during the current [`Conn::run`].
    fresh: bool,
}

impl Conn {
    /// Connects once (no retries: a failure here is most likely a wrong URL, password or
    /// database name, which waiting does not fix).
    pub fn open(target: Target, label: String) -> Result<Conn, postgres::Error> {
        let client = target.config.connect(NoTls)?;
        Ok(Conn {
            target,
            link: Some(Link {
                client,
                statements: HashMap::new(),
            }),
            reconnects: 0,
            label,
            fresh: false,
        })
    }

    /// The open connection, reconnecting if it was lost.
    pub fn link(&mut self) -> Result<&mut Link, Failure> {
        if self.link.as_ref().is_some_and(|l| l.client.is_closed()) {
            self.link = None;
        }
        if self.link.is_none() {
            self.fresh = true;
            let client = self.target.config.connect(NoTls).map_err(|e| {
                // Any error while connecting may be temporary (server restarting,
                // database not accepting connections, too many clients).
                Failure::Connection(format!("cannot connect: {}", describe(&e)))
            })?;
            self.reconnects += 1;
            self.link = Some(Link {
                client,
                statements: HashMap::new(),
            });
        }
        Ok(self.link.as_mut().expect("connected above"))
    }

    /// The open client, reconnecting if it was lost.
    pub fn client(&mut self) -> Result<&mut Client, Failure> {
        self.link().map(|l| &mut l.client)
    }

    /// Closes the connection cleanly.
    pub fn close(&mut self) {
        if let Some(l) = self.link.take() {
            let _ = l.client.close();
        }
    }

    /// Runs `body` in a transaction (see the module docs), retrying after a lost
    /// connection up to `retries` times with exponential backoff ([`retry_delay`]).
    /// `what` names the work in progress lines.
    pub fn run(
        &mut self,
        what: &str,
        retries: u32,
        body: &mut dyn FnMut(&mut Link) -> Result<(), Failure>,
    ) -> Result<i64, RunError> {
        let mut retry = 0;
        let mut unresolved: Option<i64> = None;
        let mut polls = 0;
        // A connection that broke while idle (server restarted, backend terminated,
        // idle timeout) is only noticed when used: the first such failure is retried at
        // once, on a new connection, without counting as a retry.
        let mut stale_retry = true;
        self.fresh = false;
        loop {
            let failure = match self.attempt(&mut unresolved, body) {
                Ok(xid) => {
                    if retry > 0 {
                        let plural = if retry == 1 { "y" } else { "ies" };
                        eprintln!("{}: {what}: done after {retry} retr{plural}", self.label);
                    }
                    return Ok(xid);
                }
                Err(f) => f,
            };
            let message = match failure {
                Failure::Data(m) => return Err(RunError::Refused(m)),
                Failure::Fatal(m) => return Err(RunError::Fatal(m)),
                Failure::Unknown(m) => {
                    return Err(RunError::Unreachable {
                        message: m,
                        maybe_committed: true,
                        unresolved: None,
                    })
                }
                Failure::InProgress => {
                    // The old backend has not finished rolling back or committing yet.
                    polls += 1;
                    if polls > 200 {
                        return Err(RunError::Unreachable {
                            message: "the interrupted transaction stayed in progress for 10 s"
                                .into(),
                            maybe_committed: true,
                            unresolved,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Failure::Ambiguous(xid, m) => {
                    unresolved = Some(xid);
                    m
                }
                Failure::Connection(m) => m,
            };
            self.link = None;
            if std::mem::take(&mut stale_retry) && !self.fresh {
                continue;
            }
            if retry >= retries {
                return Err(RunError::Unreachable {
                    message,
                    maybe_committed: unresolved.is_some(),
                    unresolved,
                });
            }
            let delay = retry_delay(retry);
            retry += 1;
            eprintln!(
                "{}: {what}: {message}; retry {retry} of {retries} in {:.2} s",
                self.label,
                delay.as_secs_f64()
            );
            std::thread::sleep(delay);
        }
    }

    /// What became of transaction `xid` (`committed`, `aborted`, `in progress`, or
    /// `None` when the server no longer knows); one attempt, no retries.
    pub fn txid_status(&mut self, xid: i64) -> Result<Option<String>, Failure> {
        let link = self.link()?;
        let result = txid_status(&mut link.client, xid);
        if matches!(result, Err(Failure::Connection(_))) {
            self.link = None;
        }
        result
    }

    fn attempt(
        &mut self,
        unresolved: &mut Option<i64>,
        body: &mut dyn FnMut(&mut Link) -> Result<(), Failure>,
    ) -> Result<i64, Failure> {
        let link = self.link()?;
        if let Some(xid) = *unresolved {
            match txid_status(&mut link.client, xid)?.as_deref() {
                Some("committed") => return Ok(xid),
                Some("in progress") => return Err(Failure::InProgress),
                Some("aborted") => *unresolved = None,
                other => {
                    return Err(Failure::Unknown(format!(
                        "cannot find out whether transaction {xid} committed (txid_status: {})",
                        other.unwrap_or("null")
                    )))
                }
            }
        }
        in_transaction(link, body)
    }
}
