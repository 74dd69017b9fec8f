fn main() -> std::process::ExitCode {
    indgang::cli::main()
}
