//! The one authorization gate. Every route is declared here with what it
//! needs ([`Need`]); a middleware authenticates the caller, asks
//! `lanyard_core::policy` for the route's action, audits a refusal, and only
//! then lets the request reach its handler. The route string in audit
//! events comes from axum's `MatchedPath`, never retyped by hand.
//!
//! A handler reaches the services only through what the gate hands it:
//! [`Gate`] for a decided route, [`PeopleGate`] for a route whose
//! compartments come from the request (it must name them to get a `Gate`),
//! and [`Public`] for the few routes anyone may call. [`AppState`] keeps the
//! services in private fields, so code outside this module cannot reach
//! around the gate. A route that is not declared here answers 500 whatever
//! its handler would do: fail closed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use lanyard_access::Access;
use lanyard_cards::Cards;
use lanyard_core::Compartment;
use lanyard_core::policy::{self, Action, Decision};
use lanyard_register::Register;
use lanyard_supply::Supply;

use crate::auth::{Caller, authenticate};
use crate::limits::ReadLimiter;
use crate::metrics::Metrics;
use crate::now_s;
use crate::problem::Problem;

/// The services a server runs, handed to [`AppState::new`].
pub struct Services {
    /// The register.
    pub register: Arc<Register>,
    /// Users, sessions, tokens.
    pub access: Arc<Access>,
    /// Cards, credentials, status lists, permits.
    pub cards: Cards,
    /// Suppliers and print batches.
    pub supply: Supply,
    /// The disclosure guard, with its policy and fingerprints.
    pub guard: Arc<Guard>,
}

/// The disclosure guard in force. Its fingerprints are replaced while the
/// server runs, as it exports fresh ones (`[guard] export_every_s`); a scan
/// under way keeps the set it started with.
///
/// Scans run in a fixed number of slots, taken before an upload is read:
/// a zip bomb takes the memory of one scan, so at most `slots` of them are
/// in memory at once, whoever sends them. A request finding every slot
/// taken waits up to `wait`, then is answered 503 with `Retry-After`.
pub struct Guard {
    current: std::sync::RwLock<Arc<lanyard_guard::Scanner>>,
    slots: Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
}

impl Guard {
    /// Slots by default: one scan per core of a small server.
    pub const DEFAULT_SLOTS: usize = 2;
    /// How long a scan waits for a slot by default.
    pub const DEFAULT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

    /// The guard with `scanner`, and the default slots.
    pub fn new(scanner: lanyard_guard::Scanner) -> Self {
        Guard::with_slots(scanner, Guard::DEFAULT_SLOTS, Guard::DEFAULT_WAIT)
    }

    /// The guard with `scanner`, running at most `slots` scans at once
    /// (at least one); a scan waits up to `wait` for one.
    pub fn with_slots(scanner: lanyard_guard::Scanner, slots: usize, wait: std::time::Duration) -> Self {
        Guard {
            current: std::sync::RwLock::new(Arc::new(scanner)),
            slots: Arc::new(tokio::sync::Semaphore::new(slots.max(1))),
            wait,
        }
    }

    /// A scan slot, held until dropped; 503 `scan_busy` if none frees up
    /// within the wait.
    pub(crate) async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Problem> {
        match tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Problem::busy(
                "scan_busy",
                "the disclosure guard is busy with other scans; nothing was read: try again shortly",
            )),
        }
    }

    /// The scanner to use now.
    pub fn current(&self) -> Arc<lanyard_guard::Scanner> {
        // A writer that panicked left a whole Arc behind: still usable.
        Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Puts `scanner` in force for the scans that start from now.
    pub fn replace(&self, scanner: lanyard_guard::Scanner) {
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(scanner);
    }
}

/// How the server behaves, apart from its services.
pub struct Options {
    /// Mark cookies `Secure` (served over TLS, or behind a TLS proxy).
    pub secure_cookies: bool,
    /// Per-principal limits on personal-data reads.
    pub reads: ReadLimiter,
    /// Set when the start-up check found something and the server was
    /// started anyway (`--allow-degraded`): what `/readyz` says instead of
    /// ready.
    pub degraded: Option<String>,
    /// How long refusals are counted before their `request.rejected`
    /// event is written (see `rejections`).
    pub rejection_window: std::time::Duration,
    /// Ask browsers to report Content-Security-Policy violations on console
    /// pages to `/csp-report`, and keep them (the browser tests read them).
    pub csp_reports: bool,
    /// Connections at once, and how long a client may take.
    pub connections: crate::listen::ConnectionLimits,
}

/// What every request shares. The services are private to the gate.
pub struct AppState {
    services: Services,
    metrics: Metrics,
    rejections: crate::rejections::Rejections,
    options: Options,
    console: crate::console::errors::Shared,
}

impl AppState {
    /// A server's state.
    pub fn new(services: Services, options: Options) -> Self {
        let rejections = crate::rejections::Rejections::new(options.rejection_window);
        let console = crate::console::errors::Shared { report_csp: options.csp_reports, ..Default::default() };
        AppState { services, metrics: Metrics::default(), rejections, options, console }
    }

    pub(crate) fn rejections(&self) -> &crate::rejections::Rejections {
        &self.rejections
    }

    /// Writes counted refusals to the log; a failure is logged, and the
    /// refusals stand.
    pub(crate) async fn record_rejections(
        &self,
        counts: &[(String, u16, Option<String>, u64)],
        since_ms: i64,
        now_ms: i64,
    ) {
        if let Err(e) = self.services.access.record_rejections(counts, since_ms, now_ms).await {
            tracing::error!(error = %e, "refused requests could not be recorded");
        }
    }

    /// Writes whatever refusals are counted and not yet recorded (at
    /// shutdown).
    pub async fn flush_rejections(&self) {
        if let Some((counts, since_ms)) = self.rejections.drain() {
            self.record_rejections(&counts, since_ms, now_s() * 1000).await;
        }
    }

    /// Counters for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether cookies are marked `Secure` (and HSTS is sent).
    pub fn secure_cookies(&self) -> bool {
        self.options.secure_cookies
    }

    pub(crate) fn connection_limits(&self) -> crate::listen::ConnectionLimits {
        self.options.connections
    }

    /// What the console keeps while the server runs (CSP reports, scan
    /// reports for download).
    pub fn console(&self) -> &crate::console::errors::Shared {
        &self.console
    }

    /// Records a refused request. The refusal stands even if the event
    /// cannot be written.
    async fn record_refusal(&self, caller: &Caller, action: &Action, route: &str, reason: &str) {
        let access = &self.services.access;
        let recorded =
            access.record_refusal(&caller.principal, &caller.request_id, action, route, reason, now_s() * 1000).await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, "a refusal could not be audited");
        }
        self.metrics.denied();
    }

    /// Asks the policy; a refusal is audited and answered 403.
    async fn decide(&self, caller: &Caller, action: &Action, route: &str) -> Result<(), Problem> {
        match policy::decide(caller.principal.role, action) {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => {
                self.record_refusal(caller, action, route, reason).await;
                Err(Problem::forbidden(reason))
            }
        }
    }
}

/// What a route needs before its handler runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: anyone may call it (health, login, the public status list).
    Public,
    /// An authenticated caller allowed this action.
    Action(Action),
    /// An authenticated caller who may read some compartment; the handler
    /// names the compartments and the gate decides again ([`PeopleGate`]).
    ReadPeople,
    /// The same for writes.
    WritePeople,
}

impl Need {
    /// The action decided before the handler runs, if any. For people
    /// routes it is the coarse one: the compartments this role may read (or
    /// write) at all, so a caller who may read none is refused before the
    /// request is parsed, and the handler's own decision, on the
    /// compartments asked for, comes after.
    fn coarse(&self, role: lanyard_core::Role) -> Option<Action> {
        let some = |allowed: fn(lanyard_core::Role, Compartment) -> bool| -> Vec<Compartment> {
            let cs: Vec<Compartment> = Compartment::ALL.into_iter().filter(|c| allowed(role, *c)).collect();
            // None at all: ask for every one, which the policy refuses.
            if cs.is_empty() { Compartment::ALL.to_vec() } else { cs }
        };
        match self {
            Need::Public => None,
            Need::Action(a) => Some(a.clone()),
            Need::ReadPeople => Some(Action::ReadPeople(some(policy::may_read))),
            Need::WritePeople => Some(Action::WritePeople(some(policy::may_write))),
        }
    }
}

/// One declared route.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    /// GET, POST…
    pub method: Method,
    /// As axum matches it, with `{param}`s.
    pub path: &'static str,
    /// What it needs.
    pub need: Need,
}

/// Builds the router and its route table together, so no route exists
/// without a declared need.
pub(crate) struct Routes {
    router: Router<Arc<AppState>>,
    table: Vec<RouteSpec>,
}

macro_rules! verb {
    ($name:ident, $method:ident) => {
        pub(crate) fn $name<H, T>(self, path: &'static str, need: Need, handler: H) -> Self
        where
            H: Handler<T, Arc<AppState>>,
            T: 'static,
        {
            self.add(Method::$method, MethodFilter::$method, path, need, handler)
        }
    };
}

impl Routes {
    pub(crate) fn new() -> Self {
        Routes { router: Router::new(), table: Vec::new() }
    }

    fn add<H, T>(mut self, method: Method, filter: MethodFilter, path: &'static str, need: Need, handler: H) -> Self
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        self.table.push(RouteSpec { method, path, need });
        self.router = self.router.route(path, on(filter, handler));
        self
    }

    verb!(get, GET);
    verb!(post, POST);
    verb!(patch, PATCH);
    verb!(delete, DELETE);

    /// Applies `f` to the router built so far (body limits for one group).
    pub(crate) fn map(mut self, f: impl FnOnce(Router<Arc<AppState>>) -> Router<Arc<AppState>>) -> Self {
        self.router = f(self.router);
        self
    }

    /// Joins another group of routes.
    pub(crate) fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// The table so far.
    pub(crate) fn table(self) -> Vec<RouteSpec> {
        self.table
    }

    /// The router behind the gate, and the table it was built from.
    pub(crate) fn finish(self, state: Arc<AppState>) -> (Router, Vec<RouteSpec>) {
        let needs: HashMap<(Method, String), Need> =
            self.table.iter().map(|r| ((r.method.clone(), r.path.to_owned()), r.need.clone())).collect();
        let gate = Arc::new(GateLayer { state: Arc::clone(&state), needs });
        let router = self
            .router
            .route_layer(axum::middleware::from_fn_with_state(gate, admit))
            .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no_route", "no such route") })
            .with_state(state);
        (router, self.table)
    }
}

struct GateLayer {
    state: Arc<AppState>,
    needs: HashMap<(Method, String), Need>,
}

/// What the gate decided for a request: the handler's ticket.
#[derive(Clone)]
struct Admitted {
    route: String,
    caller: Option<Arc<Caller>>,
    need: Need,
}

/// A decision the gate made, left on the response so tests can see that
/// every route was decided (and by which action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    /// `METHOD /path`.
    pub route: String,
    /// The action asked before the handler ran; `None` for a public route.
    pub action: Option<Action>,
    /// The authenticated caller's actor id, if the route needed one: the
    /// refusal counts name who was refused.
    pub caller: Option<String>,
}

async fn admit(State(gate): State<Arc<GateLayer>>, mut req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return ungated("no matched path");
    };
    let method = req.method().clone();
    // HEAD is answered by a GET route.
    let lookup = if method == Method::HEAD { Method::GET } else { method.clone() };
    let key = (lookup, path);
    let Some(need) = gate.needs.get(&key).cloned() else {
        return not_allowed(&gate.needs, &key.1).unwrap_or_else(|| ungated(&key.1));
    };
    let path = key.1;
    let route = format!("{method} {path}");
    let (caller, action) = if need == Need::Public {
        (None, None)
    } else {
        let (parts, body) = req.into_parts();
        let caller = match authenticate(&parts, &gate.state.services.access).await {
            Ok(c) => c,
            Err(p) => return p.into_response(),
        };
        let action = need.coarse(caller.principal.role);
        if let Some(action) = &action
            && let Err(p) = gate.state.decide(&caller, action, &route).await
        {
            let mut r = p.into_response();
            let caller = Some(caller.principal.actor.id.clone());
            r.extensions_mut().insert(Decided { route, action: Some(action.clone()), caller });
            return r;
        }
        // Fail closed: while the key provider does not answer, no
        // authenticated request is served from the keys it released.
        // Checked after the policy, so a refusal stays a refusal; recorded
        // with who asked.
        if let Some(action) = &action
            && let Err(e) = gate.state.services.register.key_provider_live()
        {
            gate.state.record_refusal(&caller, action, &route, "key_provider_unavailable").await;
            let mut r = Problem::key_provider_unavailable(&e).into_response();
            let caller = Some(caller.principal.actor.id.clone());
            r.extensions_mut().insert(Decided { route, action: Some(action.clone()), caller });
            return r;
        }
        req = Request::from_parts(parts, body);
        (Some(Arc::new(caller)), action)
    };
    let caller_id = caller.as_ref().map(|c| c.principal.actor.id.clone());
    req.extensions_mut().insert(Admitted { route: route.clone(), caller, need });
    let mut r = next.run(req).await;
    r.extensions_mut().insert(Decided { route, action, caller: caller_id });
    r
}

/// A method the route does not take (TRACE, PUT…): 405 with `Allow`, if
/// the path is a route at all. Nothing is decided or run.
fn not_allowed(needs: &HashMap<(Method, String), Need>, path: &str) -> Option<Response> {
    let mut methods: Vec<&str> = needs.keys().filter(|(_, p)| p == path).map(|(m, _)| m.as_str()).collect();
    if methods.is_empty() {
        return None;
    }
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.sort_unstable();
    let mut r =
        Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
            .into_response();
    if let Ok(allow) = axum::http::HeaderValue::from_str(&methods.join(", ")) {
        r.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    Some(r)
}

fn ungated(what: &str) -> Response {
    tracing::error!(route = what, "a request reached a route with no declared need; refused");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ungated", "this route has no access rule").into_response()
}

fn admitted(parts: &Parts) -> Result<Admitted, Problem> {
    parts.extensions.get::<Admitted>().cloned().ok_or_else(|| {
        tracing::error!("a handler ran without the gate");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ungated", "this route has no access rule")
    })
}

fn wrong_ticket(route: &str) -> Problem {
    tracing::error!(route, "a handler asked for a ticket its route does not give");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "ungated", "this route has no access rule")
}

/// An authenticated, authorized caller, and the services.
pub struct Gate {
    state: Arc<AppState>,
    caller: Arc<Caller>,
    route: String,
}

impl FromRequestParts<Arc<AppState>> for Gate {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let a = admitted(parts)?;
        match (a.need, a.caller) {
            (Need::Action(_), Some(caller)) => Ok(Gate { state: Arc::clone(state), caller, route: a.route }),
            _ => Err(wrong_ticket(&a.route)),
        }
    }
}

impl Gate {
    /// Who is calling.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Who is calling.
    pub fn principal(&self) -> &lanyard_access::Principal {
        &self.caller.principal
    }

    /// The register's view of the caller.
    pub fn operator(&self) -> lanyard_register::Operator {
        self.caller.operator()
    }

    /// `METHOD /path`, as audit events name it.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// The register.
    pub fn register(&self) -> &Register {
        &self.state.services.register
    }

    /// The register, for work that outlives the request (a re-wrap).
    pub fn register_shared(&self) -> Arc<Register> {
        Arc::clone(&self.state.services.register)
    }

    /// Users, sessions and tokens.
    pub fn access(&self) -> &Access {
        &self.state.services.access
    }

    /// Cards and permits.
    pub fn cards(&self) -> &Cards {
        &self.state.services.cards
    }

    /// Suppliers and batches.
    pub fn supply(&self) -> &Supply {
        &self.state.services.supply
    }

    /// The disclosure guard as it is now.
    pub fn guard(&self) -> Arc<lanyard_guard::Scanner> {
        self.state.services.guard.current()
    }

    /// A scan slot (see [`Guard`]): taken before an upload is read.
    pub(crate) async fn scan_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Problem> {
        self.state.services.guard.slot().await
    }

    /// Counters.
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Whether cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.state.options.secure_cookies
    }

    /// The console's state (scan reports kept for download).
    pub(crate) fn console(&self) -> &crate::console::errors::Shared {
        &self.state.console
    }

    /// The supplier a `print_supplier` token acts for (policy: only its own).
    pub fn own_supplier(&self) -> Result<&str, Problem> {
        policy::own_supplier(self.caller.principal.role, self.caller.principal.subject.as_deref())
            .map_err(Problem::forbidden)
    }

    /// Applies the caller's read limit before personal data is read; a
    /// refusal is audited and answered 429 with Retry-After.
    pub async fn limit_reads(&self, action: &Action) -> Result<(), Problem> {
        match self.state.options.reads.check(self.caller.principal.id) {
            Ok(()) => Ok(()),
            Err(wait) => {
                self.state.record_refusal(&self.caller, action, &self.route, "rate_limited").await;
                Err(Problem::rate_limited(wait.as_secs().saturating_add(1)))
            }
        }
    }

    /// Charges a bulk read of `n` people against the caller's allowance.
    /// Past the burst it is refused for good (403), else it waits like any
    /// read (429).
    pub async fn limit_reads_n(&self, action: &Action, n: u32) -> Result<(), Problem> {
        match self.state.options.reads.check_n(self.caller.principal.id, n) {
            Ok(()) => Ok(()),
            Err(crate::limits::Refusal::Wait(wait)) => {
                self.state.record_refusal(&self.caller, action, &self.route, "rate_limited").await;
                Err(Problem::rate_limited(wait.as_secs().saturating_add(1)))
            }
            Err(crate::limits::Refusal::OverBurst) => {
                self.state.record_refusal(&self.caller, action, &self.route, "over_read_allowance").await;
                Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "over_read_allowance",
                    format!(
                        "an export of {n} people is more than this server lets one user or token read at once; \
                         export on the register host (lanyard person export), where it is audited the same way"
                    ),
                ))
            }
        }
    }
}

/// A caller on a people route who has yet to name the compartments.
pub struct PeopleGate {
    state: Arc<AppState>,
    caller: Arc<Caller>,
    route: String,
    write: bool,
}

impl FromRequestParts<Arc<AppState>> for PeopleGate {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let a = admitted(parts)?;
        let write = match a.need {
            Need::ReadPeople => false,
            Need::WritePeople => true,
            _ => return Err(wrong_ticket(&a.route)),
        };
        let caller = a.caller.ok_or_else(|| wrong_ticket(&a.route))?;
        Ok(PeopleGate { state: Arc::clone(state), caller, route: a.route, write })
    }
}

impl PeopleGate {
    /// Who is calling (before the compartments are decided: no services).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The force's rank table, to parse fields before they are decided.
    pub fn ranks(&self) -> &lanyard_core::RankTable {
        self.state.services.register.ranks()
    }

    /// Decides these compartments (read or write, as the route is); a
    /// refusal is audited and answered 403.
    pub async fn compartments(self, compartments: &[Compartment]) -> Result<(Gate, Action), Problem> {
        let action = if self.write {
            Action::WritePeople(compartments.to_vec())
        } else {
            Action::ReadPeople(compartments.to_vec())
        };
        self.state.decide(&self.caller, &action, &self.route).await?;
        Ok((Gate { state: self.state, caller: self.caller, route: self.route }, action))
    }
}

/// A public route: no caller, and only what such a route may do.
pub struct Public {
    state: Arc<AppState>,
}

impl FromRequestParts<Arc<AppState>> for Public {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let a = admitted(parts)?;
        if a.need != Need::Public {
            return Err(wrong_ticket(&a.route));
        }
        Ok(Public { state: Arc::clone(state) })
    }
}

impl Public {
    /// Counters.
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Whether cookies are marked `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.state.options.secure_cookies
    }

    /// The console's state (CSP reports).
    pub(crate) fn console(&self) -> &crate::console::errors::Shared {
        &self.state.console
    }

    /// Logins and logouts (the access service checks the password and the
    /// second factor; nothing else of it is reachable here).
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions(&self.state.services.access)
    }

    /// Readiness of the store and the key provider.
    pub async fn check_ready(&self) -> Result<(), lanyard_register::RegisterError> {
        self.state.services.register.check_ready().await
    }

    /// The latest signed checkpoint with its cosignatures, if any.
    pub async fn log_checkpoint(&self) -> Result<Option<String>, lanyard_register::RegisterError> {
        let register = &self.state.services.register;
        let size = register.latest_checkpoint_size().await?;
        if size == 0 {
            return Ok(None);
        }
        register.cosigned_checkpoint(size).await
    }

    /// A hash tile of the log (hashes only; never an entry bundle).
    pub async fn log_tile(&self, path: &str) -> Result<(Vec<u8>, bool), lanyard_register::RegisterError> {
        self.state.services.register.log_tile(path, false).await
    }

    /// When a backup was last verified (Unix ms), for `/readyz`'s detail.
    pub async fn backup_verified_at(&self) -> Result<Option<i64>, lanyard_register::RegisterError> {
        self.state.services.register.backup_verified_at().await
    }

    /// Why the server runs degraded, if it does.
    pub fn degraded(&self) -> Option<&str> {
        self.state.options.degraded.as_deref()
    }

    /// The force's ranks (the OpenAPI document lists them).
    pub fn ranks(&self) -> &lanyard_core::RankTable {
        self.state.services.register.ranks()
    }

    /// The public status list and trust bundle.
    pub fn cards(&self) -> PublicCards<'_> {
        PublicCards(&self.state.services.cards)
    }
}

/// The login and logout of the access service, and nothing else.
pub struct Sessions<'a>(&'a Access);

impl Sessions<'_> {
    /// Password and TOTP for a session.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        code: &str,
        client: &str,
        now_s: i64,
    ) -> Result<(zeroize::Zeroizing<String>, lanyard_access::Principal), lanyard_access::AccessError> {
        self.0.login(name, password, code, client, now_s).await
    }

    /// Ends a session.
    pub async fn logout(&self, cookie: &str, now_s: i64) -> Result<(), lanyard_access::AccessError> {
        self.0.logout(cookie, now_s).await
    }
}

/// What the cards service publishes to anyone.
pub struct PublicCards<'a>(&'a Cards);

impl PublicCards<'_> {
    /// The signed status list.
    pub async fn status_list(
        &self,
        op: &lanyard_register::Operator,
        now_ms: i64,
    ) -> Result<Vec<u8>, lanyard_cards::CardError> {
        self.0.status_list(op, now_ms).await
    }

    /// The trust bundle.
    pub async fn trust_bundle(
        &self,
        op: &lanyard_register::Operator,
        now_ms: i64,
    ) -> Result<lanyard_credential::TrustBundle, lanyard_cards::CardError> {
        self.0.trust_bundle(op, now_ms).await
    }

    /// The issuer settings (ids and addresses, no keys).
    pub fn config(&self) -> &lanyard_cards::IssuerConfig {
        self.0.config()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handler_outside_the_gate_gets_no_ticket() {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        assert!(admitted(&parts).is_err(), "no ticket without the gate's middleware");
        parts.extensions.insert(Admitted { route: "GET /x".into(), caller: None, need: Need::Public });
        assert!(admitted(&parts).is_ok());
    }

    #[test]
    fn a_people_route_is_refused_early_only_to_a_role_that_reads_nothing() {
        use lanyard_core::Role;
        for role in Role::ALL {
            let coarse = Need::ReadPeople.coarse(role).unwrap();
            let reads_some = Compartment::ALL.iter().any(|c| policy::may_read(role, *c));
            assert_eq!(policy::decide(role, &coarse) == Decision::Allow, reads_some, "{role}");
            let coarse = Need::WritePeople.coarse(role).unwrap();
            let writes_some = Compartment::ALL.iter().any(|c| policy::may_write(role, *c));
            assert_eq!(policy::decide(role, &coarse) == Decision::Allow, writes_some, "{role}");
        }
        assert_eq!(Need::Public.coarse(Role::Admin), None);
    }
}
