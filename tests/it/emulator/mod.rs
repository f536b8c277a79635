//! The emulator keeps Graph's rules (GRAPH.md), checked over HTTP with a plain client.

mod serve;
mod walkthrough;

use serde_json::{Value, json};

use crate::support::{TOKEN, emulator};

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = c.request(method, url).bearer_auth(TOKEN);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn listing_rules_select_top_filter_and_errors() {
    let emu = emulator(250, 9, 0.0).await;
    let c = reqwest::Client::new();
    let base = format!("{}/beta", emu.url());
    use reqwest::Method as M;

    // No token: 401 with Graph's error body.
    let (s, _, body) = call(&c, M::GET, format!("{base}/groups"), &[], None).await;
    assert_eq!(s, 200, "{body}");
    let (s, _, body) = {
        let r = c.get(format!("{base}/groups")).send().await.unwrap();
        (r.status().as_u16(), (), r.text().await.unwrap())
    };
    assert_eq!(s, 401);
    assert!(body.contains("InvalidAuthenticationToken"));

    // Default page size 100; beta returns writebackConfiguration among the default properties.
    let (_, _, body) = call(&c, M::GET, format!("{base}/groups"), &[], None).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 100);
    assert!(v["value"][0].get("writebackConfiguration").is_some());
    assert!(
        v["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("$skiptoken=")
    );

    // $top over 999 and $skip are refused; unknown $select names too.
    for q in ["$top=1000", "$skip=5", "$select=id,nonsense"] {
        let (s, h, body) = call(&c, M::GET, format!("{base}/groups?{q}"), &[], None).await;
        assert_eq!(s, 400, "{q}: {body}");
        assert!(h.get("request-id").is_some());
        assert!(body.contains("request-id"));
    }
    // Filtering on writebackConfiguration is not supported by Graph.
    let (s, _, _) = call(
        &c,
        M::GET,
        format!("{base}/groups?$filter=writebackConfiguration/isEnabled eq true"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 400);
    // The Unified filter works plainly; its negation needs the advanced-query pair.
    let (s, _, body) = call(
        &c,
        M::GET,
        format!(
            "{base}/groups?$filter=groupTypes/any(c:c eq 'Unified')&$top=999&$select=id,groupTypes"
        ),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["groupTypes"].to_string().contains("Unified"))
    );
    let not = "$filter=not(groupTypes/any(c:c eq 'Unified'))";
    let (s, _, _) = call(&c, M::GET, format!("{base}/groups?{not}"), &[], None).await;
    assert_eq!(s, 400);
    let (s, _, _) = call(
        &c,
        M::GET,
        format!("{base}/groups?{not}&$count=true"),
        &[("ConsistencyLevel", "eventual")],
        None,
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn writes_settings_batch_and_member_count() {
    let emu = emulator(300, 10, 0.0).await;
    let c = reqwest::Client::new();
    let base = format!("{}/beta", emu.url());
    use reqwest::Method as M;
    let (m365, synced, role) = {
        let t = emu.shared().tenant();
        let m365 = t
            .groups
            .iter()
            .find(|g| {
                g.group_types.contains(&"Unified".to_string()) && g.is_assignable_to_role.is_none()
            })
            .unwrap()
            .id
            .clone();
        let synced = t
            .groups
            .iter()
            .find(|g| g.on_premises_sync_enabled == Some(true))
            .unwrap()
            .id
            .clone();
        let role = t
            .groups
            .iter()
            .find(|g| g.is_assignable_to_role == Some(true))
            .unwrap()
            .id
            .clone();
        (m365, synced, role)
    };
    // PATCH: 204, and a later read shows it; Graph's errors for the special groups.
    let body = json!({"writebackConfiguration": {"isEnabled": false}});
    let (s, _, _) = call(
        &c,
        M::PATCH,
        format!("{base}/groups/{m365}"),
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(
        emu.shared()
            .tenant()
            .group(&m365)
            .unwrap()
            .writeback
            .is_enabled,
        Some(false)
    );
    let (s, _, b) = call(
        &c,
        M::PATCH,
        format!("{base}/groups/{synced}"),
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, _, b) = call(
        &c,
        M::PATCH,
        format!("{base}/groups/{role}"),
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!((s, b.contains("Authorization_RequestDenied")), (403, true));
    let (s, _, b) = call(
        &c,
        M::PATCH,
        format!("{base}/groups/00000000-0000-0000-0000-000000000000"),
        &[],
        Some(body),
    )
    .await;
    assert_eq!((s, b.contains("Request_ResourceNotFound")), (404, true));

    // Member count: text/plain, and 400 without ConsistencyLevel.
    let (s, _, _) = call(
        &c,
        M::GET,
        format!("{base}/groups/{m365}/members/$count"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 400);
    let (s, h, b) = call(
        &c,
        M::GET,
        format!("{base}/groups/{m365}/members/$count"),
        &[("ConsistencyLevel", "eventual")],
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        b.parse::<u64>().unwrap(),
        emu.shared().tenant().group(&m365).unwrap().member_count
    );

    // Settings: none at first; create; a second create is Graph's 400 conflict; PATCH replaces
    // the whole array.
    let (_, _, b) = call(&c, M::GET, format!("{base}/settings"), &[], None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["value"],
        json!([])
    );
    let create = json!({"templateId": "62375ab9-6b52-47ed-826b-58e47e0e304b", "values": [
        {"name": "NewUnifiedGroupWritebackDefault", "value": "false"},
        {"name": "EnableGroupCreation", "value": "false"}]});
    let (s, _, b) = call(
        &c,
        M::POST,
        format!("{base}/settings"),
        &[],
        Some(create.clone()),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = serde_json::from_str::<Value>(&b).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, b) = call(&c, M::POST, format!("{base}/settings"), &[], Some(create)).await;
    assert_eq!(s, 400);
    assert!(
        b.contains("Another object with the same value for property templateId already exists.")
    );
    let patch = json!({"values": [{"name": "NewUnifiedGroupWritebackDefault", "value": "true"}]});
    let (s, _, _) = call(
        &c,
        M::PATCH,
        format!("{base}/settings/{id}"),
        &[],
        Some(patch),
    )
    .await;
    assert_eq!(s, 204);
    let values = emu.shared().tenant().settings[0].values.clone();
    assert_eq!(
        values.len(),
        1,
        "PATCH replaced the whole array, as Graph does"
    );
    let (s, _, b) = call(
        &c,
        M::GET,
        format!("{base}/directorySettingTemplates/62375ab9-6b52-47ed-826b-58e47e0e304b"),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["values"]
            .as_array()
            .unwrap()
            .len(),
        15
    );

    // $batch: per-item statuses; more than 20 or duplicate ids fail the whole batch.
    let reqs: Vec<Value> = (0..3)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": format!("/groups/{}", if i == 2 { "missing" } else { &m365 })}))
        .collect();
    let (s, _, b) = call(
        &c,
        M::POST,
        format!("{base}/$batch"),
        &[],
        Some(json!({"requests": reqs})),
    )
    .await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&b).unwrap();
    let mut st: Vec<(String, u64)> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    st.sort();
    assert_eq!(
        st,
        vec![("0".into(), 200), ("1".into(), 200), ("2".into(), 404)]
    );
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/groups"}))
        .collect();
    let (s, _, _) = call(
        &c,
        M::POST,
        format!("{base}/$batch"),
        &[],
        Some(json!({"requests": many})),
    )
    .await;
    assert_eq!(s, 400);
    let dup = json!({"requests": [{"id": "1", "method": "GET", "url": "/settings"}, {"id": "1", "method": "GET", "url": "/settings"}]});
    let (s, _, _) = call(&c, M::POST, format!("{base}/$batch"), &[], Some(dup)).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn batch_responses_come_back_shuffled() {
    let emu = emulator(50, 11, 0.0).await;
    let c = reqwest::Client::new();
    let reqs: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/settings"}))
        .collect();
    let (_, _, b) = call(
        &c,
        reqwest::Method::POST,
        format!("{}/beta/$batch", emu.url()),
        &[],
        Some(json!({"requests": reqs})),
    )
    .await;
    let v: Value = serde_json::from_str(&b).unwrap();
    let order: Vec<&str> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let sorted: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(order.len(), 20);
    assert_ne!(
        order,
        sorted.iter().map(String::as_str).collect::<Vec<_>>(),
        "order is not the request order"
    );
}
