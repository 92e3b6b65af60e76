//! The `govflow` binary.

fn main() -> std::process::ExitCode {
    govflow_api::cli::main()
}
