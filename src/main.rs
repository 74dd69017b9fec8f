// mimalloc: the intake path allocates a lot across two HTTP workers and the writer thread, where
// glibc's malloc spent a tenth of the time on arena locks (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    indgang::cli::main()
}
