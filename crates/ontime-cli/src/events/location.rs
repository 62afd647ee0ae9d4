//! `--store`: naming the event store, and opening it for reading without ever creating it.

use std::path::PathBuf;

use ontime_sync::store::{Store, StoreError};

use crate::error::{CliError, Exit};

/// Where the store is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file: its path, and the URL to open it with (a `sqlite:` URL as given, or the
    /// path as given).
    Sqlite { path: PathBuf, open: String },
    /// A Postgres URL (never printed: it may hold a password).
    Postgres(String),
}

impl Location {
    /// Reads `--store`: `postgres://…` / `postgresql://…`, `sqlite://PATH` / `sqlite:PATH`
    /// (query parameters kept), or a bare path. Any other `scheme://` is a usage error.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CliError::usage("the --store location is empty"));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let encoded = rest.split_once('?').map_or(rest, |(path, _)| path);
            if encoded.is_empty() || encoded == ":memory:" {
                return Err(CliError::usage(
                    "the --store sqlite: URL names no file (an in-memory database has no events to read)",
                ));
            }
            let path = percent_encoding::percent_decode_str(encoded)
                .decode_utf8()
                .map_err(|_| CliError::usage("the --store sqlite: path is not valid UTF-8"))?;
            return Ok(Self::Sqlite {
                path: PathBuf::from(path.as_ref()),
                open: text.to_owned(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://") {
            // The scheme only: the rest may hold a password.
            return Err(CliError::usage(format!(
                "unsupported --store location {scheme}://… (expected a SQLite path, sqlite://PATH or postgres://…)"
            )));
        }
        Ok(Self::Sqlite {
            path: PathBuf::from(text),
            open: text.to_owned(),
        })
    }

    /// How messages name the store: the SQLite path, or just "the Postgres store".
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { path, .. } => format!("SQLite store {}", path.display()),
            Self::Postgres(_) => "the Postgres store".to_owned(),
        }
    }

    /// Whether a SQLite file is missing (a Postgres database is checked by connecting).
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Sqlite { path, .. } if !path.exists())
    }

    /// Opens the store for reading. A SQLite file that does not exist is [`Exit::NotFound`] and
    /// is not created (the store would create an empty one).
    pub async fn open(&self) -> Result<Store, CliError> {
        if self.is_missing() {
            return Err(CliError::not_found(format!("no {} exists", self.describe()))
                .with_hint("pass --store PATH (or set ONTIME_SYNC_STORE) to the store `ontime sync` writes"));
        }
        let opened = match self {
            Self::Sqlite { open, .. } => Store::open(open).await,
            Self::Postgres(url) => Store::open(url).await,
        };
        opened.map_err(|e| store_error(&e))
    }
}

/// A store error as the CLI reports it: unreachable servers are network errors (6), a bad
/// location is a usage error (2), everything else exit 1. The store's messages never hold the
/// URL.
pub fn store_error(error: &StoreError) -> CliError {
    let message = crate::error::chain(error);
    match error {
        StoreError::UnsupportedLocation => CliError::usage(message),
        StoreError::Database { source, .. } if unreachable(source) => {
            CliError::new(Exit::Network, message)
                .with_hint("check that the database server runs and the --store URL points at it")
        }
        StoreError::SchemaTooNew { .. } => CliError::other(message)
            .with_hint("the store was written by a newer ontime: upgrade this one"),
        _ => CliError::other(message),
    }
}

fn unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_without_echoing_urls() {
        assert_eq!(
            Location::parse("events.db").unwrap(),
            Location::Sqlite {
                path: "events.db".into(),
                open: "events.db".into()
            }
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/a%20b.db?mode=ro").unwrap(),
            Location::Sqlite {
                path: "/tmp/a b.db".into(),
                open: "sqlite:///tmp/a%20b.db?mode=ro".into()
            }
        );
        assert!(matches!(
            Location::parse("sqlite:rel.db").unwrap(),
            Location::Sqlite { path, .. } if path == std::path::Path::new("rel.db")
        ));
        let pg = Location::parse("postgres://u:secret@127.0.0.1/db").unwrap();
        assert!(!pg.describe().contains("secret"));
        assert!(!pg.is_missing());
        let err = Location::parse("mysql://u:secret@host/db").unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert!(!err.message.contains("secret"), "{}", err.message);
        assert_eq!(
            Location::parse("sqlite::memory:").unwrap_err().exit,
            Exit::Usage
        );
        assert_eq!(Location::parse(" ").unwrap_err().exit, Exit::Usage);
    }
}
