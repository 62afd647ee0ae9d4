//! Standard Webhooks on the receiving side: our verifier against the published vectors and the
//! ways a request can be wrong, and cross-checks with the reference libraries (the Rust crate
//! `standardwebhooks` and the Python package of the same name, installed into
//! `<target>/standardwebhooks/venv` by `scripts/standardwebhooks.sh`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ontime_sync::deliver::signature::{
    ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret, signature_header,
};
use ontime_sync::deliver::verify::{HeaderPairs, ReplayGuard, Verifier, VerifyError};

/// The two published vectors: secret, id, timestamp, body, signature header.
const VECTORS: [(&str, &str, i64, &str, &str); 2] = [
    (
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        r#"{"email":"test@example.com","username":"test_user"}"#,
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
    ),
    (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
];

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).unwrap()
}

fn headers(id: &str, timestamp: &str, signature: &str) -> Vec<(&'static str, String)> {
    vec![
        (ID_HEADER, id.to_owned()),
        (TIMESTAMP_HEADER, timestamp.to_owned()),
        (SIGNATURE_HEADER, signature.to_owned()),
    ]
}

/// The first vector's secret, id, timestamp, body and valid header.
fn first() -> (
    WebhookSecret,
    &'static str,
    i64,
    &'static [u8],
    &'static str,
) {
    let (secret, id, ts, body, sig) = VECTORS[0];
    (
        WebhookSecret::parse(secret).unwrap(),
        id,
        ts,
        body.as_bytes(),
        sig,
    )
}

#[test]
fn the_published_vectors_verify_and_sign() {
    for (secret, id, ts, body, sig) in VECTORS {
        let secret = WebhookSecret::parse(secret).unwrap();
        assert_eq!(signature_header([&secret], id, ts, body.as_bytes()), sig);
        let verifier = Verifier::new(secret);
        let message = verifier
            .verify(&headers(id, &ts.to_string(), sig), body.as_bytes(), at(ts))
            .unwrap();
        assert_eq!(message.id(), id);
        assert_eq!(message.timestamp(), ts);
        assert_eq!(message.body(), body.as_bytes());
        assert_eq!(message.secret_index(), 0);
        assert!(message.json::<serde_json::Value>().unwrap().is_object());
    }
}

#[test]
fn an_http_header_map_and_pairs_in_any_case_work() {
    let (secret, id, ts, body, sig) = first();
    let verifier = Verifier::new(secret);
    let mut map = http::HeaderMap::new();
    map.insert("Webhook-Id", id.parse().unwrap());
    map.insert("Webhook-Timestamp", ts.to_string().parse().unwrap());
    map.insert("Webhook-Signature", sig.parse().unwrap());
    map.insert("content-type", "application/json".parse().unwrap());
    assert_eq!(verifier.verify(&map, body, at(ts)).unwrap().id(), id);

    let pairs = [
        ("Content-Type", "application/json".to_owned()),
        ("WEBHOOK-ID", id.to_owned()),
        ("webhook-TIMESTAMP", ts.to_string()),
        ("Webhook-Signature", sig.to_owned()),
    ];
    assert!(verifier.verify(&pairs, body, at(ts)).is_ok());
    let picked = HeaderPairs::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_bytes())));
    assert!(verifier.verify(&picked, body, at(ts)).is_ok());
}

#[test]
fn rejections_say_why() {
    let (secret, id, ts, body, sig) = first();
    let verifier = Verifier::new(secret);
    let now = at(ts);
    let tsx = ts.to_string();
    let check = |h: Vec<(&'static str, String)>, body: &[u8], now| {
        verifier.verify(&h, body, now).map(|m| m.id().to_owned())
    };

    // An empty v1 signature, alone or beside garbage: never valid.
    assert_eq!(
        check(headers(id, &tsx, "v1,"), body, now),
        Err(VerifyError::NoValidSignature)
    );
    assert_eq!(
        check(headers(id, &tsx, "v1, v1,="), body, now),
        Err(VerifyError::NoValidSignature)
    );
    // Truncated: the first 20 characters of the right signature, and the right bytes minus one.
    let truncated = &sig[..sig.len() - 20];
    assert_eq!(
        check(headers(id, &tsx, truncated), body, now),
        Err(VerifyError::NoValidSignature)
    );
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(&sig[3..]).unwrap();
    bytes.pop();
    let short = format!("v1,{}", engine.encode(&bytes));
    assert_eq!(
        check(headers(id, &tsx, &short), body, now),
        Err(VerifyError::NoValidSignature)
    );
    // The wrong secret (the second vector's).
    let other = Verifier::new(WebhookSecret::parse(VECTORS[1].0).unwrap());
    assert_eq!(
        other.verify(&headers(id, &tsx, sig), body, now),
        Err(VerifyError::NoValidSignature)
    );
    // A tampered body (one space added), id and timestamp.
    let tampered = br#"{"email":"test@example.com", "username":"test_user"}"#;
    assert_eq!(
        check(headers(id, &tsx, sig), tampered, now),
        Err(VerifyError::NoValidSignature)
    );
    assert_eq!(
        check(headers("msg_other", &tsx, sig), body, now),
        Err(VerifyError::NoValidSignature)
    );
    assert_eq!(
        check(headers(id, &(ts + 1).to_string(), sig), body, now),
        Err(VerifyError::NoValidSignature)
    );
    // 301 s in the past and in the future are refused; 300 s either way still passes.
    assert_eq!(
        check(headers(id, &tsx, sig), body, at(ts + 301)),
        Err(VerifyError::TooOld {
            age_secs: 301,
            tolerance_secs: 300
        })
    );
    assert_eq!(
        check(headers(id, &tsx, sig), body, at(ts - 301)),
        Err(VerifyError::TooNew {
            ahead_secs: 301,
            tolerance_secs: 300
        })
    );
    assert!(check(headers(id, &tsx, sig), body, at(ts + 300)).is_ok());
    assert!(check(headers(id, &tsx, sig), body, at(ts - 300)).is_ok());
    // Each header missing, in turn.
    for name in [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER] {
        let mut h = headers(id, &tsx, sig);
        h.retain(|(n, _)| *n != name);
        assert_eq!(check(h, body, now), Err(VerifyError::MissingHeader(name)));
    }
    // An unknown version only: there is nothing to check.
    let v2 = format!("v2,{}", &sig[3..]);
    assert_eq!(
        check(headers(id, &tsx, &v2), body, now),
        Err(VerifyError::NoV1Signature)
    );
    assert_eq!(
        check(headers(id, &tsx, "garbage"), body, now),
        Err(VerifyError::NoV1Signature)
    );
    // Malformed timestamps and headers.
    for bad in [
        "-1649367553",
        "+1649367553",
        "1649367553.0",
        "soon",
        "99999999999999999999",
    ] {
        assert_eq!(
            check(headers(id, bad, sig), body, now),
            Err(VerifyError::BadTimestamp),
            "{bad}"
        );
    }
    assert_eq!(
        check(headers("", &tsx, sig), body, now),
        Err(VerifyError::MalformedHeader(ID_HEADER))
    );
    let binary = vec![
        (ID_HEADER, id.as_bytes().to_vec()),
        (TIMESTAMP_HEADER, tsx.as_bytes().to_vec()),
        (SIGNATURE_HEADER, vec![0xff, b'v', b'1']),
    ];
    assert_eq!(
        verifier.verify(&binary, body, now),
        Err(VerifyError::MalformedHeader(SIGNATURE_HEADER))
    );
    // The messages name the header, never the secret.
    let message = VerifyError::MissingHeader(TIMESTAMP_HEADER).to_string();
    assert!(message.contains("webhook-timestamp"), "{message}");
    assert!(!format!("{verifier:?}").contains("C2FVsBQ"));
}

#[test]
fn one_valid_signature_among_several_passes_and_rotation_names_the_secret() {
    let (secret, id, ts, body, sig) = first();
    let tsx = ts.to_string();
    let verifier = Verifier::new(secret.clone());
    let old = "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=";
    for header in [
        format!("{old} {sig}"),
        format!("v2,abc {sig} v1,"),
        format!("v1a,xyz   {old}  {sig}"),
    ] {
        assert!(
            verifier
                .verify(&headers(id, &tsx, &header), body, at(ts))
                .is_ok(),
            "{header}"
        );
    }
    // A rotation: the sender signs with both; a receiver that knows only one of them passes,
    // and one that knows both says which matched.
    let new = WebhookSecret::generate();
    let both = signature_header([&secret, &new], id, ts, body);
    let rotating = Verifier::new(WebhookSecret::generate()).with_secret(new.clone());
    let message = rotating
        .verify(&headers(id, &tsx, &both), body, at(ts))
        .unwrap();
    assert_eq!(message.secret_index(), 1);
    assert_eq!(rotating.secret_count(), 2);
    assert!(
        Verifier::new(new)
            .verify(&headers(id, &tsx, &both), body, at(ts))
            .is_ok()
    );
}

#[test]
fn the_tolerance_is_configurable() {
    let (secret, id, ts, body, sig) = first();
    let verifier = Verifier::new(secret).with_tolerance(Duration::from_secs(10));
    assert!(
        verifier
            .verify(&headers(id, &ts.to_string(), sig), body, at(ts + 10))
            .is_ok()
    );
    assert!(matches!(
        verifier.verify(&headers(id, &ts.to_string(), sig), body, at(ts + 11)),
        Err(VerifyError::TooOld { age_secs: 11, .. })
    ));
}

#[test]
fn the_replay_guard_remembers_ids_for_the_window_within_its_capacity() {
    let (secret, id, ts, body, sig) = first();
    let verifier = Verifier::new(secret);
    let h = headers(id, &ts.to_string(), sig);
    let message = verifier.verify(&h, body, at(ts)).unwrap();
    let mut guard = ReplayGuard::new(verifier.tolerance(), 3);
    assert!(guard.first_time(&message, at(ts)));
    assert!(!guard.first_time(&message, at(ts + 200)));
    // After the window the copy would fail the timestamp check anyway: the id is forgotten.
    assert!(guard.first_time_id(id, ts + 400, at(ts + 400)));
    assert_eq!(guard.len(), 1);
    // A failed handling forgets the id, so the sender's retry is processed.
    guard.forget(id);
    assert!(guard.is_empty());
    // Bounded: the fourth id evicts the one closest to expiry.
    let now = at(ts);
    for (n, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
        assert!(guard.first_time_id(id, ts + n as i64, now));
    }
    assert_eq!(guard.len(), 3);
    assert!(guard.first_time_id("a", ts, now), "a was evicted");
    assert!(!guard.first_time_id("d", ts + 3, now));
}

/// Verifies with the reference Rust crate, whose clock is the system's.
fn reference_verify(secret: &WebhookSecret, header: &str, id: &str, ts: i64, body: &[u8]) -> bool {
    let webhook = standardwebhooks::Webhook::new(&secret.expose()).unwrap();
    let mut map = http::HeaderMap::new();
    map.insert(ID_HEADER, id.parse().unwrap());
    map.insert(TIMESTAMP_HEADER, ts.to_string().parse().unwrap());
    map.insert(SIGNATURE_HEADER, header.parse().unwrap());
    webhook.verify(body, &map).is_ok()
}

#[test]
fn the_reference_rust_crate_agrees() {
    let now = Utc::now();
    let ts = now.timestamp();
    let secret = WebhookSecret::generate();
    let old = WebhookSecret::generate();
    let body = br#"{"event_id":"evt_abc","type":"order.delivered","subject":"order:1"}"#;
    let id = "evt_abc";
    // What we sign (one secret, and a rotation's two) verifies there.
    assert!(reference_verify(
        &secret,
        &signature_header([&secret], id, ts, body),
        id,
        ts,
        body
    ));
    assert!(reference_verify(
        &secret,
        &signature_header([&old, &secret], id, ts, body),
        id,
        ts,
        body
    ));
    // What it signs verifies here.
    let theirs = standardwebhooks::Webhook::new(&secret.expose())
        .unwrap()
        .sign(id, ts, body)
        .unwrap();
    assert_eq!(theirs, signature_header([&secret], id, ts, body));
    assert!(
        Verifier::new(secret.clone())
            .verify(&headers(id, &ts.to_string(), &theirs), body, now)
            .is_ok()
    );
    // The pinned version has the length fix: an empty or tampered signature fails there too.
    assert!(!reference_verify(&secret, "v1,", id, ts, body));
    assert!(!reference_verify(
        &secret,
        &signature_header([&secret], id, ts, b"{}"),
        id,
        ts,
        body
    ));
}

/// The venv's interpreter: `ONTIME_STANDARDWEBHOOKS_PYTHON`, else the one
/// `scripts/standardwebhooks.sh` makes under this build's target directory.
fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ONTIME_STANDARDWEBHOOKS_PYTHON") {
        return Some(PathBuf::from(path));
    }
    // The test binary is <target>/<profile>/deps/it-<hash>.
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    let python = target.join("standardwebhooks/venv/bin/python");
    python.exists().then_some(python)
}

const PY_CHECK: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
for case in json.load(sys.stdin):
    headers = {"webhook-id": case["id"], "webhook-timestamp": str(case["ts"]), "webhook-signature": case["sig"]}
    try:
        Webhook(case["secret"]).verify(case["body"].encode(), headers, json_parse=False)
        print("valid")
    except Exception as e:
        print("invalid: " + type(e).__name__)
"#;

#[test]
fn the_reference_python_package_agrees() {
    let Some(python) = python() else {
        if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!(
                "the Python standardwebhooks venv is required (ONTIME_REQUIRE_SERVICES=1): \
                 run scripts/standardwebhooks.sh"
            );
        }
        eprintln!(
            "notice: skipping the Python standardwebhooks cross-check: no venv \
             (run scripts/standardwebhooks.sh)"
        );
        return;
    };
    let ts = Utc::now().timestamp();
    let secret = WebhookSecret::generate();
    let next = WebhookSecret::generate();
    let bodies = [
        r#"{"event_id":"evt_1","type":"order.delivered","subject":"order:9"}"#,
        r#"{"note": "Zustellung an Nachbarn – ü, é, 🚚"}"#,
        "",
    ];
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (n, body) in bodies.iter().enumerate() {
        let id = format!("evt_{n}");
        // Signed by us with one secret, and with two during a rotation: valid there.
        for header in [
            signature_header([&secret], &id, ts, body.as_bytes()),
            signature_header([&next, &secret], &id, ts, body.as_bytes()),
        ] {
            cases.push(serde_json::json!({"secret": secret.expose(), "id": id, "ts": ts, "body": body, "sig": header}));
            expected.push("valid");
        }
        // The same signature over another body: invalid there too (the check is not vacuous).
        let sig = signature_header([&secret], &id, ts, body.as_bytes());
        cases.push(serde_json::json!({"secret": secret.expose(), "id": id, "ts": ts, "body": format!("{body} "), "sig": sig}));
        expected.push("invalid");
    }
    let mut child = Command::new(&python)
        .args(["-c", PY_CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<&str> = stdout
        .lines()
        .map(|line| line.split(':').next().unwrap_or(line))
        .collect();
    assert_eq!(verdicts, expected, "{stdout}");
}

/// The example receiver (examples/webhook_receiver.rs), its router driven in-process.
#[allow(dead_code)]
#[path = "../../examples/webhook_receiver.rs"]
mod webhook_receiver;

#[tokio::test]
async fn the_example_receiver_verifies_upserts_by_id_and_answers_202() {
    use tower::ServiceExt as _;

    let secret = WebhookSecret::generate();
    let receiver = webhook_receiver::Receiver::new(Verifier::new(secret.clone()));
    let app = webhook_receiver::router(receiver.clone());
    let send = |headers: Vec<(&'static str, String)>, body: &'static str| {
        let mut request = axum::http::Request::post("/webhooks");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        app.clone()
            .oneshot(request.body(axum::body::Body::from(body)).unwrap())
    };
    let ts = Utc::now().timestamp();
    let body = r#"{"event_id":"evt_42","type":"order.delivered","sequence":3}"#;
    let signed = |id: &str| {
        let sig = signature_header([&secret], id, ts, body.as_bytes());
        headers(id, &ts.to_string(), &sig)
    };
    assert_eq!(send(signed("evt_42"), body).await.unwrap().status(), 202);
    // The sender's retry: accepted again, stored once.
    assert_eq!(send(signed("evt_42"), body).await.unwrap().status(), 202);
    assert_eq!(receiver.events().len(), 1);
    assert_eq!(receiver.events()["evt_42"]["sequence"], 3);
    // Signed for another id than the header says, and no headers at all: refused, not stored.
    let mut forged = signed("evt_42");
    forged[0].1 = "evt_43".into();
    assert_eq!(send(forged, body).await.unwrap().status(), 401);
    assert_eq!(send(vec![], body).await.unwrap().status(), 400);
    assert_eq!(receiver.events().len(), 1);
}
