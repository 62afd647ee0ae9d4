//! Contacts, and the authenticate operations of contacts, customers and users.

use ontime_raw::types;

use super::generic::{Stored, stored};
use super::{Ctx, visible};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;
use crate::store::CredentialKind;

impl Stored for types::Contact {
    stored!(contacts, owner = customer_id);
}

fn authenticate(s: &Shared, ctx: &Ctx, kind: CredentialKind) -> Result<Reply, ApiError> {
    let user = ctx.query.str("userName");
    let password = ctx.query.str("password");
    let (Some(user), Some(password)) = (user, password) else {
        return Err(ApiError::bad_request("userName and password are required."));
    };
    let store = s.read();
    let found = store
        .credentials
        .get(&(kind, user.trim().to_ascii_lowercase()))
        .filter(|(p, _)| p == password)
        .map(|(_, id)| *id)
        .filter(|id| match kind {
            CredentialKind::Contact => store
                .contacts
                .get(id)
                .is_some_and(|c| visible(&ctx.key, c.rec.customer_id.map(Into::into))),
            CredentialKind::Customer => visible(&ctx.key, Some(*id)),
            CredentialKind::User => true,
        });
    Reply::ok(&found)
}

pub(crate) fn contacts_authenticate(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    authenticate(s, ctx, CredentialKind::Contact)
}

pub(crate) fn customers_authenticate(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    authenticate(s, ctx, CredentialKind::Customer)
}

pub(crate) fn users_authenticate(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    authenticate(s, ctx, CredentialKind::User)
}
