//! The `rko` binary: everything happens in [`rko::cli::main`].

fn main() -> std::process::ExitCode {
    rko::cli::main()
}
