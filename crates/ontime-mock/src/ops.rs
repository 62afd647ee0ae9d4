//! The 62 operations of `openapi/ontime.json`: method, path, record kind, access and handler.

use crate::auth::{Access, RecordKind};
use crate::handlers as h;
use crate::handlers::Handler;
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

/// Every operation of the spec, in the spec's order, with what the simulator does for it.
pub(crate) static OPS: &[OpDef] = &[
    OpDef {
        op: Operation::ContactPost,
        kind: RecordKind::Contact,
        access: Access::Write,
        handler: h::generic::post::<types::Contact>,
    },
    OpDef {
        op: Operation::ContactsFind,
        kind: RecordKind::Contact,
        access: Access::Read,
        handler: h::generic::find_all::<types::Contact>,
    },
    OpDef {
        op: Operation::ContactsAuthenticate,
        kind: RecordKind::Contact,
        access: Access::Read,
        handler: h::contacts::contacts_authenticate,
    },
    OpDef {
        op: Operation::ContactsGet,
        kind: RecordKind::Contact,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Contact>,
    },
    OpDef {
        op: Operation::CustomerPost,
        kind: RecordKind::Customer,
        access: Access::Write,
        handler: h::customers::customer_post,
    },
    OpDef {
        op: Operation::CustomersFind,
        kind: RecordKind::Customer,
        access: Access::Read,
        handler: h::customers::customers_find,
    },
    OpDef {
        op: Operation::CustomersAuthenticate,
        kind: RecordKind::Customer,
        access: Access::Read,
        handler: h::contacts::customers_authenticate,
    },
    OpDef {
        op: Operation::CustomersGet,
        kind: RecordKind::Customer,
        access: Access::Read,
        handler: h::customers::customers_get,
    },
    OpDef {
        op: Operation::DepartmentPost,
        kind: RecordKind::Department,
        access: Access::Write,
        handler: h::generic::post::<types::Department>,
    },
    OpDef {
        op: Operation::DepartmentsFind,
        kind: RecordKind::Department,
        access: Access::Read,
        handler: h::generic::find_all::<types::Department>,
    },
    OpDef {
        op: Operation::DepartmentsGet,
        kind: RecordKind::Department,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Department>,
    },
    OpDef {
        op: Operation::FileAttachmentsFind,
        kind: RecordKind::FileAttachment,
        access: Access::Read,
        handler: h::attachments::file_attachments_find,
    },
    OpDef {
        op: Operation::FileAttachmentsGet,
        kind: RecordKind::FileAttachment,
        access: Access::Read,
        handler: h::generic::get_of_order::<types::FileAttachment>,
    },
    OpDef {
        op: Operation::InvoicePost,
        kind: RecordKind::Invoice,
        access: Access::Write,
        handler: h::generic::post::<types::Invoice>,
    },
    OpDef {
        op: Operation::InvoicesFind,
        kind: RecordKind::Invoice,
        access: Access::Read,
        handler: h::generic::find_all::<types::Invoice>,
    },
    OpDef {
        op: Operation::InvoicesGet,
        kind: RecordKind::Invoice,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Invoice>,
    },
    OpDef {
        op: Operation::ItemPost,
        kind: RecordKind::Item,
        access: Access::Write,
        handler: h::orders::item_post,
    },
    OpDef {
        op: Operation::ItemsGet,
        kind: RecordKind::Item,
        access: Access::Read,
        handler: h::generic::get_of_order::<types::Item>,
    },
    OpDef {
        op: Operation::LocationPost,
        kind: RecordKind::Location,
        access: Access::Write,
        handler: h::generic::post::<types::Location>,
    },
    OpDef {
        op: Operation::LocationsFind,
        kind: RecordKind::Location,
        access: Access::Read,
        handler: h::places::locations_find,
    },
    OpDef {
        op: Operation::LocationsGet,
        kind: RecordKind::Location,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Location>,
    },
    OpDef {
        op: Operation::OrderCodRequirement,
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_actions::order_cod_requirement,
    },
    OpDef {
        op: Operation::OrderFileAttachmentDelete,
        kind: RecordKind::FileAttachment,
        access: Access::Write,
        handler: h::attachments::order_file_attachment_delete,
    },
    OpDef {
        op: Operation::OrderFileAttachmentPost,
        kind: RecordKind::FileAttachment,
        access: Access::Write,
        handler: h::attachments::order_file_attachment_post,
    },
    OpDef {
        op: Operation::OrderGetTotalCost,
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::order_actions::order_get_total_cost,
    },
    OpDef {
        op: Operation::OrderPost,
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::orders::order_post,
    },
    OpDef {
        op: Operation::OrderReport,
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::order_actions::order_report,
    },
    OpDef {
        op: Operation::OrderSignature,
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::order_actions::order_signature,
    },
    OpDef {
        op: Operation::OrderSignatureRequirement,
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_actions::order_signature_requirement,
    },
    OpDef {
        op: Operation::OrderUpdatePrices,
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_actions::order_update_prices,
    },
    OpDef {
        op: Operation::OrderUpdateStatus,
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_actions::order_update_status,
    },
    OpDef {
        op: Operation::OrderStatusChanges,
        kind: RecordKind::Status,
        access: Access::Read,
        handler: h::orders::order_status_changes,
    },
    OpDef {
        op: Operation::OrdersFind,
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::orders::orders_find,
    },
    OpDef {
        op: Operation::OrdersGet,
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::orders::orders_get,
    },
    OpDef {
        op: Operation::PaymentPost,
        kind: RecordKind::Payment,
        access: Access::Write,
        handler: h::generic::post::<types::Payment>,
    },
    OpDef {
        op: Operation::PaymentsFind,
        kind: RecordKind::Payment,
        access: Access::Read,
        handler: h::generic::find_all::<types::Payment>,
    },
    OpDef {
        op: Operation::PaymentsGet,
        kind: RecordKind::Payment,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Payment>,
    },
    OpDef {
        op: Operation::PriceModifiersGet,
        kind: RecordKind::PriceModifier,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::PriceModifier>,
    },
    OpDef {
        op: Operation::PriceModifiersByName,
        kind: RecordKind::PriceModifier,
        access: Access::Read,
        handler: h::price_lists::price_modifiers_by_name,
    },
    OpDef {
        op: Operation::PriceSetsGet,
        kind: RecordKind::PriceSet,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::PriceSet>,
    },
    OpDef {
        op: Operation::PriceSetsByName,
        kind: RecordKind::PriceSet,
        access: Access::Read,
        handler: h::price_lists::price_sets_by_name,
    },
    OpDef {
        op: Operation::StatusesFind,
        kind: RecordKind::Status,
        access: Access::Read,
        handler: h::orders::statuses_find,
    },
    OpDef {
        op: Operation::StatusesGet,
        kind: RecordKind::Status,
        access: Access::Read,
        handler: h::generic::get_of_order::<types::Status>,
    },
    OpDef {
        op: Operation::UserAvailability,
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users::user_availability,
    },
    OpDef {
        op: Operation::UserPositions,
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users::user_positions,
    },
    OpDef {
        op: Operation::UserPositionLatest,
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users::user_position_latest,
    },
    OpDef {
        op: Operation::UserUpdateAvailability,
        kind: RecordKind::User,
        access: Access::Write,
        handler: h::users::user_update_availability,
    },
    OpDef {
        op: Operation::UserUpdatePosition,
        kind: RecordKind::User,
        access: Access::Write,
        handler: h::users::user_update_position,
    },
    OpDef {
        op: Operation::UserMiscCompensationPost,
        kind: RecordKind::UserMiscCompensation,
        access: Access::Write,
        handler: h::generic::post::<types::UserMiscCompensation>,
    },
    OpDef {
        op: Operation::UserMiscCompensationsGet,
        kind: RecordKind::UserMiscCompensation,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::UserMiscCompensation>,
    },
    OpDef {
        op: Operation::UserSessionPost,
        kind: RecordKind::UserSession,
        access: Access::Write,
        handler: h::generic::post::<types::UserSession>,
    },
    OpDef {
        op: Operation::UserSessionsFind,
        kind: RecordKind::UserSession,
        access: Access::Read,
        handler: h::users::user_sessions_find,
    },
    OpDef {
        op: Operation::UserSessionsGet,
        kind: RecordKind::UserSession,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::UserSession>,
    },
    OpDef {
        op: Operation::UsersFind,
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users::users_find,
    },
    OpDef {
        op: Operation::UsersAuthenticate,
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::contacts::users_authenticate,
    },
    OpDef {
        op: Operation::UsersGet,
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::User>,
    },
    OpDef {
        op: Operation::VehiclePost,
        kind: RecordKind::Vehicle,
        access: Access::Write,
        handler: h::generic::post::<types::Vehicle>,
    },
    OpDef {
        op: Operation::VehiclesFind,
        kind: RecordKind::Vehicle,
        access: Access::Read,
        handler: h::generic::find_all::<types::Vehicle>,
    },
    OpDef {
        op: Operation::VehiclesGet,
        kind: RecordKind::Vehicle,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Vehicle>,
    },
    OpDef {
        op: Operation::ZonePost,
        kind: RecordKind::Zone,
        access: Access::Write,
        handler: h::generic::post::<types::Zone>,
    },
    OpDef {
        op: Operation::ZonesFind,
        kind: RecordKind::Zone,
        access: Access::Read,
        handler: h::generic::find_all::<types::Zone>,
    },
    OpDef {
        op: Operation::ZonesGet,
        kind: RecordKind::Zone,
        access: Access::Read,
        handler: h::generic::get_by_id::<types::Zone>,
    },
];

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
