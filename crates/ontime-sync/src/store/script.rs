//! Statements sent to the database together.
//!
//! A commit runs a handful of statements. On SQLite every statement is a call into the driver's
//! worker thread and back (two thread wake-ups), which costs more than the statement itself for
//! small commits; sqlx's SQLite driver runs a text of several statements in one call, and its
//! numbered placeholders (`$N`) count across the whole text. So on SQLite a [`Script`] sends its
//! statements as one text, numbered on from one statement to the next; on Postgres (whose
//! prepared statements hold one statement each) it runs them one by one, each numbered from 1.
//! Either way they run in the order pushed, inside the caller's transaction.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

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

/// Statements to run in order (see the module documentation).
pub(super) struct Script {
    /// Send the statements as one text (SQLite).
    combine: bool,
    statements: Vec<(String, Vec<Arg>)>,
    /// Values bound by the statements not yet sent.
    bound: usize,
    /// Rows returned by the statements sent so far.
    rows: Vec<AnyRow>,
}

impl Script {
    /// An empty script; `combine`: send it as one text.
    pub(super) fn new(combine: bool) -> Self {
        Self {
            combine,
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
        tx: &mut Transaction<'_, Any>,
        count: usize,
    ) -> Result<usize, sqlx::Error> {
        if !self.combine {
            return Ok(1);
        }
        if self.bound + count > MAX_PLACEHOLDERS && !self.statements.is_empty() {
            self.flush(tx).await?;
        }
        Ok(self.bound + 1)
    }

    /// Adds a statement whose placeholders start at what [`Script::next_placeholder`] said.
    pub(super) fn push(&mut self, sql: String, args: Vec<Arg>) {
        self.bound += args.len();
        self.statements.push((sql, args));
    }

    /// Runs what is pending; returns every row the script's statements returned, in order.
    pub(super) async fn fetch_all(
        mut self,
        tx: &mut Transaction<'_, Any>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.flush(tx).await?;
        Ok(self.rows)
    }

    /// Runs what is pending, for its effect.
    pub(super) async fn execute(self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        self.fetch_all(tx).await.map(drop)
    }

    async fn flush(&mut self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let statements = std::mem::take(&mut self.statements);
        self.bound = 0;
        if statements.is_empty() {
            return Ok(());
        }
        if self.combine {
            let sql = statements
                .iter()
                .map(|(sql, _)| sql.as_str())
                .collect::<Vec<_>>()
                .join(";\n");
            let args = statements.into_iter().flat_map(|(_, args)| args);
            self.rows
                .extend(bind(&sql, args).fetch_all(&mut **tx).await?);
        } else {
            for (sql, args) in statements {
                self.rows
                    .extend(bind(&sql, args).fetch_all(&mut **tx).await?);
            }
        }
        Ok(())
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
