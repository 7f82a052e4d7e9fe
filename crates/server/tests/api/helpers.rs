//! `spawn_app()`: a real server on 127.0.0.1, port 0, over a fresh database of the test binary's
//! backend (`crate::backend`), with the fixture of SPEC §11 loaded through the store.

use async_trait::async_trait;
use clickbill_domain::contacts::{
    ContactCommand, ContactId, ContactOutcome, CountScope, Group, GroupId, GroupKind, NewGroup,
    StoredContact, UnsubscribeEvent,
};
use clickbill_domain::model::{
    BillId, Commission, Coupon, CouponId, Discount, GoodName, Manager, ManagerId, NewCoupon,
    NewManager, NewOrder, NewPartner, NewTenant, Order, Partner, PartnerId, PayStatus, Product,
    ProductPatch, ProductSpec, Tenant, TenantId, TenantSettings,
};
use clickbill_domain::outbox::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, DeliveryFilter, DeliveryInfo, EventId,
    OutboxWaker,
};
use clickbill_domain::{
    Clock, CreatedOrder, FiredTimers, IdempotencyClaim, OrderChange, OrderTime, OrderUpdate,
    PartnerStats, Store, StoreError, StoredResponse, TimeWindow,
};
use clickbill_protocol::value::{Login, Money, Percent};
use clickbill_server::{Application, NotifierConfig, ServerConfig, ShutdownHandle};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::backend::TestDatabase;

/// Server time of the examples of §12 and later (§11.3).
pub const EXAMPLES_TIME: i64 = 1_700_000_100;

/// A clock the tests move by hand.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The backend's store, with a switch that makes every call fail (to see how failures are
/// answered).
pub struct FaultyStore {
    pub inner: Arc<dyn Store>,
    pub failing: AtomicBool,
    /// Makes every call panic instead, as a bug would.
    pub panicking: AtomicBool,
}

impl FaultyStore {
    fn check(&self) -> Result<(), StoreError> {
        assert!(!self.panicking.load(Ordering::SeqCst), "injected panic");
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Backend("injected fault".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.check()?;
        self.inner.tenants().await
    }
    async fn tenant_by_login(&self, login: &str) -> Result<Option<Tenant>, StoreError> {
        self.check()?;
        self.inner.tenant_by_login(login).await
    }
    async fn tenant_by_domain(&self, host: &str) -> Result<Option<Tenant>, StoreError> {
        self.check()?;
        self.inner.tenant_by_domain(host).await
    }
    async fn add_tenant(&self, tenant: NewTenant) -> Result<Tenant, StoreError> {
        self.check()?;
        self.inner.add_tenant(tenant).await
    }
    async fn save_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.check()?;
        self.inner.save_tenant(tenant).await
    }
    async fn tenants_version(&self) -> Result<i64, StoreError> {
        self.check()?;
        self.inner.tenants_version().await
    }
    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
        self.check()?;
        self.inner.products(tenant).await
    }
    async fn products_by_codes(
        &self,
        tenant: TenantId,
        codes: &[String],
    ) -> Result<Vec<Product>, StoreError> {
        self.check()?;
        self.inner.products_by_codes(tenant, codes).await
    }
    async fn add_product(
        &self,
        tenant: TenantId,
        spec: ProductSpec,
    ) -> Result<Product, StoreError> {
        self.check()?;
        self.inner.add_product(tenant, spec).await
    }
    async fn update_product(
        &self,
        tenant: TenantId,
        code: &str,
        patch: ProductPatch,
    ) -> Result<Option<Product>, StoreError> {
        self.check()?;
        self.inner.update_product(tenant, code, patch).await
    }
    async fn delete_product(&self, tenant: TenantId, code: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete_product(tenant, code).await
    }
    async fn add_coupon(&self, tenant: TenantId, coupon: NewCoupon) -> Result<Coupon, StoreError> {
        self.check()?;
        self.inner.add_coupon(tenant, coupon).await
    }
    async fn add_partner(
        &self,
        tenant: TenantId,
        partner: NewPartner,
    ) -> Result<Partner, StoreError> {
        self.check()?;
        self.inner.add_partner(tenant, partner).await
    }
    async fn coupon_by_code(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> Result<Option<Coupon>, StoreError> {
        self.check()?;
        self.inner.coupon_by_code(tenant, code).await
    }
    async fn coupon_by_id(
        &self,
        tenant: TenantId,
        id: CouponId,
    ) -> Result<Option<Coupon>, StoreError> {
        self.check()?;
        self.inner.coupon_by_id(tenant, id).await
    }
    async fn partner_by_id(
        &self,
        tenant: TenantId,
        id: PartnerId,
    ) -> Result<Option<Partner>, StoreError> {
        self.check()?;
        self.inner.partner_by_id(tenant, id).await
    }
    async fn partner_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<Partner>, StoreError> {
        self.check()?;
        self.inner.partner_by_login(tenant, login).await
    }
    async fn create_order(
        &self,
        tenant: &Tenant,
        order: NewOrder,
        now: i64,
    ) -> Result<CreatedOrder, StoreError> {
        self.check()?;
        self.inner.create_order(tenant, order, now).await
    }
    async fn order(&self, tenant: TenantId, bill_id: BillId) -> Result<Option<Order>, StoreError> {
        self.check()?;
        self.inner.order(tenant, bill_id).await
    }
    async fn update_order(
        &self,
        tenant: TenantId,
        bill_id: BillId,
        now: i64,
        change: OrderChange,
    ) -> Result<OrderUpdate, StoreError> {
        self.check()?;
        self.inner.update_order(tenant, bill_id, now, change).await
    }
    async fn delete_order(&self, tenant: TenantId, bill_id: BillId) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete_order(tenant, bill_id).await
    }
    async fn coupons(&self, tenant: TenantId) -> Result<Vec<Coupon>, StoreError> {
        self.check()?;
        self.inner.coupons(tenant).await
    }
    async fn set_coupon_disabled(
        &self,
        tenant: TenantId,
        code: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.set_coupon_disabled(tenant, code, disabled).await
    }
    async fn partners(&self, tenant: TenantId) -> Result<Vec<Partner>, StoreError> {
        self.check()?;
        self.inner.partners(tenant).await
    }
    async fn partner_stats(
        &self,
        tenant: TenantId,
        partner: PartnerId,
        window: TimeWindow,
    ) -> Result<PartnerStats, StoreError> {
        self.check()?;
        self.inner.partner_stats(tenant, partner, window).await
    }
    async fn add_manager(
        &self,
        tenant: TenantId,
        manager: NewManager,
    ) -> Result<Manager, StoreError> {
        self.check()?;
        self.inner.add_manager(tenant, manager).await
    }
    async fn managers(&self, tenant: TenantId) -> Result<Vec<Manager>, StoreError> {
        self.check()?;
        self.inner.managers(tenant).await
    }
    async fn manager_by_id(
        &self,
        tenant: TenantId,
        id: ManagerId,
    ) -> Result<Option<Manager>, StoreError> {
        self.check()?;
        self.inner.manager_by_id(tenant, id).await
    }
    async fn orders_in_window(
        &self,
        tenant: TenantId,
        time: OrderTime,
        window: TimeWindow,
    ) -> Result<Vec<Order>, StoreError> {
        self.check()?;
        self.inner.orders_in_window(tenant, time, window).await
    }
    async fn orders_by_email(
        &self,
        tenant: TenantId,
        email: &str,
        status: Option<PayStatus>,
    ) -> Result<Vec<Order>, StoreError> {
        self.check()?;
        self.inner.orders_by_email(tenant, email, status).await
    }
    async fn fire_due_auto_cancels(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<FiredTimers, StoreError> {
        self.check()?;
        self.inner.fire_due_auto_cancels(now, limit).await
    }
    async fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
        now: i64,
        lease_seconds: i64,
    ) -> Result<IdempotencyClaim, StoreError> {
        self.check()?;
        self.inner
            .claim_idempotency_key(tenant, key, fingerprint, now, lease_seconds)
            .await
    }
    async fn complete_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        now: i64,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner
            .complete_idempotency_key(tenant, key, fingerprint, response, now)
            .await
    }
    async fn release_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner
            .release_idempotency_key(tenant, key, fingerprint)
            .await
    }
    async fn purge_idempotency_keys(&self, now: i64) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.purge_idempotency_keys(now).await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.check()?;
        self.inner.claim_deliveries(now_ms, lease_ms, limit).await
    }

    async fn record_attempt(
        &self,
        claimed: &ClaimedDelivery,
        attempt: AttemptRecord,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.record_attempt(claimed, attempt, outcome).await
    }

    async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        self.check()?;
        self.inner.next_delivery_due().await
    }

    async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.pending_deliveries().await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        filter: DeliveryFilter,
    ) -> Result<Vec<DeliveryInfo>, StoreError> {
        self.check()?;
        self.inner.deliveries(tenant, filter).await
    }

    async fn delivery(
        &self,
        event_id: &EventId,
    ) -> Result<Option<(DeliveryInfo, Vec<AttemptRecord>)>, StoreError> {
        self.check()?;
        self.inner.delivery(event_id).await
    }

    async fn redeliver(&self, event_id: &EventId, now_ms: i64) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.redeliver(event_id, now_ms).await
    }

    fn set_outbox_waker(&self, waker: OutboxWaker) {
        self.inner.set_outbox_waker(waker);
    }
    async fn add_group(&self, tenant: TenantId, group: NewGroup) -> Result<Group, StoreError> {
        self.check()?;
        self.inner.add_group(tenant, group).await
    }
    async fn groups(&self, tenant: TenantId) -> Result<Vec<Group>, StoreError> {
        self.check()?;
        self.inner.groups(tenant).await
    }
    async fn contact_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> Result<Option<StoredContact>, StoreError> {
        self.check()?;
        self.inner.contact_by_email(tenant, email).await
    }
    async fn change_contact(
        &self,
        tenant: TenantId,
        email: Option<&str>,
        command: ContactCommand,
        now: i64,
    ) -> Result<ContactOutcome, StoreError> {
        self.check()?;
        self.inner.change_contact(tenant, email, command, now).await
    }
    async fn count_contacts(&self, tenant: TenantId, scope: CountScope) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.count_contacts(tenant, scope).await
    }
    async fn subscribe_calls_from(
        &self,
        tenant: TenantId,
        ip: &str,
        since: i64,
    ) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.subscribe_calls_from(tenant, ip, since).await
    }
    async fn contacts_page(
        &self,
        tenant: TenantId,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<StoredContact>, StoreError> {
        self.check()?;
        self.inner.contacts_page(tenant, after, limit).await
    }
    async fn unsubscribe_events(
        &self,
        tenant: TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<UnsubscribeEvent>, StoreError> {
        self.check()?;
        self.inner.unsubscribe_events(tenant, after, limit).await
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Arc<FaultyStore>,
    pub clock: Arc<TestClock>,
    pub demo: Tenant,
    pub client: reqwest::Client,
    notifications: NotifierConfig,
    shutdown: ShutdownHandle,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    configure: fn(&mut ServerConfig),
    _database: TestDatabase,
}

/// An HTTP answer as the tests look at it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Allow` header, which only 405 answers carry.
    pub allow: Option<String>,
    pub body: String,
}

/// Starts a server with the tenants `demo` (the §11 fixture; custom domain `shop.example`),
/// `other` (secret `othersecret`) and `off` (disabled, secret `offsecret`).
///
/// `None` when this binary's backend is not configured on this machine: the notice that the test
/// is skipped has been printed, and the test returns at once.
pub async fn spawn_app() -> Option<TestApp> {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with settings of the tests' own on top of the usual ones (kept for restarts).
pub async fn spawn_app_with(configure: fn(&mut ServerConfig)) -> Option<TestApp> {
    // The fixture's notification URLs are made up; only the tests of notifications, which point
    // them at a local receiver, send any.
    let notifications = NotifierConfig {
        enabled: false,
        ..NotifierConfig::default()
    };
    spawn(notifications, "https://crm.example", configure).await
}

/// [`spawn_app`] with this notification worker, the fixture's notification URLs under `crm`
/// instead of `https://crm.example`.
pub async fn spawn_app_notifying(notifications: NotifierConfig, crm: &str) -> Option<TestApp> {
    spawn(notifications, crm, |_| {}).await
}

async fn spawn(
    notifications: NotifierConfig,
    crm: &str,
    configure: fn(&mut ServerConfig),
) -> Option<TestApp> {
    let database = TestDatabase::create().await?;
    let clock = Arc::new(TestClock(AtomicI64::new(1_699_990_000)));
    let store = Arc::new(FaultyStore {
        inner: database.store.clone(),
        failing: AtomicBool::new(false),
        panicking: AtomicBool::new(false),
    });
    let demo = load_fixture(store.inner.as_ref(), crm).await;
    add_tenant(store.inner.as_ref(), "other", "othersecret", true).await;
    add_tenant(store.inner.as_ref(), "off", "offsecret", false).await;

    let (addr, shutdown, server) = start_server(&store, &clock, &notifications, configure).await;
    Some(TestApp {
        addr,
        store,
        clock,
        demo,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client"),
        notifications,
        shutdown,
        server: Some(server),
        configure,
        _database: database,
    })
}

/// Builds and runs a server over `store`; returns its address, its stop handle and its task.
async fn start_server(
    store: &Arc<FaultyStore>,
    clock: &Arc<TestClock>,
    notifications: &NotifierConfig,
    configure: fn(&mut ServerConfig),
) -> (SocketAddr, ShutdownHandle, JoinHandle<anyhow::Result<()>>) {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.notifications = notifications.clone();
    config.base_domains = vec!["justclick.ru".into()];
    config.tenant_refresh_interval = Duration::from_millis(50);
    config.auto_cancel_interval = Duration::from_millis(50);
    // The tests connect from 127.0.0.1; trusting it lets them play a reverse proxy.
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    configure(&mut config);
    let app = Application::build(config, store.clone(), clock.clone())
        .await
        .expect("server builds");
    let addr = app.local_addr();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until(std::future::pending()));
    (addr, shutdown, server)
}

pub async fn add_tenant(store: &dyn Store, login: &str, secret: &str, enabled: bool) -> Tenant {
    let mut tenant = store
        .add_tenant(NewTenant {
            login: Login::parse(login).unwrap(),
            secret: secret.into(),
            custom_domains: Vec::new(),
            settings: TenantSettings::default(),
        })
        .await
        .expect("tenant");
    if !enabled {
        tenant.enabled = false;
        store.save_tenant(&tenant).await.expect("disable tenant");
    }
    tenant
}

fn money(text: &str) -> Money {
    Money::parse(text.as_bytes()).unwrap()
}

fn percent(text: &str) -> Percent {
    Percent::parse(text.as_bytes()).unwrap()
}

/// Tenant `demo` with the configuration, catalogue, partners and coupons of §11.1–§11.2.
async fn load_fixture(store: &dyn Store, crm: &str) -> Tenant {
    let settings = TenantSettings {
        first_bill_id: 12344,
        prepayment_enabled: true,
        prepayment_minsum: money("1000.00"),
        unsubscribe_url: format!("{crm}/unsub.php"),
        ..TenantSettings::default()
    };
    let demo = store
        .add_tenant(NewTenant {
            login: Login::parse("demo").unwrap(),
            secret: "secret".into(),
            custom_domains: vec!["shop.example".into()],
            settings,
        })
        .await
        .expect("tenant demo");

    let mut code1 = ProductSpec::new(
        GoodName::parse("code1").unwrap(),
        "Онлайн-курс",
        money("1000"),
    );
    code1
        .partner_fees
        .insert(1, Commission::Percent(percent("10")));
    code1
        .partner_fees
        .insert(2, Commission::Percent(percent("5")));
    code1.timer_kill = 259_200;
    code1.urls.new_order = format!("{crm}/jc.php?a=make");
    code1.urls.paid = format!("{crm}/jc.php?a=paid");
    code1.urls.prepaid = format!("{crm}/jc.php?a=prepaid");
    code1.urls.cancel = format!("{crm}/jc.php?a=cancel");
    code1.urls.moneyback = format!("{crm}/jc.php?a=moneyback");
    let mut code2 = ProductSpec::new(
        GoodName::parse("code2").unwrap(),
        "Video pack",
        money("2500"),
    );
    code2
        .partner_fees
        .insert(1, Commission::Fixed(money("300")));
    code2.urls.new_order = format!("{crm}/jc.php?a=make");
    let mut book1 = ProductSpec::new(
        GoodName::parse("book1").unwrap(),
        "Printed book",
        money("1500"),
    );
    book1.physical = true;
    let mut code2_id = None;
    for spec in [code1, code2, book1] {
        let product = store.add_product(demo.id, spec).await.expect("product");
        if product.spec.code.as_str() == "code2" {
            code2_id = Some(product.id);
        }
    }

    // The fixture's numbers (SPEC §11.2) are kept as given, as a shop moving its data would.
    let partner = |id, login: &str, parent| NewPartner {
        id: Some(PartnerId(id)),
        login: login.to_owned(),
        parent,
        registered_at: 1_600_000_000,
    };
    store
        .add_partner(demo.id, partner(5, "boris", None))
        .await
        .expect("partner");
    store
        .add_partner(demo.id, partner(17, "anna", Some(PartnerId(5))))
        .await
        .expect("partner");
    let coupon = |id, code: &str, discount, products| NewCoupon {
        id: Some(CouponId(id)),
        code: code.to_owned(),
        discount,
        products,
        expires_at: None,
    };
    store
        .add_coupon(
            demo.id,
            coupon(
                585,
                "coupon50proc",
                Discount::Percent(percent("50")),
                vec![],
            ),
        )
        .await
        .expect("coupon");
    store
        .add_coupon(
            demo.id,
            coupon(
                586,
                "minus100",
                Discount::Fixed(money("100")),
                vec![code2_id.unwrap()],
            ),
        )
        .await
        .expect("coupon");
    store
        .add_manager(
            demo.id,
            NewManager {
                id: Some(ManagerId(71257)),
                name: "Greg".into(),
            },
        )
        .await
        .expect("manager");
    let groups = [
        (1, "grp1", "Newsletter", GroupKind::Standard),
        (2, "grp 2", "Webinar", GroupKind::Standard),
        (3, "1605189997.0025174394", "#27950", GroupKind::Standard),
        (4, "allleads", "All leads", GroupKind::Auto),
    ];
    for (id, name, title, kind) in groups {
        store
            .add_group(
                demo.id,
                NewGroup {
                    id: Some(GroupId(id)),
                    name: name.into(),
                    title: title.into(),
                    kind,
                },
            )
            .await
            .expect("group");
    }
    demo
}

impl TestApp {
    /// Creates an order of `demo` through CreateOrder; its number and its `link`.
    pub async fn new_order_with_link(&self, body: &str) -> (i64, String) {
        let answer = self.post_signed("CreateOrder", body).await;
        let json: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        let bill_id: i64 = json["result"]["bill_id"]
            .as_str()
            .unwrap_or_else(|| panic!("order created: {}", answer.body))
            .parse()
            .unwrap();
        let link = self.order_details(bill_id).await["link"]
            .as_str()
            .unwrap()
            .to_owned();
        (bill_id, link)
    }

    /// The `result` of `getOrderDetails` for `demo`'s order.
    pub async fn order_details(&self, bill_id: i64) -> serde_json::Value {
        let answer = self
            .post_signed("getOrderDetails", &format!("bill_id={bill_id}"))
            .await;
        let json: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        json["result"].clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a form body to `/api/<method>` with `Host: <host>`.
    pub async fn post_host(&self, host: &str, method: &str, body: impl Into<Vec<u8>>) -> Answer {
        let response = self
            .client
            .post(self.url(&format!("/api/{method}")))
            .header("Host", host)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.into())
            .send()
            .await
            .expect("request");
        Answer::read(response).await
    }

    /// POSTs a form body as the fixture's clients do (`Host: demo.justclick.ru`).
    pub async fn post(&self, method: &str, body: impl Into<Vec<u8>>) -> Answer {
        self.post_host("demo.justclick.ru", method, body).await
    }

    /// POSTs `body` signed for `login`/`secret` (the hash appended as PHP clients do).
    pub async fn post_signed_host(
        &self,
        host: &str,
        login: &str,
        secret: &str,
        method: &str,
        body: &str,
    ) -> Answer {
        self.post_host(host, method, signed(body, login, secret))
            .await
    }

    /// POSTs `body` signed for `demo`.
    pub async fn post_signed(&self, method: &str, body: &str) -> Answer {
        self.post(method, signed(body, "demo", "secret")).await
    }

    /// Sends raw bytes on a new connection and reads the answer until the server closes it.
    pub async fn raw(&self, request: &[u8]) -> RawAnswer {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        stream.write_all(request).await.expect("write");
        let mut bytes = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
            .await
            .expect("the server closes the connection")
            .expect("read");
        RawAnswer::parse(&bytes)
    }

    /// Stops the server and starts a new one on the same database and clock, as a restart of
    /// the process would; the new server listens on a new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (addr, shutdown, server) = start_server(
            &self.store,
            &self.clock,
            &self.notifications,
            self.configure,
        )
        .await;
        self.addr = addr;
        self.shutdown = shutdown;
        self.server = Some(server);
    }

    /// POSTs `body` signed for `demo` with an `Idempotency-Key` header.
    pub async fn post_signed_with_key(&self, method: &str, body: &str, key: &str) -> Answer {
        let response = self
            .client
            .post(self.url(&format!("/api/{method}")))
            .header("Host", "demo.justclick.ru")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Idempotency-Key", key)
            .body(signed(body, "demo", "secret"))
            .send()
            .await
            .expect("request");
        Answer::read(response).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.shutdown();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("the server stops")
                .expect("the server task")
                .expect("the server ran");
        }
    }
}

/// `body` + `&hash=<md5>` over what PHP would parse from it.
pub fn signed(body: &str, login: &str, secret: &str) -> String {
    let params = php_form::parse(body.as_bytes());
    let hash = clickbill_protocol::sign::request_hash(&params, login, secret);
    if body.is_empty() {
        format!("hash={hash}")
    } else {
        format!("{body}&hash={hash}")
    }
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Answer {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let status = response.status().as_u16();
        let content_type = header("content-type");
        let allow = header("allow");
        let body = response.text().await.expect("body");
        Answer {
            status,
            content_type,
            allow,
            body,
        }
    }

    /// Asserts an API answer: HTTP 200, the JSON content type and exactly this body.
    #[track_caller]
    pub fn assert_body(&self, expected: &str) {
        assert_eq!(self.body, expected);
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(self.allow, None);
    }
}

/// The envelope of a code and text signed with `secret`, for answers the SPEC does not quote.
pub fn envelope(code: i64, text: &str, secret: &str) -> String {
    let mut out = Vec::new();
    clickbill_protocol::envelope::Envelope::new(code, text).render_into(secret, &mut out);
    String::from_utf8(out).unwrap()
}

/// An answer read off a raw connection.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawAnswer {
    fn parse(bytes: &[u8]) -> RawAnswer {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        RawAnswer {
            status,
            head,
            body: bytes[split + 4..].to_vec(),
        }
    }

    /// A header value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// §11.3 items 2 and 3: order 12344 (coupon 50 %, partners anna and boris) created with the
/// recorded request and paid; leaves the clock at [`EXAMPLES_TIME`].
pub async fn history_of_11_3(app: &TestApp) {
    app.clock.set(1_699_990_000);
    app.post(
        "CreateOrder",
        "bill_email=client%40example.com&bill_first_name=Maria&bill_surname=Ivanova&bill_kupon=coupon50proc&bill_aff_name=anna&bill_domain=https%3A%2F%2Fshop.example%2F&goods%5B0%5D%5Bgood_name%5D=code1&bill_created=1572678000&hash=b50e4904e8e455129cf9c5b753c9179b",
    )
    .await
    .assert_body(r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12344"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#);
    app.post(
        "UpdateOrderStatus",
        "bill_id=12344&status=paid&date=1572681600&hash=12ec5dffdab51d003ea92fc70783876b",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    app.clock.set(EXAMPLES_TIME);
}

/// `(level, partner login, fee)` of one partner entry of an order object's item.
pub type PartnerEntry = (String, String, String);

/// The partner entries of one item of an order object.
pub fn partners(item: &serde_json::Value) -> Vec<PartnerEntry> {
    item["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = |key: &str| p[key].as_str().unwrap().to_owned();
            (
                text("partner_lvl"),
                text("partner_name"),
                text("partner_fee"),
            )
        })
        .collect()
}

pub fn entry(level: &str, login: &str, fee: &str) -> PartnerEntry {
    (level.to_owned(), login.to_owned(), fee.to_owned())
}
