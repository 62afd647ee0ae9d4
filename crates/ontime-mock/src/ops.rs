//! The 62 operations of `openapi/ontime.json`: method, path, record kind, access and handler.

use crate::auth::{Access, RecordKind};
use crate::handlers::Handler;
use crate::handlers::{
    attachments, contacts, customers, generic, order_actions, orders, places, price_lists, users,
};
use ontime_raw::index::Operation;
use ontime_raw::types;

/// One operation of the spec.
pub(crate) struct OpDef {
    /// The operation (its id, method and path come from the spec index).
    pub op: Operation,
    pub kind: RecordKind,
    pub access: Access,
    pub handler: Handler,
}

impl OpDef {
    /// The HTTP method, upper case.
    pub(crate) fn method(&self) -> &'static str {
        self.op.method()
    }

    /// The path after `/sites/{company-id}/api/`.
    pub(crate) fn path(&self) -> &'static str {
        let path = self.op.path();
        path.strip_prefix("/api/").unwrap_or(path)
    }
}

/// The rows of [`OPS`]: `Operation: RecordKind, Access, handler;`.
macro_rules! ops {
    ($($op:ident: $kind:ident, $access:ident, $handler:expr;)*) => {
        &[$(OpDef {
            op: Operation::$op,
            kind: RecordKind::$kind,
            access: Access::$access,
            handler: $handler,
        }),*]
    };
}

/// Every operation of the spec, in the spec's order, with what the simulator does for it: the
/// record kind a key's permissions are checked for, whether it reads or writes, and its handler.
pub(crate) static OPS: &[OpDef] = ops! {
    ContactPost: Contact, Write, generic::post::<types::Contact>;
    ContactsFind: Contact, Read, generic::find_all::<types::Contact>;
    ContactsAuthenticate: Contact, Read, contacts::contacts_authenticate;
    ContactsGet: Contact, Read, generic::get_by_id::<types::Contact>;
    CustomerPost: Customer, Write, customers::customer_post;
    CustomersFind: Customer, Read, customers::customers_find;
    CustomersAuthenticate: Customer, Read, contacts::customers_authenticate;
    CustomersGet: Customer, Read, customers::customers_get;
    DepartmentPost: Department, Write, generic::post::<types::Department>;
    DepartmentsFind: Department, Read, generic::find_all::<types::Department>;
    DepartmentsGet: Department, Read, generic::get_by_id::<types::Department>;
    FileAttachmentsFind: FileAttachment, Read, attachments::file_attachments_find;
    FileAttachmentsGet: FileAttachment, Read, generic::get_of_order::<types::FileAttachment>;
    InvoicePost: Invoice, Write, generic::post::<types::Invoice>;
    InvoicesFind: Invoice, Read, generic::find_all::<types::Invoice>;
    InvoicesGet: Invoice, Read, generic::get_by_id::<types::Invoice>;
    ItemPost: Item, Write, orders::item_post;
    ItemsGet: Item, Read, generic::get_of_order::<types::Item>;
    LocationPost: Location, Write, generic::post::<types::Location>;
    LocationsFind: Location, Read, places::locations_find;
    LocationsGet: Location, Read, generic::get_by_id::<types::Location>;
    OrderCodRequirement: Order, Write, order_actions::order_cod_requirement;
    OrderFileAttachmentDelete: FileAttachment, Write, attachments::order_file_attachment_delete;
    OrderFileAttachmentPost: FileAttachment, Write, attachments::order_file_attachment_post;
    OrderGetTotalCost: Order, Read, order_actions::order_get_total_cost;
    OrderPost: Order, Write, orders::order_post;
    OrderReport: Order, Read, order_actions::order_report;
    OrderSignature: Order, Read, order_actions::order_signature;
    OrderSignatureRequirement: Order, Write, order_actions::order_signature_requirement;
    OrderUpdatePrices: Order, Write, order_actions::order_update_prices;
    OrderUpdateStatus: Order, Write, order_actions::order_update_status;
    OrderStatusChanges: Status, Read, orders::order_status_changes;
    OrdersFind: Order, Read, orders::orders_find;
    OrdersGet: Order, Read, orders::orders_get;
    PaymentPost: Payment, Write, generic::post::<types::Payment>;
    PaymentsFind: Payment, Read, generic::find_all::<types::Payment>;
    PaymentsGet: Payment, Read, generic::get_by_id::<types::Payment>;
    PriceModifiersGet: PriceModifier, Read, generic::get_by_id::<types::PriceModifier>;
    PriceModifiersByName: PriceModifier, Read, price_lists::price_modifiers_by_name;
    PriceSetsGet: PriceSet, Read, generic::get_by_id::<types::PriceSet>;
    PriceSetsByName: PriceSet, Read, price_lists::price_sets_by_name;
    StatusesFind: Status, Read, orders::statuses_find;
    StatusesGet: Status, Read, generic::get_of_order::<types::Status>;
    UserAvailability: User, Read, users::user_availability;
    UserPositions: User, Read, users::user_positions;
    UserPositionLatest: User, Read, users::user_position_latest;
    UserUpdateAvailability: User, Write, users::user_update_availability;
    UserUpdatePosition: User, Write, users::user_update_position;
    UserMiscCompensationPost: UserMiscCompensation, Write, generic::post::<types::UserMiscCompensation>;
    UserMiscCompensationsGet: UserMiscCompensation, Read, generic::get_by_id::<types::UserMiscCompensation>;
    UserSessionPost: UserSession, Write, generic::post::<types::UserSession>;
    UserSessionsFind: UserSession, Read, users::user_sessions_find;
    UserSessionsGet: UserSession, Read, generic::get_by_id::<types::UserSession>;
    UsersFind: User, Read, users::users_find;
    UsersAuthenticate: User, Read, contacts::users_authenticate;
    UsersGet: User, Read, generic::get_by_id::<types::User>;
    VehiclePost: Vehicle, Write, generic::post::<types::Vehicle>;
    VehiclesFind: Vehicle, Read, generic::find_all::<types::Vehicle>;
    VehiclesGet: Vehicle, Read, generic::get_by_id::<types::Vehicle>;
    ZonePost: Zone, Write, generic::post::<types::Zone>;
    ZonesFind: Zone, Read, generic::find_all::<types::Zone>;
    ZonesGet: Zone, Read, generic::get_by_id::<types::Zone>;
};

/// The operation `method path` (path after `/api/`) calls, with its path parameters (decoded).
/// `Err(allowed)` when the path exists for other methods only; `Ok(None)` when it does not exist.
pub(crate) fn route(
    method: &str,
    path: &str,
) -> Result<Option<(&'static OpDef, Vec<String>)>, Vec<&'static str>> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&'static OpDef, usize)> = None;
    let mut allowed = Vec::new();
    for op in OPS {
        let template = op.path().split('/');
        if op.path().split('/').count() != segments.len() {
            continue;
        }
        let mut literals = 0;
        let mut ok = true;
        for (t, s) in template.zip(segments.iter()) {
            if t.starts_with('{') {
                if s.is_empty() {
                    ok = false;
                    break;
                }
            } else if t.eq_ignore_ascii_case(s) {
                literals += 1;
            } else {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        if op.method() != method {
            allowed.push(op.method());
            continue;
        }
        if best.is_none_or(|(_, l)| literals > l) {
            best = Some((op, literals));
        }
    }
    match best {
        Some((op, _)) => {
            let params = op
                .path()
                .split('/')
                .zip(segments.iter())
                .filter(|(t, _)| t.starts_with('{'))
                .map(|(_, s)| crate::http_util::percent_decode(s))
                .collect();
            Ok(Some((op, params)))
        }
        None if allowed.is_empty() => Ok(None),
        None => Err(allowed),
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    /// The table has one entry per operation of the spec index, and nothing else.
    #[test]
    fn the_table_covers_every_operation_of_the_spec_once() {
        let mut table: Vec<Operation> = OPS.iter().map(|op| op.op).collect();
        table.sort();
        let spec: Vec<Operation> = Operation::all().collect();
        assert_eq!(table, spec);
        let (get, _) = route("GET", "orders/abc")
            .ok()
            .flatten()
            .expect("GET orders/{id} routes");
        assert_eq!((get.op, get.path()), (Operation::OrdersGet, "orders/{id}"));
    }
}
