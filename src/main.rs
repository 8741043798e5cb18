//! The `sitrep` binary: parse the command line and hand over to the library.
//! All behaviour lives in `sitrep::cli`.

fn main() -> std::process::ExitCode {
    sitrep::cli::main()
}
