//! What a call through C costs over the same call in Rust, measured in one run: `authorize`
//! on a warm workstation and `status`, each through the SDK's facade (`Embedded`) and through
//! `libtenure` loaded with `dlopen`, as a product loads it. Then what a product waits for at
//! start — load the library, open, status — as a fresh process each time
//! (`examples/c/startup.c`). The library is the release build; secrets live in the real OS
//! keyring (run under `scripts/with-keyring`).

use std::ffi::{CString, c_char};
use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tenure_client::embedded::{Embedded, EmbeddedConfig};
use tenure_client::{Authorization, Roots};
use tenure_ffi_bench::{Answer, Status, Workstation};

#[path = "../tests/support/mod.rs"]
mod support;

/// The C ABI's types as the benchmark sees them (`include/tenure.h`).
mod tenure_ffi_bench {
    use std::ffi::c_char;

    pub enum Workstation {}

    #[repr(C)]
    pub struct Answer {
        pub granted: bool,
        pub reason: i32,
        pub sentence: *mut c_char,
    }

    #[repr(C)]
    pub struct Status {
        pub state: i32,
        pub warning: bool,
        pub grace_days_left: i32,
        pub offline_until: i64,
        pub expires_at: i64,
        pub seat_kind: i32,
        pub seats: u32,
        pub module_count: u32,
        pub development_build: bool,
    }
}

type Open =
    unsafe extern "C" fn(*const c_char, *const c_char, *const c_char, *mut *mut Workstation) -> i32;
type Authorize = unsafe extern "C" fn(*mut Workstation, *const c_char, *mut Answer) -> i32;
type AnswerFree = unsafe extern "C" fn(*mut Answer);
type StatusCall = unsafe extern "C" fn(*mut Workstation, *mut Status) -> i32;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let product = runtime.block_on(support::product());
    let lib_dir = support::built_library();
    let lib_path = lib_dir.join("libtenure.so");
    let size = std::fs::metadata(&lib_path).map_or(0, |m| m.len());
    println!(
        "libtenure.so (release, stripped): {:.1} MiB",
        f64::from(u32::try_from(size).unwrap_or(u32::MAX)) / 1_048_576.0
    );

    let mut config = EmbeddedConfig::new(Roots::from_build("").expect("roots"));
    config.profile = Some(product.named.profile.clone());
    config.product_db = Some(product.named.db.display().to_string());
    let rust = Embedded::open(config).expect("open through Rust");

    // SAFETY: the library this repository built; its symbols have the signatures above
    // (include/tenure.h), and it stays loaded until the end of the benchmark.
    let lib = unsafe { libloading::Library::new(&lib_path) }.expect("dlopen libtenure");
    // SAFETY: as above.
    let (open, authorize, answer_free, status) = unsafe {
        (
            *lib.get::<Open>(b"tenure_workstation_open").expect("symbol"),
            *lib.get::<Authorize>(b"tenure_authorize").expect("symbol"),
            *lib.get::<AnswerFree>(b"tenure_answer_free")
                .expect("symbol"),
            *lib.get::<StatusCall>(b"tenure_status").expect("symbol"),
        )
    };
    let profile = CString::new(product.named.profile.display().to_string()).expect("path");
    let db = CString::new(product.named.db.display().to_string()).expect("path");
    let mut ws: *mut Workstation = std::ptr::null_mut();
    // SAFETY: valid strings and out-pointer.
    let opened = unsafe { open(profile.as_ptr(), db.as_ptr(), std::ptr::null(), &raw mut ws) };
    assert_eq!(opened, 0, "tenure_workstation_open failed");
    let ana = CString::new("ana").expect("name");

    let mut group = c.benchmark_group("authorize_warm");
    group.bench_function("rust", |b| {
        b.iter(|| {
            let answer = rust.authorize(black_box("ana")).expect("authorize");
            assert!(matches!(answer, Authorization::Granted(_)));
        });
    });
    group.bench_function("c_abi", |b| {
        b.iter(|| {
            let mut answer = Answer {
                granted: false,
                reason: 0,
                sentence: std::ptr::null_mut(),
            };
            // SAFETY: an open handle, a valid string and out-pointer; the answer is freed.
            unsafe {
                assert_eq!(authorize(ws, black_box(ana.as_ptr()), &raw mut answer), 0);
                assert!(answer.granted);
                answer_free(&raw mut answer);
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("status");
    group.bench_function("rust", |b| {
        b.iter(|| black_box(rust.status().expect("status")));
    });
    group.bench_function("c_abi", |b| {
        b.iter(|| {
            let mut out = std::mem::MaybeUninit::<Status>::uninit();
            // SAFETY: an open handle and a writable out-pointer.
            let code = unsafe { status(ws, out.as_mut_ptr()) };
            assert_eq!(code, 0);
            black_box(out);
        });
    });
    group.finish();

    let startup = support::compile(
        "cc",
        "-std=c11",
        "c/startup.c",
        &lib_dir,
        &["-ldl"],
        product.dir.path(),
    );
    let mut group = c.benchmark_group("load_open_status");
    group.sample_size(20);
    group.bench_function("fresh_process", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let out = Command::new(&startup)
                        .arg(&lib_path)
                        .arg(&product.named.profile)
                        .arg(&product.named.db)
                        // A product's own environment: not cargo's library path, which the
                        // loader would search first for every library libtenure needs.
                        .env_remove("LD_LIBRARY_PATH")
                        .output()
                        .expect("startup runs");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let micros: u64 = String::from_utf8_lossy(&out.stdout)
                        .trim()
                        .parse()
                        .expect("microseconds");
                    Duration::from_micros(micros)
                })
                .sum()
        });
    });
    group.finish();
}

criterion_group!(ffi, benches);
criterion_main!(ffi);
