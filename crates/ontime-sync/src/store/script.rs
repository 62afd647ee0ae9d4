//! Statements sent to the database together.
//!
//! A commit runs a handful of statements. On SQLite every statement is a call into the driver's
//! worker thread and back (two thread wake-ups), which costs more than the statement itself for
//! small commits; on Postgres every statement is a round trip to the server. So a [`Script`]
//! sends its statements as one text wherever the engine allows, numbering the placeholders
//! (`$N`) on from one statement to the next ([`Join`]):
//!
//! - SQLite ([`Join::Statements`]): sqlx's SQLite driver runs a text of several statements in
//!   one call, in order, and its placeholders count across the whole text.
//! - Postgres (a prepared statement holds one statement): reads that need no order among
//!   themselves become one `SELECT … UNION ALL SELECT …` ([`Join::Union`]); writes that do not
//!   read each other's effects become one statement of data-modifying CTEs,
//!   `WITH w0 AS (…), w1 AS (…) last` ([`Join::Cte`]), which Postgres runs as one statement
//!   (constraints, such as a foreign key to a row another part inserts, are checked at its end).
//!
//! Either way they run in the order pushed, inside the caller's transaction (on SQLite the
//! commit's own `BEGIN IMMEDIATE` and `COMMIT` are statements of its scripts: see `sql`).

use std::borrow::Cow;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection};

/// Highest placeholder number a combined text may use: below SQLite's default limit (32,766),
/// whatever limit the linked library was built with.
const MAX_PLACEHOLDERS: usize = 32_000;

/// One bound value.
#[derive(Debug)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
    Static(&'static str),
}

/// How a [`Script`] joins its statements into one text (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Join {
    /// `s1; s2; …`, run in order (SQLite).
    Statements,
    /// `s1 UNION ALL s2 …`: `SELECT`s with the same columns (Postgres).
    Union,
    /// `WITH w0 AS (s1), … sN`: writes that do not depend on each other (Postgres).
    Cte,
}

/// Statements sent as one text (see the module documentation).
pub(super) struct Script {
    join: Join,
    statements: Vec<(String, Vec<Arg>)>,
    /// Values bound by the statements not yet sent.
    bound: usize,
    /// Rows returned by the statements sent so far.
    rows: Vec<AnyRow>,
}

impl Script {
    /// An empty script whose statements are joined by `join`.
    pub(super) fn new(join: Join) -> Self {
        Self {
            join,
            statements: Vec::new(),
            bound: 0,
            rows: Vec::new(),
        }
    }

    /// The number of the first placeholder of the next statement, which binds `count` values.
    /// Runs the statements pushed so far first when the text would number past
    /// [`MAX_PLACEHOLDERS`].
    pub(super) async fn next_placeholder(
        &mut self,
        conn: &mut AnyConnection,
        count: usize,
    ) -> Result<usize, sqlx::Error> {
        if self.bound + count > MAX_PLACEHOLDERS && !self.statements.is_empty() {
            self.flush(conn).await?;
        }
        Ok(self.bound + 1)
    }

    /// The number of the next statement's first placeholder, for a script that never binds more
    /// than [`MAX_PLACEHOLDERS`] values (nothing is run early).
    pub(super) fn next(&self) -> usize {
        self.bound + 1
    }

    /// Adds a statement whose placeholders start at what [`Script::next_placeholder`] said.
    pub(super) fn push(&mut self, sql: String, args: Vec<Arg>) {
        self.bound += args.len();
        self.statements.push((sql, args));
    }

    /// Runs what is pending; returns every row the script's statements returned, in order.
    pub(super) async fn fetch_all(
        mut self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.flush(conn).await?;
        Ok(self.rows)
    }

    /// Runs what is pending, for its effect.
    pub(super) async fn execute(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        self.fetch_all(conn).await.map(drop)
    }

    async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let statements = std::mem::take(&mut self.statements);
        self.bound = 0;
        if statements.is_empty() {
            return Ok(());
        }
        let texts: Vec<Cow<'_, str>> = statements
            .iter()
            .map(|(sql, _)| match self.join {
                Join::Statements => anonymous(sql),
                Join::Union | Join::Cte => Cow::Borrowed(sql.as_str()),
            })
            .collect();
        let texts: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let sql = join(self.join, &texts);
        let args = statements.into_iter().flat_map(|(_, args)| args);
        self.rows
            .extend(bind(&sql, args).fetch_all(&mut *conn).await?);
        Ok(())
    }
}

/// `sql` with its numbered placeholders `$N` written as anonymous `?` when they appear in order,
/// each once (`$k, $k+1, …`, as every script statement numbers them); else `sql` unchanged.
///
/// SQLite finds a numbered placeholder's number by walking the statement's list of named
/// parameters (`sqlite3_bind_parameter_name`, which sqlx calls for every parameter): quadratic in
/// the number of parameters, a noticeable part of a multi-row insert of a hundred events
/// (800 parameters). Anonymous ones have no names to walk; sqlx binds them by position, counting
/// on across the statements of one text as it does for `$N`.
fn anonymous(sql: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(sql.len());
    let mut expected: Option<u64> = None;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(number) = after[..digits].parse::<u64>() else {
            return Cow::Borrowed(sql);
        };
        if expected.is_some_and(|e| e != number) {
            return Cow::Borrowed(sql);
        }
        expected = Some(number + 1);
        out.push('?');
        rest = &after[digits..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `texts` as one statement text, joined the way `join` says.
fn join(join: Join, texts: &[&str]) -> String {
    match join {
        Join::Statements => texts.join(";\n"),
        Join::Union => texts.join("\nUNION ALL\n"),
        Join::Cte => match texts.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, first)) => {
                let parts: Vec<String> = first
                    .iter()
                    .enumerate()
                    .map(|(n, text)| format!("w{n} AS ({text})"))
                    .collect();
                format!("WITH {}\n{last}", parts.join(",\n"))
            }
            None => String::new(),
        },
    }
}

fn bind(
    sql: &str,
    args: impl IntoIterator<Item = Arg>,
) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
            Arg::Static(v) => query.bind(v),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_order_become_anonymous() {
        assert_eq!(
            anonymous("INSERT INTO t VALUES ($4, $5), ($6, $7)"),
            "INSERT INTO t VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            anonymous("DELETE FROM c WHERE a = $1 AND (name = $2)"),
            "DELETE FROM c WHERE a = ? AND (name = ?)"
        );
        assert_eq!(anonymous("SELECT 1"), "SELECT 1");
        // Repeated or out of order: bound by number, so left as they are.
        for sql in [
            "SELECT $1 IS NULL OR a = $1",
            "SELECT $2, $1",
            "SELECT '$x'",
        ] {
            assert_eq!(anonymous(sql), sql);
        }
    }

    #[test]
    fn statements_join_as_one_text() {
        let texts = ["INSERT INTO a VALUES ($1)", "UPDATE b SET c = $2"];
        assert_eq!(
            join(Join::Statements, &texts),
            "INSERT INTO a VALUES ($1);\nUPDATE b SET c = $2"
        );
        assert_eq!(
            join(Join::Cte, &texts),
            "WITH w0 AS (INSERT INTO a VALUES ($1))\nUPDATE b SET c = $2"
        );
        assert_eq!(join(Join::Cte, &texts[..1]), "INSERT INTO a VALUES ($1)");
        assert_eq!(
            join(Join::Union, &["SELECT 1", "SELECT 2"]),
            "SELECT 1\nUNION ALL\nSELECT 2"
        );
    }
}
