//! `tenure._native`: the Python package's native part, a thin adapter over the SDK's blocking
//! facade ([`Embedded`]), as `libtenure` is for C. Answers come back as plain tuples and
//! dicts; `tenure/__init__.py` makes them typed objects. Failures raise the classes of
//! `tenure.errors`, chosen here by the facade's error kind, with the app's sentence. Every
//! blocking call lets go of the interpreter, so other Python threads run meanwhile.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tenure_client::embedded::{
    Embedded, EmbeddedConfig, EmbeddedError, ErrorKind, HeldSeat, ProductStatus, Verdict,
    offline_wish,
};
use tenure_client::{Roots, SeatAnswer, SeatEvent, SeatListener};
use tenure_core::SeatKind;

/// The vendor roots built into this package (`TENURE_VENDOR_ROOTS` at build time; empty in a
/// development build).
const PINNED_ROOTS: &str = include_str!(concat!(env!("OUT_DIR"), "/vendor_roots.pub"));

/// The `tenure.errors` class for a failure, raised with its sentence.
fn raise(py: Python<'_>, e: EmbeddedError) -> PyErr {
    let class = e.kind.class_name();
    let made = py
        .import("tenure.errors")
        .and_then(|errors| errors.getattr(class))
        .and_then(|class| class.call1((e.message.clone(),)));
    match made {
        Ok(error) => PyErr::from_value(error),
        Err(_) => PyRuntimeError::new_err(e.message),
    }
}

fn unix(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp())
}

fn status_dict<'py>(py: Python<'py>, s: &ProductStatus) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("code", s.code())?;
    d.set_item("state", s.status.code())?;
    d.set_item("database_problem", s.database_problem.clone())?;
    d.set_item("sentence", &s.sentence)?;
    d.set_item("grace_days_left", s.grace_days_left)?;
    d.set_item("offline_until", unix(s.offline_until))?;
    d.set_item("expires_at", unix(s.expires_at))?;
    let (kind, seats) = match s.seats {
        None => (None, 0),
        Some((SeatKind::Named, n)) => (Some("named"), n),
        Some((SeatKind::Concurrent, n)) => (Some("concurrent"), n),
    };
    d.set_item("seat_kind", kind)?;
    d.set_item("seats", seats)?;
    d.set_item("modules", s.modules.clone())?;
    d.set_item("development_build", s.development_build)?;
    Ok(d)
}

/// An answer: granted, the refusal's reason code (empty when granted), the sentence.
type Answer = (bool, String, String);

fn answer_tuple(verdict: Verdict) -> Answer {
    (verdict.granted, verdict.reason.to_owned(), verdict.sentence)
}

/// A workstation opened from Python.
#[pyclass(module = "tenure._native", frozen)]
struct Workstation {
    inner: Arc<Embedded>,
}

impl Workstation {
    /// Runs `call` with the interpreter let go, raising its failure.
    fn call<T: Send>(
        &self,
        py: Python<'_>,
        call: impl FnOnce(&Embedded) -> Result<T, EmbeddedError> + Send,
    ) -> PyResult<T> {
        let inner = self.inner.clone();
        py.detach(move || call(&inner)).map_err(|e| raise(py, e))
    }
}

#[pymethods]
impl Workstation {
    #[new]
    #[pyo3(signature = (profile=None, product_db=None, server=None, timeout=30.0))]
    fn new(
        py: Python<'_>,
        profile: Option<String>,
        product_db: Option<String>,
        server: Option<String>,
        timeout: f64,
    ) -> PyResult<Self> {
        let roots = Roots::from_build(PINNED_ROOTS).map_err(|e| {
            PyRuntimeError::new_err(format!(
                "the vendor roots built into this package are damaged: {e}; rebuild it"
            ))
        })?;
        let mut config = EmbeddedConfig::new(roots);
        config.profile = profile.map(Into::into);
        config.product_db = product_db;
        config.server = server;
        config.timeout = seconds(py, timeout)?;
        let inner = py
            .detach(|| Embedded::open(config))
            .map_err(|e| raise(py, e))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    fn set_timeout(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let timeout = seconds(py, timeout)?;
        self.inner.set_timeout(timeout).map_err(|e| raise(py, e))
    }

    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let status = self.call(py, Embedded::status)?;
        status_dict(py, &status)
    }

    fn validate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let status = self.call(py, Embedded::validate)?;
        status_dict(py, &status)
    }

    fn activate<'py>(&self, py: Python<'py>, key: String) -> PyResult<Bound<'py, PyDict>> {
        let status = self.call(py, move |ws| ws.activate(&key))?;
        status_dict(py, &status)
    }

    fn module_enabled(&self, py: Python<'_>, name: String) -> PyResult<bool> {
        self.call(py, move |ws| ws.module_enabled(&name))
    }

    fn authorize(&self, py: Python<'_>, user: String) -> PyResult<Answer> {
        let answer = self.call(py, move |ws| ws.authorize(&user))?;
        Ok(answer_tuple(Verdict::from(answer)))
    }

    /// A seat, or `None` and the refusal. `listener(event, sentence)` is called on a
    /// heartbeat thread; what it raises is reported as unraisable and the heartbeats go on.
    #[pyo3(signature = (user, machine=None, listener=None))]
    fn take_seat(
        &self,
        py: Python<'_>,
        user: String,
        machine: Option<String>,
        listener: Option<Py<PyAny>>,
    ) -> PyResult<(Option<Seat>, Answer)> {
        let listener = listener.map(listener_of);
        let taken = self.call(py, move |ws| {
            ws.take_seat(&user, machine.as_deref(), listener)
        })?;
        seat_or_answer(taken)
    }

    /// As `take_seat`, waiting in line at most `max_wait` seconds; `listener` also hears
    /// `("in_line", sentence)` with each place given.
    #[pyo3(signature = (user, machine, listener, max_wait))]
    fn wait_for_seat(
        &self,
        py: Python<'_>,
        user: String,
        machine: Option<String>,
        listener: Option<Py<PyAny>>,
        max_wait: f64,
    ) -> PyResult<(Option<Seat>, Answer)> {
        let max_wait = seconds(py, max_wait)?;
        let on_place = listener.as_ref().map(|callable| callable.clone_ref(py));
        let listener = listener.map(listener_of);
        let taken = self.call(py, move |ws| {
            ws.wait_for_seat(&user, machine.as_deref(), listener, max_wait, |place| {
                if let Some(callable) = &on_place {
                    tell(callable, "in_line", place.to_string());
                }
            })
        })?;
        seat_or_answer(taken)
    }

    fn end_session(&self, py: Python<'_>, session_id: String) -> PyResult<bool> {
        self.call(py, move |ws| ws.end_session(&session_id))
    }

    /// `(active, until)` of the seat borrowed onto this machine, or `None`.
    fn borrow_status(&self, py: Python<'_>) -> PyResult<Option<(bool, i64)>> {
        let borrow = self.call(py, Embedded::borrow_status)?;
        Ok(borrow.map(|b| (b.active, b.record.until.timestamp())))
    }

    fn register_device(
        &self,
        py: Python<'_>,
        device_id: String,
        device_type: String,
    ) -> PyResult<Answer> {
        let answer = self.call(py, move |ws| ws.register_device(&device_id, &device_type))?;
        Ok(answer_tuple(Verdict::from(&answer)))
    }

    #[pyo3(signature = (wish, argument=None, days=0))]
    fn offline_request(
        &self,
        py: Python<'_>,
        wish: &str,
        argument: Option<String>,
        days: u32,
    ) -> PyResult<String> {
        let wish = offline_wish(wish, argument, days).map_err(|e| raise(py, e))?;
        self.call(py, move |ws| ws.offline_request(&wish))
    }

    fn offline_import<'py>(&self, py: Python<'py>, data: Vec<u8>) -> PyResult<Bound<'py, PyDict>> {
        let status = self.call(py, move |ws| ws.offline_import(&data))?;
        status_dict(py, &status)
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, Embedded::close)
    }
}

/// A concurrent seat kept by heartbeats until released.
#[pyclass(module = "tenure._native", frozen)]
struct Seat {
    held: Mutex<Option<HeldSeat>>,
}

impl Seat {
    fn with<T>(&self, f: impl FnOnce(&HeldSeat) -> T) -> PyResult<T> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.as_ref()
            .map(f)
            .ok_or_else(|| PyRuntimeError::new_err("this seat was released already"))
    }
}

#[pymethods]
impl Seat {
    fn session_id(&self) -> PyResult<String> {
        self.with(|held| held.session_id().to_owned())
    }

    /// Why the seat is gone, or `None` while it is held.
    fn lost(&self) -> PyResult<Option<String>> {
        self.with(HeldSeat::lost)
    }

    /// Reports the product idle (`True`) or in use again (`False`), from the next heartbeat
    /// on; under the license's idle release a seat idle long enough goes to the next user.
    fn set_idle(&self, idle: bool) -> PyResult<()> {
        self.with(|held| held.set_idle(idle))
    }

    /// Gives the seat back now; a second release does nothing.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(held) = held {
            py.detach(move || held.release())
                .map_err(|e| raise(py, e))?;
        }
        Ok(())
    }
}

/// A Python callable as a seat's listener: `callable(event, sentence)`.
fn listener_of(callable: Py<PyAny>) -> SeatListener {
    Arc::new(move |event: &SeatEvent| {
        let (kind, sentence) = match event {
            SeatEvent::Lost(s) => ("lost", s.clone()),
            SeatEvent::Trouble(s) => ("trouble", s.clone()),
            SeatEvent::Recovered => ("recovered", String::new()),
        };
        tell(&callable, kind, sentence);
    })
}

/// Calls a listener with the interpreter held; one that raises is reported, not propagated
/// (the heartbeats, or the wait, go on).
fn tell(callable: &Py<PyAny>, kind: &str, sentence: String) {
    Python::attach(|py| {
        if let Err(e) = callable.call1(py, (kind, sentence)) {
            e.write_unraisable(py, Some(callable.bind(py)));
        }
    });
}

/// A held seat and "granted", or no seat and the refusal.
fn seat_or_answer(taken: Result<HeldSeat, SeatAnswer>) -> PyResult<(Option<Seat>, Answer)> {
    Ok(match taken {
        Ok(held) => {
            let sentence = format!("Seat taken (session {}).", held.session_id());
            (
                Some(Seat {
                    held: Mutex::new(Some(held)),
                }),
                answer_tuple(Verdict::granted(sentence)),
            )
        }
        Err(SeatAnswer::Refused(refusal)) => (
            None,
            (false, refusal.code().to_owned(), refusal.to_string()),
        ),
        Err(granted @ SeatAnswer::Granted(_)) => {
            return Err(PyRuntimeError::new_err(granted.to_string()));
        }
    })
}

fn seconds(py: Python<'_>, timeout: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(timeout).map_err(|_| {
        raise(
            py,
            EmbeddedError::new(
                ErrorKind::InvalidArgument,
                format!("timeout {timeout} is not a number of seconds above zero"),
            ),
        )
    })
}

/// Tenure's native part; use the `tenure` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Workstation>()?;
    m.add_class::<Seat>()?;
    m.add("ABI_VERSION", 1)?;
    Ok(())
}
