//! The environment's rules, written once: [`ClientBuilder::from_env`] reads `ONTIME_BASE_URL`,
//! `ONTIME_COMPANY_ID` and `ONTIME_API_KEY`, and any setter called afterwards wins over what it
//! read (options beat the environment).

use crate::client::{ClientBuilder, DefaultAccount};

/// The account variable holding a full base URL.
pub(crate) const BASE_URL_VAR: &str = "ONTIME_BASE_URL";
/// The account variable holding a company id.
pub(crate) const COMPANY_ID_VAR: &str = "ONTIME_COMPANY_ID";
/// The variable holding the API key.
pub(crate) const API_KEY_VAR: &str = "ONTIME_API_KEY";

impl ClientBuilder {
    /// A builder configured from the environment: `ONTIME_BASE_URL` or `ONTIME_COMPANY_ID` (set
    /// only one of them) and `ONTIME_API_KEY`; other settings take their defaults. Blank
    /// variables count as unset. Setters called afterwards win over the environment:
    /// `.company_id(..)` replaces an `ONTIME_BASE_URL`, `.api_key(..)` an `ONTIME_API_KEY`.
    ///
    /// Nothing is checked here: [`build`](Self::build) reports a missing account or key, and
    /// both account variables set with no setter choosing the account, as [`Error::Config`](crate::Error::Config).
    ///
    /// ```no_run
    /// # fn run() -> ontime::Result<()> {
    /// let client = ontime::ClientBuilder::from_env().concurrency(4).build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn from_env() -> ClientBuilder {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ClientBuilder {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        // Kept apart from the setters, so that `.company_id(..)` after `from_env()` replaces an
        // ONTIME_BASE_URL whole (a base URL set with a setter beats a company id).
        let account = match (var(BASE_URL_VAR), var(COMPANY_ID_VAR)) {
            (Some(url), None) => Some(DefaultAccount::BaseUrl(url)),
            (None, Some(company)) => Some(DefaultAccount::CompanyId(company)),
            (Some(_), Some(_)) => Some(DefaultAccount::Refused(format!(
                "both {BASE_URL_VAR} and {COMPANY_ID_VAR} are set: which account is meant? \
                 Unset one of them, or choose the account with base_url(..) or company_id(..)"
            ))),
            (None, None) => None,
        };
        let mut builder = ClientBuilder::default();
        builder.default_account = account;
        if let Some(key) = var(API_KEY_VAR) {
            builder = builder.api_key(key);
        }
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn env(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> + 'static {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn config_error(builder: ClientBuilder) -> String {
        match builder.build() {
            Err(Error::Config { message, .. }) => message,
            Err(other) => panic!("not a configuration error: {other}"),
            Ok(client) => panic!("built a client for {}", client.base_url()),
        }
    }

    const KEY: (&str, &str) = ("ONTIME_API_KEY", "super-secret");
    const URL: &str = "http://127.0.0.1:9/sites/env";

    #[test]
    fn one_account_variable_and_the_key() {
        let client = ClientBuilder::from_lookup(env(&[("ONTIME_COMPANY_ID", "acme"), KEY]))
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "https://secure.ontime360.com/sites/acme");
        let client = ClientBuilder::from_lookup(env(&[
            ("ONTIME_BASE_URL", "http://127.0.0.1:9/sites/x/"),
            KEY,
        ]))
        .build()
        .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/sites/x");
    }

    #[test]
    fn blank_variables_count_as_unset() {
        let message = config_error(ClientBuilder::from_lookup(env(&[
            ("ONTIME_COMPANY_ID", "acme"),
            ("ONTIME_API_KEY", "  "),
        ])));
        assert!(message.contains("ONTIME_API_KEY"), "{message}");
        let message = config_error(ClientBuilder::from_lookup(env(&[
            ("ONTIME_BASE_URL", " "),
            ("ONTIME_COMPANY_ID", ""),
            KEY,
        ])));
        assert!(message.starts_with("no account given"), "{message}");
        // A blank URL next to a company is no conflict.
        let client = ClientBuilder::from_lookup(env(&[
            ("ONTIME_BASE_URL", "\t"),
            ("ONTIME_COMPANY_ID", "acme"),
            KEY,
        ]))
        .build()
        .unwrap();
        assert!(client.base_url().ends_with("/sites/acme"));
    }

    #[test]
    fn nothing_set_names_what_is_missing() {
        let message = config_error(ClientBuilder::from_lookup(env(&[KEY])));
        assert!(message.contains("ONTIME_COMPANY_ID"), "{message}");
        let message = config_error(ClientBuilder::from_lookup(env(&[(
            "ONTIME_COMPANY_ID",
            "acme",
        )])));
        assert!(message.starts_with("no API key given"), "{message}");
    }

    #[test]
    fn both_account_variables_are_refused_naming_both() {
        let both = env(&[("ONTIME_BASE_URL", URL), ("ONTIME_COMPANY_ID", "acme"), KEY]);
        let message = config_error(ClientBuilder::from_lookup(&both));
        assert!(
            message.starts_with("both ONTIME_BASE_URL and ONTIME_COMPANY_ID are set"),
            "{message}"
        );
        assert!(matches!(
            ClientBuilder::from_lookup(&both).build(),
            Err(Error::Config {
                kind: crate::ConfigErrorKind::AmbiguousAccount,
                ..
            })
        ));
        // A setter that chooses the account settles it, either one.
        let client = ClientBuilder::from_lookup(&both)
            .base_url("http://127.0.0.1:9/sites/option")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/sites/option");
        let client = ClientBuilder::from_lookup(&both)
            .company_id("option-co")
            .build()
            .unwrap();
        assert!(client.base_url().ends_with("/sites/option-co"));
    }

    #[test]
    fn setters_beat_the_environment() {
        // .company_id(..) replaces ONTIME_BASE_URL, although a set base URL beats a company id.
        let client = ClientBuilder::from_lookup(env(&[("ONTIME_BASE_URL", URL), KEY]))
            .company_id("option-co")
            .build()
            .unwrap();
        assert!(client.base_url().ends_with("/sites/option-co"));
        // .base_url(..) replaces ONTIME_COMPANY_ID.
        let client = ClientBuilder::from_lookup(env(&[("ONTIME_COMPANY_ID", "env-co"), KEY]))
            .base_url("http://127.0.0.1:9/sites/option")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/sites/option");
        // .api_key(..) replaces ONTIME_API_KEY (a key is never shown: compare by its effect).
        let builder =
            ClientBuilder::from_lookup(env(&[("ONTIME_COMPANY_ID", "acme"), KEY])).api_key("   ");
        assert!(config_error(builder).starts_with("no API key given"));
        // Without setters, the environment's choice stands.
        let client = ClientBuilder::from_lookup(env(&[("ONTIME_BASE_URL", URL), KEY]))
            .build()
            .unwrap();
        assert_eq!(client.base_url(), URL);
    }

    #[test]
    fn client_from_env_is_the_builder_built() {
        // The process environment is shared by parallel tests: only check that the two agree.
        let direct = crate::Client::from_env().map(|c| c.base_url().to_string());
        let built = ClientBuilder::from_env()
            .build()
            .map(|c| c.base_url().to_string());
        assert_eq!(direct.ok(), built.ok());
    }
}
