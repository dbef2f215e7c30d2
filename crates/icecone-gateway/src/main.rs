//! The `icecone` command: see `icecone --help`.

fn main() -> std::process::ExitCode {
    icecone_gateway::cli::main()
}
