// mimalloc: the intake path allocates a lot across two HTTP workers and the writer thread, where
// glibc's malloc spent a tenth of the time on arena locks (docs/benchmarks.md). src/alloc.rs says
// why not the `mimalloc` crate's own `MiMalloc`.
#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

fn main() -> std::process::ExitCode {
    indgang::cli::main()
}
