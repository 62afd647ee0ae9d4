//! Sign-in checks and lookups by natural key for customers, contacts, price sets and price
//! modifiers.

use ontime_raw::index::Operation;
use ontime_raw::types::{self, PriceModifier, PriceSet};

use crate::Result;
use crate::error::found;
use crate::filters::CustomerFilter;
use crate::resource::Resource;
use crate::retry::Idempotency;
use ontime_raw::ids::*;

impl Resource<types::Customer> {
    /// Checks a customer's web-portal sign-in: the customer's identifier, or `None`.
    pub async fn authenticate(
        &self,
        user_name: &str,
        password: &str,
    ) -> Result<Option<CustomerId>> {
        let raw = self.client.raw();
        let id = self
            .client
            .call(
                Operation::CustomersAuthenticate,
                Idempotency::Idempotent,
                || {
                    raw.customers_authenticate()
                        .user_name(user_name)
                        .password(password)
                        .send()
                },
            )
            .await?;
        Ok(id.map(CustomerId::from))
    }

    /// The first customer with exactly this name, if any.
    pub async fn by_name(&self, name: impl Into<String>) -> Result<Option<types::Customer>> {
        let ids = self.ids(CustomerFilter::new().name(name)).await?;
        match ids.first() {
            Some(id) => self.get(*id).await.map(Some),
            None => Ok(None),
        }
    }
}

impl Resource<types::Contact> {
    /// Checks a contact's sign-in: the contact's identifier, or `None`.
    pub async fn authenticate(&self, user_name: &str, password: &str) -> Result<Option<ContactId>> {
        let raw = self.client.raw();
        let id = self
            .client
            .call(
                Operation::ContactsAuthenticate,
                Idempotency::Idempotent,
                || {
                    raw.contacts_authenticate()
                        .user_name(user_name)
                        .password(password)
                        .send()
                },
            )
            .await?;
        Ok(id.map(ContactId::from))
    }
}

impl Resource<PriceSet> {
    /// The price set (service level) with this name, or `None`.
    pub async fn by_name(&self, name: &str) -> Result<Option<PriceSet>> {
        crate::filters::require_non_blank(Operation::PriceSetsByName, "name", name)?;
        let raw = self.client.raw();
        let result = self
            .client
            .call(Operation::PriceSetsByName, Idempotency::Idempotent, || {
                raw.price_sets_by_name().name(name).send()
            })
            .await;
        found(result)
    }
}

impl Resource<PriceModifier> {
    /// The price modifier with this name, or `None`.
    pub async fn by_name(&self, name: &str) -> Result<Option<PriceModifier>> {
        crate::filters::require_non_blank(Operation::PriceModifiersByName, "name", name)?;
        let raw = self.client.raw();
        let result = self
            .client
            .call(
                Operation::PriceModifiersByName,
                Idempotency::Idempotent,
                || raw.price_modifiers_by_name().name(name).send(),
            )
            .await;
        found(result)
    }
}
