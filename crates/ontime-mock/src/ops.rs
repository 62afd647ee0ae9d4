//! The 62 operations of `openapi/ontime.json`: method, path, record kind, access and handler.

use crate::auth::{Access, RecordKind};
use crate::handlers as h;
use crate::handlers::Handler;

/// HTTP methods the spec uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub(crate) enum M {
    GET,
    POST,
    DELETE,
}

impl M {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::GET => "GET",
            Self::POST => "POST",
            Self::DELETE => "DELETE",
        }
    }
}

/// One operation of the spec.
pub(crate) struct OpDef {
    /// The spec's `operationId`.
    pub id: &'static str,
    pub method: M,
    /// The path after `/sites/{company-id}/api/`.
    pub path: &'static str,
    pub kind: RecordKind,
    pub access: Access,
    pub handler: Handler,
}

/// Every operation of the spec, in the spec's order.
pub(crate) static OPS: &[OpDef] = &[
    OpDef {
        id: "contactPost",
        method: M::POST,
        path: "contact/post",
        kind: RecordKind::Contact,
        access: Access::Write,
        handler: h::contact_post,
    },
    OpDef {
        id: "contactsFind",
        method: M::GET,
        path: "contacts",
        kind: RecordKind::Contact,
        access: Access::Read,
        handler: h::contacts_find,
    },
    OpDef {
        id: "contactsAuthenticate",
        method: M::GET,
        path: "contacts/authenticate",
        kind: RecordKind::Contact,
        access: Access::Read,
        handler: h::contacts_authenticate,
    },
    OpDef {
        id: "contactsGet",
        method: M::GET,
        path: "contacts/{id}",
        kind: RecordKind::Contact,
        access: Access::Read,
        handler: h::contacts_get,
    },
    OpDef {
        id: "customerPost",
        method: M::POST,
        path: "customer/post",
        kind: RecordKind::Customer,
        access: Access::Write,
        handler: h::customer_post,
    },
    OpDef {
        id: "customersFind",
        method: M::GET,
        path: "customers",
        kind: RecordKind::Customer,
        access: Access::Read,
        handler: h::customers_find,
    },
    OpDef {
        id: "customersAuthenticate",
        method: M::GET,
        path: "customers/authenticate",
        kind: RecordKind::Customer,
        access: Access::Read,
        handler: h::customers_authenticate,
    },
    OpDef {
        id: "customersGet",
        method: M::GET,
        path: "customers/{id}",
        kind: RecordKind::Customer,
        access: Access::Read,
        handler: h::customers_get,
    },
    OpDef {
        id: "departmentPost",
        method: M::POST,
        path: "department/post",
        kind: RecordKind::Department,
        access: Access::Write,
        handler: h::department_post,
    },
    OpDef {
        id: "departmentsFind",
        method: M::GET,
        path: "departments",
        kind: RecordKind::Department,
        access: Access::Read,
        handler: h::departments_find,
    },
    OpDef {
        id: "departmentsGet",
        method: M::GET,
        path: "departments/{id}",
        kind: RecordKind::Department,
        access: Access::Read,
        handler: h::departments_get,
    },
    OpDef {
        id: "fileAttachmentsFind",
        method: M::GET,
        path: "fileAttachments",
        kind: RecordKind::FileAttachment,
        access: Access::Read,
        handler: h::file_attachments_find,
    },
    OpDef {
        id: "fileAttachmentsGet",
        method: M::GET,
        path: "fileAttachments/{id}",
        kind: RecordKind::FileAttachment,
        access: Access::Read,
        handler: h::file_attachments_get,
    },
    OpDef {
        id: "invoicePost",
        method: M::POST,
        path: "invoice/post",
        kind: RecordKind::Invoice,
        access: Access::Write,
        handler: h::invoice_post,
    },
    OpDef {
        id: "invoicesFind",
        method: M::GET,
        path: "invoices",
        kind: RecordKind::Invoice,
        access: Access::Read,
        handler: h::invoices_find,
    },
    OpDef {
        id: "invoicesGet",
        method: M::GET,
        path: "invoices/{id}",
        kind: RecordKind::Invoice,
        access: Access::Read,
        handler: h::invoices_get,
    },
    OpDef {
        id: "itemPost",
        method: M::POST,
        path: "item/post",
        kind: RecordKind::Item,
        access: Access::Write,
        handler: h::item_post,
    },
    OpDef {
        id: "itemsGet",
        method: M::GET,
        path: "items/{id}",
        kind: RecordKind::Item,
        access: Access::Read,
        handler: h::items_get,
    },
    OpDef {
        id: "locationPost",
        method: M::POST,
        path: "location/post",
        kind: RecordKind::Location,
        access: Access::Write,
        handler: h::location_post,
    },
    OpDef {
        id: "locationsFind",
        method: M::GET,
        path: "locations",
        kind: RecordKind::Location,
        access: Access::Read,
        handler: h::locations_find,
    },
    OpDef {
        id: "locationsGet",
        method: M::GET,
        path: "locations/{id}",
        kind: RecordKind::Location,
        access: Access::Read,
        handler: h::locations_get,
    },
    OpDef {
        id: "orderCodRequirement",
        method: M::POST,
        path: "order/codRequirement",
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_cod_requirement,
    },
    OpDef {
        id: "orderFileAttachmentDelete",
        method: M::DELETE,
        path: "order/fileAttachment/delete/{id}",
        kind: RecordKind::FileAttachment,
        access: Access::Write,
        handler: h::order_file_attachment_delete,
    },
    OpDef {
        id: "orderFileAttachmentPost",
        method: M::POST,
        path: "order/fileAttachment/post/{orderID}",
        kind: RecordKind::FileAttachment,
        access: Access::Write,
        handler: h::order_file_attachment_post,
    },
    OpDef {
        id: "orderGetTotalCost",
        method: M::POST,
        path: "order/getTotalCost",
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::order_get_total_cost,
    },
    OpDef {
        id: "orderPost",
        method: M::POST,
        path: "order/post",
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_post,
    },
    OpDef {
        id: "orderReport",
        method: M::GET,
        path: "order/report",
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::order_report,
    },
    OpDef {
        id: "orderSignature",
        method: M::GET,
        path: "order/signature",
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::order_signature,
    },
    OpDef {
        id: "orderSignatureRequirement",
        method: M::POST,
        path: "order/signatureRequirement",
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_signature_requirement,
    },
    OpDef {
        id: "orderUpdatePrices",
        method: M::GET,
        path: "order/updatePrices/{id}",
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_update_prices,
    },
    OpDef {
        id: "orderUpdateStatus",
        method: M::POST,
        path: "order/updateStatus",
        kind: RecordKind::Order,
        access: Access::Write,
        handler: h::order_update_status,
    },
    OpDef {
        id: "orderStatusChanges",
        method: M::GET,
        path: "orderStatusChanges/{orderID}",
        kind: RecordKind::Status,
        access: Access::Read,
        handler: h::order_status_changes,
    },
    OpDef {
        id: "ordersFind",
        method: M::GET,
        path: "orders",
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::orders_find,
    },
    OpDef {
        id: "ordersGet",
        method: M::GET,
        path: "orders/{id}",
        kind: RecordKind::Order,
        access: Access::Read,
        handler: h::orders_get,
    },
    OpDef {
        id: "paymentPost",
        method: M::POST,
        path: "payment/post",
        kind: RecordKind::Payment,
        access: Access::Write,
        handler: h::payment_post,
    },
    OpDef {
        id: "paymentsFind",
        method: M::GET,
        path: "payments",
        kind: RecordKind::Payment,
        access: Access::Read,
        handler: h::payments_find,
    },
    OpDef {
        id: "paymentsGet",
        method: M::GET,
        path: "payments/{id}",
        kind: RecordKind::Payment,
        access: Access::Read,
        handler: h::payments_get,
    },
    OpDef {
        id: "priceModifiersGet",
        method: M::GET,
        path: "priceModifiers/{id}",
        kind: RecordKind::PriceModifier,
        access: Access::Read,
        handler: h::price_modifiers_get,
    },
    OpDef {
        id: "priceModifiersByName",
        method: M::GET,
        path: "priceModifiersByName/{name}",
        kind: RecordKind::PriceModifier,
        access: Access::Read,
        handler: h::price_modifiers_by_name,
    },
    OpDef {
        id: "priceSetsGet",
        method: M::GET,
        path: "priceSets/{id}",
        kind: RecordKind::PriceSet,
        access: Access::Read,
        handler: h::price_sets_get,
    },
    OpDef {
        id: "priceSetsByName",
        method: M::GET,
        path: "priceSetsByName/{name}",
        kind: RecordKind::PriceSet,
        access: Access::Read,
        handler: h::price_sets_by_name,
    },
    OpDef {
        id: "statusesFind",
        method: M::GET,
        path: "statuses",
        kind: RecordKind::Status,
        access: Access::Read,
        handler: h::statuses_find,
    },
    OpDef {
        id: "statusesGet",
        method: M::GET,
        path: "statuses/{id}",
        kind: RecordKind::Status,
        access: Access::Read,
        handler: h::statuses_get,
    },
    OpDef {
        id: "userAvailability",
        method: M::GET,
        path: "user/availability/{userID}",
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::user_availability,
    },
    OpDef {
        id: "userPositions",
        method: M::GET,
        path: "user/position",
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::user_positions,
    },
    OpDef {
        id: "userPositionLatest",
        method: M::GET,
        path: "user/position/{userID}",
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::user_position_latest,
    },
    OpDef {
        id: "userUpdateAvailability",
        method: M::POST,
        path: "user/updateAvailability",
        kind: RecordKind::User,
        access: Access::Write,
        handler: h::user_update_availability,
    },
    OpDef {
        id: "userUpdatePosition",
        method: M::POST,
        path: "user/updatePosition",
        kind: RecordKind::User,
        access: Access::Write,
        handler: h::user_update_position,
    },
    OpDef {
        id: "userMiscCompensationPost",
        method: M::POST,
        path: "userMiscCompensation/post",
        kind: RecordKind::UserMiscCompensation,
        access: Access::Write,
        handler: h::user_misc_compensation_post,
    },
    OpDef {
        id: "userMiscCompensationsGet",
        method: M::GET,
        path: "userMiscCompensations/{id}",
        kind: RecordKind::UserMiscCompensation,
        access: Access::Read,
        handler: h::user_misc_compensations_get,
    },
    OpDef {
        id: "userSessionPost",
        method: M::POST,
        path: "userSession/post",
        kind: RecordKind::UserSession,
        access: Access::Write,
        handler: h::user_session_post,
    },
    OpDef {
        id: "userSessionsFind",
        method: M::GET,
        path: "userSessions",
        kind: RecordKind::UserSession,
        access: Access::Read,
        handler: h::user_sessions_find,
    },
    OpDef {
        id: "userSessionsGet",
        method: M::GET,
        path: "userSessions/{id}",
        kind: RecordKind::UserSession,
        access: Access::Read,
        handler: h::user_sessions_get,
    },
    OpDef {
        id: "usersFind",
        method: M::GET,
        path: "users",
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users_find,
    },
    OpDef {
        id: "usersAuthenticate",
        method: M::GET,
        path: "users/authenticate",
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users_authenticate,
    },
    OpDef {
        id: "usersGet",
        method: M::GET,
        path: "users/{id}",
        kind: RecordKind::User,
        access: Access::Read,
        handler: h::users_get,
    },
    OpDef {
        id: "vehiclePost",
        method: M::POST,
        path: "vehicle/post",
        kind: RecordKind::Vehicle,
        access: Access::Write,
        handler: h::vehicle_post,
    },
    OpDef {
        id: "vehiclesFind",
        method: M::GET,
        path: "vehicles",
        kind: RecordKind::Vehicle,
        access: Access::Read,
        handler: h::vehicles_find,
    },
    OpDef {
        id: "vehiclesGet",
        method: M::GET,
        path: "vehicles/{id}",
        kind: RecordKind::Vehicle,
        access: Access::Read,
        handler: h::vehicles_get,
    },
    OpDef {
        id: "zonePost",
        method: M::POST,
        path: "zone/post",
        kind: RecordKind::Zone,
        access: Access::Write,
        handler: h::zone_post,
    },
    OpDef {
        id: "zonesFind",
        method: M::GET,
        path: "zones",
        kind: RecordKind::Zone,
        access: Access::Read,
        handler: h::zones_find,
    },
    OpDef {
        id: "zonesGet",
        method: M::GET,
        path: "zones/{id}",
        kind: RecordKind::Zone,
        access: Access::Read,
        handler: h::zones_get,
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
        let template = op.path.split('/');
        if op.path.split('/').count() != segments.len() {
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
        if op.method.as_str() != method {
            allowed.push(op.method.as_str());
            continue;
        }
        if best.is_none_or(|(_, l)| literals > l) {
            best = Some((op, literals));
        }
    }
    match best {
        Some((op, _)) => {
            let params = op
                .path
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

/// The operation with this `operationId`.
pub fn operation(id: &str) -> Option<(&'static str, &'static str, &'static str)> {
    OPS.iter()
        .find(|op| op.id == id)
        .map(|op| (op.id, op.method.as_str(), op.path))
}

/// The `operationId`s of all operations.
pub fn operation_ids() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|op| op.id)
}
