//! The steward page in headless Chromium, driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`): log in, search, open a record and see each field's source, accept a
//! review and find the store changed; and, over plain HTTP, what the page refuses: a wrong
//! password, a change without a login, a form without its CSRF token, any change without logins
//! configured.

mod common;
mod web_support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Project, golden_of, sync};
use concord::model::EntityKind;
use concord::store::{ReviewStatus, Store};
use concord::sync::SyncOptions;
use concord::web::{AuthConfig, UserConfig};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use web_support::{Served, serve};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "steward secret";

const CUSTOMERS: &str = r#"
entity: customer
key: { path: "$.id" }
fields:
  name: { path: "$.name", transforms: [trim] }
  emails: { path: "$.email", many: true }
  addresses:
    each: "$"
    fields:
      street: { path: "$.street" }
      house_number: { path: "$.no" }
      postal_code: { path: "$.zip" }
      city: { path: "$.city" }
      country: { path: "$.country" }
"#;

const CONFIG: &str = r#"
store: { url: "sqlite://state/concord.db" }
sources:
  - name: crm
    driver: json
    files: "crm/*.jsonl"
    priority: 10
    mappings: [maps/customers.yaml]
  - name: erp
    driver: json
    files: "erp/*.jsonl"
    priority: 5
    mappings: [maps/customers.yaml]
match:
  customer:
    - { rule: email, exact: [emails] }
    - rule: similar_company
      blocking: [postal_code, [name_phonetic, postal_code]]
      compare:
        - { using: company_name }
        - { using: legal_form }
        - { using: address }
        - { using: email }
      match_threshold: 12
      review_threshold: 6
"#;

/// Two records of one company that score in the review band (as in tests/matching.rs), and a
/// customer whose name is markup.
fn project() -> Project {
    let project = Project::new();
    project.write("maps/customers.yaml", CUSTOMERS);
    project.write("concord.yaml", CONFIG);
    let crm = [
        json!({"id": "c3", "name": "Schmidt & Partner KG", "street": "Friedrichstraße", "no": "10",
               "zip": "10117", "city": "Berlin", "country": "DE", "email": "office@schmidt-partner.de"}),
        json!({"id": "x1", "name": "<script>alert('pwned')</script> GmbH", "street": "Elm", "no": "1",
               "zip": "99999", "city": "Erfurt", "country": "DE"}),
    ];
    let erp = [
        json!({"id": "e4", "name": "Schmidt Partner", "street": "Unter den Linden", "no": "3",
                      "zip": "10117", "city": "Berlin", "country": "DE"}),
    ];
    let lines = |records: &[Value]| records.iter().map(|r| format!("{r}\n")).collect::<String>();
    project.write("crm/customers.jsonl", &lines(&crm));
    project.write("erp/customers.jsonl", &lines(&erp));
    project
}

fn auth() -> AuthConfig {
    AuthConfig {
        users: vec![UserConfig {
            name: "ada".into(),
            password_hash: concord::web::auth::hash_password(PASSWORD).unwrap(),
        }],
        header: None,
        trusted_proxies: Vec::new(),
        secure_cookie: false,
        session_idle: Duration::from_secs(600),
    }
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn chromedriver() -> Driver {
    for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: install Debian's browser for this test with \
             `apt-get install -y chromium chromium-driver` ({package})"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {}", driver.url);
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        }),
    );
    // chromedriver speaks plain HTTP on the loopback: no TLS stack needed.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a headless Chromium session")
}

/// The text of the element `css` names, waiting for it: a click that submits a form returns
/// before the next page has loaded.
async fn text(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn open_review(store: &dyn Store) -> concord::store::ReviewItem {
    let open = store.reviews(Some(ReviewStatus::Open), 10).await.unwrap();
    assert_eq!(open.len(), 1, "one pair waits for review: {open:?}");
    open.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_steward_logs_in_finds_a_record_sees_its_lineage_and_accepts_a_review() {
    let project = project();
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let item = open_review(store.as_ref()).await;
    let served = serve(&project.path("concord.yaml"), Some(auth())).await;
    let driver = chromedriver().await;
    let client = browser(&driver).await;

    // Every page needs a login; a wrong password is refused.
    client.goto(&served.url("/reviews")).await.unwrap();
    assert_eq!(client.current_url().await.unwrap().path(), "/login");
    client
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("ada")
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("guess")
        .await
        .unwrap();
    client
        .find(Locator::Css("#log-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        text(&client, "#login-failed")
            .await
            .contains("Wrong name or password")
    );
    client
        .find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("ada")
        .await
        .unwrap();
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("#log-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&client, "#user").await, "ada");
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/reviews",
        "back where the login began"
    );

    // Search, open a record, see where each field came from.
    client.goto(&served.url("/")).await.unwrap();
    client
        .find(Locator::Css("input[name=q]"))
        .await
        .unwrap()
        .send_keys("schmidt")
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let hits = text(&client, "#hits").await;
    assert!(
        hits.contains("Schmidt & Partner KG") && hits.contains("Schmidt Partner"),
        "{hits}"
    );
    let crm_record = golden_of(store.as_ref(), EntityKind::Customer, "crm", "c3").await;
    client
        .find(Locator::LinkText(&crm_record.id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&client, "#golden-id").await, crm_record.id);
    let fields = text(&client, "#fields").await;
    assert!(
        fields.contains("Schmidt & Partner KG") && fields.contains("crm:c3"),
        "{fields}"
    );
    assert!(text(&client, "#sources").await.contains("crm:c3"));

    // A name that is markup shows as text.
    client.goto(&served.url("/?q=script")).await.unwrap();
    assert!(
        text(&client, "#hits")
            .await
            .contains("<script>alert('pwned')</script> GmbH")
    );

    // The review queue shows the pair's evidence; accepting merges it.
    client.goto(&served.url("/reviews")).await.unwrap();
    let card = format!("#review-{}", item.id);
    let shown = text(&client, &card).await;
    assert!(shown.contains("company_name"), "evidence shown: {shown}");
    client
        .find(Locator::Css(&format!("{card} button[value=accept]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let outcome = text(&client, "#done, #not-done").await;
    assert!(outcome.contains("accepted"), "{outcome}");
    assert!(
        text(&client, "#empty")
            .await
            .contains("No open review items")
    );
    client.close().await.unwrap();

    let decided = store.review(item.id).await.unwrap().unwrap();
    assert_eq!(decided.status, ReviewStatus::Accepted);
    let left = store.resolve_id(&item.left_id).await.unwrap();
    assert_eq!(
        left,
        store.resolve_id(&item.right_id).await.unwrap(),
        "the pair is merged"
    );
    drop(served);
}

fn has_session_cookie(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("concord_session="))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the form field `name` in a page.
fn form_value(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a field `{name}` in the form"))
        .to_string()
}

/// Opens the login form at `base`: the cookie that pairs it with this client, and its token.
async fn login_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let form = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("concord_login=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let token = form_value(&form.text().await.unwrap(), "form_token");
    (cookie, token)
}

/// Posts the login form at `base` as a browser that was shown it.
async fn post_login(client: &reqwest::Client, base: &str, password: &str) -> reqwest::Response {
    let (cookie, token) = login_form(client, base).await;
    client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("name", "ada"),
            ("password", password),
            ("next", "/reviews"),
            ("form_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

/// Logs in over HTTP; the session cookie and the page's CSRF token.
async fn log_in(client: &reqwest::Client, served: &Served) -> (String, String) {
    let response = post_login(client, served.url("").trim_end_matches('/'), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = client
        .get(served.url("/reviews"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (cookie, form_value(&page, "csrf"))
}

#[tokio::test]
async fn changes_need_a_login_and_the_form_token_and_wrong_passwords_are_refused() {
    let project = project();
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let item = open_review(store.as_ref()).await;
    let served = serve(&project.path("concord.yaml"), Some(auth())).await;
    let client = no_redirects();
    let accept = served.url(&format!("/reviews/{}/accept", item.id));

    let base = served.url("");
    let base = base.trim_end_matches('/');
    let wrong = post_login(&client, base, "guess").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !has_session_cookie(&wrong),
        "a wrong password opens no session"
    );

    // Login CSRF: the right password in a form this browser was not shown (posted from another
    // site: no pairing cookie, or another form's) opens no session.
    let (cookie, token) = login_form(&client, base).await;
    let (other_cookie, _) = login_form(&client, base).await;
    for (cookie, token) in [
        (None, Some(token.as_str())),
        (Some(cookie.as_str()), None),
        (Some(other_cookie.as_str()), Some(token.as_str())),
        (Some("concord_login="), Some("")),
    ] {
        let mut request = client.post(served.url("/login"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let mut form = vec![("name", "ada"), ("password", PASSWORD)];
        form.extend(token.map(|token| ("form_token", token)));
        let refused = request.form(&form).send().await.unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "{cookie:?} {token:?}"
        );
        assert!(!has_session_cookie(&refused), "{cookie:?} {token:?}");
    }

    let anonymous = client
        .post(&accept)
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(
        anonymous.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let page = client.get(served.url("/")).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "read pages need a login too"
    );

    let (cookie, csrf) = log_in(&client, &served).await;
    for form in [vec![], vec![("csrf", "forged")]] {
        let refused = client
            .post(&accept)
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{form:?}");
    }
    assert_eq!(
        open_review(store.as_ref()).await.id,
        item.id,
        "nothing changed"
    );

    let done = client
        .post(served.url(&format!("/reviews/{}/reject", item.id)))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let decided = store.review(item.id).await.unwrap().unwrap();
    assert_eq!(decided.status, ReviewStatus::Rejected);
    // Deciding again is a conflict, said on the page.
    let again = client
        .post(served.url(&format!("/reviews/{}/accept", item.id)))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn without_logins_configured_the_page_reads_but_changes_nothing() {
    let project = project();
    let (store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let item = open_review(store.as_ref()).await;
    let served = serve(&project.path("concord.yaml"), None).await;
    let client = no_redirects();

    let page = client.get(served.url("/reviews")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let page = page.text().await.unwrap();
    assert!(
        page.contains("id=\"read-only\""),
        "the page says it is read-only"
    );
    assert!(page.contains("disabled"), "its buttons are disabled");
    assert!(!page.contains("name=\"csrf\""));

    let refused = client
        .post(served.url(&format!("/reviews/{}/accept", item.id)))
        .form(&[("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(open_review(store.as_ref()).await.id, item.id);

    // Markup in data is escaped in the HTML itself, not only in what a browser shows.
    let search = client
        .get(served.url("/?q=script"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(search.contains("&lt;script&gt;alert"), "{search}");
    assert!(!search.contains("<script>alert"));
}

/// `concord serve --hash-password` makes the hash; the config's `serve:` block takes it as
/// written; `concord serve` then admits that user and no one else.
#[tokio::test]
async fn concord_serve_takes_its_logins_from_the_config() {
    let project = project();
    let (_store, _) = sync(&project.config(), &SyncOptions::default()).await;
    let concord = env!("CARGO_BIN_EXE_concord");
    let mut hasher = Command::new(concord)
        .args(["serve", "--hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(hasher.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let hashed = hasher.wait_with_output().unwrap();
    assert!(hashed.status.success());
    let hash = String::from_utf8(hashed.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let config = format!(
        "{CONFIG}serve:\n  listen: 127.0.0.1:{port}\n  auth:\n    users:\n      - {{ name: ada, password_hash: '{hash}' }}\n    secure_cookie: true\n"
    );
    project.write("concord.yaml", &config);
    let mut server = Command::new(concord)
        .arg("--config")
        .arg(project.path("concord.yaml"))
        .arg("serve")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/login")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "concord serve answers");
    let wrong = post_login(&client, &base, "guess").await;
    let right = post_login(&client, &base, PASSWORD).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let cookie = right.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}
