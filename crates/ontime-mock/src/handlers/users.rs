//! Users (drivers and dispatchers), their availability, positions, time-clock sessions and
//! miscellaneous compensations, and vehicles.

use ontime_raw::types;
use uuid::Uuid;

use super::generic::{Stored, find, stored};
use super::{Ctx, RowDates, body, eq_ci, in_range, param_guid};
use crate::http_util::{ApiError, Reply};
use crate::state::Shared;
use crate::store::{Store, check_enum, dt};

impl Stored for types::User {
    stored!(users);
}

impl Stored for types::Vehicle {
    stored!(vehicles);
}

impl Stored for types::UserMiscCompensation {
    stored!(compensations);

    fn validate(&self) -> Result<(), ApiError> {
        check_enum(&self.role, "CompensationRole")?;
        check_enum(&self.type_, "CompensationType")
    }
}

impl Stored for types::UserSession {
    stored!(sessions);

    fn validate(&self) -> Result<(), ApiError> {
        check_enum(&self.log_in_type, "LogInType")
    }

    /// The session joins its user's list of time-clock sessions.
    fn after_upsert(store: &mut Store, id: Uuid, _ctx: &Ctx) {
        let user = store.sessions.get(&id).and_then(|r| r.rec.user_id);
        if let Some(u) = user.and_then(|u| store.users.get_mut(&Uuid::from(u))) {
            let list = u.rec.time_clock_sessions.get_or_insert_with(Vec::new);
            if !list.contains(&id.into()) {
                list.push(id.into());
            }
        }
    }
}

fn user_exists(store: &Store, id: Uuid) -> Result<(), ApiError> {
    if store.users.contains_key(&id) {
        Ok(())
    } else {
        Err(ApiError::not_found("User", id))
    }
}

pub(crate) fn user_availability(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "userID")?;
    let store = s.read();
    user_exists(&store, id)?;
    let a = store
        .availability
        .get(&id)
        .ok_or_else(|| ApiError::new(404, format!("User {id} has no availability.")))?;
    Reply::ok(a)
}

pub(crate) fn user_positions(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let user = ctx.query.uuid("userId")?;
    let (min, max) = (ctx.query.date("dateMin")?, ctx.query.date("dateMax")?);
    let store = s.read();
    let mut out: Vec<&types::UserPosition> = match user {
        Some(u) => store
            .positions
            .get(&u)
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        None => store.positions.values().flatten().collect(),
    };
    out.retain(|p| {
        p.timestamp
            .is_some_and(|t| in_range(t.naive_local(), min, max))
    });
    out.sort_by_key(|p| (p.timestamp.map(|t| t.naive_local()), p.user_id));
    Reply::ok(&out)
}

pub(crate) fn user_position_latest(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let id = param_guid(ctx, 0, "userID")?;
    let store = s.read();
    user_exists(&store, id)?;
    let p = store
        .positions
        .get(&id)
        .and_then(|v| {
            v.iter()
                .max_by_key(|p| p.timestamp.map(|t| t.naive_local()))
        })
        .ok_or_else(|| ApiError::new(404, format!("User {id} has no recorded position.")))?;
    Reply::ok(p)
}

pub(crate) fn user_update_availability(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut a: types::UserAvailability = body(ctx, "UserAvailability")?;
    let user = a
        .user_id
        .map(Uuid::from)
        .ok_or_else(|| ApiError::bad_request("UserID is required."))?;
    let mut store = s.write();
    user_exists(&store, user)?;
    let id = match store.availability.get(&user).and_then(|x| x.id) {
        Some(id) => id,
        None => store.new_id(),
    };
    a.id = Some(id);
    a.extra.clear();
    if a.last_status_change.is_none() {
        a.last_status_change = Some(dt(ctx.now));
    }
    store.availability.insert(user, a);
    Reply::ok(&true)
}

pub(crate) fn user_update_position(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let mut p: types::UserPosition = body(ctx, "UserPosition")?;
    let user = p
        .user_id
        .map(Uuid::from)
        .ok_or_else(|| ApiError::bad_request("UserID is required."))?;
    let mut store = s.write();
    user_exists(&store, user)?;
    if p.id.is_none() {
        p.id = Some(store.new_id());
    }
    if p.timestamp.is_none() {
        p.timestamp = Some(dt(ctx.now));
    }
    p.extra.clear();
    let t = p.timestamp;
    let list = store.positions.entry(user).or_default();
    list.retain(|x| x.id != p.id);
    list.push(p);
    list.sort_by_key(|x| x.timestamp.map(|t| t.naive_local()));
    if let Some(u) = store.users.get_mut(&user)
        && t.is_some_and(|t| {
            u.rec
                .driver_last_sync
                .is_none_or(|s| s.naive_local() <= t.naive_local())
        })
    {
        u.rec.driver_last_sync = t;
    }
    Reply::ok(&true)
}

pub(crate) fn user_sessions_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let user = ctx.query.uuid("userId")?;
    let login = ctx.query.date("logInTime")?;
    let logout = ctx.query.date("logOutTime")?;
    find::<types::UserSession>(s, ctx, |r| {
        let s = &r.rec;
        user.is_none_or(|u| s.user_id == Some(u.into()))
            && login.is_none_or(|m| s.log_in_time.is_some_and(|t| t.naive_local() >= m))
            && logout.is_none_or(|m| s.log_out_time.is_some_and(|t| t.naive_local() <= m))
    })
}

pub(crate) fn users_find(s: &Shared, ctx: &Ctx) -> Result<Reply, ApiError> {
    let q = &ctx.query;
    let dates = RowDates::parse(q)?;
    find::<types::User>(s, ctx, |r| {
        let u = &r.rec;
        eq_ci(u.email.as_deref(), q.str("email"))
            && eq_ci(u.first_name.as_deref(), q.str("firstName"))
            && eq_ci(u.last_name.as_deref(), q.str("lastName"))
            && eq_ci(u.user_name.as_deref(), q.str("userName"))
            && dates.matches(r)
    })
}
