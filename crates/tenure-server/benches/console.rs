//! The console's license list over 100,000 licenses (issue 30; goal ≤ 20 ms): the first page,
//! a search matching one license, one matching many, a two-character one, and a page deep in
//! the list, each a whole request over loopback HTTP to the real
//! server on SQLite, signed in, rendered server-side.
//!
//! `cargo bench -p tenure-server --bench console`

use criterion::{Criterion, criterion_group, criterion_main};
use tenure_server::sandbox::{Sandbox, sample_terms};
use tenure_server::service::Role;

const LICENSES: u32 = 100_000;
const PASSWORD: &str = "bench bench bench";

/// Copies the one license the sandbox issued until there are [`LICENSES`], each with its own
/// id, key hash, customer and creation time.
fn fill(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).expect("open the server's database");
    conn.execute(
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
             INSERT INTO licenses \
             (id, key_digits, account, terms_ron, created_at, key_last4, search_text) \
             SELECT 'lic_bench_' || i, 'hmac:bench' || i, l.account, \
             replace(l.terms_ron, 'Acme', 'Customer ' || i), l.created_at - i, l.key_last4, \
             'lic_bench_' || i || ' ' || l.account || ' customer ' || i \
             FROM n, (SELECT * FROM licenses LIMIT 1) AS l",
            LICENSES - 1
        ),
        [],
    )
    .expect("copy the license");
}

fn console(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (sandbox, cookie) = runtime.block_on(async {
        let sandbox = Sandbox::start_sqlite(dir.path()).await.expect("server");
        sandbox
            .issue("acme", &sample_terms("Acme"))
            .await
            .expect("license");
        fill(&dir.path().join("tenure-server.db"));
        let vendor = sandbox.vendor();
        vendor
            .staff()
            .add("ana", Role::Admin, PASSWORD)
            .await
            .expect("staff");
        let signed_in = vendor
            .staff()
            .sign_in("ana", PASSWORD)
            .await
            .expect("sign in");
        (sandbox, format!("tenure_console={}", signed_in.token))
    });
    tenure_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let url = sandbox.url();
    let get = |path: &'static str| {
        let request = client
            .get(format!("{url}{path}"))
            .header(reqwest::header::COOKIE, &cookie);
        async move {
            let page = request
                .send()
                .await
                .expect("request")
                .text()
                .await
                .expect("page");
            assert!(page.contains(" licenses · page "), "{page}");
        }
    };
    let mut group = c.benchmark_group("console_100k");
    group.bench_function("first_page", |b| {
        b.to_async(&runtime).iter(|| get("/console/licenses"));
    });
    group.bench_function("search", |b| {
        b.to_async(&runtime)
            .iter(|| get("/console/licenses?q=Customer%2099999"));
    });
    // Matches 11,111 licenses: counted to the cap, the page read in creation order.
    group.bench_function("search_wide", |b| {
        b.to_async(&runtime)
            .iter(|| get("/console/licenses?q=Customer%209"));
    });
    // Two characters, below the trigram index: the narrow index is scanned.
    group.bench_function("search_short", |b| {
        b.to_async(&runtime).iter(|| get("/console/licenses?q=99"));
    });
    // Two characters that match nothing: the worst case, the whole narrow index read twice.
    group.bench_function("search_short_none", |b| {
        b.to_async(&runtime).iter(|| get("/console/licenses?q=zz"));
    });
    group.bench_function("page_1000", |b| {
        b.to_async(&runtime)
            .iter(|| get("/console/licenses?page=1000"));
    });
    group.finish();
}

criterion_group!(benches, console);
criterion_main!(benches);
