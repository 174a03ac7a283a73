//! `tenure-server`: the license server and the vendor's CLI. Every command works straight on the
//! store named by `--data-dir` / `--database-url`, whether or not a server is running.

// mimalloc: under load the server allocates and frees answers on two threads at once, where
// glibc's allocator spent a tenth of the CPU (consolidating and unlinking chunks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
