//! The Node.js package's native part (napi-rs), a thin adapter over the SDK's blocking facade
//! ([`Embedded`]) as `libtenure` is for C. Each call runs on libuv's thread pool and answers
//! with a promise; `index.js` gives the typed errors and the seat's `EventEmitter`. A failure
//! rejects with a message starting `[Kind] `, which `index.js` turns into its error class.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Env, Error, FnArgs, Result, Status as NapiStatus, Task};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tenure_client::embedded::{
    Embedded, EmbeddedConfig, EmbeddedError, ErrorKind, HeldSeat, ProductStatus, Verdict,
    offline_wish,
};
use tenure_client::{Roots, SeatAnswer, SeatEvent, SeatListener};
use tenure_core::SeatKind;

/// The vendor roots built into this addon (`TENURE_VENDOR_ROOTS` at build time; empty in a
/// development build).
const PINNED_ROOTS: &str = include_str!(concat!(env!("OUT_DIR"), "/vendor_roots.pub"));

fn failure(e: &EmbeddedError) -> Error {
    let kind = e.kind.class_name();
    Error::new(
        NapiStatus::GenericFailure,
        format!("[{kind}] {}", e.message),
    )
}

/// Where the license stands (`tenure status`'s exit code is `code`: 0 licensed).
#[napi(object)]
pub struct Status {
    pub code: u32,
    pub state: String,
    pub sentence: String,
    pub grace_days_left: Option<u32>,
    /// Unix milliseconds.
    pub offline_until: Option<f64>,
    /// Unix milliseconds.
    pub expires_at: Option<f64>,
    pub seat_kind: Option<String>,
    pub seats: u32,
    pub modules: Vec<String>,
    pub development_build: bool,
    pub database_problem: Option<String>,
}

#[expect(
    clippy::cast_precision_loss,
    reason = "milliseconds since 1970 fit a JavaScript number exactly until the year 287396"
)]
fn millis(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<f64> {
    t.map(|t| t.timestamp_millis() as f64)
}

impl From<ProductStatus> for Status {
    fn from(s: ProductStatus) -> Self {
        let (seat_kind, seats) = match s.seats {
            None => (None, 0),
            Some((SeatKind::Named, n)) => (Some("named".to_owned()), n),
            Some((SeatKind::Concurrent, n)) => (Some("concurrent".to_owned()), n),
        };
        Self {
            code: u32::from(s.code()),
            state: s.status.code().to_owned(),
            sentence: s.sentence,
            grace_days_left: s.grace_days_left,
            offline_until: millis(s.offline_until),
            expires_at: millis(s.expires_at),
            seat_kind,
            seats,
            modules: s.modules,
            development_build: s.development_build,
            database_problem: s.database_problem,
        }
    }
}

/// A grant, or a refusal's reason code and sentence.
#[napi(object)]
pub struct Answer {
    pub granted: bool,
    pub reason: String,
    pub sentence: String,
}

impl From<Verdict> for Answer {
    fn from(verdict: Verdict) -> Self {
        Self {
            granted: verdict.granted,
            reason: verdict.reason.to_owned(),
            sentence: verdict.sentence,
        }
    }
}

/// What a call to the facade does, run on libuv's thread pool.
type Work<T> = Box<dyn FnOnce() -> std::result::Result<T, EmbeddedError> + Send>;

/// A task per kind of answer (napi's `Task` needs a concrete output type).
macro_rules! calls {
    ($($task:ident => $output:ty),* $(,)?) => {$(
        /// A call answering with this type, resolved as a promise.
        pub struct $task(Option<Work<$output>>);

        impl $task {
            fn run(
                work: impl FnOnce() -> std::result::Result<$output, EmbeddedError> + Send + 'static,
            ) -> AsyncTask<Self> {
                AsyncTask::new(Self(Some(Box::new(work))))
            }
        }

        impl Task for $task {
            type Output = $output;
            type JsValue = $output;

            fn compute(&mut self) -> Result<$output> {
                let work = self
                    .0
                    .take()
                    .ok_or_else(|| Error::from_reason("[TenureError] this call ran already"))?;
                work().map_err(|e| failure(&e))
            }

            fn resolve(&mut self, _env: Env, output: $output) -> Result<$output> {
                Ok(output)
            }
        }
    )*};
}

calls! {
    StatusCall => Status,
    BoolCall => bool,
    AnswerCall => Answer,
    TextCall => String,
    SeatCall => TakenSeat,
    DoneCall => (),
}

/// A workstation opened from JavaScript.
#[napi]
pub struct Workstation {
    inner: Arc<Embedded>,
}

/// Hears a seat's events on the JavaScript thread: `(event, sentence)`, two arguments.
type SeatCallback =
    ThreadsafeFunction<FnArgs<(String, String)>, (), FnArgs<(String, String)>, NapiStatus, false>;

#[napi]
impl Workstation {
    /// Opens a workstation; `null` takes what the `tenure` app would.
    #[napi(constructor)]
    pub fn new(
        profile: Option<String>,
        product_db: Option<String>,
        server: Option<String>,
        timeout_seconds: Option<f64>,
    ) -> Result<Self> {
        let roots = Roots::from_build(PINNED_ROOTS).map_err(|e| {
            Error::from_reason(format!(
                "[TenureError] the vendor roots built into this package are damaged: {e}; rebuild it"
            ))
        })?;
        let mut config = EmbeddedConfig::new(roots);
        config.profile = profile.map(Into::into);
        config.product_db = product_db;
        config.server = server;
        if let Some(secs) = timeout_seconds {
            config.timeout = seconds(secs)?;
        }
        let inner = Embedded::open(config).map_err(|e| failure(&e))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    #[napi]
    pub fn set_timeout(&self, timeout_seconds: f64) -> Result<()> {
        self.inner
            .set_timeout(seconds(timeout_seconds)?)
            .map_err(|e| failure(&e))
    }

    #[napi(ts_return_type = "Promise<Status>")]
    pub fn status(&self) -> AsyncTask<StatusCall> {
        let ws = self.inner.clone();
        StatusCall::run(move || ws.status().map(Status::from))
    }

    #[napi(ts_return_type = "Promise<Status>")]
    pub fn validate(&self) -> AsyncTask<StatusCall> {
        let ws = self.inner.clone();
        StatusCall::run(move || ws.validate().map(Status::from))
    }

    #[napi(ts_return_type = "Promise<Status>")]
    pub fn activate(&self, key: String) -> AsyncTask<StatusCall> {
        let ws = self.inner.clone();
        StatusCall::run(move || ws.activate(&key).map(Status::from))
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn module_enabled(&self, name: String) -> AsyncTask<BoolCall> {
        let ws = self.inner.clone();
        BoolCall::run(move || ws.module_enabled(&name))
    }

    #[napi(ts_return_type = "Promise<Answer>")]
    pub fn authorize(&self, user: String) -> AsyncTask<AnswerCall> {
        let ws = self.inner.clone();
        AnswerCall::run(move || Ok(Verdict::from(ws.authorize(&user)?).into()))
    }

    /// A seat, or a refusal (`seat` undefined). `listener(event, sentence)` is called on the
    /// JavaScript thread.
    #[napi(ts_return_type = "Promise<TakenSeat>")]
    pub fn take_seat(
        &self,
        user: String,
        machine: Option<String>,
        listener: Option<SeatCallback>,
    ) -> AsyncTask<SeatCall> {
        let ws = self.inner.clone();
        let listener = listener.map(|tsfn| listener_of(Arc::new(tsfn)));
        SeatCall::run(move || taken_seat(ws.take_seat(&user, machine.as_deref(), listener)?))
    }

    /// As `takeSeat`, waiting in line at most `max_wait_seconds`; `listener` also hears
    /// `("inLine", sentence)` with each place given.
    #[napi(ts_return_type = "Promise<TakenSeat>")]
    pub fn wait_for_seat(
        &self,
        user: String,
        machine: Option<String>,
        listener: Option<SeatCallback>,
        max_wait_seconds: f64,
    ) -> Result<AsyncTask<SeatCall>> {
        let ws = self.inner.clone();
        let max_wait = seconds(max_wait_seconds)?;
        let tsfn = listener.map(Arc::new);
        let listener = tsfn.clone().map(listener_of);
        Ok(SeatCall::run(move || {
            let on_place = |place: &tenure_client::SeatRefusal| {
                if let Some(tsfn) = &tsfn {
                    let told = ("inLine".to_owned(), place.to_string());
                    tsfn.call(told.into(), ThreadsafeFunctionCallMode::NonBlocking);
                }
            };
            taken_seat(ws.wait_for_seat(&user, machine.as_deref(), listener, max_wait, on_place)?)
        }))
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn end_session(&self, session_id: String) -> AsyncTask<BoolCall> {
        let ws = self.inner.clone();
        BoolCall::run(move || ws.end_session(&session_id))
    }

    #[napi(ts_return_type = "Promise<Answer>")]
    pub fn register_device(&self, device_id: String, device_type: String) -> AsyncTask<AnswerCall> {
        let ws = self.inner.clone();
        AnswerCall::run(move || {
            let answer = ws.register_device(&device_id, &device_type)?;
            Ok(Verdict::from(&answer).into())
        })
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn offline_request(
        &self,
        wish: String,
        argument: Option<String>,
        days: Option<u32>,
    ) -> AsyncTask<TextCall> {
        let ws = self.inner.clone();
        TextCall::run(move || {
            let wish = offline_wish(&wish, argument, days.unwrap_or(0))?;
            ws.offline_request(&wish)
        })
    }

    #[napi(ts_return_type = "Promise<Status>")]
    pub fn offline_import(&self, data: napi::bindgen_prelude::Buffer) -> AsyncTask<StatusCall> {
        let ws = self.inner.clone();
        let data = Vec::from(data);
        StatusCall::run(move || ws.offline_import(&data).map(Status::from))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<DoneCall> {
        let ws = self.inner.clone();
        DoneCall::run(move || ws.close())
    }
}

/// A JavaScript function as a seat's listener, called on the JavaScript thread.
fn listener_of(tsfn: Arc<SeatCallback>) -> SeatListener {
    Arc::new(move |event: &SeatEvent| {
        let told = match event {
            SeatEvent::Lost(s) => ("lost".to_owned(), s.clone()),
            SeatEvent::Trouble(s) => ("trouble".to_owned(), s.clone()),
            SeatEvent::Recovered => ("recovered".to_owned(), String::new()),
        };
        tsfn.call(told.into(), ThreadsafeFunctionCallMode::NonBlocking);
    })
}

/// A held seat and "granted", or no seat and the refusal.
fn taken_seat(
    taken: std::result::Result<HeldSeat, SeatAnswer>,
) -> std::result::Result<TakenSeat, EmbeddedError> {
    Ok(match taken {
        Ok(held) => {
            let sentence = format!("Seat taken (session {}).", held.session_id());
            TakenSeat {
                seat: Some(Seat {
                    held: Arc::new(Mutex::new(Some(held))),
                }),
                answer: Verdict::granted(sentence).into(),
            }
        }
        Err(SeatAnswer::Refused(refusal)) => TakenSeat {
            seat: None,
            answer: Verdict::refused(refusal.code(), refusal.to_string()).into(),
        },
        Err(granted @ SeatAnswer::Granted(_)) => {
            return Err(EmbeddedError::new(ErrorKind::Other, granted.to_string()));
        }
    })
}

/// What `takeSeat` resolves to (JavaScript never passes one in).
#[napi(object, object_from_js = false)]
pub struct TakenSeat {
    pub seat: Option<Seat>,
    pub answer: Answer,
}

/// A concurrent seat kept by heartbeats until released.
#[napi]
pub struct Seat {
    held: Arc<Mutex<Option<HeldSeat>>>,
}

#[napi]
impl Seat {
    #[napi]
    pub fn session_id(&self) -> Result<String> {
        self.with(|held| held.session_id().to_owned())
    }

    /// Why the seat is gone, or null while it is held.
    #[napi]
    pub fn lost(&self) -> Result<Option<String>> {
        self.with(HeldSeat::lost)
    }

    /// Reports the product idle (true) or in use again (false), from the next heartbeat on.
    #[napi]
    pub fn set_idle(&self, idle: bool) -> Result<()> {
        self.with(|held| held.set_idle(idle))
    }

    /// Gives the seat back now; a second release does nothing.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn release(&self) -> AsyncTask<DoneCall> {
        let held = self.held.clone();
        DoneCall::run(move || {
            let held = held.lock().unwrap_or_else(PoisonError::into_inner).take();
            match held {
                Some(held) => held.release().map(|_| ()),
                None => Ok(()),
            }
        })
    }
}

impl Seat {
    fn with<T>(&self, f: impl FnOnce(&HeldSeat) -> T) -> Result<T> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.as_ref()
            .map(f)
            .ok_or_else(|| Error::from_reason("[TenureError] this seat was released already"))
    }
}

fn seconds(secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        Error::from_reason(format!(
            "[InvalidArgument] timeout {secs} is not a number of seconds above zero"
        ))
    })
}
