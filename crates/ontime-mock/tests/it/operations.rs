//! Every one of the 62 operations answers against the seeded mock, with a status its spec entry
//! documents and the documented content type; the request log names each operation.

use crate::common;

use std::collections::BTreeSet;

use serde_json::{Value, json};

#[tokio::test]
async fn all_62_operations_answer_with_documented_statuses() {
    let mock = common::start().await;
    let store = mock.store();
    let http = common::http();
    let order = store.signed_order_ids()[0];
    let order_rec = store.order(order).expect("order");
    let tracking = order_rec.tracking_number.clone().expect("tracking");
    let item = order_rec.items.as_ref().expect("items")[0]
        .id
        .expect("item id");
    let attachment = store.attachment_ids(order)[0];
    let status = store.status_history(order).expect("history")[0]
        .id
        .expect("status id");
    let customer = store.customer_ids()[0];
    let contact = store.contact_ids()[0];
    let user = store.driver_ids()[0];
    let location = store.location_ids()[0];
    let zone = store.zone_ids()[0];
    let vehicle = store.vehicle_ids()[0];
    let invoice = store.invoice_ids()[0];
    let price_set = store.price_set_ids()[0];
    let spec: Value = serde_json::from_str(ontime_mock::SPEC).expect("spec");

    // Follow-up ids come from earlier responses.
    let mut calls: Vec<(&str, &str, String, Option<Value>, u16)> = vec![
        (
            "contactPost",
            "POST",
            "contact/post".into(),
            Some(json!({"CustomerID": customer, "Name": "Ann Lee"})),
            201,
        ),
        ("contactsFind", "GET", "contacts".into(), None, 200),
        (
            "contactsAuthenticate",
            "GET",
            "contacts/authenticate?userName=x&password=y".into(),
            None,
            200,
        ),
        (
            "contactsGet",
            "GET",
            format!("contacts/{contact}"),
            None,
            200,
        ),
        (
            "customerPost",
            "POST",
            "customer/post".into(),
            Some(json!({"Name": "New Co"})),
            201,
        ),
        (
            "customersFind",
            "GET",
            "customers?city=Dallas".into(),
            None,
            200,
        ),
        (
            "customersAuthenticate",
            "GET",
            "customers/authenticate?userName=x&password=y".into(),
            None,
            200,
        ),
        (
            "customersGet",
            "GET",
            format!("customers/{customer}"),
            None,
            200,
        ),
        (
            "departmentPost",
            "POST",
            "department/post".into(),
            Some(json!({"CustomerID": customer, "Name": "Mail room"})),
            201,
        ),
        ("departmentsFind", "GET", "departments".into(), None, 200),
        (
            "fileAttachmentsFind",
            "GET",
            format!("fileAttachments?orderID={order}"),
            None,
            200,
        ),
        (
            "fileAttachmentsGet",
            "GET",
            format!("fileAttachments/{attachment}"),
            None,
            200,
        ),
        (
            "invoicePost",
            "POST",
            "invoice/post".into(),
            Some(json!({"Customer": customer, "Orders": [order]})),
            201,
        ),
        ("invoicesFind", "GET", "invoices".into(), None, 200),
        (
            "invoicesGet",
            "GET",
            format!("invoices/{invoice}"),
            None,
            200,
        ),
        (
            "itemPost",
            "POST",
            "item/post".into(),
            Some(json!({"OrderID": order, "Description": "Box"})),
            201,
        ),
        ("itemsGet", "GET", format!("items/{item}"), None, 200),
        (
            "locationPost",
            "POST",
            "location/post".into(),
            Some(json!({"City": "Plano", "State": "TX"})),
            201,
        ),
        (
            "locationsFind",
            "GET",
            "locations?city=Dallas&state=Texas".into(),
            None,
            200,
        ),
        (
            "locationsGet",
            "GET",
            format!("locations/{location}"),
            None,
            200,
        ),
        (
            "orderCodRequirement",
            "POST",
            format!(
                "order/codRequirement?id={order}&amountToCollect=120.5&requireDeliveryCOD=true"
            ),
            None,
            200,
        ),
        (
            "orderGetTotalCost",
            "POST",
            "order/getTotalCost".into(),
            Some(json!({"PriceSet": price_set})),
            200,
        ),
        (
            "orderPost",
            "POST",
            "order/post".into(),
            Some(json!({"Customer": customer, "Description": "Docs"})),
            201,
        ),
        (
            "orderReport",
            "GET",
            format!("order/report?type=SL&id={order}"),
            None,
            200,
        ),
        (
            "orderSignature",
            "GET",
            format!("order/signature?trackingNumber={tracking}&signatureType=Delivery"),
            None,
            200,
        ),
        (
            "orderSignatureRequirement",
            "POST",
            format!("order/signatureRequirement?id={order}&requireDeliverySignature=true"),
            None,
            200,
        ),
        (
            "orderUpdatePrices",
            "GET",
            format!("order/updatePrices/{order}"),
            None,
            200,
        ),
        (
            "orderUpdateStatus",
            "POST",
            format!("order/updateStatus?id={order}&detail=Delivered&label=Done"),
            None,
            200,
        ),
        (
            "orderStatusChanges",
            "GET",
            format!("orderStatusChanges/{order}"),
            None,
            200,
        ),
        ("ordersFind", "GET", "orders?status=3".into(), None, 200),
        ("ordersGet", "GET", format!("orders/{order}"), None, 200),
        (
            "paymentPost",
            "POST",
            "payment/post".into(),
            Some(json!({"Invoice": invoice, "Amount": 10.0})),
            201,
        ),
        ("paymentsFind", "GET", "payments".into(), None, 200),
        (
            "priceModifiersByName",
            "GET",
            "priceModifiersByName/Signature%20Capture".into(),
            None,
            200,
        ),
        (
            "priceSetsGet",
            "GET",
            format!("priceSets/{price_set}"),
            None,
            200,
        ),
        (
            "priceSetsByName",
            "GET",
            "priceSetsByName/Rush".into(),
            None,
            200,
        ),
        ("statusesFind", "GET", "statuses".into(), None, 200),
        (
            "statusesGet",
            "GET",
            format!("statuses/{status}"),
            None,
            200,
        ),
        (
            "userAvailability",
            "GET",
            format!("user/availability/{user}"),
            None,
            200,
        ),
        (
            "userPositions",
            "GET",
            format!("user/position?userId={user}"),
            None,
            200,
        ),
        (
            "userPositionLatest",
            "GET",
            format!("user/position/{user}"),
            None,
            200,
        ),
        (
            "userUpdateAvailability",
            "POST",
            "user/updateAvailability".into(),
            Some(json!({"UserID": user, "IsAvailable": true})),
            200,
        ),
        (
            "userUpdatePosition",
            "POST",
            "user/updatePosition".into(),
            Some(json!({"UserID": user, "Latitude": 32.7, "Longitude": -96.8})),
            200,
        ),
        (
            "userMiscCompensationPost",
            "POST",
            "userMiscCompensation/post".into(),
            Some(json!({"User": user, "Value": 5.0, "Role": 2, "Type": 1})),
            201,
        ),
        (
            "userSessionPost",
            "POST",
            "userSession/post".into(),
            Some(json!({"UserID": user, "LogInType": 2, "LogInTime": "2024-05-15T07:00:00"})),
            201,
        ),
        (
            "userSessionsFind",
            "GET",
            format!("userSessions?userId={user}"),
            None,
            200,
        ),
        ("usersFind", "GET", "users?lastName=Smith".into(), None, 200),
        (
            "usersAuthenticate",
            "GET",
            "users/authenticate?userName=nobody&password=x".into(),
            None,
            200,
        ),
        ("usersGet", "GET", format!("users/{user}"), None, 200),
        (
            "vehiclePost",
            "POST",
            "vehicle/post".into(),
            Some(json!({"FleetID": "V-900", "Year": 2022})),
            201,
        ),
        ("vehiclesFind", "GET", "vehicles".into(), None, 200),
        (
            "vehiclesGet",
            "GET",
            format!("vehicles/{vehicle}"),
            None,
            200,
        ),
        (
            "zonePost",
            "POST",
            "zone/post".into(),
            Some(json!({"Name": "South", "PostalCodes": "75216"})),
            201,
        ),
        ("zonesFind", "GET", "zones".into(), None, 200),
        ("zonesGet", "GET", format!("zones/{zone}"), None, 200),
    ];

    let mut answers = std::collections::HashMap::new();
    for (op, method, path, body, expected) in &calls {
        let mut req = match *method {
            "GET" => http.get(common::url(&mock, path)),
            "POST" => http.post(common::url(&mock, path)),
            _ => http.delete(common::url(&mock, path)),
        }
        .header("Authorization", mock.api_key());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("response");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.bytes().await.expect("body");
        assert_eq!(
            status,
            *expected,
            "{op}: {}",
            String::from_utf8_lossy(&bytes)
        );
        if *op == "orderReport" {
            assert!(ctype.starts_with("application/pdf"), "{op}: {ctype}");
            assert!(bytes.starts_with(b"%PDF-"));
        } else {
            assert!(ctype.starts_with("application/json"), "{op}: {ctype}");
            let _: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{op}: {e}"));
        }
        answers.insert(*op, bytes);
    }

    // Operations whose ids come from the posts above.
    let created: Value =
        serde_json::from_slice(&answers["userMiscCompensationPost"]).expect("json");
    let comp = created["ID"].as_str().expect("id").to_owned();
    let created: Value = serde_json::from_slice(&answers["userSessionPost"]).expect("json");
    let session = created["ID"].as_str().expect("id").to_owned();
    let created: Value = serde_json::from_slice(&answers["departmentPost"]).expect("json");
    let department = created["ID"].as_str().expect("id").to_owned();
    let created: Value = serde_json::from_slice(&answers["paymentPost"]).expect("json");
    let payment = created["ID"].as_str().expect("id").to_owned();
    let modifier = {
        let m: Value = serde_json::from_slice(&answers["priceModifiersByName"]).expect("json");
        m["ID"].as_str().expect("id").to_owned()
    };
    let more: Vec<(&str, &str, String, Option<Value>, u16)> = vec![
        (
            "userMiscCompensationsGet",
            "GET",
            format!("userMiscCompensations/{comp}"),
            None,
            200,
        ),
        (
            "userSessionsGet",
            "GET",
            format!("userSessions/{session}"),
            None,
            200,
        ),
        (
            "departmentsGet",
            "GET",
            format!("departments/{department}"),
            None,
            200,
        ),
        (
            "paymentsGet",
            "GET",
            format!("payments/{payment}"),
            None,
            200,
        ),
        (
            "priceModifiersGet",
            "GET",
            format!("priceModifiers/{modifier}"),
            None,
            200,
        ),
        (
            "orderFileAttachmentPost",
            "POST",
            format!("order/fileAttachment/post/{order}"),
            Some(json!({"FileName": "note.txt", "Contents": "aGVsbG8="})),
            201,
        ),
        (
            "orderFileAttachmentDelete",
            "DELETE",
            format!("order/fileAttachment/delete/{attachment}"),
            None,
            200,
        ),
    ];
    for (op, method, path, body, expected) in &more {
        let mut req = match *method {
            "GET" => http.get(common::url(&mock, path)),
            "POST" => http.post(common::url(&mock, path)),
            _ => http.delete(common::url(&mock, path)),
        }
        .header("Authorization", mock.api_key());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("response");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        assert_eq!(status, *expected, "{op}: {text}");
    }
    calls.extend(more);

    // Every operation of the spec was called exactly once, and the log says which.
    let called: BTreeSet<&str> = calls.iter().map(|c| c.0).collect();
    let all: BTreeSet<&str> = ontime_mock::Operation::all().map(|op| op.id()).collect();
    assert_eq!(all.len(), 62);
    assert_eq!(called, all);
    let logged: BTreeSet<&str> = mock.requests().iter().map(|r| r.operation_id()).collect();
    assert_eq!(logged, all);
    // And each expected status is one the spec documents for that operation.
    for (op, _, _, _, expected) in &calls {
        let documented = spec["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|p| p.as_object().expect("ops").values())
            .find(|o| o["operationId"] == *op)
            .map(|o| {
                o["responses"]
                    .as_object()
                    .expect("responses")
                    .contains_key(&expected.to_string())
            })
            .expect("operation in spec");
        assert!(
            documented,
            "{op} answered {expected}, which the spec does not list"
        );
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_bad_ids_are_faults() {
    let mock = common::start().await;
    let http = common::http();
    let key = mock.api_key().to_owned();
    let send = |req: reqwest::RequestBuilder| {
        let key = key.clone();
        async move {
            let r = req
                .header("Authorization", key)
                .send()
                .await
                .expect("response");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("JSON fault");
            (status, body)
        }
    };
    let (s, b) = send(http.get(common::url(&mock, "nothing/here"))).await;
    assert_eq!(s, 404);
    assert!(
        b["Message"]
            .as_str()
            .expect("message")
            .contains("No HTTP resource")
    );
    let (s, _) = send(http.get(format!("http://{}/sites/other/api/orders", mock.addr()))).await;
    assert_eq!(s, 404);
    let (s, _) = send(http.put(common::url(&mock, "orders"))).await;
    assert_eq!(s, 405);
    let (s, b) = send(http.get(common::url(&mock, "orders/not-a-guid"))).await;
    assert_eq!(s, 400);
    assert!(
        b["MessageDetail"]
            .as_str()
            .expect("detail")
            .contains("not-a-guid")
    );
    let (s, b) = send(http.get(common::url(
        &mock,
        &format!("orders/{}", uuid::Uuid::new_v4()),
    )))
    .await;
    assert_eq!(s, 404);
    assert!(
        b["Message"]
            .as_str()
            .expect("message")
            .contains("was not found")
    );
    let (s, _) = send(http.get(common::url(&mock, "orders?dateSubmittedMin=yesterday"))).await;
    assert_eq!(s, 400);
    let (s, _) = send(http.get(common::url(&mock, "orders?status=Teleported"))).await;
    assert_eq!(s, 400);
    // Unknown codes and blank typed values are refused too; a blank name filter is no filter.
    for query in [
        "orders?status=-58800",
        "orders?status=",
        "orders?assignedUserId=",
        "customers?lastModifiedDateMin=",
        "customers?inactive=",
        "userSessions?userId=",
    ] {
        let (s, _) = send(http.get(common::url(&mock, query))).await;
        assert_eq!(s, 400, "{query}");
    }
    let (s, _) = send(http.get(common::url(&mock, "orders?customerName="))).await;
    assert_eq!(s, 200);
    // Unknown query parameters are ignored, as ASP.NET does.
    let (s, b) = send(http.get(common::url(&mock, "zones?colour=blue"))).await;
    assert_eq!((s, b.as_array().map(Vec::len)), (200, Some(8)));
    mock.shutdown().await;
}
